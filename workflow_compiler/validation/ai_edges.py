"""Checks for llm nodes' tools as a whole: what ``ai_tool`` edges and ``tools`` give one
llm node must reach the model under distinct names, and ``require_approval`` must name
some of them. And a ``tool`` or ``subworkflow`` node used only as a tool may leave required
arguments (inputs) out: the model supplies them.

(Edge ends and kinds are ``edges``' job; this module runs after it, per level.)
"""

from __future__ import annotations

from workflow_compiler.llm.tool_adapters import exposed_name, needs_approval
from workflow_compiler.nodes.base import ValidationContext
from workflow_compiler.nodes.tool import _builtin_registry, arg_errors, describe_errors
from workflow_compiler.spec.models import NodeBase, ToolNode
from workflow_compiler.validation.parsing import EdgeEntry, NodeEntry
from workflow_compiler.validation.reporting import IssueLog, pointer


def check_llm_tools(entries: dict[str, NodeEntry], edges: list[EdgeEntry], log: IssueLog
                    ) -> None:
    """Distinct tool names per llm node; ``require_approval`` names known tools."""
    tool_edges: dict[str, list[EdgeEntry]] = {}
    for edge in edges:
        if edge.kind == "ai_tool" and edge.source in entries and edge.target in entries:
            tool_edges.setdefault(edge.target, []).append(edge)
    for node_id, entry in entries.items():
        if entry.type_name != "llm" or not isinstance(entry.raw, dict):
            continue
        names: dict[str, str] = {}  # exposed name -> where it comes from
        tools = entry.raw.get("tools")
        for name in tools if isinstance(tools, list) else []:
            if isinstance(name, str):
                names.setdefault(exposed_name(name), f"tool {name!r}")
        for edge in tool_edges.get(node_id, []):
            source = str(edge.source)
            earlier = names.get(source)
            if earlier is not None:
                log.add("duplicate_tool_name",
                        f"node {source!r} would reach the model under the same name as "
                        f"{earlier} of llm node {node_id!r}", pointer(edge.path, "from"),
                        source, hint="rename the node")
            names.setdefault(source, f"node {source!r}")
        approval = entry.raw.get("require_approval")
        for index, name in enumerate(approval if isinstance(approval, list) else []):
            if isinstance(name, str) and not any(needs_approval(tool, [name]) for tool in names):
                log.add("unknown_tool",
                        f"require_approval names {name!r}, which is not a tool of llm node "
                        f"{node_id!r}", pointer(entry.path, "require_approval", index),
                        node_id, hint="its tools: " + (", ".join(sorted(names)) or "none"))


def check_tool_only_node(node: NodeBase, context: ValidationContext, path: str,
                         log: IssueLog) -> None:
    """A ``tool`` node used only as an llm's tool: its checks, minus missing arguments."""
    if not isinstance(node, ToolNode):
        return
    if context.tool_names and node.tool not in context.tool_names:
        log.add("unknown_tool", f"no tool named {node.tool!r} is registered",
                pointer(path, "tool"), node.id,
                hint="registered tools: " + ", ".join(sorted(context.tool_names)))
        return
    tool = _builtin_registry().get(node.tool)
    if tool is None:
        return
    errors = [e for e in arg_errors(tool, node.args, static=True) if e.validator != "required"]
    for item in describe_errors(errors):
        where = "" if item["path"] == "/" else item["path"]
        message = item["message"] if not where else f"{where}: {item['message']}"
        log.add("invalid_tool_args", f"tool {node.tool!r}: {message}",
                pointer(path, "args") + where, node.id)
