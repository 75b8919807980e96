"""Linear chains of pure nodes run as one LangGraph node.

Every LangGraph superstep has a fixed cost (tasks prepared, writes applied, a checkpoint
created), which for short nodes is most of a run: a chain of three ``transform`` nodes was
four supersteps, most of the engine's time in a short request/response run. A
``transform`` reads the state and writes its output, nothing else, and running it again
gives the same output, so a checkpoint between two of them is never worth resuming or
forking from. A chain of them therefore runs as one LangGraph node (``FusedRunner``, named
after the chain's head) that fires each member's ``NodeRunner`` in turn on the state the
earlier ones leave; events, steps, outputs and routing are each member's own, unchanged.

A link ``a -> b`` is fused when both are pure, neither has a retry policy (LangGraph
retries whole nodes), neither belongs to a loop, ``a``'s only successor is ``b`` and
``b``'s only sender is ``a`` (no join). The members after the head stay in the graph as
nodes of their own, which nothing routes to in a new run: a checkpoint saved between two
members (by a version that ran them one by one) still finds the node it waits for, and a
run resumed or forked from it continues as it was made.
"""

from __future__ import annotations

import typing
from collections.abc import Callable, Mapping
from typing import Any

from langgraph.runtime import Runtime
from langgraph.types import Command

from workflow_compiler.compiler.context import RunContext
from workflow_compiler.compiler.plan import GraphPlan, NodePlan
from workflow_compiler.compiler.runner import NodeRunner, _resolve_call_annotations
from workflow_compiler.compiler.state import WorkflowState

#: node types whose execution is a function of the state alone
PURE_TYPES = frozenset({"transform"})

Reducer = Callable[[Any, Any], Any]


def _reducers() -> dict[str, tuple[Reducer, type]]:
    hints = typing.get_type_hints(WorkflowState, include_extras=True)
    found: dict[str, tuple[Reducer, type]] = {}
    for key, hint in hints.items():
        extras = getattr(hint, "__metadata__", ())
        if extras and callable(extras[0]):
            origin = typing.get_origin(hint.__origin__) or hint.__origin__
            found[key] = (extras[0], origin)
    return found


#: the state's reducers, key by key, with the type of their empty value (LangGraph starts
#: such a channel empty); keys without one keep the last value written
REDUCERS = _reducers()


def _fusable(plan: NodePlan) -> bool:
    return (plan.node.type_name in PURE_TYPES and plan.retry is None and not plan.in_loop
            and not plan.is_header and plan.round_latch is None)


def fused_chains(plan: GraphPlan) -> list[tuple[str, ...]]:
    """The chains of two or more nodes to run as one, each in order from its head."""
    nodes = plan.nodes
    following: dict[str, str] = {}
    for node_id, node in nodes.items():
        if not _fusable(node) or len(node.successors) != 1 or node.join_targets:
            continue
        [target] = node.successors
        after = nodes.get(target)
        if after is not None and _fusable(after) and not after.is_root \
                and after.senders == (node_id,):
            following[node_id] = target
    continued = set(following.values())
    chains: list[tuple[str, ...]] = []
    for head in following:
        if head in continued:
            continue
        chain = [head]
        while chain[-1] in following:
            chain.append(following[chain[-1]])
        chains.append(tuple(chain))
    return chains


def merge_update(left: Mapping[str, Any], right: Mapping[str, Any]) -> dict[str, Any]:
    """``right`` applied on ``left`` as LangGraph's channels would apply it: a state with
    an update applied, or two updates combined into one (the reducers are associative)."""
    merged = dict(left)
    for key, value in right.items():
        entry = REDUCERS.get(key)
        if entry is None:
            merged[key] = value
        else:
            reducer, empty = entry
            merged[key] = reducer(merged[key] if key in merged else empty(), value)
    return merged


class FusedRunner:
    """The LangGraph node function of a fused chain (see the module docstring)."""

    def __init__(self, runners: tuple[NodeRunner, ...]) -> None:
        self.runners = runners
        self.__name__ = runners[0].plan.id

    async def __call__(self, state: Mapping[str, Any], runtime: Runtime[RunContext]
                       ) -> Command[Any]:
        view: Mapping[str, Any] = state
        total: dict[str, Any] = {}
        command: Command[Any] | None = None
        for index, runner in enumerate(self.runners):
            command = await runner(view, runtime)
            update = command.update if isinstance(command.update, dict) else {}
            total = merge_update(total, update)
            if index + 1 < len(self.runners):
                following = self.runners[index + 1].plan.id
                goto = command.goto
                if not isinstance(goto, list | tuple) or list(goto) != [following]:
                    # a chain member always sends on, to the next one only
                    raise RuntimeError(f"fused node {runner.plan.id!r} routed to "
                                       f"{command.goto!r}, not {following!r}")
                view = merge_update(view, update)
        assert command is not None
        return Command(update=total, goto=command.goto)


_resolve_call_annotations(FusedRunner)
