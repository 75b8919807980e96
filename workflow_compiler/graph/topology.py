"""The shape of a spec's control flow: who follows whom, where the loops are, how they exit.

Validation and lowering both read the same ``Topology`` so that what the validator accepts
is exactly what the lowering knows how to run. It works on plain ids and edge tuples, so it
also serves half-valid specs during validation (unknown ids are simply ignored).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class FlowEdge:
    """A ``main`` edge: control flows from ``source`` through ``port`` to ``target``."""

    source: str
    port: str
    target: str
    index: int  # position in spec["edges"], for error paths


@dataclass(slots=True)
class Loop:
    """A cycle of the control graph, lowered as: header, body (acyclic), latch, exits.

    Each pass runs the header and every body node exactly once (live or skipped); the
    latch fires after the body's sinks and either starts the next pass (a back edge was
    taken) or ends the loop (an exit was taken, or nothing continues it).
    """

    header: str
    members: frozenset[str]
    back_edges: tuple[FlowEdge, ...]
    exit_edges: tuple[FlowEdge, ...]
    entry_edges: tuple[FlowEdge, ...]
    sinks: tuple[str, ...]  # body nodes with no forward successor inside the loop

    @property
    def latch(self) -> str:
        return latch_name(self.header)

    @property
    def exit_targets(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(e.target for e in self.exit_edges))


def latch_name(header: str) -> str:
    return f"__latch__{header}"


@dataclass(slots=True)
class Topology:
    node_ids: tuple[str, ...]
    edges: tuple[FlowEdge, ...]
    incoming: dict[str, list[FlowEdge]] = field(default_factory=dict)
    outgoing: dict[str, list[FlowEdge]] = field(default_factory=dict)
    roots: tuple[str, ...] = ()
    loops: list[Loop] = field(default_factory=list)
    loop_of: dict[str, Loop] = field(default_factory=dict)
    cyclic_components: list[frozenset[str]] = field(default_factory=list)

    def is_back_edge(self, edge: FlowEdge) -> bool:
        loop = self.loop_of.get(edge.target)
        return loop is not None and edge.target == loop.header and edge.source in loop.members

    def is_exit_edge(self, edge: FlowEdge) -> bool:
        loop = self.loop_of.get(edge.source)
        return loop is not None and edge.target not in loop.members

    def forward_edges(self) -> Iterable[FlowEdge]:
        """Edges of the acyclic "one pass" graph: back edges removed."""
        return (e for e in self.edges if not self.is_back_edge(e))

    def forward_order(self) -> list[str]:
        """Topological order of the forward graph (ties in spec order); cycles left last."""
        indeg = {n: 0 for n in self.node_ids}
        succ: dict[str, list[str]] = {n: [] for n in self.node_ids}
        for e in self.forward_edges():
            indeg[e.target] += 1
            succ[e.source].append(e.target)
        ready = [n for n in self.node_ids if indeg[n] == 0]
        order: list[str] = []
        position = {n: i for i, n in enumerate(self.node_ids)}
        while ready:
            ready.sort(key=position.__getitem__, reverse=True)
            node = ready.pop()
            order.append(node)
            for t in succ[node]:
                indeg[t] -= 1
                if indeg[t] == 0:
                    ready.append(t)
        seen = set(order)
        order.extend(n for n in self.node_ids if n not in seen)
        return order


def strongly_connected(nodes: Sequence[str], succ: dict[str, list[str]]) -> list[list[str]]:
    """Tarjan's algorithm, iterative so that 10,000-node chains do not hit recursion limits."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    result: list[list[str]] = []
    counter = 0
    for start in nodes:
        if start in index:
            continue
        work: list[tuple[str, int]] = [(start, 0)]
        while work:
            node, child_i = work.pop()
            if child_i == 0:
                index[node] = low[node] = counter
                counter += 1
                stack.append(node)
                on_stack.add(node)
            children = succ.get(node, [])
            recurse = False
            while child_i < len(children):
                child = children[child_i]
                child_i += 1
                if child not in index:
                    work.append((node, child_i))
                    work.append((child, 0))
                    recurse = True
                    break
                if child in on_stack:
                    low[node] = min(low[node], index[child])
            if recurse:
                continue
            if low[node] == index[node]:
                component: list[str] = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                result.append(component)
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
    return result


@dataclass(frozen=True, slots=True)
class LoopProblem:
    """A loop shape the lowering cannot run; the validator turns it into a SpecIssue."""

    code: str
    message: str
    node_id: str
    edge_index: int | None = None


def build_topology(
    node_ids: Sequence[str], edges: Iterable[tuple[str, str, str, int]]
) -> tuple[Topology, list[LoopProblem]]:
    """Analyse ``main`` edges given as (source, port, target, index); unknown ids are dropped."""
    known = set(node_ids)
    flow = tuple(
        FlowEdge(s, p, t, i) for s, p, t, i in edges if s in known and t in known
    )
    topo = Topology(node_ids=tuple(node_ids), edges=flow)
    topo.incoming = {n: [] for n in node_ids}
    topo.outgoing = {n: [] for n in node_ids}
    succ: dict[str, list[str]] = {n: [] for n in node_ids}
    for e in flow:
        topo.incoming[e.target].append(e)
        topo.outgoing[e.source].append(e)
        succ[e.source].append(e.target)
    topo.roots = tuple(n for n in node_ids if not topo.incoming[n])

    problems: list[LoopProblem] = []
    position = {n: i for i, n in enumerate(node_ids)}
    for component in strongly_connected(node_ids, succ):
        members = frozenset(component)
        if len(component) == 1 and component[0] not in succ[component[0]]:
            continue
        topo.cyclic_components.append(members)
        loop, loop_problems = _analyse_loop(topo, members, position)
        problems.extend(loop_problems)
        if loop is not None:
            topo.loops.append(loop)
            for member in members:
                topo.loop_of[member] = loop
    return topo, problems


def _analyse_loop(
    topo: Topology, members: frozenset[str], position: dict[str, int]
) -> tuple[Loop | None, list[LoopProblem]]:
    ordered = sorted(members, key=position.__getitem__)  # spec order, O(k log k) per loop
    first = ordered[0]
    entries = [e for n in ordered for e in topo.incoming[n] if e.source not in members]
    exits = [e for n in ordered for e in topo.outgoing[n] if e.target not in members]
    problems: list[LoopProblem] = []
    headers = list(dict.fromkeys(e.target for e in entries))
    if not exits:
        problems.append(LoopProblem(
            "cycle_without_exit",
            f"the cycle through {', '.join(sorted(members))} has no way out: add a condition "
            "or switch inside it with a port that leads outside the cycle",
            first,
        ))
    if len(headers) > 1:
        problems.append(LoopProblem(
            "cycle_multiple_entries",
            f"the cycle through {', '.join(sorted(members))} is entered at several nodes "
            f"({', '.join(headers)}); enter a loop through exactly one node",
            headers[1],
        ))
    if not headers:
        # Unreachable from any root; the reachability check reports it.
        return None, problems
    header = headers[0]
    back = tuple(e for n in ordered for e in topo.outgoing[n]
                 if e.target == header and e.source in members)
    body_succ: dict[str, list[str]] = {n: [] for n in ordered}
    for n in ordered:
        for e in topo.outgoing[n]:
            if e.target in members and e.target != header:
                body_succ[n].append(e.target)
    for component in strongly_connected(ordered, body_succ):
        if len(component) > 1 or component[0] in body_succ[component[0]]:
            problems.append(LoopProblem(  # noqa: PERF401  (one readable message per cycle)
                "nested_cycle_unsupported",
                f"the cycle through {', '.join(sorted(component))} sits inside another cycle; "
                "nested loops are not supported yet: move the inner loop into a map body or "
                "a subworkflow",
                sorted(component)[0],
            ))
    sinks = tuple(n for n in ordered if not body_succ[n])
    loop = Loop(
        header=header,
        members=members,
        back_edges=back,
        exit_edges=tuple(exits),
        entry_edges=tuple(entries),
        sinks=sinks,
    )
    return loop, problems
