"""``wait`` and ``signal``: durable pauses that something outside the graph ends.

Both lower to ``interrupt()`` carrying a due time (and a signal name); the runtime lists
what is due and resumes it, so a paused run costs nothing while it waits.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

from croniter import croniter
from langgraph.types import interrupt

from workflow_compiler.errors import NodeExecutionError, SpecIssue
from workflow_compiler.expressions import is_template
from workflow_compiler.nodes.base import NodeContext, NodeResult, ValidationContext, register
from workflow_compiler.nodes.human import due_at
from workflow_compiler.spec.durations import parse_duration
from workflow_compiler.spec.models import NodeBase, SignalNode, WaitNode


def parse_timestamp(value: object) -> datetime:
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            raise NodeExecutionError(
                f"{value!r} is not an ISO-8601 timestamp", code="invalid_timestamp"
            ) from None
    else:
        raise NodeExecutionError(f"{value!r} is not an ISO-8601 timestamp",
                                 code="invalid_timestamp")
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


class WaitExecutor:
    type_name: ClassVar[str] = "wait"
    config_model: ClassVar[type[NodeBase]] = WaitNode

    def validate(self, node: NodeBase, ctx: ValidationContext, path: str) -> list[SpecIssue]:
        assert isinstance(node, WaitNode)
        if node.cron is not None and not croniter.is_valid(node.cron):
            return [SpecIssue("invalid_cron", f"{node.cron!r} is not a valid cron expression",
                              path=f"{path}/cron", node_id=node.id,
                              hint="five fields: minute hour day-of-month month day-of-week")]
        if node.until is not None and not is_template(node.until):
            try:
                parse_timestamp(node.until)
            except NodeExecutionError as exc:
                return [SpecIssue("invalid_value", exc.message, path=f"{path}/until",
                                  node_id=node.id)]
        return []

    def output_schema(self, node: NodeBase) -> dict[str, Any] | None:
        return {"type": "object", "properties": {"due_at": {"type": "string"},
                                                  "fired_at": {"type": ["string", "null"]}},
                "additionalProperties": False}

    async def execute(self, ctx: NodeContext) -> NodeResult:
        node = ctx.node
        assert isinstance(node, WaitNode)
        now = ctx.services.clock.now()
        if node.duration is not None:
            due = now + timedelta(seconds=parse_duration(node.duration))
        elif node.until is not None:
            due = parse_timestamp(ctx.render(node.until))
        else:
            assert node.cron is not None
            due = croniter(node.cron, now).get_next(datetime)
        if due <= now:
            return NodeResult({"due_at": due.isoformat(), "fired_at": now.isoformat()})
        value = interrupt({"kind": "wait", "node_id": ctx.node_path or node.id,
                           "due_at": due.isoformat()})
        fired = value.get("fired_at") if isinstance(value, dict) else None
        # On resume this node runs again and ``due`` above is computed afresh (resume time
        # plus the duration, the next cron match after it): the runtime hands back the due
        # time of the pause itself, which is the one to report.
        paused_due = value.get("due_at") if isinstance(value, dict) else None
        return NodeResult({"due_at": paused_due if isinstance(paused_due, str)
                           else due.isoformat(), "fired_at": fired})


class SignalExecutor:
    type_name: ClassVar[str] = "signal"
    config_model: ClassVar[type[NodeBase]] = SignalNode

    def validate(self, node: NodeBase, ctx: ValidationContext, path: str) -> list[SpecIssue]:
        return []

    def output_schema(self, node: NodeBase) -> dict[str, Any] | None:
        return {"type": ["object", "null"],
                "properties": {"signal": {"type": "string"}, "data": {},
                               "received_at": {"type": ["string", "null"]}},
                "additionalProperties": False}

    async def execute(self, ctx: NodeContext) -> NodeResult:
        node = ctx.node
        assert isinstance(node, SignalNode)
        value = interrupt({"kind": "signal", "node_id": ctx.node_path or node.id,
                           "signal": node.signal,
                           "due_at": due_at(ctx)})
        if isinstance(value, dict) and value.get("timeout"):
            return NodeResult(None, ("timeout",))
        data = value.get("data") if isinstance(value, dict) else value
        received = value.get("received_at") if isinstance(value, dict) else None
        return NodeResult({"signal": node.signal, "data": data, "received_at": received})


register(WaitExecutor())
register(SignalExecutor())
