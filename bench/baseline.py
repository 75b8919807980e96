"""The hand-written LangGraph baseline: what a user would write without graphwright.

Same topology as the generated spec, same state shape (a ``nodes`` dict channel merged by
a reducer, plus ``inputs``), plain async functions returning ``{"nodes": {id: value}}``
(graphwright's node functions are async too, so both go through LangGraph's async path),
static edges, and the fan-out join as ``add_edge([...], "join")``. The ``template`` variant
does the templates' arithmetic in Python.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, Any, TypedDict

from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.graph import END, START, StateGraph
from langgraph.graph.state import CompiledStateGraph

NodeFn = Callable[[dict[str, Any]], Awaitable[dict[str, Any]]]


def merge(left: dict[str, Any] | None, right: dict[str, Any] | None) -> dict[str, Any]:
    """Copy-and-update, like graphwright's ``merge_dict`` (a reducer must not mutate)."""
    if not right:
        return left or {}
    if not left:
        return dict(right)
    merged = dict(left)
    merged.update(right)
    return merged


class BaselineState(TypedDict, total=False):
    inputs: dict[str, Any]
    nodes: Annotated[dict[str, Any], merge]


def _const(node_id: str, k: int) -> NodeFn:
    async def node(state: dict[str, Any]) -> dict[str, Any]:
        return {"nodes": {node_id: {"i": k}}}

    node.__name__ = node_id
    return node


def _plus_one(node_id: str, reads: str) -> NodeFn:
    async def node(state: dict[str, Any]) -> dict[str, Any]:
        return {"nodes": {node_id: {"i": state["nodes"][reads]["i"] + 1}}}

    node.__name__ = node_id
    return node


def _node(variant: str, node_id: str, k: int, reads: str | None) -> NodeFn:
    if variant == "template" and reads is not None:
        return _plus_one(node_id, reads)
    return _const(node_id, k)


def build(shape: str, variant: str, n: int) -> StateGraph[Any, Any, Any, Any]:
    builder: StateGraph[Any, Any, Any, Any] = StateGraph(BaselineState)
    if shape == "chain":
        ids = [f"n{k}" for k in range(n)]
        for k, nid in enumerate(ids):
            builder.add_node(nid, _node(variant, nid, k, ids[k - 1] if k else None))
        builder.add_edge(START, ids[0])
        for k in range(1, n):
            builder.add_edge(ids[k - 1], ids[k])
        builder.add_edge(ids[-1], END)
    elif shape == "fanout":
        branches = [f"f{k}" for k in range(n)]
        builder.add_node("root", _const("root", 0))
        for k, b in enumerate(branches):
            builder.add_node(b, _node(variant, b, k + 1, "root"))
        builder.add_node("join", _node(variant, "join", n + 1, branches[-1]))
        builder.add_edge(START, "root")
        for b in branches:
            builder.add_edge("root", b)
        builder.add_edge(branches, "join")
        builder.add_edge("join", END)
    else:
        raise ValueError(f"unknown shape {shape!r}")
    return builder


def compile_graph(
    builder: StateGraph[Any, Any, Any, Any], checkpointer: BaseCheckpointSaver[Any] | None
) -> CompiledStateGraph[Any, Any, Any, Any]:
    return builder.compile(checkpointer=checkpointer)


def graph_input() -> dict[str, Any]:
    return {"inputs": {}, "nodes": {}}
