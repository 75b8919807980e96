"""What an llm node may call: registry tools named in ``tools``, and the nodes connected to
it by ``ai_tool`` edges, each with a name, a description and a JSON Schema for its args.

How the argument schema of an ``ai_tool`` node is derived from its configuration:

* ``tool`` node: its registry tool's ``args_schema`` without the arguments the node
  fixes in ``args`` (those are rendered from the node's templates and win).
* ``http`` node: an object with ``query`` (parameters added to the node's own; the
  node's names win), ``json`` (the request body, offered for POST/PUT/PATCH/DELETE when
  the node sets neither ``json`` nor ``body``) and ``path`` (appended to the URL, offered
  when the node's URL ends in ``/``). Method, host, headers and credentials stay the node's.
* ``subworkflow`` node: the child workflow's ``inputs`` schema without the inputs the
  node fixes; a file input there takes the id of one of the calling run's files.

The model's values are used as given and never rendered as templates, so a model cannot
make a node evaluate ``{{ secrets.x }}``. Tools are exposed under their node id (registry
tools under their name with characters providers refuse, such as ``.``, replaced by ``_``).
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from workflow_compiler.errors import NodeExecutionError
from workflow_compiler.llm.tool_files import (
    describe_file_parameters,
    file_slots,
    resolve_model_files,
    run_files,
)
from workflow_compiler.nodes.base import NodeContext
from workflow_compiler.nodes.tool import arg_errors, describe_errors
from workflow_compiler.spec.durations import parse_duration
from workflow_compiler.spec.models import HttpNode, LlmNode, NodeBase, SubworkflowNode, ToolNode
from workflow_compiler.tools.registry import Tool

#: (context of this call, the model's args, the call's event id) -> the output
ToolRun = Callable[[NodeContext, dict[str, Any], str], Awaitable[Any]]
BODY_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_UNSAFE = re.compile(r"[^a-zA-Z0-9_-]")


def exposed_name(name: str) -> str:
    """A tool name every provider accepts (``^[a-zA-Z0-9_-]{1,64}$``)."""
    return _UNSAFE.sub("_", name)[:64] or "tool"


def needs_approval(tool: str, require_approval: Iterable[str]) -> bool:
    """Whether a node's ``require_approval`` names ``tool``. Both sides are compared as the
    model sees them, because validation accepts the registry spelling (``math.sum``) as
    well as the model-facing one (``math_sum``): comparing the list as written let a call
    of ``math_sum`` run unapproved under ``["math.sum"]``. Validation uses this too."""
    wanted = exposed_name(tool)
    return any(exposed_name(name) == wanted for name in require_approval)


@dataclass(slots=True)
class AgentTool:
    name: str  # as the model sees it
    description: str
    parameters: dict[str, Any]
    kind: str  # "registry", or the ai_tool node's type
    run: ToolRun
    node: NodeBase | None = None  # the ai_tool node
    timeout: float | None = None
    can_pause: bool = False  # a subworkflow may hold an approval or an input step

    def schema(self) -> dict[str, Any]:
        return {"type": "function", "function": {
            "name": self.name, "description": self.description, "parameters": self.parameters}}


def _object(schema: Mapping[str, Any] | None, drop: set[str] | None = None) -> dict[str, Any]:
    """``schema`` as an object schema, without the properties in ``drop``."""
    base = dict(schema) if isinstance(schema, Mapping) else {}
    drop = drop or set()
    base.pop("$schema", None)
    base.pop("$id", None)
    base["type"] = "object"
    props = base.get("properties")
    base["properties"] = {k: v for k, v in props.items() if k not in drop} \
        if isinstance(props, Mapping) else {}
    required = base.get("required")
    if isinstance(required, list):
        kept = [r for r in required if r not in drop]
        if kept:
            base["required"] = kept
        else:
            base.pop("required", None)
    return base


def _check_args(tool: Tool, args: dict[str, Any]) -> None:
    problems = describe_errors(arg_errors(tool, args))
    if problems:
        listed = "; ".join(p["message"] if p["path"] == "/" else f"{p['path']}: {p['message']}"
                           for p in problems)
        raise NodeExecutionError(f"invalid arguments for {tool.name!r}: {listed}",
                                 code="invalid_tool_args", details={"errors": problems})


def registry_tool(tool: Tool) -> AgentTool:
    async def run(ctx: NodeContext, args: dict[str, Any], label: str) -> Any:
        _check_args(tool, args)
        return await tool.call(args)

    return AgentTool(exposed_name(tool.name), tool.description or tool.name,
                     _object(tool.args_schema), "registry", run)


def _tool_node(ctx: NodeContext, node: ToolNode) -> AgentTool:
    tool = ctx.services.tools.get(node.tool)
    if tool is None:
        raise NodeExecutionError(f"ai_tool node {node.id!r}: no tool named {node.tool!r} is "
                                 "registered", code="unknown_tool")
    fixed = set(node.args)

    async def run(call: NodeContext, args: dict[str, Any], label: str) -> Any:
        rendered = call.render(node.args)
        merged = {**{k: v for k, v in args.items() if k not in fixed},
                  **(rendered if isinstance(rendered, dict) else {})}
        _check_args(tool, merged)
        return await tool.call(merged)

    return AgentTool(node.id, node.description or tool.description or node.tool,
                     _object(tool.args_schema, fixed), "tool", run, node)


def _http_node(node: HttpNode) -> AgentTool:
    from workflow_compiler.nodes.http import ModelArgs, perform

    props: dict[str, Any] = {"query": {
        "type": "object", "description": "query parameters to add to the request",
        "additionalProperties": {"type": "string"}}}
    if node.method in BODY_METHODS and node.json_body is None and node.body is None:
        props["json"] = {"type": "object", "description": "the JSON request body"}
    if node.url.endswith("/"):
        props["path"] = {"type": "string",
                         "description": "a relative path appended to the endpoint's URL"}

    async def run(call: NodeContext, args: dict[str, Any], label: str) -> Any:
        query = args.get("query") or {}
        if not isinstance(query, dict):
            raise NodeExecutionError("'query' must be an object", code="invalid_tool_args")
        path = args.get("path") if "path" in props else None
        body = args.get("json") if "json" in props else None
        result = await perform(call, node, ModelArgs(query=query, json=body, path=path))
        return result.output

    where = node.url.split("{{", 1)[0].split("?", 1)[0] or "an HTTP endpoint"
    description = node.description or node.name or f"HTTP {node.method} {where}"
    return AgentTool(node.id, description, {"type": "object", "properties": props}, "http",
                     run, node)


async def _subworkflow_node(ctx: NodeContext, node: SubworkflowNode) -> AgentTool:
    from workflow_compiler.nodes.subworkflow import child_spec, run_subworkflow

    raw = await child_spec(ctx, node)
    fixed = set(node.inputs)
    # file inputs the model fills take ids of the calling run's files (llm.tool_files)
    slots = tuple(s for s in file_slots(raw.get("inputs"))
                  if not (s.steps and s.steps[0] in fixed))
    files = run_files(ctx.scope.get("inputs")) if slots else []

    async def run(call: NodeContext, args: dict[str, Any], label: str) -> Any:
        rendered = call.render(node.inputs)
        given = {k: v for k, v in args.items() if k not in fixed}
        if slots:
            given = await resolve_model_files(slots, given, files)
        inputs = {**given, **(rendered if isinstance(rendered, dict) else {})}
        return (await run_subworkflow(call, node, inputs, label=label)).output

    description = node.description or str(raw.get("description") or "") \
        or f"runs the workflow {node.workflow or raw.get('name') or node.id}"
    parameters = _object(raw.get("inputs"), fixed)
    if slots:
        parameters = describe_file_parameters(parameters, slots, files)
    return AgentTool(node.id, description, parameters, "subworkflow", run, node,
                     can_pause=True)


async def build_tools(ctx: NodeContext, node: LlmNode) -> dict[str, AgentTool]:
    """The node's tools by exposed name: registry tools, then ``ai_tool`` nodes."""
    found: dict[str, AgentTool] = {}

    def add(tool: AgentTool) -> None:
        if tool.name in found:
            raise NodeExecutionError(f"two tools of llm node {node.id!r} are named "
                                     f"{tool.name!r}", code="duplicate_tool_name")
        found[tool.name] = tool

    for name in node.tools:
        tool = ctx.services.tools.get(name)
        if tool is None:
            raise NodeExecutionError(f"no tool named {name!r} is registered",
                                     code="unknown_tool")
        add(registry_tool(tool))
    for source in ctx.config.get("tools") or ():
        agent_tool: AgentTool
        if isinstance(source, ToolNode):
            agent_tool = _tool_node(ctx, source)
        elif isinstance(source, HttpNode):
            agent_tool = _http_node(source)
        elif isinstance(source, SubworkflowNode):
            agent_tool = await _subworkflow_node(ctx, source)
        else:
            raise NodeExecutionError(f"a {getattr(source, 'type_name', '?')} node cannot be "
                                     "a tool", code="invalid_ai_edge")
        if source.timeout is not None:
            agent_tool.timeout = parse_duration(source.timeout)
        add(agent_tool)
    return found
