"""A mermaid drawing of the spec as its author wrote it (ports on edges, shapes by type),
not of the lowered LangGraph graph, whose bookkeeping nodes would only confuse."""

from __future__ import annotations

from workflow_compiler.graph.topology import Topology
from workflow_compiler.spec.models import WorkflowSpec

_SHAPES = {
    "condition": ("{", "}"),
    "switch": ("{", "}"),
    "approval": ("[/", "/]"),
    "input": ("[/", "/]"),
    "wait": ("([", "])"),
    "signal": ("([", "])"),
    "map": ("[[", "]]"),
    "subworkflow": ("[[", "]]"),
    "llm": ("(", ")"),
}


def _label(text: str) -> str:
    return text.replace('"', "'").replace("\n", " ")


def draw_mermaid(spec: WorkflowSpec, topology: Topology) -> str:
    lines = ["flowchart TD", "  __start__((start))", "  __end__((end))"]
    for node in spec.nodes:
        left, right = _SHAPES.get(node.type_name, ("[", "]"))
        title = node.name or node.id
        lines.append(f'  {node.id}{left}"{_label(title)}<br/><i>{node.type_name}</i>"{right}')
    lines.extend(f"  __start__ --> {root}" for root in topology.roots)
    for edge in spec.edges:
        if edge.kind != "main":
            lines.append(f"  {edge.from_} -. {edge.kind} .-> {edge.to}")
        elif edge.port == "out":
            lines.append(f"  {edge.from_} --> {edge.to}")
        else:
            lines.append(f"  {edge.from_} -- {_label(edge.port)} --> {edge.to}")
    has_out = {e.from_ for e in spec.edges if e.kind == "main"}
    lines.extend(f"  {node.id} --> __end__" for node in spec.nodes
                 if node.id not in has_out and node.id in topology.incoming)
    return "\n".join(lines) + "\n"
