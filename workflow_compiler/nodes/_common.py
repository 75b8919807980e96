"""Small pieces several executors share: static defaults for validate/output_schema."""

from __future__ import annotations

from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError

from workflow_compiler.errors import SpecIssue
from workflow_compiler.nodes.base import ValidationContext
from workflow_compiler.spec.models import NodeBase


class NoExtraChecks:
    """Mixin for types whose config model says everything there is to check."""

    def validate(self, node: NodeBase, ctx: ValidationContext, path: str) -> list[SpecIssue]:
        return []

    def output_schema(self, node: NodeBase) -> dict[str, Any] | None:
        return None


def check_json_schema(schema: object, *, node_id: str, path: str) -> list[SpecIssue]:
    """A JSON Schema given in a spec must itself be valid (draft 2020-12)."""
    try:
        Draft202012Validator.check_schema(schema)  # type: ignore[arg-type,unused-ignore]
    except SchemaError as exc:
        where = "/".join(str(p) for p in exc.path)
        return [SpecIssue(
            "invalid_json_schema",
            f"not a valid JSON Schema: {exc.message}" + (f" (at {where})" if where else ""),
            path=path, node_id=node_id,
        )]
    except Exception as exc:
        return [SpecIssue("invalid_json_schema", f"not a valid JSON Schema: {exc}",
                          path=path, node_id=node_id)]
    return []


def validation_errors(schema: dict[str, Any], value: Any, *, limit: int = 5) -> list[str]:
    """Readable messages for why ``value`` does not satisfy ``schema`` (empty if it does)."""
    validator = Draft202012Validator(schema)
    messages = []
    for error in sorted(validator.iter_errors(value), key=lambda e: list(e.path))[:limit]:
        where = "/" + "/".join(str(p) for p in error.path) if error.path else "(root)"
        messages.append(f"{where}: {error.message}")
    return messages
