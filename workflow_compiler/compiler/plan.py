"""Static routing facts per node, computed once at compile time so firing a node is cheap.

Every spec node fires exactly once per pass: live (it runs) or dead (a branch not taken
reached it; it records that and passes the news on). A node with several senders counts
arrivals and fires when all are in (``join: all``) or at the first live one (``any``).
Edges leaving a loop and edges closing it are sent by the loop's latch, never by members;
an edge that leaves several nested loops at once is sent by the outermost one's latch
(``Topology.sender``), and a nested loop's latch is one more unit of its parent's body.

A pass ends when every node of the body has fired for it. The latch hears from the body's
sinks, and each sink fires only after everything before it, except where a ``join: any``
went ahead before its slower senders were in. So such a join inside a loop also reports to
the latch when its round closes (the last of its arrivals is in): the latch waits for
those reports too, and no arrival of one pass can land in the next.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from workflow_compiler.expressions import CompiledTemplate, compile_template
from workflow_compiler.graph.ports import node_ports
from workflow_compiler.graph.topology import Loop, Topology
from workflow_compiler.nodes.base import NodeExecutor, get_executor
from workflow_compiler.spec.durations import parse_duration
from workflow_compiler.spec.models import (
    Edge,
    LlmNode,
    MapNode,
    NodeBase,
    RetryPolicy,
    WorkflowSpec,
)

#: Types that are given a default retry policy when the spec sets none (llm: rate limits
#: and 5xx are common and pass; the SDKs' own retries are off).
DEFAULT_RETRY: dict[str, RetryPolicy] = {
    "http": RetryPolicy(max_attempts=3),
    "llm": RetryPolicy(max_attempts=3, initial_interval=1.0),
}
INTERRUPT_TYPES = frozenset({"approval", "input", "wait", "signal"})


def continue_key(header: str) -> str:
    return f"{header}#loop"


def sender_key(target: str, sender: str) -> str:
    return f"{target}<-{sender}"


def fired_key(target: str) -> str:
    return f"{target}#fired"


def visits_key(node_id: str) -> str:
    return f"{node_id}#visits"


@dataclass(slots=True)
class NodePlan:
    id: str
    node: NodeBase
    executor: NodeExecutor
    #: (source, port) of incoming forward edges (for headers: entry edges only)
    in_edges: tuple[tuple[str, str], ...] = ()
    #: who sends arrivals: in_edges' sources, with a loop's latch standing for its members
    senders: tuple[str, ...] = ()
    #: which sender each in-edge arrives through (for ``join: any``)
    edge_sender: tuple[str, ...] = ()
    is_root: bool = False
    is_header: bool = False
    #: headers of nested loops: every node of the loop, deeper loops' included. Entering
    #: the loop from outside forgets their outputs and visit counts, so each run of a
    #: nested loop starts afresh (``nodes.<id> | default(0)`` counters restart at every
    #: outer pass). A top-level loop starts once per run: nothing to forget
    loop_members: tuple[str, ...] = ()
    in_loop: bool = False  # loop members count their live visits (``NodeContext.visit``)
    successors: tuple[str, ...] = ()
    join_targets: dict[str, str] = field(default_factory=dict)  # target -> "all" | "any"
    #: ``join: any`` nodes inside a loop: the latch that ends the pass their arrivals belong
    #: to (for a nested loop's header: the enclosing loop's), told when the round closes
    round_latch: str | None = None
    all_ports: tuple[str, ...] = ("out",)
    when: CompiledTemplate | None = None
    items: CompiledTemplate | None = None  # map nodes: the list to map over
    secret_names: frozenset[str] = frozenset()
    retry: RetryPolicy | None = None
    timeout: float | None = None
    interrupts: bool = False
    #: llm nodes: the nodes connected by ``ai_tool`` edges (callable tools), and the source
    #: of an ``ai_memory`` edge; handed to the executor in ``NodeContext.config``
    ai_tools: tuple[NodeBase, ...] = ()
    ai_memory: NodeBase | None = None
    #: compiled config templates (``NodeContext.render``'s cache), shared across runs
    compiled: dict[int, tuple[Any, Any]] = field(default_factory=dict)

    @property
    def arity(self) -> int:
        return len(self.senders)


@dataclass(slots=True)
class LatchPlan:
    loop: Loop
    senders: tuple[str, ...]
    #: back edges (from any depth): taken, they start another pass
    continue_edges: tuple[tuple[str, str], ...]
    #: every edge leaving the loop (from any depth): taken, the loop ends
    exit_edges: tuple[tuple[str, str], ...]
    #: where the ending loop sends arrivals: the targets of the exits this latch delivers
    #: (inside the enclosing loop, or anywhere at the top level), and the enclosing loop's
    #: latch when this latch is a sink of its body
    exit_targets: tuple[str, ...]
    join_targets: dict[str, str] = field(default_factory=dict)
    #: the ``join: any`` nodes whose arrivals belong to this loop's passes: each reports
    #: once per pass, when its round closes, so the pass does not end before their
    #: slower senders have fired
    closers: tuple[str, ...] = ()

    @property
    def arity(self) -> int:
        """Arrivals that end one pass: one per sink, one per closing ``join: any``."""
        return len(self.senders) + len(self.closers)


@dataclass(slots=True)
class GraphPlan:
    nodes: dict[str, NodePlan]
    latches: dict[str, LatchPlan]
    roots: tuple[str, ...]
    maps: tuple[str, ...]


def build_plan(spec: WorkflowSpec, topology: Topology) -> GraphPlan:
    node_map = {n.id: n for n in spec.nodes}
    ai_sources: dict[tuple[str, str], list[NodeBase]] = {}
    for edge in spec.edges:
        if edge.kind != "main" and edge.from_ in node_map:
            ai_sources.setdefault((edge.to, edge.kind), []).append(node_map[edge.from_])
    plans: dict[str, NodePlan] = {}
    for node_id in topology.node_ids:
        node = node_map[node_id]
        retry = node.retry or DEFAULT_RETRY.get(node.type_name)
        when = compile_template(node.when) if node.when else None
        tools = tuple(ai_sources.get((node_id, "ai_tool"), ()))
        memory = ai_sources.get((node_id, "ai_memory"))
        plans[node_id] = NodePlan(
            id=node_id,
            node=node,
            executor=get_executor(node.type_name),
            is_root=node_id in topology.roots,
            all_ports=tuple(p for p in node_ports(node.model_dump(by_alias=True)) if p != "error"),
            when=when,
            # a tool's own secrets are resolved with the llm node that calls it
            secret_names=_secret_names(node).union(*(_secret_names(t) for t in tools)),
            ai_tools=tools,
            ai_memory=memory[0] if memory else None,
            retry=retry if retry is not None and retry.max_attempts > 1 else None,
            timeout=(parse_duration(node.timeout)
                     if node.timeout is not None and node.type_name not in INTERRUPT_TYPES
                     else None),
            interrupts=node.type_name in INTERRUPT_TYPES,
            items=compile_template(node.items) if isinstance(node, MapNode) else None,
        )

    # incoming edges and senders
    position = {n: i for i, n in enumerate(topology.node_ids)}
    for node_id, plan in plans.items():
        own = topology.header_of.get(node_id)
        plan.is_header = own is not None
        if own is not None and own.parent is not None:  # a top-level loop starts only once
            plan.loop_members = tuple(sorted(own.members, key=position.__getitem__))
        plan.in_loop = node_id in topology.loop_of
        edges = [e for e in topology.incoming[node_id] if not topology.is_back_edge(e)]
        plan.in_edges = tuple((e.source, e.port) for e in edges)
        plan.edge_sender = tuple(topology.sender(e) for e in edges)
        plan.senders = tuple(dict.fromkeys(plan.edge_sender))

    # who sends what: forward edges by their sender; sinks of a loop body go to its latch
    sends: dict[str, list[str]] = {}
    for e in topology.forward_edges():
        sends.setdefault(topology.sender(e), []).append(e.target)
    latches: dict[str, LatchPlan] = {}
    for loop in topology.loops:
        parent = topology.parent(loop)
        targets = sends.get(loop.latch, [])
        if parent is not None and loop.latch in parent.sinks:
            targets = [*targets, parent.latch]
        latches[loop.latch] = LatchPlan(
            loop=loop,
            senders=loop.sinks,
            continue_edges=tuple((e.source, e.port) for e in loop.back_edges),
            exit_edges=tuple((e.source, e.port) for e in loop.exit_edges),
            exit_targets=tuple(dict.fromkeys(targets)),
        )
    closers: dict[str, list[str]] = {}
    for node_id, plan in plans.items():
        if plan.arity > 1 and plan.node.join == "any":
            own = topology.header_of.get(node_id)
            pass_loop = topology.parent(own) if own is not None else topology.loop_of.get(node_id)
            if pass_loop is not None:
                plan.round_latch = pass_loop.latch
                closers.setdefault(pass_loop.latch, []).append(node_id)
    for latch_id, ids in closers.items():
        latches[latch_id].closers = tuple(ids)
    for node_id, plan in plans.items():
        targets = sends.get(node_id, [])
        innermost = topology.loop_of.get(node_id)
        if innermost is not None and node_id in innermost.sinks:
            targets = [*targets, innermost.latch]
        plan.successors = tuple(dict.fromkeys(targets))
        plan.join_targets = _join_targets(plan.successors, plans, latches)
    for latch in latches.values():
        latch.join_targets = _join_targets(latch.exit_targets, plans, latches)

    maps = tuple(n for n, p in plans.items() if isinstance(p.node, MapNode))
    return GraphPlan(nodes=plans, latches=latches, roots=topology.roots, maps=maps)


def _join_targets(
    targets: tuple[str, ...], plans: dict[str, NodePlan], latches: dict[str, LatchPlan]
) -> dict[str, str]:
    joins: dict[str, str] = {}
    for target in targets:
        if target in latches:
            if latches[target].arity > 1:
                joins[target] = "all"
            continue
        plan = plans[target]
        if plan.arity > 1:
            joins[target] = plan.node.join
    return joins


def _secret_names(node: NodeBase) -> frozenset[str]:
    from workflow_compiler.expressions import references_in

    dumped = node.model_dump(by_alias=True, exclude={"id", "type", "name", "description"})
    if isinstance(node, MapNode):
        dumped.pop("body", None)
    # Compiling every template only to find none reads secrets would churn the template
    # cache on large specs (bench: 3 s at 3,000 distinct templates); look first.
    names: set[str] = set()
    if "secrets" in json.dumps(dumped, default=str):
        names = {
            str(ref.path[0])
            for ref in references_in(dumped)
            if ref.root == "secrets" and ref.path
        }
    if isinstance(node, LlmNode):  # the API key's secret, named (not referenced) by the node
        from workflow_compiler.llm.settings import api_key_secret

        key_secret = api_key_secret(node)
        if key_secret is not None:
            names.add(key_secret)
    return frozenset(names)


def control_node_ids(nodes: Sequence[NodeBase], edges: Sequence[Edge]) -> list[str]:
    """The nodes control flow runs: all but those used only through ai_tool/ai_memory edges
    (an llm node calls those itself). The validator's topology leaves the same ones out."""
    in_main = {end for e in edges if e.kind == "main" for end in (e.from_, e.to)}
    ai_only = {e.from_ for e in edges if e.kind != "main"} - in_main
    return [n.id for n in nodes if n.id not in ai_only]
