"""Which ports each node type offers: the one table validation and lowering share."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

#: Types whose output port depends on a decision; a loop may be left only through these.
BRANCHING_TYPES = frozenset({"condition", "switch", "approval", "input", "signal"})

#: Types that lower to ``interrupt()`` and pause the run.
INTERRUPT_TYPES = frozenset({"approval", "input", "wait", "signal"})

#: Types that may be the source of an ``ai_tool`` edge.
AI_TOOL_SOURCES = frozenset({"tool", "http", "subworkflow"})


def node_ports(node: Mapping[str, Any]) -> list[str]:
    """Ports of a (possibly half-valid) node given as a dict; unknown types have none."""
    node_type = node.get("type")
    ports: list[str]
    if node_type == "condition":
        ports = ["true", "false"]
    elif node_type == "switch":
        cases = node.get("cases")
        ports = [case_port(c) for c in cases] if isinstance(cases, list) else []
        default = node.get("default", "default")
        ports.append(default if isinstance(default, str) else "default")
    elif node_type == "approval":
        ports = ["approved", "rejected", "timeout"]
        options = node.get("options")
        if isinstance(options, list):
            ports.extend(o for o in options if isinstance(o, str))
    elif node_type in {"input", "signal"}:
        ports = ["out", "timeout"]
    elif node_type in {"transform", "map", "subworkflow", "llm", "tool", "http", "wait"}:
        ports = ["out"]
    else:
        return []
    if node.get("on_error") == "route":
        ports.append("error")
    return list(dict.fromkeys(ports))


def case_port(case: object) -> str:
    """The port name of a switch case: its value as text (``true``/``false`` for booleans)."""
    if isinstance(case, bool):
        return "true" if case else "false"
    if isinstance(case, float) and case.is_integer():
        return str(int(case))
    return str(case)
