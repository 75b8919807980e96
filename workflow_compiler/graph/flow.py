"""Graph primitives the loop analysis is built from: a control-flow edge, and Tarjan's
strongly connected components (the cycles), kept apart so both topology and loops share
them without importing each other."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class FlowEdge:
    """A ``main`` edge: control flows from ``source`` through ``port`` to ``target``."""

    source: str
    port: str
    target: str
    index: int  # position in spec["edges"], for error paths


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


def is_cycle(component: list[str], succ: dict[str, list[str]]) -> bool:
    """A component is a cycle when it has several nodes, or one node with a self-edge."""
    return len(component) > 1 or component[0] in succ.get(component[0], ())
