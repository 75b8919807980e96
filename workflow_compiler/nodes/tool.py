"""``tool``: calls a registered tool with templated arguments.

Arguments are checked against the tool's JSON Schema before the call, so a tool body never
sees the wrong shape and the user gets an error naming the argument, not a TypeError from
deep inside the function. Static arguments are checked at validation time already.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import lru_cache
from typing import Any, ClassVar

from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError
from jsonschema.protocols import Validator
from jsonschema.validators import validator_for

from workflow_compiler.errors import NodeExecutionError, SpecIssue
from workflow_compiler.expressions import is_template
from workflow_compiler.nodes.base import NodeContext, NodeResult, ValidationContext, register
from workflow_compiler.spec.models import NodeBase, ToolNode
from workflow_compiler.tools.registry import Tool, ToolRegistry, default_tool_registry

MAX_REPORTED_ERRORS = 10

# Errors about which keys are present say nothing about values, so they stand even when
# some values are templates that only get their value at run time.
_KEY_VALIDATORS = frozenset({"required", "additionalProperties", "propertyNames",
                             "minProperties", "maxProperties", "dependentRequired"})


@lru_cache(maxsize=1)
def _builtin_registry() -> ToolRegistry:
    return default_tool_registry()


def _validator(schema: dict[str, Any]) -> Validator:
    """Tools may declare an older draft with ``$schema``; 2020-12 otherwise."""
    cls = validator_for(schema, default=Draft202012Validator)
    return cls(schema)


def _pointer(parts: Iterable[Any]) -> str:
    escaped = (str(p).replace("~", "~0").replace("/", "~1") for p in parts)
    return "".join(f"/{p}" for p in escaped)


def _has_template(value: Any) -> bool:
    if isinstance(value, str):
        return is_template(value)
    if isinstance(value, dict):
        return any(_has_template(v) for v in value.values())
    if isinstance(value, list):
        return any(_has_template(v) for v in value)
    return False


def arg_errors(tool: Tool, args: Any, *, static: bool = False) -> list[ValidationError]:
    """Schema violations of ``args``, ordered by where they are.

    With ``static`` the args are as the spec wrote them: errors about a value that is (or
    contains) a template are dropped, since only the rendered value can be judged.
    """
    errors = []
    for error in _validator(tool.args_schema).iter_errors(args):
        if static and error.validator not in _KEY_VALIDATORS and _has_template(error.instance):
            continue
        errors.append(error)
    return sorted(errors, key=lambda e: [str(p) for p in e.absolute_path])


def describe_errors(errors: list[ValidationError]) -> list[dict[str, str]]:
    return [{"path": _pointer(e.absolute_path) or "/", "message": e.message}
            for e in errors[:MAX_REPORTED_ERRORS]]


def _located(item: dict[str, str]) -> str:
    return item["message"] if item["path"] == "/" else f"{item['path']}: {item['message']}"


class ToolExecutor:
    type_name: ClassVar[str] = "tool"
    config_model: ClassVar[type[NodeBase]] = ToolNode

    def validate(self, node: NodeBase, ctx: ValidationContext, path: str) -> list[SpecIssue]:
        assert isinstance(node, ToolNode)
        if ctx.tool_names and node.tool not in ctx.tool_names:
            return [SpecIssue(
                "unknown_tool", f"no tool named {node.tool!r} is registered",
                path=f"{path}/tool", node_id=node.id,
                hint="registered tools: " + ", ".join(sorted(ctx.tool_names)),
            )]
        tool = _builtin_registry().get(node.tool)
        if tool is None:
            return []  # a service-provided tool: its schema is only known at run time
        return [
            SpecIssue("invalid_tool_args", f"tool {node.tool!r}: {_located(item)}",
                      path=f"{path}/args{'' if item['path'] == '/' else item['path']}",
                      node_id=node.id)
            for item in describe_errors(arg_errors(tool, node.args, static=True))
        ]

    def output_schema(self, node: NodeBase) -> dict[str, Any] | None:
        assert isinstance(node, ToolNode)
        tool = _builtin_registry().get(node.tool)
        return tool.output_schema if tool is not None else None

    async def execute(self, ctx: NodeContext) -> NodeResult:
        node = ctx.node
        assert isinstance(node, ToolNode)
        tool = ctx.services.tools.get(node.tool)
        if tool is None:
            raise NodeExecutionError(f"no tool named {node.tool!r} is registered",
                                     code="unknown_tool")
        args = ctx.render(node.args)
        if not isinstance(args, dict):
            raise NodeExecutionError(f"the arguments of tool {node.tool!r} must be an object",
                                     code="invalid_tool_args")
        problems = describe_errors(arg_errors(tool, args))
        if problems:
            listed = "; ".join(_located(p) for p in problems)
            raise NodeExecutionError(f"invalid arguments for tool {node.tool!r}: {listed}",
                                     code="invalid_tool_args", details={"errors": problems})
        try:
            output = await tool.call(args)
        except NodeExecutionError:
            raise
        except Exception as exc:
            # Tools are deterministic: the same arguments fail the same way, so no retry.
            message = str(exc) or type(exc).__name__
            raise NodeExecutionError(f"tool {node.tool!r} failed: {message}",
                                     code="tool_error", details={"tool": node.tool}) from exc
        return NodeResult(output)


register(ToolExecutor())
