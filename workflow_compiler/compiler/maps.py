"""``map`` lowered to three LangGraph nodes: dispatch (``Send`` per item), worker, collect.

Each worker runs the body as a subgraph, so every item gets its own checkpoint namespace:
an interrupt inside one item pauses the run, and on resume only unfinished items run
again. A per-run semaphore (keyed by the enclosing subgraph's namespace) bounds
``concurrency``; results land in ``mapped`` and the collect node orders them.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from langgraph.errors import GraphBubbleUp
from langgraph.runtime import Runtime
from langgraph.types import Command, Send

from workflow_compiler.compiler.context import RunContext
from workflow_compiler.compiler.runner import (
    NodeRunner,
    State,
    _as_node_error,
    _resolve_call_annotations,
    closing,
    consume_only,
    emitter,
    gate,
    scope_of,
    start_loop_run,
)
from workflow_compiler.compiler.state import RESET
from workflow_compiler.errors import (
    ErrorInfo,
    ExpressionError,
    GraphwrightError,
    NodeExecutionError,
)
from workflow_compiler.spec.models import MapNode

if TYPE_CHECKING:
    from workflow_compiler.compiler.cache import CompiledWorkflow

COUNT = "#count"
STARTED = "#started"
ERROR = "#error"


def worker_name(map_id: str) -> str:
    return f"__item__{map_id}"


def collect_name(map_id: str) -> str:
    return f"__collect__{map_id}"


class MapDispatch(NodeRunner):
    async def __call__(self, state: State, runtime: Runtime[RunContext]) -> Command[Any]:
        plan = self.plan
        node = plan.node
        assert isinstance(node, MapNode)
        verdict = gate(plan, state)
        if not verdict.fire:
            return consume_only(plan, verdict.consume)
        emit = emitter(runtime, state)
        update: dict[str, Any] = {"arrivals": dict(verdict.consume)} if verdict.consume else {}
        if not verdict.live:
            return self.dead(state, update, emit)
        state = start_loop_run(plan, verdict, state, update)
        scope = scope_of(state)
        if plan.when is not None and not bool(plan.when.evaluate(scope)):
            emit("node.skipped", plan.id, {"reason": "when"})
            return self.finish(state, update, None, plan.all_ports)
        emit("node.started", plan.id, {"type": "map"})
        try:
            items = self.items(scope)
        except (ExpressionError, NodeExecutionError) as exc:
            return self.failed(state, update, emit, _as_node_error(exc), 1)
        if not items:
            emit("node.completed", plan.id, {"output": [], "port": ["out"], "duration_ms": 0})
            return self.finish(state, update, [], ("out",))
        update["mapped"] = {plan.id: {RESET: True, COUNT: len(items), STARTED: time.time()}}
        base = {"inputs": state.get("inputs", {}), "nodes": state.get("nodes", {}),
                "run": state.get("run", {}), "prefix": state.get("path") or ""}
        sends = [Send(worker_name(plan.id), {**base, "item": item, "index": i})
                 for i, item in enumerate(items)]
        return Command(update=update, goto=[*sends, *closing(plan, update)])

    def items(self, scope: dict[str, Any]) -> list[Any]:
        node = self.plan.node
        assert isinstance(node, MapNode)
        items = self.plan.items.evaluate(scope) if self.plan.items else None
        if not isinstance(items, list):
            raise NodeExecutionError(
                f"map {node.id!r}: 'items' must evaluate to a list, got {type(items).__name__}",
                code="type_mismatch",
            )
        if len(items) > node.max_items:
            raise NodeExecutionError(
                f"map {node.id!r}: {len(items)} items exceed max_items={node.max_items}",
                code="too_many_items",
            )
        return items


class MapWorker:
    """Runs the body for one item; failures are recorded for the collect node to judge."""

    def __init__(self, map_id: str, node: MapNode, body: CompiledWorkflow) -> None:
        self.map_id = map_id
        self.node = node
        self.body = body
        self.__name__ = worker_name(map_id)

    async def __call__(self, payload: dict[str, Any], runtime: Runtime[RunContext]) -> Command[Any]:
        index = int(payload["index"])
        namespace = runtime.execution_info.checkpoint_ns if runtime.execution_info else ""
        parent_ns = namespace.rsplit("|", 1)[0] if "|" in namespace else ""
        semaphore = runtime.context.semaphore(f"{parent_ns}/{self.map_id}", self.node.concurrency)
        body_input = {
            "inputs": payload["inputs"], "nodes": payload["nodes"], "run": payload["run"],
            "path": f"{payload['prefix']}{self.map_id}[{index}].",
            "item": payload["item"], "index": index,
        }
        result: Any
        async with semaphore:
            try:
                final = await self.body.graph.ainvoke(body_input, context=runtime.context)
                result = self.body.item_output(final)
            except GraphBubbleUp:
                raise
            except GraphwrightError as exc:
                info = _error_of(exc)
                result = {ERROR: {**info, "index": index}}
        return Command(update={"mapped": {self.map_id: {str(index): result}}},
                       goto=collect_name(self.map_id))


def _error_of(exc: GraphwrightError) -> dict[str, Any]:
    nested = exc.details.get("error") if isinstance(exc.details, dict) else None
    if isinstance(nested, dict):
        return nested
    return ErrorInfo(exc.code, exc.message).to_dict()


class MapCollect(NodeRunner):
    """Completes the map node: results in item order, or the first item failure."""

    async def __call__(self, state: State, runtime: Runtime[RunContext]) -> Command[Any]:
        plan = self.plan
        emit = emitter(runtime, state)
        bucket = state.get("mapped", {}).get(plan.id, {})
        count = int(bucket.get(COUNT, 0))
        if any(str(i) not in bucket for i in range(count)):
            return Command(update={}, goto=[])  # not all items are in yet
        update: dict[str, Any] = {"mapped": {plan.id: {RESET: True}}}
        results = [bucket[str(i)] for i in range(count)]
        failures = [r[ERROR] for r in results if isinstance(r, dict) and ERROR in r]
        if failures:
            first = failures[0]
            error = NodeExecutionError(
                f"map {plan.id!r}: item {first.get('index')} failed: {first.get('message')}",
                code="map_item_failed",
                details={"failed_items": len(failures), "first_error": first},
            )
            return self.failed(state, update, emit, error, 1)
        started = bucket.get(STARTED)
        emit("node.completed", plan.id, {
            "output": results, "port": ["out"],
            "duration_ms": round((time.time() - started) * 1000, 3) if started else None,
        })
        return self.finish(state, update, results, ("out",))


# LangGraph inspects each node's call signature when it is added; resolve the string
# annotations (``from __future__ import annotations``) once here, not once per node.
_resolve_call_annotations(MapDispatch)
_resolve_call_annotations(MapWorker)
_resolve_call_annotations(MapCollect)
