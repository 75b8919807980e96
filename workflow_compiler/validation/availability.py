"""Which node outputs a node may read: the facts behind ``not_an_ancestor`` and
``conditional_reference``.

On the forward graph (main edges without loop back edges) and in one topological pass,
each node gets, as Python-int bitsets over that order:

- ``ancestors``: nodes with a forward path to it (it may read them at all);
- ``dominators``: nodes on every path from an entry to it (surely ran live before it);
- ``complete``: nodes surely finished (live or skipped) before it starts, which follows
  the join: union over predecessors for ``join: all``, intersection for ``join: any``;

and the level gets ``always_live``: entries, and nodes fed by an always-live node through
a port that fires whenever that node runs ("out" of a non-branching node not routing its
errors). A reference needs no fallback when the producer dominates the reader, or is
always live and complete before it. Int bitsets make each union or intersection one
word-parallel operation, so a 10,000-node chain takes tens of milliseconds, not seconds.

The same facts for a virtual node after the whole level (``AFTER_ALL``) judge the spec's
outputs and a map body's output: its predecessors are the nodes where a run can end,
that is, nodes with a port that can fire and has no edge.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from workflow_compiler.graph.ports import BRANCHING_TYPES, node_ports
from workflow_compiler.graph.topology import Topology
from workflow_compiler.validation.parsing import NodeEntry

#: Stands for "after every node of the level": spec outputs, a map body's output.
AFTER_ALL = "\x00after-all"


class Verdict(enum.Enum):
    OK = "ok"
    NOT_ANCESTOR = "not_an_ancestor"
    LATER_IN_CYCLE = "later_in_cycle"  # same loop, not yet run in this pass
    NOT_ALWAYS_RUN = "not_always_run"  # a branch or error route may skip it
    MAY_BE_SKIPPED = "may_be_skipped"  # its own ``when`` may skip it
    UNKNOWN = "unknown"  # the shape is broken elsewhere; nothing to add


def _unconditional(entry: NodeEntry, port: str) -> bool:
    if entry.type_name is None:
        return True  # already reported; assume the friendliest reading
    return port == "out" and entry.type_name not in BRANCHING_TYPES \
        and entry.raw.get("on_error") != "route"


def _fireable_ports(entry: NodeEntry) -> list[str]:
    """Ports that can actually fire: timeouts only route when configured to."""
    if entry.type_name is None:
        return []
    ports = node_ports(entry.raw)
    if entry.type_name == "approval":
        routes_timeout = entry.raw.get("on_timeout") == "route"
    else:
        routes_timeout = entry.raw.get("timeout") is not None
    return ports if routes_timeout else [p for p in ports if p != "timeout"]


@dataclass(slots=True)
class Availability:
    position: dict[str, int]
    ancestors: list[int]
    dominators: list[int]
    complete: list[int]
    always_live: frozenset[int]  # positions
    cycle_of: dict[str, int]
    skippable: frozenset[str]  # nodes with a ``when``
    end_dominators: int
    end_complete: int

    def verdict(self, producer: str, reader: str) -> Verdict:
        """May ``reader`` (or AFTER_ALL) read ``producer``'s output, and with what risk?"""
        at = self.position.get(producer)
        if at is None:
            return Verdict.UNKNOWN
        bit = 1 << at
        if reader == AFTER_ALL:
            dominators, complete = self.end_dominators, self.end_complete
        else:
            reader_at = self.position.get(reader)
            if reader_at is None:
                return Verdict.UNKNOWN
            if not self.ancestors[reader_at] & bit:
                same_cycle = producer in self.cycle_of \
                    and self.cycle_of.get(reader) == self.cycle_of[producer]
                return Verdict.LATER_IN_CYCLE if same_cycle else Verdict.NOT_ANCESTOR
            dominators, complete = self.dominators[reader_at], self.complete[reader_at]
        if not (dominators & bit or (at in self.always_live and complete & bit)):
            return Verdict.NOT_ALWAYS_RUN
        if producer in self.skippable:
            return Verdict.MAY_BE_SKIPPED
        return Verdict.OK


def compute_availability(topo: Topology, entries: dict[str, NodeEntry]) -> Availability:
    preds: dict[str, list[tuple[str, str]]] = {n: [] for n in topo.node_ids}
    for edge in topo.forward_edges():
        preds[edge.target].append((edge.source, edge.port))
    order = _acyclic_order(topo.node_ids, preds)
    position = {n: i for i, n in enumerate(order)}
    roots = set(topo.roots)
    # Without any ``join: any`` node, "complete before" is exactly "ancestor": share the list.
    any_joins = {n for n in order if entries[n].raw.get("join") == "any"}
    ancestors: list[int] = []
    dominators: list[int] = []
    complete: list[int] = [] if any_joins else ancestors
    live: set[int] = set()
    for i, node in enumerate(order):
        anc = dom = done = 0
        is_live = node in roots
        for k, (source, port) in enumerate(preds[node]):
            p = position[source]
            pbit = 1 << p
            anc |= ancestors[p] | pbit
            dom = dominators[p] if k == 0 else dom & dominators[p]
            if any_joins:
                via = complete[p] | pbit
                done = via if k == 0 else (done & via if node in any_joins else done | via)
            if not is_live and p in live and _unconditional(entries[source], port):
                is_live = True
        ancestors.append(anc)
        dominators.append(dom | (1 << i))
        if any_joins:
            complete.append(done)
        if is_live:
            live.add(i)
    end_dom = 0
    # When the run (or a map item) ends, every node has fired, live or skipped, whatever
    # the joins on the way: only liveness is left to judge.
    end_done = (1 << len(order)) - 1
    first = True
    for node in order:
        used_ports = {e.port for e in topo.outgoing[node]}
        if used_ports and used_ports.issuperset(_fireable_ports(entries[node])):
            continue  # every way out of this node leads on: the run cannot end here
        p = position[node]
        end_dom = dominators[p] if first else end_dom & dominators[p]
        first = False
    cycle_of = {n: i for i, members in enumerate(topo.cyclic_components) for n in members}
    skippable = frozenset(n for n in order if entries[n].raw.get("when") is not None)
    return Availability(position, ancestors, dominators, complete, frozenset(live), cycle_of,
                        skippable, end_dom, end_done)


def _acyclic_order(node_ids: tuple[str, ...], preds: dict[str, list[tuple[str, str]]]) -> list[str]:
    """Topological order of the forward graph; nodes on or after a leftover cycle (a loop
    shape already reported as broken) are left out, so their verdict is UNKNOWN."""
    indegree = {n: len(preds[n]) for n in node_ids}
    succ: dict[str, list[str]] = {n: [] for n in node_ids}
    for node in node_ids:
        for source, _ in preds[node]:
            succ[source].append(node)
    ready = [n for n in reversed(node_ids) if indegree[n] == 0]
    order: list[str] = []
    while ready:
        node = ready.pop()
        order.append(node)
        for target in succ[node]:
            indegree[target] -= 1
            if indegree[target] == 0:
                ready.append(target)
    return order
