"""``map``: its execution is lowered to Send/worker/collect (``compiler.maps``); here are
its static parts, so the registry and validator treat it like every other type."""

from __future__ import annotations

from typing import Any, ClassVar

from workflow_compiler.errors import NodeExecutionError, SpecIssue
from workflow_compiler.nodes.base import NodeContext, NodeResult, ValidationContext, register
from workflow_compiler.spec.models import MapNode, NodeBase


class MapExecutor:
    type_name: ClassVar[str] = "map"
    config_model: ClassVar[type[NodeBase]] = MapNode

    def validate(self, node: NodeBase, ctx: ValidationContext, path: str) -> list[SpecIssue]:
        return []  # the body is validated recursively by the validator

    def output_schema(self, node: NodeBase) -> dict[str, Any] | None:
        return {"type": "array"}

    async def execute(self, ctx: NodeContext) -> NodeResult:
        raise NodeExecutionError("map nodes are executed by the lowering, not directly",
                                 code="internal_error")


register(MapExecutor())
