"""The node executors' own static checks and output schemas, called defensively.

Validation must never raise, and executor checks are written by many hands; an executor
that throws becomes an ``internal_error`` issue naming the node type, not a crash.
"""

from __future__ import annotations

from typing import Any

from workflow_compiler.errors import SpecIssue
from workflow_compiler.nodes.base import NodeExecutor, ValidationContext
from workflow_compiler.spec.models import NodeBase
from workflow_compiler.validation.reporting import IssueLog


def run_executor_checks(
    executor: NodeExecutor | None,
    node: NodeBase,
    context: ValidationContext,
    path: str,
    log: IssueLog,
) -> None:
    if executor is None:
        return
    try:
        found = executor.validate(node, context, path)
        issues = [i for i in found if isinstance(i, SpecIssue)]
    except Exception as exc:  # see module docstring
        log.add("internal_error",
                f"the checks of node type {executor.type_name!r} failed unexpectedly "
                f"({type(exc).__name__}); please report this", path, node.id)
        return
    log.merge(issues)


def output_schema_of(executor: NodeExecutor | None, node: NodeBase) -> dict[str, Any] | None:
    if executor is None:
        return None
    try:
        schema = executor.output_schema(node)
    except Exception:  # no schema is a safe answer: checks are skipped
        return None
    if not isinstance(schema, dict):
        return None
    if node.on_error != "fail":
        # The output is then either the normal one or ``{"error": {...}}``.
        props = schema.get("properties")
        if schema.get("type") != "object" or not isinstance(props, dict):
            return None
        return {**schema, "properties": {**props, "error": ERROR_OUTPUT_SCHEMA}}
    return schema


ERROR_OUTPUT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {"code": {"type": "string"}, "message": {"type": "string"},
                   "node_id": {"type": "string"}, "details": {"type": "object"}},
}
