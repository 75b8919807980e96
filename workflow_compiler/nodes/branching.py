"""``condition`` and ``switch``: pick the port control leaves through."""

from __future__ import annotations

from typing import Any, ClassVar

from workflow_compiler.errors import SpecIssue
from workflow_compiler.graph.ports import case_port
from workflow_compiler.nodes.base import NodeContext, NodeResult, ValidationContext, register
from workflow_compiler.spec.models import ConditionNode, NodeBase, SwitchNode


class ConditionExecutor:
    type_name: ClassVar[str] = "condition"
    config_model: ClassVar[type[NodeBase]] = ConditionNode

    def validate(self, node: NodeBase, ctx: ValidationContext, path: str) -> list[SpecIssue]:
        return []

    def output_schema(self, node: NodeBase) -> dict[str, Any] | None:
        return {"type": "object", "properties": {"result": {"type": "boolean"}},
                "additionalProperties": False}

    async def execute(self, ctx: NodeContext) -> NodeResult:
        assert isinstance(ctx.node, ConditionNode)
        result = bool(ctx.render(ctx.node.if_))
        return NodeResult({"result": result}, ("true",) if result else ("false",))


class SwitchExecutor:
    type_name: ClassVar[str] = "switch"
    config_model: ClassVar[type[NodeBase]] = SwitchNode

    def validate(self, node: NodeBase, ctx: ValidationContext, path: str) -> list[SpecIssue]:
        assert isinstance(node, SwitchNode)
        seen: dict[str, int] = {}
        issues = []
        for i, case in enumerate(node.cases):
            port = case_port(case)
            if port in seen or port == node.default:
                issues.append(SpecIssue(
                    "duplicate_case", f"case {case!r} repeats another case or the default port",
                    path=f"{path}/cases/{i}", node_id=node.id,
                ))
            seen[port] = i
        return issues

    def output_schema(self, node: NodeBase) -> dict[str, Any] | None:
        return {"type": "object", "properties": {"value": {}, "case": {"type": "string"}},
                "additionalProperties": False}

    async def execute(self, ctx: NodeContext) -> NodeResult:
        assert isinstance(ctx.node, SwitchNode)
        value = ctx.render(ctx.node.value)
        for case in ctx.node.cases:
            if _matches(value, case):
                port = case_port(case)
                return NodeResult({"value": value, "case": port}, (port,))
        return NodeResult({"value": value, "case": ctx.node.default}, (ctx.node.default,))


def _matches(value: Any, case: str | int | float | bool) -> bool:
    """Cases match by value, and numbers also match their text form (``"2"`` matches 2)."""
    if isinstance(case, bool) or isinstance(value, bool):
        return value is case or (isinstance(value, str) and value.lower() == str(case).lower())
    if value == case:
        return True
    return isinstance(value, str | int | float) and case_port(value) == case_port(case)


register(ConditionExecutor())
register(SwitchExecutor())
