"""``subworkflow``: a saved (by name/version, through the resolver) or inline workflow run
as a child graph, with its own checkpoint namespace, so its interrupts pause the parent."""

from __future__ import annotations

from typing import Any, ClassVar

from workflow_compiler.errors import (
    GraphwrightError,
    NodeExecutionError,
    SpecIssue,
    SpecValidationError,
)
from workflow_compiler.nodes.base import NodeContext, NodeResult, ValidationContext, register
from workflow_compiler.spec.models import NodeBase, SubworkflowNode

MAX_DEPTH = 16


class SubworkflowExecutor:
    type_name: ClassVar[str] = "subworkflow"
    config_model: ClassVar[type[NodeBase]] = SubworkflowNode

    def validate(self, node: NodeBase, ctx: ValidationContext, path: str) -> list[SpecIssue]:
        return []  # inline specs are validated recursively by the validator

    def output_schema(self, node: NodeBase) -> dict[str, Any] | None:
        assert isinstance(node, SubworkflowNode)
        if node.spec is not None and isinstance(node.spec.get("outputs"), dict):
            return {"type": "object", "properties": {k: {} for k in node.spec["outputs"]},
                    "additionalProperties": False}
        return None

    async def execute(self, ctx: NodeContext) -> NodeResult:
        node = ctx.node
        assert isinstance(node, SubworkflowNode)
        return await run_subworkflow(ctx, node, ctx.render(node.inputs))


async def child_spec(ctx: NodeContext, node: SubworkflowNode) -> dict[str, Any]:
    """The child workflow's raw spec: inline, or saved (through the resolver)."""
    if node.spec is not None:
        return node.spec
    assert node.workflow is not None
    try:
        return await ctx.services.resolver.resolve(node.workflow, node.version)
    except GraphwrightError as exc:
        raise NodeExecutionError(exc.message, code=exc.code) from None


async def run_subworkflow(
    ctx: NodeContext, node: SubworkflowNode, inputs: Any, *, label: str | None = None
) -> NodeResult:
    """Run the child with ``inputs`` (already rendered). ``label`` names it in event ids
    (default: the node's id); an llm node calling it as a tool gives the tool call's."""
    runtime = ctx.config["runtime"]
    state = ctx.config["state"]
    path = state.get("path") or ""
    if path.count("/") >= MAX_DEPTH:
        raise NodeExecutionError(
            f"subworkflows nest deeper than {MAX_DEPTH} levels (a workflow calling itself?)",
            code="subworkflow_too_deep",
        )
    raw = await child_spec(ctx, node)
    try:
        child = runtime.context.compiler.compile(raw)
    except SpecValidationError as exc:
        raise NodeExecutionError(
            f"subworkflow {node.workflow or '(inline)'} is invalid: {exc.message}",
            code="invalid_subworkflow", details={"errors": exc.to_dict()["errors"]},
        ) from None
    errors = child.input_errors(inputs)  # file inputs: the parent passes descriptors
    if errors:
        raise NodeExecutionError(
            "subworkflow inputs do not match its input schema: " + "; ".join(errors),
            code="invalid_inputs",
        )
    try:
        final = await child.graph.ainvoke(
            {"inputs": inputs, "run": state.get("run", {}),
             "path": f"{path}{label or node.id}/"},
            context=runtime.context,
        )
        return NodeResult(child.evaluate_outputs(final))
    except NodeExecutionError:
        raise
    except GraphwrightError as exc:  # a child node failed: fail this node, keep the cause
        raise NodeExecutionError(
            f"subworkflow {node.workflow or '(inline)'} failed: {exc.message}",
            code=exc.code, details=exc.details,
        ) from None


register(SubworkflowExecutor())
