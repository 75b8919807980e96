"""``WorkflowRuntime``: the single entry point the CLI, the API and the worker share.

A run is a LangGraph thread (thread id = run id). The runtime drives the compiled graph,
turns what nodes write on the custom stream into numbered run events, keeps the run record
(status machine in ``records.TRANSITIONS``), and checks every human response before it
touches the graph, so a refused response leaves a paused run exactly as it was.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import AsyncGenerator, AsyncIterator, Callable
from contextlib import aclosing
from datetime import UTC, datetime
from typing import Any, cast

from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.errors import GraphRecursionError
from langgraph.store.base import BaseStore
from langgraph.types import Command, Durability

from workflow_compiler.compiler.cache import CompiledWorkflow, WorkflowCompiler
from workflow_compiler.compiler.context import RunContext
from workflow_compiler.error_codes import check_code
from workflow_compiler.errors import (
    GraphwrightError,
    InvalidResponseError,
    RunNotFoundError,
    RunStateError,
)
from workflow_compiler.nodes.human import check_approval_response, check_input_response
from workflow_compiler.runtime.events import EventType, RunEvent
from workflow_compiler.runtime.forking import copy_checkpoint
from workflow_compiler.runtime.records import (
    TERMINAL_STATUSES,
    TRANSITIONS,
    PendingInterrupt,
    RunRecord,
    RunResult,
)
from workflow_compiler.runtime.retention import KEPT_BY_NONE, Retention, expired, keep_latest
from workflow_compiler.runtime.staging import StagedSaver
from workflow_compiler.runtime.store import MemoryRunStore, RunStore
from workflow_compiler.services import RuntimeServices
from workflow_compiler.spec.durations import parse_duration

log = logging.getLogger("graphwright.runtime")
Listener = Callable[[RunEvent], None]
EVENT_FLUSH_EVERY = 256
#: where ``ainvoke`` reports pending interrupts in the state it returns
INTERRUPT_KEY = "__interrupt__"


class InvalidInputsError(GraphwrightError):
    code = "invalid_inputs"


def utcnow() -> str:
    return datetime.now(UTC).isoformat()


def _new_id() -> str:
    return uuid.uuid4().hex


class WorkflowRuntime:
    def __init__(
        self,
        *,
        checkpointer: BaseCheckpointSaver[Any] | None = None,
        store: RunStore | None = None,
        services: RuntimeServices | None = None,
        compiler: WorkflowCompiler | None = None,
        retention: Retention | None = None,
        memory_store: BaseStore | None = None,
        durability: Durability | None = None,
    ) -> None:
        """``store`` keeps run records and events; ``memory_store`` is the LangGraph store
        llm nodes keep conversation memory in (see ``runtime.stores.open_store``).

        ``durability``: when LangGraph writes checkpoints. None (LangGraph's ``async``):
        after every superstep, so a run can be forked from any step. ``exit``: when the
        run pauses or ends only, so a fork starts from a pause or the end; a pause still
        keeps everything done before it. On a database-backed checkpointer ``exit`` costs
        one checkpoint per drive instead of one per step (the service's throughput knob).
        With ``exit`` and ``Retention(mode="none")`` as well, a new run's checkpoints stay
        in memory unless it pauses or fails (``runtime.staging``): a run that completes
        in one drive never touches the checkpointer's database."""
        from langgraph.checkpoint.memory import InMemorySaver
        from langgraph.store.memory import InMemoryStore

        self.retention = retention or Retention()
        saver: BaseCheckpointSaver[Any] = checkpointer or InMemorySaver()
        if durability == "exit" and self.retention.mode == "none" \
                and not isinstance(saver, InMemorySaver | StagedSaver):
            saver = StagedSaver(saver)
        self.checkpointer: BaseCheckpointSaver[Any] = saver
        self.memory_store: BaseStore = memory_store if memory_store is not None \
            else InMemoryStore()
        self.store: RunStore = store or MemoryRunStore()
        self.services = services or RuntimeServices()
        self.compiler = compiler or WorkflowCompiler()
        self.durability: Durability | None = durability
        self._active: dict[str, asyncio.Task[Any]] = {}
        self._cancelled: set[str] = set()
        self._listeners: list[Listener] = []
        self._locks: dict[str, asyncio.Lock] = {}

    def subscribe(self, listener: Listener) -> Callable[[], None]:
        """Receive every event as it is produced (before persistence batching)."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener)

    # ------------------------------------------------------------------ starting

    async def start(
        self, spec: object, inputs: dict[str, Any] | None = None, *, run_id: str | None = None,
        last_seq: int = 0,
    ) -> RunResult:
        """Run until the run completes, fails or pauses; events are still recorded (and
        reach subscribers as they happen), but are not handed back one by one."""
        return _result_of(await self.execute(spec, inputs, run_id=run_id, last_seq=last_seq))

    async def execute(
        self, spec: object, inputs: dict[str, Any] | None = None, *, run_id: str | None = None,
        last_seq: int = 0,
    ) -> RunRecord:
        """``start``, answering with the run's whole record as the drive stored it (its
        timings, usage and last event number too), without reading it back."""
        run_id = run_id or _new_id()  # not "the last started": starts may overlap
        out: list[RunRecord] = []
        async with aclosing(self._start(spec, inputs, run_id, last_seq, live=False, out=out)
                            ) as drive:
            async for _ in drive:
                pass
        return out[0]

    async def stream(
        self, spec: object, inputs: dict[str, Any] | None = None, *, run_id: str | None = None,
        last_seq: int = 0,
    ) -> AsyncIterator[RunEvent]:
        """Run like ``start``, yielding every event as it happens.

        ``last_seq``: events the run already has (its ``run.queued``, see ``enqueue``),
        so the run's own events continue the numbering without a store read."""
        async with aclosing(self._start(spec, inputs, run_id, last_seq, live=True)) as drive:
            async for event in drive:
                yield event

    async def _start(
        self, spec: object, inputs: dict[str, Any] | None, run_id: str | None, last_seq: int,
        *, live: bool, out: list[RunRecord] | None = None,
    ) -> AsyncGenerator[RunEvent, None]:
        compiled = self.compiler.compile(spec)
        inputs = dict(inputs or {})
        errors = compiled.input_errors(inputs)
        if errors:
            raise InvalidInputsError(
                "the inputs do not match the workflow's input schema: " + "; ".join(errors),
                details={"errors": errors},
            )
        run_id = run_id or _new_id()
        self._last_started = run_id
        now = utcnow()
        record = RunRecord(run_id=run_id, workflow=compiled.spec.name,
                           spec_hash=compiled.spec_hash, status="running", inputs=inputs,
                           created_at=now, started_at=now, last_seq=last_seq)
        raw = spec if isinstance(spec, dict) else compiled.spec.model_dump(by_alias=True)
        await self.store.create(record, raw)
        if isinstance(self.checkpointer, StagedSaver):
            self.checkpointer.stage(run_id)
        graph_input = {"inputs": inputs, "run": {"id": run_id, "started_at": now}, "path": ""}
        async with aclosing(
            self._drive(compiled, record, graph_input, "run.started", {}, live=live, out=out)
        ) as drive:
            async for event in drive:
                yield event

    async def enqueue(self, run_id: str, data: dict[str, Any] | None = None) -> RunEvent:
        """Record ``run.queued`` for a run its store already holds as ``queued`` (a service
        registers runs before a task or worker starts them). Start it later with
        ``start(..., run_id=run_id, last_seq=<this event's seq>)``."""
        record = await self._record(run_id)
        if record.status != "queued":
            raise RunStateError(f"run {run_id} is {record.status}, not queued")
        event = RunEvent(seq=record.last_seq + 1, run_id=run_id, type="run.queued",
                         ts=utcnow(), data=dict(data or {}))
        await self.store.append_events([event])
        record.last_seq = event.seq
        await self.store.save(record)
        self._notify(event)
        return event

    # ------------------------------------------------------------------ resuming

    async def resume(
        self, run_id: str, response: Any, *, interrupt_id: str | None = None
    ) -> RunResult:
        out: list[RunRecord] = []
        async with aclosing(self._resume(run_id, response, interrupt_id, live=False, out=out)
                            ) as drive:
            async for _ in drive:
                pass
        return _result_of(out[0])

    async def stream_resume(
        self, run_id: str, response: Any, *, interrupt_id: str | None = None
    ) -> AsyncIterator[RunEvent]:
        async with aclosing(self._resume(run_id, response, interrupt_id, live=True)) as drive:
            async for event in drive:
                yield event

    async def _resume(
        self, run_id: str, response: Any, interrupt_id: str | None, *, live: bool,
        out: list[RunRecord] | None = None,
    ) -> AsyncGenerator[RunEvent, None]:
        async with self._lock(run_id):  # concurrent answers see each other's effect
            record, compiled = await self._paused(run_id)
            target = _pick(record.interrupts, interrupt_id)
            value = self._resume_value(target, response)
            async with aclosing(self._drive(
                compiled, record, Command(resume={target.id: value}), "run.resumed",
                {"interrupt_id": target.id, "node_id": target.node_id, "kind": target.kind},
                live=live, out=out,
            )) as drive:
                async for event in drive:
                    yield event

    async def signal(self, run_id: str, name: str, data: Any = None) -> RunResult:
        async with self._lock(run_id):
            record, compiled = await self._paused(run_id)
            waiting = [i for i in record.interrupts
                       if i.kind == "signal" and i.payload.get("signal") == name]
            if not waiting:
                raise RunStateError(f"run {run_id} has no node waiting for signal {name!r}")
            now = utcnow()
            resume = {i.id: {"data": data, "received_at": now} for i in waiting}
            async with aclosing(self._drive(
                compiled, record, Command(resume=resume), "run.resumed",
                {"signal": name, "interrupt_ids": list(resume)}, live=False,
            )) as drive:
                async for _ in drive:
                    pass
        return await self.result(run_id)

    async def due_interrupts(
        self, now: datetime | None = None, *, run_id: str | None = None
    ) -> list[tuple[str, PendingInterrupt]]:
        """(run id, interrupt) for every paused wait or timeout that is due at ``now``
        (of one run, if ``run_id`` is given)."""
        moment = now or datetime.now(UTC)
        if run_id is not None:
            records = [await self._record(run_id)]
        else:
            records = await self.store.list(status="paused", limit=100_000)
        return [
            (record.run_id, interrupt)
            for record in records if record.status == "paused"
            for interrupt in record.interrupts
            if interrupt.due_at and datetime.fromisoformat(interrupt.due_at) <= moment
        ]

    async def fire_due(
        self, now: datetime | None = None, *, run_id: str | None = None
    ) -> list[str]:
        """Resume every paused interrupt whose due time has passed (of one run, if
        ``run_id`` is given); returns the ids of the runs resumed."""
        moment = now or datetime.now(UTC)
        by_run: dict[str, list[PendingInterrupt]] = {}
        for due_run, interrupt in await self.due_interrupts(moment, run_id=run_id):
            by_run.setdefault(due_run, []).append(interrupt)
        fired: list[str] = []
        for due_run, due in by_run.items():
            async with self._lock(due_run):
                record = await self._record(due_run)
                if record.status != "paused":
                    continue  # answered or cancelled meanwhile
                current = {i.id for i in record.interrupts}
                due = [i for i in due if i.id in current]
                if not due:
                    continue
                compiled = await self._compiled_for(due_run)
                resume = {i.id: ({"fired_at": moment.isoformat(), "due_at": i.due_at}
                                 if i.kind == "wait" else {"timeout": True, "due_at": i.due_at})
                          for i in due}
                async with aclosing(self._drive(
                    compiled, record, Command(resume=resume), "run.resumed",
                    {"due": [i.id for i in due]}, live=False,
                )) as drive:
                    async for _ in drive:
                        pass
            fired.append(due_run)
        return fired

    def _notify(self, event: RunEvent) -> None:
        """Listeners are observers: one that raises is logged, never fails the run."""
        for listener in list(self._listeners):
            try:
                listener(event)
            except Exception:
                log.exception("event listener %r failed on %s", listener, event.type)

    async def _save_progress(self, record: RunRecord, pending: list[RunEvent]) -> None:
        if pending:
            await self.store.append_events(list(pending))
            pending.clear()
        await self.store.save(record)

    def _lock(self, run_id: str) -> asyncio.Lock:
        lock = self._locks.get(run_id)
        if lock is None:
            lock = self._locks[run_id] = asyncio.Lock()
        return lock

    def _resume_value(self, target: PendingInterrupt, response: Any) -> Any:
        if target.kind == "approval":
            checked = check_approval_response(target.payload, response)
            checked["at"] = utcnow()  # the server's time, never the responder's
            return {"response": checked, "due_at": target.payload.get("due_at")}
        if target.kind == "input":
            return {"data": check_input_response(target.payload, response)}
        if target.kind == "signal":
            return {"data": response, "received_at": utcnow()}
        if target.kind == "wait":
            return {"fired_at": utcnow(), "due_at": target.payload.get("due_at")}
        raise InvalidResponseError(f"cannot answer an interrupt of kind {target.kind!r}")

    # ------------------------------------------------------------------ control

    async def cancel(self, run_id: str) -> RunResult:
        record = await self._record(run_id)
        if record.status in TERMINAL_STATUSES:
            raise RunStateError(f"run {run_id} is already {record.status}; it cannot be cancelled")
        task = self._active.get(run_id)
        if task is not None and task is not asyncio.current_task():
            self._cancelled.add(run_id)
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
            return await self.result(run_id)
        await self._cancel_idle(record)
        return await self.result(run_id)

    async def result(self, run_id: str) -> RunResult:
        return _result_of(await self._record(run_id))

    async def get_run(self, run_id: str) -> RunRecord:
        return await self._record(run_id)

    async def events(self, run_id: str, after_seq: int = 0) -> list[RunEvent]:
        await self._record(run_id)
        return await self.store.events(run_id, after_seq)

    async def state(self, run_id: str) -> dict[str, Any]:
        compiled = await self._compiled_for(run_id)
        graph = compiled.with_checkpointer(self.checkpointer, self.memory_store)
        snapshot = await graph.aget_state(_config(run_id))
        return {
            "values": snapshot.values,
            "next": list(snapshot.next),
            "checkpoint_id": snapshot.config.get("configurable", {}).get("checkpoint_id"),
            "interrupts": [i.model_dump() for i in _interrupts_of(snapshot)],
        }

    async def history(self, run_id: str) -> list[dict[str, Any]]:
        compiled = await self._compiled_for(run_id)
        graph = compiled.with_checkpointer(self.checkpointer, self.memory_store)
        items = []
        async for snap in graph.aget_state_history(_config(run_id)):
            conf = snap.config.get("configurable", {})
            parent = (snap.parent_config or {}).get("configurable", {})
            items.append({
                "checkpoint_id": conf.get("checkpoint_id"),
                "parent_checkpoint_id": parent.get("checkpoint_id"),
                "step": (snap.metadata or {}).get("step"),
                "source": (snap.metadata or {}).get("source"),
                "created_at": snap.created_at,
                "next": list(snap.next),
                "completed_nodes": sorted((snap.values or {}).get("nodes", {})),
            })
        return items

    async def checkpoint(self, run_id: str, checkpoint_id: str) -> dict[str, Any]:
        """One checkpoint of the run's history (as ``history`` lists it) with the state
        values saved there; ``RunNotFoundError`` if the run has no such checkpoint."""
        compiled = await self._compiled_for(run_id)
        graph = compiled.with_checkpointer(self.checkpointer, self.memory_store)
        config: RunnableConfig = {"configurable": {
            "thread_id": run_id, "checkpoint_ns": "", "checkpoint_id": checkpoint_id}}
        if await self.checkpointer.aget_tuple(config) is None:
            raise RunNotFoundError(f"run {run_id} has no checkpoint {checkpoint_id!r}")
        snap = await graph.aget_state(config)
        parent = (snap.parent_config or {}).get("configurable", {})
        return {
            "checkpoint_id": checkpoint_id,
            "parent_checkpoint_id": parent.get("checkpoint_id"),
            "step": (snap.metadata or {}).get("step"),
            "source": (snap.metadata or {}).get("source"),
            "created_at": snap.created_at,
            "next": list(snap.next),
            "completed_nodes": sorted((snap.values or {}).get("nodes", {})),
            "values": snap.values,
            "interrupts": [i.model_dump() for i in _interrupts_of(snap)],
        }

    async def fork(
        self, run_id: str, checkpoint_id: str, *, new_run_id: str | None = None
    ) -> RunResult:
        """A new run that starts from an earlier checkpoint of ``run_id`` and runs on."""
        record = await self._record(run_id)
        compiled = await self._compiled_for(run_id)
        spec = await self.store.spec(run_id)
        assert spec is not None
        fork_id = new_run_id or _new_id()
        await copy_checkpoint(self.checkpointer, run_id, checkpoint_id, fork_id)
        now = utcnow()
        child = RunRecord(run_id=fork_id, workflow=record.workflow, spec_hash=record.spec_hash,
                          status="running", inputs=record.inputs, created_at=now,
                          started_at=now, parent_run_id=run_id, forked_from=checkpoint_id)
        await self.store.create(child, spec)
        async with aclosing(self._drive(
            compiled, child, None, "run.started",
            {"forked_from": {"run_id": run_id, "checkpoint_id": checkpoint_id}},
        )) as drive:
            async for _ in drive:
                pass
        return await self.result(fork_id)

    async def purge_expired(self, now: datetime | None = None) -> list[str]:
        """With ``Retention(mode="ttl")``: drop checkpoints of runs finished over ttl ago."""
        if self.retention.mode != "ttl" or self.retention.ttl is None:
            return []
        moment = now or datetime.now(UTC)
        purged = []
        for status in TERMINAL_STATUSES:
            for record in await self.store.list(status=status, limit=100_000):
                if expired(record.finished_at, self.retention.ttl, moment):
                    await self.checkpointer.adelete_thread(record.run_id)
                    purged.append(record.run_id)
        return purged

    # ------------------------------------------------------------------ internals

    async def _record(self, run_id: str) -> RunRecord:
        record = await self.store.get(run_id)
        if record is None:
            raise RunNotFoundError(f"no run with id {run_id!r}")
        return record

    async def _compiled_for(self, run_id: str) -> CompiledWorkflow:
        spec = await self.store.spec(run_id)
        if spec is None:
            raise RunNotFoundError(f"no run with id {run_id!r}")
        return self.compiler.compile(spec)

    async def _paused(self, run_id: str) -> tuple[RunRecord, CompiledWorkflow]:
        record = await self._record(run_id)
        if record.status != "paused":
            raise RunStateError(f"run {run_id} is {record.status}, not paused")
        return record, await self._compiled_for(run_id)

    async def _drive(
        self,
        compiled: CompiledWorkflow,
        record: RunRecord,
        graph_input: Any,
        opening: str,
        opening_data: dict[str, Any],
        *,
        live: bool = True,
        out: list[RunRecord] | None = None,
    ) -> AsyncGenerator[RunEvent, None]:
        """Drive the graph until it ends or pauses. ``live``: node events come through
        LangGraph's custom stream and are yielded as they happen; otherwise they go to a
        sink (recorded and sent to subscribers, not yielded), which costs far less.
        ``out`` receives the record as the drive committed it (callers need no re-read)."""
        run_id = record.run_id
        seq = record.last_seq
        pending: list[RunEvent] = []

        def make(kind: str, node_id: str | None, data: dict[str, Any], ts: str | None = None
                 ) -> RunEvent:
            nonlocal seq
            seq += 1
            # Built by us from known fields: skip pydantic's validation on this hot path.
            event = RunEvent.model_construct(seq=seq, run_id=run_id, type=cast(EventType, kind),
                                             node_id=node_id, ts=ts or utcnow(), data=data)
            pending.append(event)
            self._notify(event)
            return event

        def accept(chunk: Any) -> RunEvent | None:
            """A node's event as the run records it (None: not an event, or the repeated
            start of a node resumed from an interrupt)."""
            if not (isinstance(chunk, dict) and "type" in chunk):
                return None
            if chunk["type"] == "node.started" and chunk.get("node_id") in resumed:
                resumed.discard(chunk["node_id"])
                return None
            if chunk["type"] in ("node.completed", "node.failed", "node.retrying"):
                _add_usage(record.usage, chunk.get("data", {}).get("usage"))
            return make(chunk["type"], chunk.get("node_id"), chunk.get("data", {}),
                        chunk.get("ts"))

        async def flush() -> None:
            if pending:
                await self.store.append_events(list(pending))
                pending.clear()

        # A resumed node runs again from its start; it was already reported as started.
        resumed = {i.node_id for i in record.interrupts}
        if record.status != "running":
            # A resume claims the run: the store moves it to running only if it is still
            # what this drive read (paused), so two processes answering the same run at
            # once cannot both drive it (the per-run lock only covers this process); and
            # observers see it running while it runs.
            previous = record.status
            _check_transition(previous, "running")
            record.status = "running"
            record.interrupts = []
            if not await self.store.claim(record, previous):
                raise RunStateError(
                    f"run {run_id} is no longer {previous}: another answer or process "
                    "resumed or ended it first; read it again and answer what it waits for")
        record.interrupts = []
        yield make(opening, None, opening_data)
        graph = compiled.with_checkpointer(self.checkpointer, self.memory_store)
        config = _config(run_id)
        # The spec's limits bound the run, not each drive: a resume gets what is left.
        max_steps = compiled.spec.limits.max_steps
        steps_left = max_steps - record.steps_used
        config["recursion_limit"] = max(steps_left, 1)
        context = RunContext(run_id=run_id, services=self.services, compiler=self.compiler,
                             workflow=compiled.spec.name)
        limit = compiled.spec.limits.timeout
        time_left = parse_duration(limit) - record.active_ms / 1000 if limit is not None \
            else None
        began = time.monotonic()
        current = asyncio.current_task()
        if current is not None:
            self._active[run_id] = current
        outcome: tuple[str, str, dict[str, Any]]
        concluded = False
        try:
            try:
                if steps_left <= 0:
                    raise GraphRecursionError(f"max_steps={max_steps} used up")
                if time_left is not None and time_left <= 0:
                    raise TimeoutError
                final: Any = None
                async with asyncio.timeout(time_left):
                    if live:
                        async for _ns, chunk in graph.astream(
                            graph_input, config, context=context,
                            stream_mode="custom", subgraphs=True, durability=self.durability,
                        ):
                            event = accept(chunk)
                            if event is not None:
                                yield event
                                if len(pending) >= EVENT_FLUSH_EVERY:
                                    await flush()
                    else:
                        context.sink = accept
                        final = await graph.ainvoke(graph_input, config, context=context,
                                                    durability=self.durability)
                if isinstance(final, dict) and INTERRUPT_KEY not in final:
                    values: dict[str, Any] = final  # the end state: no checkpoint read needed
                    interrupts = []
                else:
                    snapshot = await graph.aget_state(config)
                    values, interrupts = snapshot.values, _interrupts_of(snapshot)
                    step = (snapshot.metadata or {}).get("step")
                    if isinstance(step, int):
                        record.steps_used = max(record.steps_used, step + 1)
                if interrupts:
                    record.interrupts = interrupts
                    outcome = ("paused", "run.paused",
                               {"interrupts": [i.model_dump() for i in interrupts]})
                else:
                    outputs = context.redact(compiled.evaluate_outputs(values))
                    record.outputs = outputs
                    outcome = ("completed", "run.completed",
                               {"outputs": outputs, "usage": dict(record.usage)})
            except asyncio.CancelledError:
                if run_id not in self._cancelled:
                    raise
                self._cancelled.discard(run_id)
                outcome = ("cancelled", "run.cancelled", {})
            except TimeoutError:
                outcome = _failure("run_limit_exceeded",
                                   f"the run exceeded its time limit ({limit}; running time "
                                   "over all its drives, waits for people and timers excluded)")
            except GraphRecursionError:
                outcome = _failure(
                    "run_limit_exceeded",
                    f"the run exceeded max_steps={max_steps} over all its drives "
                    "(raise limits.max_steps or check for a loop that never exits)")
            except GraphwrightError as exc:
                error = exc.details.get("error") if isinstance(exc.details.get("error"), dict) \
                    else {"code": exc.code, "message": exc.message}
                outcome = ("failed", "run.failed", {"error": context.redact(error)})
            except Exception as exc:
                log.exception("run %s failed unexpectedly", run_id)
                outcome = _failure("internal_error",
                                   f"internal error: {type(exc).__name__}: {exc}")
            finally:
                self._active.pop(run_id, None)
                record.active_ms += (time.monotonic() - began) * 1000
            status, event_type, data = outcome
            if status == "failed":
                record.error = data["error"]
            _check_transition(record.status, status)
            closing = make(event_type, None, data)
            _conclude(record, status, closing.seq)
            await self._settle_checkpoints(run_id, status)
            # The drive's events and the record that results go to the store together:
            # one write (one transaction where the store has them) per drive.
            await asyncio.shield(self.store.commit(record, list(pending)))
            pending.clear()
            concluded = True
        finally:
            if not concluded:
                # Whatever else ended the drive (the caller closing the stream, a foreign
                # cancellation, a failing store), what was produced is stored and the
                # record knows its last number, so later events never clash.
                record.last_seq = seq
                if isinstance(self.checkpointer, StagedSaver):
                    await asyncio.shield(self.checkpointer.release(run_id, keep=True))
                await asyncio.shield(self._save_progress(record, pending))
        if out is not None:
            out.append(record)
        yield closing

    async def _settle_checkpoints(self, run_id: str, status: str) -> None:
        """Retention at the end of a drive, before the store shows its outcome (so a paused
        run's checkpoint is durable before anyone can see it paused)."""
        if isinstance(self.checkpointer, StagedSaver) and self.checkpointer.is_staged(run_id):
            await asyncio.shield(self.checkpointer.release(
                run_id, keep=status not in TERMINAL_STATUSES or status in KEPT_BY_NONE))
        elif status in TERMINAL_STATUSES and self.retention.mode == "latest":
            await keep_latest(self.checkpointer, run_id)
        elif status in TERMINAL_STATUSES and status not in KEPT_BY_NONE \
                and self.retention.mode == "none":
            await self.checkpointer.adelete_thread(run_id)

    async def _cancel_idle(self, record: RunRecord) -> RunEvent:
        """Cancel a run nothing is driving (queued, paused, or left running by a process
        that died): its ``run.cancelled`` continues after whatever it stored last."""
        _check_transition(record.status, "cancelled")
        stored = await self.store.events(record.run_id, after_seq=record.last_seq)
        last = max([record.last_seq, *(e.seq for e in stored)])
        event = RunEvent(seq=last + 1, run_id=record.run_id, type="run.cancelled",
                         ts=utcnow(), data={})
        self._notify(event)
        _conclude(record, "cancelled", event.seq)
        await self.store.commit(record, [event])
        return event


def _result_of(record: RunRecord) -> RunResult:
    return RunResult(run_id=record.run_id, status=record.status, outputs=record.outputs,
                     error=record.error, interrupts=record.interrupts)


def _conclude(record: RunRecord, status: str, last_seq: int) -> None:
    """The record as a drive (or a cancel) leaves it: ``status``, its end, its last event."""
    record.status = status  # type: ignore[assignment]
    if status in TERMINAL_STATUSES:
        record.finished_at = utcnow()
        record.interrupts = []
    record.last_seq = last_seq


def _add_usage(totals: dict[str, int], usage: Any) -> None:
    """Run totals: every integer count a node reports (tokens, model calls) is summed."""
    if isinstance(usage, dict):
        for key, value in usage.items():
            if isinstance(value, int) and not isinstance(value, bool):
                totals[key] = totals.get(key, 0) + value


def _failure(code: str, message: str) -> tuple[str, str, dict[str, Any]]:
    return ("failed", "run.failed", {"error": {"code": check_code(code), "message": message}})


def _check_transition(current: str, target: str) -> None:
    if target not in TRANSITIONS.get(current, frozenset()):
        raise RunStateError(f"a run cannot go from {current} to {target}")


def _config(run_id: str) -> RunnableConfig:
    return {"configurable": {"thread_id": run_id}}


def _interrupts_of(snapshot: Any) -> list[PendingInterrupt]:
    found: list[PendingInterrupt] = []
    for interrupt in getattr(snapshot, "interrupts", ()) or ():
        value = interrupt.value
        payload = value if isinstance(value, dict) else {"value": value}
        found.append(PendingInterrupt(
            id=interrupt.id, node_id=str(payload.get("node_id", "")),
            kind=str(payload.get("kind", "interrupt")), payload=payload,
            due_at=payload.get("due_at"),
        ))
    return found


def _pick(interrupts: list[PendingInterrupt], interrupt_id: str | None) -> PendingInterrupt:
    if interrupt_id is not None:
        for interrupt in interrupts:
            if interrupt.id == interrupt_id or interrupt.node_id == interrupt_id:
                return interrupt
        raise InvalidResponseError(
            f"no pending interrupt {interrupt_id!r}; pending: "
            + ", ".join(f"{i.id} ({i.node_id})" for i in interrupts)
        )
    if len(interrupts) == 1:
        return interrupts[0]
    raise InvalidResponseError(
        "several interrupts are pending; say which with interrupt_id: "
        + ", ".join(f"{i.id} ({i.node_id})" for i in interrupts)
    )

