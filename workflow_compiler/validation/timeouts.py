"""Timeout ports that can never fire, and timeouts told to route with nowhere to go.

A ``timeout`` port fires only when its node has a ``timeout`` (and, for an approval, when
``on_timeout`` is ``route``; otherwise the timeout decides approve/reject/fail and leaves
through that port). An edge from it otherwise is dead wiring that looks like handling:
the author believes the late case is covered while the run would wait forever. The
reverse, ``on_timeout: "route"`` without an edge from the port, ends the branch silently
at the timeout, which is what ``reject`` or ``fail`` would say openly.

An ``input`` or ``signal`` node with a ``timeout`` and no edge from its timeout port is
accepted: that port is those nodes' only way to say what a timeout does, and ending the
branch ("give up waiting") is a meaning of its own.
"""

from __future__ import annotations

from workflow_compiler.validation.parsing import EdgeEntry, NodeEntry
from workflow_compiler.validation.reporting import IssueLog, pointer

TIMEOUT_PORT = "timeout"
_TIMED = frozenset({"approval", "input", "signal"})


def check_timeout_ports(
    entries: dict[str, NodeEntry], edges: list[EdgeEntry], log: IssueLog
) -> None:
    routed: set[str] = set()
    for edge in edges:
        if edge.kind != "main" or edge.port != TIMEOUT_PORT or edge.source is None:
            continue
        source = entries.get(edge.source)
        if source is None or source.type_name not in _TIMED:
            continue  # a dangling edge or a node without the port: reported elsewhere
        routed.add(edge.source)
        problem = _why_never(source)
        if problem is not None:
            message, hint = problem
            log.add("port_never_fires", message, pointer(edge.path, "port"), edge.source,
                    hint)
    for entry in entries.values():
        if entry.type_name != "approval" or entry.raw.get("on_timeout") != "route":
            continue
        if entry.raw.get("timeout") is None:
            log.add("missing_timeout",
                    f"approval {entry.node_id!r} has on_timeout 'route' but no 'timeout', so "
                    "it never times out", pointer(entry.path, "on_timeout"), entry.node_id,
                    hint='add e.g. "timeout": "PT48H", or remove on_timeout')
        elif entry.node_id not in routed:
            log.add("timeout_not_routed",
                    f"approval {entry.node_id!r} routes its timeout (on_timeout 'route') but "
                    "no edge leaves its timeout port, so a timeout would end the branch "
                    "silently", pointer(entry.path, "on_timeout"), entry.node_id,
                    hint=f'add {{"from": "{entry.node_id}", "port": "timeout", "to": ...}}, '
                    'or say what the timeout decides: on_timeout "reject", "approve" or "fail"')


def _why_never(source: NodeEntry) -> tuple[str, str] | None:
    """Why ``source``'s timeout port cannot fire (message, hint), or None if it can."""
    name, raw = source.node_id, source.raw
    if source.type_name == "approval":
        on_timeout = raw.get("on_timeout", "reject")
        if raw.get("timeout") is None:
            if on_timeout == "route":
                return None  # missing_timeout says it, once, on the node
            return (f"approval {name!r} has no 'timeout', so its timeout port never fires",
                    'give it "timeout" and "on_timeout": "route", or remove this edge')
        if on_timeout != "route":
            return (f"approval {name!r} has on_timeout {on_timeout!r}: at its timeout it "
                    "leaves through that decision's port, never through 'timeout'",
                    'set "on_timeout": "route" to use this edge, or remove it')
        return None
    if raw.get("timeout") is None:
        return (f"{source.type_name} node {name!r} has no 'timeout', so its timeout port "
                "never fires", f'give {name!r} a "timeout" (e.g. "PT24H"), or remove this '
                "edge")
    return None
