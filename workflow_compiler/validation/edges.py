"""Edge checks: both ends exist, the port is one the source offers, kinds fit their ends.

What survives becomes the control graph (``main`` edges) the flow and reference checks
work on. An edge with an unknown port is kept there: it still says what the author meant,
and dropping it would add "unreachable" noise on top of the real mistake.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from workflow_compiler.graph.ports import AI_TOOL_SOURCES, node_ports
from workflow_compiler.validation.parsing import EdgeEntry, NodeEntry
from workflow_compiler.validation.reporting import IssueLog, did_you_mean, pointer, show


@dataclass(slots=True)
class EdgeGraph:
    """The usable edges of one graph level."""

    main: list[tuple[str, str, str, int]] = field(default_factory=list)
    ai_only: set[str] = field(default_factory=set)  # nodes used only as ai_tool/ai_memory
    ai_targets: dict[str, str] = field(default_factory=dict)  # ai source -> its first llm


def _check_ai_edge(edge: EdgeEntry, source: NodeEntry, target: NodeEntry, log: IssueLog) -> None:
    if edge.kind == "ai_tool" and source.type_name is not None \
            and source.type_name not in AI_TOOL_SOURCES:
        log.add("invalid_ai_edge",
                f"an ai_tool edge turns its source into a tool; a {source.type_name} node cannot "
                f"be one (use a {', '.join(sorted(AI_TOOL_SOURCES))} node)",
                pointer(edge.path, "from"), source.node_id)
    if target.type_name is not None and target.type_name != "llm":
        log.add("invalid_ai_edge",
                f"an {edge.kind} edge must lead to an llm node, not to a {target.type_name} node",
                pointer(edge.path, "to"), target.node_id)
    elif edge.kind == "ai_memory" and source.type_name is not None:
        from workflow_compiler.llm.memory import memory_source_problem

        problem = memory_source_problem(source.raw)
        if problem is None and target.raw.get("memory") is not None:
            problem = (f"llm node {target.node_id!r} has a 'memory' config already; give it "
                       "memory through that or through one ai_memory edge, not both")
        if problem is not None:
            log.add("invalid_ai_edge", problem, pointer(edge.path, "from"), source.node_id)


def _check_port(edge: EdgeEntry, source: NodeEntry, port_cache: dict[str, list[str]],
                log: IssueLog) -> None:
    if source.type_name is None or edge.source is None or edge.port is None:
        return
    ports = port_cache.get(edge.source)
    if ports is None:
        ports = port_cache[edge.source] = node_ports(source.raw)
    if edge.port not in ports:
        log.add("unknown_port",
                f"a {source.type_name} node has no port {edge.port!r}"
                + ("" if edge.port_given else " (the default)")
                + f"; its ports are: {', '.join(ports) or 'none'}",
                pointer(edge.path, "port"), edge.source,
                hint=did_you_mean(edge.port, ports))


def check_edges(
    entries: dict[str, NodeEntry], edges: list[EdgeEntry], log: IssueLog
) -> EdgeGraph:
    """Report edge problems; return the main edges and the nodes used only by ai edges."""
    graph = EdgeGraph()
    first_seen: dict[tuple[str, str, str, str], int] = {}
    ai_sources: set[str] = set()
    in_main: set[str] = set()
    remembering: set[str] = set()  # llm nodes with an ai_memory edge
    port_cache: dict[str, list[str]] = {}
    for edge in edges:
        ends_known = True
        for end, name in (("from", edge.source), ("to", edge.target)):
            if name is not None and name not in entries:
                ends_known = False
                log.add("dangling_edge",
                        f"edge {end!r} names {show(name)}, which is not a node here",
                        pointer(edge.path, end), edge.source if end == "to" else None,
                        hint=log.suggest(name, entries.keys()))
        if edge.source is None or edge.target is None or not ends_known or edge.port is None:
            continue
        source, target = entries[edge.source], entries[edge.target]
        if edge.kind is None:  # unknown kind, reported already; its port is still the source's
            if edge.port_given:
                _check_port(edge, source, port_cache, log)
            continue
        key = (edge.source, edge.port, edge.target, edge.kind)
        if key in first_seen:
            log.add("duplicate_edge",
                    f"this edge repeats edge {first_seen[key]} ({edge.source} -> {edge.target}); "
                    "remove one", edge.path, edge.source)
            continue
        first_seen[key] = edge.index
        if edge.kind != "main":
            _check_ai_edge(edge, source, target, log)
            if edge.kind == "ai_memory":
                if edge.target in remembering:
                    log.add("invalid_ai_edge",
                            f"llm node {edge.target!r} already has an ai_memory edge; one "
                            "conversation memory per node", edge.path, edge.source)
                remembering.add(edge.target)
            ai_sources.add(edge.source)
            graph.ai_targets.setdefault(edge.source, edge.target)
            continue
        _check_port(edge, source, port_cache, log)
        graph.main.append((edge.source, edge.port, edge.target, edge.index))
        in_main.update((edge.source, edge.target))
    graph.ai_only = ai_sources - in_main
    return graph

