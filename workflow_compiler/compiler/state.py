"""The LangGraph state every lowered workflow shares, and its reducers.

``nodes`` holds outputs (what templates read); ``ports`` records which ports a node's
latest firing took, written only when it differs from the common case (live, ``out``),
so a plain chain pays nothing for branching bookkeeping; ``arrivals`` counts joins.
An update may carry ``DROP``: ids whose entries go before the rest is merged, which is
how entering a nested loop forgets the outputs of its previous run.
"""

from __future__ import annotations

from typing import Annotated, Any, TypedDict

from langchain_core.messages import AnyMessage
from langgraph.graph.message import add_messages

LIVE_OUT: tuple[str, ...] = ("out",)
RESET = "__reset__"
#: key of an update listing ids to remove (node ids match ``[a-z][a-z0-9_]*``: no clash)
DROP = "__drop__"


def merge_dict(left: dict[str, Any] | None, right: dict[str, Any] | None) -> dict[str, Any]:
    if not right:
        return left or {}
    if DROP in right:
        gone = set(right[DROP])
        merged = {k: v for k, v in (left or {}).items() if k not in gone}
        merged.update((k, v) for k, v in right.items() if k != DROP)
        return merged
    if not left:
        return dict(right)
    merged = dict(left)
    merged.update(right)
    return merged


def add_counts(left: dict[str, int] | None, right: dict[str, int] | None) -> dict[str, int]:
    """Counters: positive values arrive, negative ones consume; zeros are dropped."""
    if not right:
        return left or {}
    merged = dict(left or {})
    for key, delta in right.items():
        value = merged.get(key, 0) + delta
        if value:
            merged[key] = value
        else:
            merged.pop(key, None)
    return merged


def merge_mapped(
    left: dict[str, dict[str, Any]] | None, right: dict[str, dict[str, Any]] | None
) -> dict[str, dict[str, Any]]:
    """Per-map result buckets; a bucket carrying RESET replaces the old one."""
    if not right:
        return left or {}
    merged = dict(left or {})
    for key, bucket in right.items():
        if bucket.get(RESET):
            rest = {k: v for k, v in bucket.items() if k != RESET}
            if rest:
                merged[key] = rest
            else:
                merged.pop(key, None)
        else:
            merged[key] = {**merged.get(key, {}), **bucket}
    return merged


class WorkflowState(TypedDict, total=False):
    inputs: dict[str, Any]
    run: dict[str, Any]
    path: str
    item: Any
    index: int
    nodes: Annotated[dict[str, Any], merge_dict]
    ports: Annotated[dict[str, list[str]], merge_dict]
    arrivals: Annotated[dict[str, int], add_counts]
    mapped: Annotated[dict[str, dict[str, Any]], merge_mapped]
    messages: Annotated[list[AnyMessage], add_messages]
