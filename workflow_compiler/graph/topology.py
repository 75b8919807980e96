"""The shape of a spec's control flow: who follows whom, where the loops are, how they exit.

Validation and lowering both read the same ``Topology`` so that what the validator accepts
is exactly what the lowering knows how to run. It works on plain ids and edge tuples, so it
also serves half-valid specs during validation (unknown ids are simply ignored).

Loops nest (see ``loops``). Two facts drive the lowering: back edges (they close a loop and
are taken by its latch), and who *sends* a forward edge's arrival: its source, unless the
edge leaves loops, in which case the latch of the outermost loop it leaves sends it once
that loop is done. So an edge from an inner loop straight out of the outer one is
delivered once, after the outer loop, however many passes either made.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field

from workflow_compiler.graph.flow import FlowEdge, strongly_connected
from workflow_compiler.graph.loops import Loop, LoopProblem, find_loops, latch_name

__all__ = [
    "FlowEdge",
    "Loop",
    "LoopProblem",
    "Topology",
    "build_topology",
    "latch_name",
    "strongly_connected",
]


@dataclass(slots=True)
class Topology:
    node_ids: tuple[str, ...]
    edges: tuple[FlowEdge, ...]
    incoming: dict[str, list[FlowEdge]] = field(default_factory=dict)
    outgoing: dict[str, list[FlowEdge]] = field(default_factory=dict)
    roots: tuple[str, ...] = ()
    loops: list[Loop] = field(default_factory=list)  # parents before the loops they hold
    loop_of: dict[str, Loop] = field(default_factory=dict)  # innermost loop of each member
    header_of: dict[str, Loop] = field(default_factory=dict)  # the loop each header starts
    #: outermost cycles: two nodes in one of them may each run after the other
    cyclic_components: list[frozenset[str]] = field(default_factory=list)
    #: cycles nested inside a loop's body (each also a loop unless its shape is broken)
    inner_cycles: list[frozenset[str]] = field(default_factory=list)

    def parent(self, loop: Loop) -> Loop | None:
        return self.header_of[loop.parent] if loop.parent is not None else None

    def enclosing(self, node_id: str) -> Iterator[Loop]:
        """The loops ``node_id`` is in, innermost first."""
        loop = self.loop_of.get(node_id)
        while loop is not None:
            yield loop
            loop = self.parent(loop)

    def is_back_edge(self, edge: FlowEdge) -> bool:
        """The edge closes a loop: it leads from a member (at any depth) to the header."""
        loop = self.header_of.get(edge.target)
        return loop is not None and edge.source in loop.members

    def sender(self, edge: FlowEdge) -> str:
        """Who delivers a forward edge's arrival: the latch of the outermost loop the edge
        leaves (it runs once that loop is over), or the source itself."""
        sender = edge.source
        for loop in self.enclosing(edge.source):
            if edge.target in loop.members:
                break
            sender = loop.latch
        return sender

    def all_cycles(self) -> list[frozenset[str]]:
        return [*self.cyclic_components, *self.inner_cycles]

    def forward_edges(self) -> Iterable[FlowEdge]:
        """Edges of the acyclic "one pass" graph: back edges (of every loop) removed."""
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
    for e in flow:
        topo.incoming[e.target].append(e)
        topo.outgoing[e.source].append(e)
    topo.roots = tuple(n for n in node_ids if not topo.incoming[n])

    forest = find_loops(topo.node_ids, topo.incoming, topo.outgoing)
    topo.loops = forest.loops
    topo.cyclic_components = forest.top_cycles
    topo.inner_cycles = forest.inner_cycles
    for loop in forest.loops:  # parents first, so the innermost loop is written last
        topo.header_of.setdefault(loop.header, loop)
        for member in loop.members:
            topo.loop_of[member] = loop
    _find_sinks(topo)
    return topo, forest.problems


def _find_sinks(topo: Topology) -> None:
    """A loop's sinks: the units of its body (own members, nested loops' latches) that
    send no forward arrival inside it. Its latch waits for these, and for the rounds of
    the body's ``join: any`` nodes to close (``compiler.plan``): a sink fires after all it
    depends on, except behind a ``join: any`` that went ahead of its slower senders."""
    sends: set[str] = {topo.sender(e) for e in topo.forward_edges()}
    position = {n: i for i, n in enumerate(topo.node_ids)}
    units: dict[str, list[tuple[int, str]]] = {loop.header: [] for loop in topo.loops}
    for node_id, loop in topo.loop_of.items():
        units[loop.header].append((position[node_id], node_id))
    for loop in topo.loops:
        if loop.parent is not None:
            units[loop.parent].append((position[loop.header], loop.latch))
    for loop in topo.loops:
        loop.sinks = tuple(u for _, u in sorted(units[loop.header]) if u not in sends)
