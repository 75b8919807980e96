"""Live run events for SSE clients: one fan-out per process, attach at any time.

The runtime hands every event to its listeners as it is produced, before it is written
(it writes in batches, at the end of a drive or every ``EVENT_FLUSH_EVERY`` events). A
client attaching mid-run therefore needs three sources, read in this order so nothing
falls between them:

1. it subscribes first (a queue receiving every later live event of the run),
2. then replays what the database holds after its cursor (``Last-Event-ID`` / ``after``),
3. then what this process produced but may not have written yet (the live events of a
   running run are kept until it pauses or ends: ``start`` writes them only then),
4. then follows the queue, skipping every ``seq`` it has already sent.

So there is no gap and no duplicate between replay and live, whatever the timing. A run
driven by another process (another uvicorn worker) never reaches this process's queue:
when no live event arrives for ``POLL_SECONDS`` the follower reads the database again,
so such a run is followed too, a little later. The stream ends once the run is paused or
over and every event up to the run's ``last_seq`` has been sent.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections import OrderedDict, deque
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field

from workflow_compiler.runtime.events import TERMINAL_EVENTS, RunEvent
from workflow_compiler.runtime.runtime import WorkflowRuntime

#: statuses after which a follower stops (once it has sent every event up to last_seq)
STOP_STATUSES = frozenset({"paused", "completed", "failed", "cancelled"})
STOP_EVENTS = TERMINAL_EVENTS | {"run.paused"}
#: a comment line this often keeps proxies and clients from closing an idle stream
KEEPALIVE_SECONDS = 15.0
#: how long a follower waits for a live event before reading the database again
POLL_SECONDS = 1.0
#: a running run's live events are all kept (the runtime holds them unwritten until its
#: drive pauses or ends, so they are the same objects, not copies), up to this many
ACTIVE_RING_EVENTS = 50_000
#: once a run paused or ended, everything before its stop event is written: the last few
#: events are kept, for the runs most recently stopped
STOPPED_RING_EVENTS = 16
STOPPED_RING_RUNS = 256
#: a client this far behind is dropped from the live queue and reads the database
QUEUE_EVENTS = 10_000

KEEPALIVE = ": keep-alive\n\n"

#: () -> (status, last_seq) of the run, read from the database
RunState = Callable[[], Awaitable[tuple[str, int]]]
#: after_seq -> the stored events after it, in order
StoredEvents = Callable[[int], Awaitable[list[RunEvent]]]


@dataclass(eq=False, slots=True)
class _Subscription:
    queue: asyncio.Queue[RunEvent] = field(
        default_factory=lambda: asyncio.Queue(maxsize=QUEUE_EVENTS))
    lagged: bool = False


class RunStreams:
    """The process's fan-out of live run events, subscribed once to the runtime."""

    def __init__(self, runtime: WorkflowRuntime) -> None:
        self._subscribers: dict[str, set[_Subscription]] = {}
        self._active: dict[str, deque[RunEvent]] = {}
        self._stopped: OrderedDict[str, deque[RunEvent]] = OrderedDict()
        self._unsubscribe = runtime.subscribe(self._publish)

    def close(self) -> None:
        self._unsubscribe()

    def watching(self, run_id: str) -> int:
        """How many clients follow the run live in this process."""
        return len(self._subscribers.get(run_id, ()))

    def _publish(self, event: RunEvent) -> None:
        """Runtime listener: called for every event of every run, so it stays cheap."""
        run_id = event.run_id
        ring = self._active.get(run_id)
        if ring is None:
            ring = self._active[run_id] = deque(self._stopped.pop(run_id, ()),
                                                maxlen=ACTIVE_RING_EVENTS)
        ring.append(event)
        if event.type in STOP_EVENTS:  # what came before is written: keep the tail only
            del self._active[run_id]
            self._stopped[run_id] = deque(ring, maxlen=STOPPED_RING_EVENTS)
            if len(self._stopped) > STOPPED_RING_RUNS:
                self._stopped.popitem(last=False)
        for subscription in self._subscribers.get(event.run_id, ()):
            try:
                subscription.queue.put_nowait(event)
            except asyncio.QueueFull:
                subscription.lagged = True  # it catches up from the database

    def _recent_after(self, run_id: str, seq: int) -> list[RunEvent]:
        ring = self._active.get(run_id)
        if ring is None:
            ring = self._stopped.get(run_id, deque())
        return [e for e in ring if e.seq > seq]

    async def follow(
        self, run_id: str, after_seq: int, *, state: RunState, stored: StoredEvents,
        keepalive: float = KEEPALIVE_SECONDS, poll: float = POLL_SECONDS,
    ) -> AsyncIterator[RunEvent | None]:
        """The run's events after ``after_seq``, in order, each once; ``None`` is a
        keep-alive tick. Ends after the run pauses or ends."""
        subscription = _Subscription()
        self._subscribers.setdefault(run_id, set()).add(subscription)
        try:
            cursor = after_seq
            status, last_seq = await state()
            seen = 0  # the highest seq any source showed: a row below it is out of date
            last: RunEvent | None = None
            for event in [*await stored(cursor), *self._recent_after(run_id, cursor)]:
                seen = max(seen, event.seq)
                if event.seq > cursor:
                    cursor, last = event.seq, event
                    yield event
            if last is not None and last.type in STOP_EVENTS:
                await _settled(state, last.seq, poll)
                return
            idle = 0.0
            while not (status in STOP_STATUSES and cursor >= last_seq >= seen):
                try:
                    event = await asyncio.wait_for(subscription.queue.get(), poll)
                except TimeoutError:
                    idle += poll
                    if idle >= keepalive:
                        idle = 0.0
                        yield None
                    if subscription.lagged:
                        subscription.lagged = False
                        _drain(subscription.queue)
                    status, last_seq = await state()
                    for event in await stored(cursor):
                        seen = cursor = event.seq
                        yield event
                    continue
                idle = 0.0
                seen = max(seen, event.seq)
                if event.seq <= cursor:
                    continue
                if event.seq > cursor + 1:  # fill a gap from the ring, then the database
                    missing = [e for e in self._recent_after(run_id, cursor)
                               if e.seq < event.seq]
                    if not missing or missing[0].seq != cursor + 1:
                        missing = [e for e in await stored(cursor) if e.seq < event.seq]
                    for earlier in missing:
                        if earlier.seq > cursor:
                            cursor = earlier.seq
                            yield earlier
                cursor = event.seq
                yield event
                if event.type in STOP_EVENTS:
                    await _settled(state, event.seq, poll)
                    return
        finally:
            subscribers = self._subscribers.get(run_id)
            if subscribers is not None:
                subscribers.discard(subscription)
                if not subscribers:
                    del self._subscribers[run_id]


async def _settled(state: RunState, seq: int, limit: float) -> None:
    """Wait (briefly) until the database shows the stop event ``seq`` announced: the
    runtime tells listeners before it saves, and a client reading the run right after the
    stream ends must not see it still running."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + limit
    while loop.time() < deadline:  # polling the database: no event to wait on
        status, last_seq = await state()
        if status in STOP_STATUSES and last_seq >= seq:
            return
        await asyncio.sleep(0.005)


def _drain(queue: asyncio.Queue[RunEvent]) -> None:
    with contextlib.suppress(asyncio.QueueEmpty):
        while True:
            queue.get_nowait()


def sse_frame(event: RunEvent) -> str:
    """``event: <type>``, ``id: <seq>``, ``data: <JSON>`` (DESIGN section 3)."""
    return event.to_sse()


async def sse_body(events: AsyncIterator[RunEvent | None]) -> AsyncIterator[str]:
    """The text/event-stream body: a retry hint, the events, keep-alive comments."""
    yield "retry: 1000\n\n"
    async for event in events:
        yield KEEPALIVE if event is None else sse_frame(event)


def sse_events(text: str) -> list[dict[str, object]]:
    """Parse a text/event-stream body into ``{event, id, data}`` dicts (for tests and
    clients in Python); comment lines and retry hints are skipped."""
    frames: list[dict[str, object]] = []
    for block in text.split("\n\n"):
        frame: dict[str, object] = {}
        for line in block.splitlines():
            if not line or line.startswith(":"):
                continue
            name, _, value = line.partition(":")
            value = value.removeprefix(" ")
            if name == "data":
                frame["data"] = json.loads(value)
            elif name in ("event", "id"):
                frame[name] = value
        if "event" in frame:
            frames.append(frame)
    return frames
