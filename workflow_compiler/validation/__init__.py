"""Static validation of workflow specs: every problem at once, each with a stable code and
a JSON pointer, and never an exception for bad input.

``check_spec`` lists the problems (the API's "validate" endpoint, the CLI, the chat
agent); ``validate_spec`` is the gate in front of the compiler and hands it the parsed,
typed spec with the facts already computed here (topology, hash), so nothing is derived
twice.
"""

from __future__ import annotations

import gc
import hashlib
import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from workflow_compiler.errors import SpecIssue, SpecValidationError
from workflow_compiler.graph.topology import Topology
from workflow_compiler.nodes.base import ValidationContext
from workflow_compiler.spec.models import Edge, NodeBase, WorkflowSpec
from workflow_compiler.validation.json_values import MAX_NODES, check_json_values, count_nodes
from workflow_compiler.validation.reporting import IssueLog
from workflow_compiler.validation.session import Session, SpecResult

__all__ = ["ValidatedSpec", "ValidationContext", "check_spec", "spec_hash", "validate_spec"]


@dataclass(frozen=True, slots=True)
class ValidatedSpec:
    """A spec that passed validation, with what the compiler needs from the validator."""

    spec: WorkflowSpec
    raw: dict[str, Any]
    topology: Topology  # of the top level; nodes used only through ai edges are left out
    spec_hash: str
    node_map: dict[str, NodeBase]  # top-level nodes by id


def spec_hash(raw: object) -> str:
    """sha256 of the canonical JSON text: equal specs hash equal, whatever their key order."""
    text = json.dumps(raw, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Validation allocates many small, short-lived, acyclic objects; on a 10,000-node spec
    the cyclic garbage collector's repeated full passes cost a third of the time."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _run(raw: object, context: ValidationContext | None) -> tuple[IssueLog, SpecResult | None]:
    log = IssueLog()
    result: SpecResult | None = None
    try:
        with _collector_paused():
            if not isinstance(raw, dict):
                log.add("invalid_spec",
                        "a spec is a JSON object with 'name', 'nodes' and 'edges'", "")
            elif check_json_values(raw, log):
                total = count_nodes(raw)
                if total > MAX_NODES:
                    log.add("too_many_nodes",
                            f"the spec has {total:,} nodes (map bodies and inline subworkflows "
                            f"included); the limit is {MAX_NODES:,}", "/nodes",
                            hint="split it into saved subworkflows")
                else:
                    result = Session(log, context or ValidationContext()).check_spec(raw, "")
    except Exception as exc:  # the promise: invalid specs get errors, never crashes
        log.add("internal_error", f"validation failed unexpectedly ({type(exc).__name__}: "
                f"{str(exc)[:200]}); please report this", "")
    return log, result


def check_spec(raw: object, *, context: ValidationContext | None = None) -> list[SpecIssue]:
    """Every problem of ``raw``; empty when it is a valid spec. Never raises."""
    log, _ = _run(raw, context)
    return log.issues


def validate_spec(raw: object, *, context: ValidationContext | None = None) -> ValidatedSpec:
    """The parsed spec, or ``SpecValidationError`` listing every problem."""
    log, result = _run(raw, context)
    if log.issues or result is None or result.header is None or result.level is None \
            or not isinstance(raw, dict):
        raise SpecValidationError(log.issues or [SpecIssue("invalid_spec", "invalid spec")])
    level = result.level
    nodes = [entry.model for entry in level.nodes]
    edges = [edge.model for edge in level.edges]
    if any(n is None for n in nodes) or any(e is None for e in edges):
        raise SpecValidationError([SpecIssue("internal_error", "a part of the spec did not "
                                             "parse although no problem was reported")])
    typed_nodes = [n for n in nodes if n is not None]
    typed_edges: list[Edge] = [e for e in edges if e is not None]
    spec = result.header.model_copy(update={"nodes": typed_nodes, "edges": typed_edges})
    return ValidatedSpec(
        spec=spec,
        raw=raw,
        topology=level.topology,
        spec_hash=spec_hash(raw),
        node_map={n.id: n for n in typed_nodes},
    )
