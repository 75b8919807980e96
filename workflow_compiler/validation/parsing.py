"""Parsing a spec part by part, so that one broken node or edge never hides another.

The whole-spec Pydantic model would stop at the first bad union member and report paths
through the discriminated union; here the top-level fields, every node (with the model of
its own type) and every edge are validated separately and their errors re-pathed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from workflow_compiler.spec.models import (
    MAX_NODE_ID_LENGTH,
    NODE_ID_PATTERN,
    NODE_MODELS,
    Edge,
    NodeBase,
    WorkflowSpec,
)
from workflow_compiler.validation.model_errors import model_or_none, report_model_errors
from workflow_compiler.validation.reporting import IssueLog, did_you_mean, pointer, show

EDGE_KINDS = ("main", "ai_tool", "ai_memory")
_NODE_ID = re.compile(NODE_ID_PATTERN)
_PLACEHOLDER_NODE = {"id": "placeholder", "type": "transform", "value": None}


@dataclass(slots=True)
class NodeEntry:
    """One node as found: what could be read of it even when its config is invalid."""

    index: int
    path: str
    raw: dict[str, Any]
    node_id: str | None  # any string id, so edges to a node with a bad id still resolve
    type_name: str | None  # a known type, else None
    model: NodeBase | None  # None when the config did not validate


@dataclass(slots=True)
class EdgeEntry:
    index: int
    path: str
    source: str | None
    target: str | None
    port: str | None
    kind: str | None  # None when the kind is unknown or malformed
    port_given: bool
    model: Edge | None


def parse_top_level(raw: dict[str, Any], base: str, log: IssueLog) -> WorkflowSpec | None:
    """Every top-level field except ``nodes``/``edges`` (whose items are parsed one by one).

    Returns the spec with a placeholder node list, for the caller to complete.
    """
    shadow = dict(raw)
    version = raw.get("spec_version", "1")
    if version != "1":
        log.add("unsupported_spec_version",
                f"spec_version {show(version)} is not supported; this service reads \"1\"",
                pointer(base, "spec_version"), hint='set "spec_version": "1"')
        shadow["spec_version"] = "1"
    nodes = raw.get("nodes")
    if "nodes" not in raw:
        log.add("missing_field", "a spec needs 'nodes': a list of at least one node",
                pointer(base, "nodes"))
    elif not isinstance(nodes, list):
        log.add("invalid_value", "'nodes' must be a list of node objects", pointer(base, "nodes"))
    elif not nodes:
        log.add("invalid_value", "'nodes' is empty: a spec needs at least one node",
                pointer(base, "nodes"))
    shadow["nodes"] = [_PLACEHOLDER_NODE]
    if "edges" in raw:
        if not isinstance(raw["edges"], list):
            log.add("invalid_value", "'edges' must be a list of edge objects",
                    pointer(base, "edges"))
        shadow["edges"] = []
    model, error = model_or_none(WorkflowSpec, shadow)
    if error is not None:
        report_model_errors(error, model=WorkflowSpec, raw=shadow, base=base, log=log)
    return model if isinstance(model, WorkflowSpec) else None


def _check_node_id(raw: dict[str, Any], path: str, log: IssueLog) -> str | None:
    if "id" not in raw:
        log.add("missing_field", "every node needs an 'id'", pointer(path, "id"),
                hint="ids look like 'fetch_user': lowercase letters, digits and '_'")
        return None
    node_id = raw["id"]
    if not isinstance(node_id, str):
        log.add("invalid_node_id", f"a node id is a string, not {show(node_id)}",
                pointer(path, "id"))
        return None
    if not _NODE_ID.match(node_id) or len(node_id) > MAX_NODE_ID_LENGTH:
        suggestion = re.sub(r"[^a-z0-9_]+", "_", node_id.lower()).strip("_")[:MAX_NODE_ID_LENGTH]
        if suggestion and not suggestion[0].isalpha():
            suggestion = f"n_{suggestion}"[:MAX_NODE_ID_LENGTH]
        log.add("invalid_node_id",
                f"node id {show(node_id)} is not allowed: use a lowercase letter followed by "
                f"lowercase letters, digits or '_' (at most {MAX_NODE_ID_LENGTH} characters)",
                pointer(path, "id"), node_id or None,
                hint=f"for example {suggestion!r}" if suggestion else None)
    return node_id or None


def parse_node(item: object, index: int, path: str, log: IssueLog) -> NodeEntry:
    if not isinstance(item, dict):
        log.add("invalid_value", "a node is an object with at least 'id' and 'type'", path,
                once_per_place=True)
        return NodeEntry(index, path, {}, None, None, None)
    node_id = _check_node_id(item, path, log)
    type_name = item.get("type")
    if "type" not in item:
        log.add("missing_field", "every node needs a 'type'", pointer(path, "type"), node_id,
                hint=f"one of: {', '.join(NODE_MODELS)}")
        return NodeEntry(index, path, item, node_id, None, None)
    if not isinstance(type_name, str) or type_name not in NODE_MODELS:
        log.add("unknown_node_type",
                f"unknown node type {show(type_name)}; known types: {', '.join(NODE_MODELS)}",
                pointer(path, "type"), node_id, hint=did_you_mean(type_name, NODE_MODELS))
        return NodeEntry(index, path, item, node_id, None, None)
    model_cls = NODE_MODELS[type_name]
    model, error = model_or_none(model_cls, item)
    if error is not None:
        report_model_errors(error, model=model_cls, raw=item, base=path, log=log,
                            node_id=node_id, id_field=True)
    node = model if isinstance(model, NodeBase) else None
    return NodeEntry(index, path, item, node_id, type_name, node)


def parse_edge(item: object, index: int, path: str, log: IssueLog) -> EdgeEntry:
    if not isinstance(item, dict):
        log.add("invalid_value", 'an edge is an object {"from": ..., "to": ...}', path,
                once_per_place=True)
        return EdgeEntry(index, path, None, None, None, None, False, None)
    kind: str | None = "main"
    checked = item
    if "kind" in item:
        raw_kind = item["kind"]
        if raw_kind not in EDGE_KINDS:
            kind = None
            log.add("unknown_edge_kind",
                    f"unknown edge kind {show(raw_kind)}; kinds are {', '.join(EDGE_KINDS)}",
                    pointer(path, "kind"), hint=did_you_mean(raw_kind, EDGE_KINDS))
            checked = {k: v for k, v in item.items() if k != "kind"}
        else:
            kind = raw_kind
    model, error = model_or_none(Edge, checked)
    if error is not None:
        report_model_errors(error, model=Edge, raw=checked, base=path, log=log)
    source, target, port = item.get("from"), item.get("to"), item.get("port", "out")
    return EdgeEntry(
        index, path,
        source if isinstance(source, str) else None,
        target if isinstance(target, str) else None,
        port if isinstance(port, str) else None,
        kind,
        "port" in item,
        model if isinstance(model, Edge) else None,
    )
