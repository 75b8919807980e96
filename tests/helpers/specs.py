"""Compact builders for specs in tests, and helpers to run them and read their events."""

from __future__ import annotations

from typing import Any

from workflow_compiler.runtime import RunEvent, RunResult, WorkflowRuntime


def spec(nodes: list[dict[str, Any]], edges: list[tuple[str, ...]],
         outputs: dict[str, Any] | None = None, **extra: Any) -> dict[str, Any]:
    return {
        "spec_version": "1", "name": "shape", "nodes": nodes,
        "edges": [{"from": e[0], "to": e[1], **({"port": e[2]} if len(e) > 2 else {})}
                  for e in edges],
        "outputs": outputs or {}, **extra,
    }


def t(node_id: str, value: Any, **extra: Any) -> dict[str, Any]:
    return {"id": node_id, "type": "transform", "value": value, **extra}


async def run_collect(rt: WorkflowRuntime, s: dict[str, Any], inputs: dict[str, Any] | None = None
                      ) -> tuple[RunResult, list[RunEvent]]:
    events = [e async for e in rt.stream(s, inputs or {})]
    result = await rt.result(events[0].run_id)
    return result, events


def fired(events: list[RunEvent], node_id: str, kind: str = "node.completed") -> int:
    return sum(1 for e in events if e.type == kind and e.node_id == node_id)
