"""Spec (validated) -> LangGraph ``StateGraph`` builder. See ``plan`` for the semantics."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, cast

from langgraph.graph import START, StateGraph
from langgraph.types import RetryPolicy as LangGraphRetryPolicy

from workflow_compiler.compiler.context import RunContext
from workflow_compiler.compiler.fusion import FusedRunner, fused_chains
from workflow_compiler.compiler.maps import (
    MapCollect,
    MapDispatch,
    MapWorker,
    collect_name,
    worker_name,
)
from workflow_compiler.compiler.plan import GraphPlan, NodePlan
from workflow_compiler.compiler.runner import LatchRunner, NodeRunner, retry_on
from workflow_compiler.compiler.state import WorkflowState
from workflow_compiler.spec.models import MapNode

BodyCompiler = Callable[[MapNode], Any]  # returns a CompiledWorkflow for the map body


def lower(plan: GraphPlan, compile_body: BodyCompiler, *, fuse: bool = True
          ) -> StateGraph[Any, Any, Any, Any]:
    """``fuse``: chains of pure nodes run as one LangGraph node (``fusion``); off, every
    spec node is a LangGraph node of its own (the tests compare both)."""
    builder: StateGraph[Any, Any, Any, Any] = StateGraph(
        WorkflowState, context_schema=RunContext
    )
    heads = {chain[0]: chain for chain in fused_chains(plan)} if fuse else {}
    for node_id, node_plan in plan.nodes.items():
        chain = heads.get(node_id)
        if chain is not None:
            last = plan.nodes[chain[-1]]
            builder.add_node(node_id, cast(Any, FusedRunner(
                tuple(NodeRunner(plan.nodes[member]) for member in chain))),
                destinations=last.successors)
            continue
        reports = _round_report(node_plan)
        if isinstance(node_plan.node, MapNode):
            body = compile_body(node_plan.node)
            builder.add_node(node_id, cast(Any, MapDispatch(node_plan)),
                             destinations=(worker_name(node_id), *node_plan.successors,
                                           *reports))
            builder.add_node(worker_name(node_id),
                             cast(Any, MapWorker(node_id, node_plan.node, body)),
                             destinations=(collect_name(node_id),))
            builder.add_node(collect_name(node_id), cast(Any, MapCollect(node_plan)),
                             destinations=node_plan.successors)
            continue
        builder.add_node(
            node_id, cast(Any, NodeRunner(node_plan)),
            destinations=(*node_plan.successors, *reports),
            retry_policy=_retry_policy(node_plan),
        )
    for latch_id, latch in plan.latches.items():
        builder.add_node(latch_id, cast(Any, LatchRunner(latch)),
                         destinations=(latch.loop.header, *latch.exit_targets))
    for root in plan.roots:
        builder.add_edge(START, root)
    return builder


def _round_report(plan: NodePlan) -> tuple[str, ...]:
    """A ``join: any`` in a loop also goes to its pass's latch when its round closes."""
    latch = plan.round_latch
    return (latch,) if latch is not None and latch not in plan.successors else ()


def _retry_policy(plan: NodePlan) -> LangGraphRetryPolicy | None:
    if plan.retry is None:
        return None
    return LangGraphRetryPolicy(
        initial_interval=plan.retry.initial_interval,
        backoff_factor=plan.retry.backoff,
        max_interval=plan.retry.max_interval,
        max_attempts=plan.retry.max_attempts,
        jitter=plan.retry.jitter,
        retry_on=retry_on,
    )
