"""Loops, nested ones included: which cycles there are, and each one's header and exits.

A cycle of the control graph becomes a loop when it is entered through exactly one node,
its header. Removing the edges that close it (back edges: members -> header) leaves its
body; a cycle still left in the body is a loop nested inside it, analysed the same way,
level by level, until every body is acyclic. A cycle entered at several nodes
(irreducible) has no header to run it from and is reported, at whatever depth it sits.

Each loop keeps its members at every depth, so "the edge leaves this loop" is a set test.
The lowering turns each loop into header, body, latch and exits; an inner loop appears in
its parent's body as one unit, entered at its header and left through its latch.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from workflow_compiler.graph.flow import FlowEdge, is_cycle, strongly_connected


@dataclass(slots=True)
class Loop:
    """A cycle of the control graph, lowered as: header, body (acyclic), latch, exits.

    Each pass runs the header and every body node exactly once (live or skipped); a
    nested loop runs one or more passes of its own within each pass of its parent. The
    latch fires after the body's sinks (and every ``join: any`` of the pass has had all
    its arrivals), so after every node of the pass, and either starts the next pass (a
    back edge was taken) or ends the loop (an exit was taken, or nothing continues it).
    """

    header: str
    members: frozenset[str]  # every node of the cycle, nested loops' nodes included
    back_edges: tuple[FlowEdge, ...]  # members -> header, from any depth
    exit_edges: tuple[FlowEdge, ...]  # members -> non-members, from any depth
    entry_edges: tuple[FlowEdge, ...]
    parent: str | None = None  # the enclosing loop's header, None at the top level
    depth: int = 0
    #: units of the body with no forward successor inside the loop: member node ids, and
    #: the latches of nested loops that lead nowhere else inside this one
    sinks: tuple[str, ...] = ()

    @property
    def latch(self) -> str:
        return latch_name(self.header)


def latch_name(header: str) -> str:
    return f"__latch__{header}"


@dataclass(frozen=True, slots=True)
class LoopProblem:
    """A loop shape the lowering cannot run; the validator turns it into a SpecIssue."""

    code: str
    message: str
    node_id: str
    edge_index: int | None = None
    hint: str | None = None


@dataclass(slots=True)
class LoopForest:
    """Every loop, parents listed before the loops nested in them."""

    loops: list[Loop] = field(default_factory=list)
    #: outermost cycles (strongly connected components), whether or not they have a header
    top_cycles: list[frozenset[str]] = field(default_factory=list)
    #: cycles found inside a loop's body
    inner_cycles: list[frozenset[str]] = field(default_factory=list)
    problems: list[LoopProblem] = field(default_factory=list)


def find_loops(
    node_ids: Sequence[str],
    incoming: Mapping[str, list[FlowEdge]],
    outgoing: Mapping[str, list[FlowEdge]],
) -> LoopForest:
    """Decompose the cycles level by level (a work queue, not recursion: depth is the
    user's to choose, and no input may crash the compiler)."""
    position = {n: i for i, n in enumerate(node_ids)}
    forest = LoopForest()
    top = {n: [e.target for e in outgoing[n]] for n in node_ids}
    pending: deque[tuple[Sequence[str], dict[str, list[str]], Loop | None]] = deque(
        [(node_ids, top, None)])
    while pending:
        nodes, succ, parent = pending.popleft()
        for component in strongly_connected(nodes, succ):
            if not is_cycle(component, succ):
                continue
            members = frozenset(component)
            (forest.top_cycles if parent is None else forest.inner_cycles).append(members)
            ordered = sorted(members, key=position.__getitem__)
            loop = _analyse(ordered, members, parent, incoming, outgoing, forest.problems)
            if loop is None:
                continue
            forest.loops.append(loop)
            body = {n: [e.target for e in outgoing[n]
                        if e.target in members and e.target != loop.header] for n in ordered}
            pending.append((ordered, body, loop))
    return forest


def _analyse(
    ordered: list[str],
    members: frozenset[str],
    parent: Loop | None,
    incoming: Mapping[str, list[FlowEdge]],
    outgoing: Mapping[str, list[FlowEdge]],
    problems: list[LoopProblem],
) -> Loop | None:
    entries = [e for n in ordered for e in incoming[n] if e.source not in members]
    exits = [e for n in ordered for e in outgoing[n] if e.target not in members]
    headers = list(dict.fromkeys(e.target for e in entries))
    through = ", ".join(sorted(members))
    inside = f" (inside the loop that starts at {parent.header!r})" if parent else ""
    if not exits:
        problems.append(LoopProblem(
            "cycle_without_exit",
            f"the cycle through {through} has no way out: add a condition or switch inside "
            "it with a port that leads outside the cycle",
            ordered[0],
            hint="give a condition in the cycle a port that leads to a node after it",
        ))
    if len(headers) > 1:
        problems.append(LoopProblem(
            "cycle_multiple_entries",
            f"the cycle through {through}{inside} is entered at several nodes "
            f"({', '.join(headers)}); enter a loop, nested or not, through exactly one node",
            headers[1],
            hint=f"lead every edge into the cycle to {headers[0]!r}, or join them in a node "
                 "before it",
        ))
    if not headers:
        # Unreachable from any root; the reachability check reports it.
        return None
    header = headers[0]
    return Loop(
        header=header,
        members=members,
        back_edges=tuple(e for n in ordered for e in outgoing[n] if e.target == header),
        exit_edges=tuple(exits),
        entry_edges=tuple(entries),
        parent=parent.header if parent is not None else None,
        depth=parent.depth + 1 if parent is not None else 0,
    )
