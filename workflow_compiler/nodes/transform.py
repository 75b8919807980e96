"""``transform``: builds a JSON value from templates; the workhorse of data shaping."""

from __future__ import annotations

from typing import Any, ClassVar

from workflow_compiler.errors import SpecIssue
from workflow_compiler.nodes.base import NodeContext, NodeResult, ValidationContext, register
from workflow_compiler.spec.models import NodeBase, TransformNode


class TransformExecutor:
    type_name: ClassVar[str] = "transform"
    config_model: ClassVar[type[NodeBase]] = TransformNode

    def validate(self, node: NodeBase, ctx: ValidationContext, path: str) -> list[SpecIssue]:
        return []

    def output_schema(self, node: NodeBase) -> dict[str, Any] | None:
        """A literal object's keys are known statically, so references to them can be checked."""
        assert isinstance(node, TransformNode)
        if isinstance(node.value, dict):
            return {"type": "object", "properties": {k: {} for k in node.value},
                    "additionalProperties": False}
        return None

    async def execute(self, ctx: NodeContext) -> NodeResult:
        assert isinstance(ctx.node, TransformNode)
        return NodeResult(ctx.render(ctx.node.value))


register(TransformExecutor())
