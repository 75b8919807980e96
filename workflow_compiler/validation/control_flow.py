"""Control-flow checks on one graph level: an entry exists, everything is reachable, and
every cycle, nested ones included, has exactly one entry and leaves only through a decision.

The loop analysis itself is ``graph.topology``'s, shared with the lowering, so a spec the
validator accepts is one the lowering knows how to run.
"""

from __future__ import annotations

from workflow_compiler.graph.ports import BRANCHING_TYPES
from workflow_compiler.graph.topology import Topology, build_topology
from workflow_compiler.validation.edges import EdgeGraph
from workflow_compiler.validation.parsing import NodeEntry
from workflow_compiler.validation.reporting import IssueLog, pointer


def analyse_flow(
    entries: dict[str, NodeEntry], graph: EdgeGraph, level_path: str, log: IssueLog
) -> Topology:
    """The level's topology (ai-only nodes left out: control never runs them)."""
    control_ids = [n for n in entries if n not in graph.ai_only]
    topo, problems = build_topology(control_ids, graph.main)
    for problem in problems:
        path = entries[problem.node_id].path if problem.edge_index is None \
            else pointer(level_path, "edges", problem.edge_index)
        log.add(problem.code, problem.message, path, problem.node_id, problem.hint)
    if control_ids and not topo.roots:
        log.add("no_entry_node",
                "every node has an incoming edge, so nothing can start the run: at least one "
                "node must have no incoming main edge", pointer(level_path, "nodes"))
    elif control_ids:
        _report_unreachable(topo, entries, log)
    _report_bad_exits(topo, entries, level_path, log)
    return topo


def _report_unreachable(topo: Topology, entries: dict[str, NodeEntry], log: IssueLog) -> None:
    reached = set(topo.roots)
    pending = list(topo.roots)
    while pending:
        for edge in topo.outgoing[pending.pop()]:
            if edge.target not in reached:
                reached.add(edge.target)
                pending.append(edge.target)
    for node_id in topo.node_ids:
        if node_id not in reached:
            log.add("unreachable_node",
                    f"node {node_id!r} can never run: no path leads to it from a node without "
                    "incoming edges", entries[node_id].path, node_id,
                    hint="connect it, or remove it")


def _report_bad_exits(
    topo: Topology, entries: dict[str, NodeEntry], level_path: str, log: IssueLog
) -> None:
    reported: set[int] = set()
    # Innermost cycles last: an edge leaving several nested cycles is reported once, for
    # the outermost; leaving the inner one on every pass is the same mistake.
    for members in topo.all_cycles():
        for member in sorted(members, key=lambda n: entries[n].index):
            node_type = entries[member].type_name
            if node_type is None or node_type in BRANCHING_TYPES:
                continue
            for edge in topo.outgoing[member]:
                if edge.target in members or edge.port == "error" or edge.index in reported:
                    continue
                reported.add(edge.index)
                log.add("cycle_exit_not_branch",
                        f"edge {member} -> {edge.target} leaves a cycle from a {node_type} "
                        "node, which would leave on every pass; leave a loop through a "
                        f"{'/'.join(sorted(BRANCHING_TYPES))} port or an 'error' port",
                        pointer(level_path, "edges", edge.index), member,
                        hint="put a condition in the loop and exit from one of its ports")
