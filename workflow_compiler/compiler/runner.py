"""What one LangGraph node does for one spec node: gate, decide live or dead, run, route.

The policies every node type shares live here, once: ``when``, per-attempt ``timeout``,
``retry`` (through LangGraph's ``RetryPolicy``: a failed attempt that may be retried is
re-raised for it, after the extra wait a ``Retry-After`` asks for, see ``retry_after``;
the last one is turned into ``on_error``; a failure met again while a resumed node replays
its saved steps, ``REPLAYED``, is retried as it was the first time, without a second
event), events (with the usage a failed attempt
reports) and secret redaction.
Interrupts (``GraphBubbleUp``) always pass straight through.
"""

from __future__ import annotations

import asyncio
import time
import typing
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from langgraph.errors import GraphBubbleUp
from langgraph.runtime import Runtime
from langgraph.types import Command

from workflow_compiler.compiler.context import RunContext
from workflow_compiler.compiler.plan import (
    LatchPlan,
    NodePlan,
    continue_key,
    fired_key,
    sender_key,
    visits_key,
)
from workflow_compiler.compiler.retry_after import extra_wait
from workflow_compiler.compiler.state import DROP, LIVE_OUT
from workflow_compiler.errors import (
    REPLAYED,
    ErrorInfo,
    ExpressionError,
    GraphwrightError,
    NodeExecutionError,
    NodeTimeoutError,
)
from workflow_compiler.nodes.base import NodeContext, NodeResult

State = Mapping[str, Any]
#: how much longer than its timeout an executor that keeps its own deadline may run
DEADLINE_GRACE_S = 0.5
NOTHING: Command[Any] = Command(update={}, goto=[])


class RetryableAttempt(Exception):  # noqa: N818  (a signal to LangGraph's RetryPolicy)
    """Raised to have LangGraph's RetryPolicy retry the node after a retryable failure."""

    def __init__(self, error: NodeExecutionError) -> None:
        super().__init__(error.message)
        self.error = error


def retry_on(exc: Exception) -> bool:
    return isinstance(exc, RetryableAttempt)


class NodeFailedError(GraphwrightError):
    """The run fails because a node failed with ``on_error: fail``."""

    def __init__(self, info: ErrorInfo) -> None:
        super().__init__(info.message, details={"node_id": info.node_id, "error": info.to_dict()})
        self.code = info.code
        self.info = info


def _resolve_call_annotations(cls: type) -> None:
    call = cls.__call__
    call.__annotations__ = typing.get_type_hints(call)


def now_iso() -> str:
    return datetime.now(UTC).isoformat()


Emit = Callable[[str, str, dict[str, Any]], None]


def emitter(runtime: Runtime[RunContext], state: State) -> Emit:
    """Events go to the run's sink, else out on LangGraph's custom stream; node ids are
    prefixed by the subgraph path."""
    context = runtime.context
    sink = context.sink if context is not None else None
    writer = sink if sink is not None else runtime.stream_writer
    prefix = state.get("path") or ""

    def emit(event_type: str, node_id: str, data: dict[str, Any]) -> None:
        writer({"type": event_type, "node_id": f"{prefix}{node_id}",
                "ts": now_iso(), "data": context.redact(data) if context else data})

    return emit


def taken_ports(state: State, node_id: str) -> list[str] | tuple[str, ...]:
    ports: list[str] | tuple[str, ...] = state.get("ports", {}).get(node_id, LIVE_OUT)
    return ports


def edge_live(state: State, source: str, port: str) -> bool:
    return port in taken_ports(state, source)


def route(
    successors: tuple[str, ...], joins: dict[str, str], sender: str, update: dict[str, Any]
) -> Command[Any]:
    """Send one arrival to every successor; joins get it counted."""
    if joins:
        counts: dict[str, int] = dict(update.get("arrivals", {}))
        for target, mode in joins.items():
            key = target if mode == "all" else sender_key(target, sender)
            counts[key] = counts.get(key, 0) + 1
        update["arrivals"] = counts
    return Command(update=update, goto=list(successors))


def closing(plan: NodePlan, update: dict[str, Any]) -> tuple[str, ...]:
    """Where a ``join: any`` whose round closes in this update must also go: its pass's
    latch, which counts the report (``Gate.consume`` carries it)."""
    latch = plan.round_latch
    if latch is None or update.get("arrivals", {}).get(latch, 0) <= 0:
        return ()
    return (latch,)


class Gate:
    """Join bookkeeping: whether to fire now, whether live, and the arrival counts to
    write (arrivals consumed; for a ``join: any`` in a loop whose round closes, the report
    to its pass's latch).

    ``entered``: a loop header fires from its entry edges, not for another pass, so a new
    run of its loop begins.
    """

    __slots__ = ("consume", "entered", "fire", "live")

    def __init__(self, fire: bool, live: bool, consume: dict[str, int]) -> None:
        self.fire = fire
        self.live = live
        self.consume = consume
        self.entered = False


def gate(plan: NodePlan, state: State) -> Gate:
    arrivals: dict[str, int] = state.get("arrivals", {})
    if plan.is_header and arrivals.get(continue_key(plan.id), 0) > 0:
        consume = {continue_key(plan.id): -1}
        if plan.arity > 1 and plan.node.join == "any":
            # A ``join: any`` header runs its loop from the first live entry; the later
            # entries may come in the superstep of a next pass. Absorb them here too, or
            # the round would only close (and an enclosing pass end) when the header
            # fires again, which it may never do.
            late = _entry_gate(plan, state, arrivals)
            if not late.fire:
                consume.update(late.consume)
        return Gate(True, True, consume)
    verdict = _entry_gate(plan, state, arrivals)
    verdict.entered = plan.is_header and verdict.fire
    return verdict


def _entry_gate(plan: NodePlan, state: State, arrivals: dict[str, int]) -> Gate:
    if plan.is_root:
        return Gate(True, True, {})
    if plan.arity <= 1:
        live = any(edge_live(state, s, p) for s, p in plan.in_edges)
        return Gate(True, live, {})
    if plan.node.join == "all":
        if arrivals.get(plan.id, 0) < plan.arity:
            return Gate(False, False, {})
        live = any(edge_live(state, s, p) for s, p in plan.in_edges)
        return Gate(True, live, {plan.id: -plan.arity})
    # join: any: fire live at the first live arrival; close the round when all are in
    arrived = {s for s in plan.senders if arrivals.get(sender_key(plan.id, s), 0) > 0}
    already = arrivals.get(fired_key(plan.id), 0) > 0
    complete = len(arrived) == plan.arity
    consume: dict[str, int] = {}
    if complete:
        consume = {sender_key(plan.id, s): -1 for s in plan.senders}
        if already:
            consume[fired_key(plan.id)] = -1
        if plan.round_latch is not None:  # every sender has fired for this pass
            consume[plan.round_latch] = 1
    if already:
        return Gate(False, False, consume)
    live = any(
        sender in arrived and edge_live(state, source, port)
        for (source, port), sender in zip(plan.in_edges, plan.edge_sender, strict=True)
    )
    if live:
        if not complete:
            consume[fired_key(plan.id)] = 1
        return Gate(True, True, consume)
    if complete:
        return Gate(True, False, consume)
    return Gate(False, False, consume)


def consume_only(plan: NodePlan, consume: dict[str, int]) -> Command[Any]:
    """A join that does not fire: write its counts (and report a closed round)."""
    if not consume:
        return NOTHING
    update = {"arrivals": consume}
    return Command(update=update, goto=list(closing(plan, update)))


def start_loop_run(plan: NodePlan, verdict: Gate, state: State, update: dict[str, Any]) -> State:
    """A nested loop entered live starts afresh: its nodes' outputs of the previous run
    (an earlier pass of the outer loop) are forgotten and their visit counts restart, so
    ``nodes.<id> | default(0)`` counters and ``NodeContext.visit`` count this run only.

    Returns the state the header itself must see: without those outputs already, since
    the header is the first node of the new run (its own counter starts over too).
    """
    if not (verdict.entered and verdict.live and plan.loop_members):
        return state
    arrivals = state.get("arrivals", {})
    counts: dict[str, int] = update.setdefault("arrivals", {})
    for member in plan.loop_members:
        seen = arrivals.get(visits_key(member), 0)
        if seen:
            counts[visits_key(member)] = counts.get(visits_key(member), 0) - seen
    outputs: dict[str, Any] = state.get("nodes", {})
    members = set(plan.loop_members)
    gone = [m for m in outputs if m in members]
    if not gone:
        return state
    update["nodes"] = {DROP: gone}
    return {**state, "nodes": {k: v for k, v in outputs.items() if k not in members}}


def count_visit(plan: NodePlan, state: State, update: dict[str, Any]) -> int:
    """This live run's number within the current run of its loop (1 outside loops)."""
    if not plan.in_loop:
        return 1
    key = visits_key(plan.id)
    counts: dict[str, int] = update.setdefault("arrivals", {})
    pending = counts.get(key, 0)  # minus the old count, when entering the loop resets it
    counts[key] = pending + 1
    return int(state.get("arrivals", {}).get(key, 0)) + pending + 1


def scope_of(state: State, secrets: Mapping[str, str] | None = None) -> dict[str, Any]:
    scope: dict[str, Any] = {
        "inputs": state.get("inputs", {}),
        "nodes": state.get("nodes", {}),
        "run": state.get("run", {}),
        "secrets": secrets or {},
    }
    if "item" in state:
        scope["item"] = state["item"]
        scope["index"] = state.get("index", 0)
    return scope


class NodeRunner:
    """The LangGraph node function for one spec node (not map; see ``maps``)."""

    def __init__(self, plan: NodePlan) -> None:
        self.plan = plan
        self.__name__ = plan.id  # LangGraph names nodes after their callables

    async def __call__(self, state: State, runtime: Runtime[RunContext]) -> Command[Any]:
        plan = self.plan
        verdict = gate(plan, state)
        if not verdict.fire:
            return consume_only(plan, verdict.consume)
        emit = emitter(runtime, state)
        update: dict[str, Any] = {"arrivals": dict(verdict.consume)} if verdict.consume else {}
        if not verdict.live:
            return self.dead(state, update, emit)
        state = start_loop_run(plan, verdict, state, update)
        context = runtime.context
        secrets = await context.secrets_for(plan.secret_names) if plan.secret_names else None
        scope = scope_of(state, secrets)
        attempt = runtime.execution_info.node_attempt if runtime.execution_info else 1
        if plan.when is not None:
            try:
                should_run = bool(plan.when.evaluate(scope))
            except ExpressionError as exc:
                return self.failed(state, update, emit, _as_node_error(exc), attempt)
            if not should_run:
                emit("node.skipped", plan.id, {"reason": "when"})
                return self.finish(state, update, None, plan.all_ports)
        visit = count_visit(plan, state, update)
        if attempt == 1:
            emit("node.started", plan.id, {"type": plan.node.type_name, "visit": visit})
        started = time.perf_counter()
        deadline = None if plan.timeout is None \
            else asyncio.get_running_loop().time() + plan.timeout
        ctx = NodeContext(
            node=plan.node, run_id=context.run_id, scope=scope, services=context.services,
            attempt=attempt, visit=visit, node_path=f"{state.get('path') or ''}{plan.id}",
            deadline=deadline,
            emit=lambda t, d: emit(t, plan.id, d),
            config={"runtime": runtime, "state": state, "emit_as": emit,
                    "tools": plan.ai_tools, "memory_source": plan.ai_memory},
            cache=plan.compiled,
        )
        try:
            result = await self.execute(ctx)
        except GraphBubbleUp:
            raise
        except (NodeExecutionError, ExpressionError) as exc:
            error = _as_node_error(exc)
            usage = error.details.pop("usage", None)  # an attempt's cost: on its event
            if error.details.pop(REPLAYED, False) and error.retryable \
                    and plan.retry is not None and attempt < plan.retry.max_attempts:
                raise RetryableAttempt(error) from exc  # reported when it first happened
            if error.retryable and plan.retry is not None and attempt < plan.retry.max_attempts:
                emit("node.retrying", plan.id, _with_usage({
                    "attempt": attempt, "max_attempts": plan.retry.max_attempts,
                    "error": {"code": error.code, "message": error.message},
                }, usage))
                remaining = None if plan.timeout is None \
                    else plan.timeout - (time.perf_counter() - started)
                await asyncio.sleep(extra_wait(plan.retry, attempt, error.details, remaining))
                raise RetryableAttempt(error) from exc
            return self.failed(state, update, emit, error, attempt, usage)
        output = context.redact(result.output)
        emit("node.completed", plan.id, {
            "output": output, "port": list(result.ports),
            "duration_ms": round((time.perf_counter() - started) * 1000, 3),
            "attempt": attempt, "usage": result.usage,
        })
        return self.finish(state, update, output, result.ports)

    async def execute(self, ctx: NodeContext) -> NodeResult:
        """The executor, bounded by the node's ``timeout``. An executor that keeps the
        deadline itself (``keeps_deadline``: the llm node, so that a timed-out attempt still
        reports its tokens and is saved as a step a resume can replay) gets a little longer
        here, as a backstop for the code between its steps."""
        if self.plan.timeout is None:
            return await self.plan.executor.execute(ctx)
        grace = DEADLINE_GRACE_S if getattr(self.plan.executor, "keeps_deadline", False) \
            else 0.0
        try:
            async with asyncio.timeout(self.plan.timeout + grace):
                return await self.plan.executor.execute(ctx)
        except TimeoutError:
            raise NodeTimeoutError(self.plan.id, self.plan.timeout) from None

    def finish(
        self, state: State, update: dict[str, Any], output: Any, ports: tuple[str, ...]
    ) -> Command[Any]:
        plan = self.plan
        update["nodes"] = {**update.get("nodes", {}), plan.id: output}
        if tuple(ports) != LIVE_OUT or plan.id in state.get("ports", {}):
            update["ports"] = {plan.id: list(ports)}
        return self.send(update)

    def dead(self, state: State, update: dict[str, Any], emit: Any) -> Command[Any]:
        emit("node.skipped", self.plan.id, {"reason": "branch_not_taken"})
        update["ports"] = {self.plan.id: []}
        return self.send(update)

    def send(self, update: dict[str, Any]) -> Command[Any]:
        plan = self.plan
        report = closing(plan, update)
        targets = plan.successors if not report or report[0] in plan.successors \
            else (*plan.successors, *report)
        return route(targets, plan.join_targets, plan.id, update)

    def failed(
        self, state: State, update: dict[str, Any], emit: Any, error: NodeExecutionError,
        attempt: int, usage: Any = None,
    ) -> Command[Any]:
        plan = self.plan
        info = ErrorInfo(error.code, error.message, plan.id, error.details)
        emit("node.failed", plan.id, _with_usage({
            "error": info.to_dict(), "attempt": attempt,
            "handled": plan.node.on_error != "fail"}, usage))
        if plan.node.on_error == "fail":
            raise NodeFailedError(info) from error
        ports = ("error",) if plan.node.on_error == "route" else plan.all_ports
        return self.finish(state, update, {"error": info.to_dict()}, ports)


def _with_usage(data: dict[str, Any], usage: Any) -> dict[str, Any]:
    """``data`` with what a failed attempt cost (the llm node puts its tokens in the
    error's details): under ``usage``, as ``node.completed`` has it, for the run's totals."""
    if usage is not None:
        data["usage"] = usage
    return data


def _as_node_error(exc: GraphwrightError) -> NodeExecutionError:
    if isinstance(exc, NodeExecutionError):
        return exc
    return NodeExecutionError(exc.message, code=exc.code)


class LatchRunner:
    """Ends one pass of a loop: start the next one, or leave through the exits."""

    def __init__(self, plan: LatchPlan) -> None:
        self.plan = plan
        self.__name__ = plan.loop.latch

    async def __call__(self, state: State, runtime: Runtime[RunContext]) -> Command[Any]:
        plan = self.plan
        consume: dict[str, int] = {}
        if plan.arity > 1:  # the body's sinks, and the rounds of its ``join: any`` nodes
            if state.get("arrivals", {}).get(plan.loop.latch, 0) < plan.arity:
                return NOTHING
            consume[plan.loop.latch] = -plan.arity
        exiting = any(edge_live(state, s, p) for s, p in plan.exit_edges)
        again = any(edge_live(state, s, p) for s, p in plan.continue_edges)
        if again and not exiting:
            consume[continue_key(plan.loop.header)] = 1
            return Command(update={"arrivals": consume}, goto=[plan.loop.header])
        update: dict[str, Any] = {"arrivals": consume} if consume else {}
        return route(plan.exit_targets, plan.join_targets, plan.loop.latch, update)


# LangGraph inspects each node's call signature when it is added; resolve the string
# annotations (``from __future__ import annotations``) once here, not once per node.
_resolve_call_annotations(NodeRunner)
_resolve_call_annotations(LatchRunner)
