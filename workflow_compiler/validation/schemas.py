"""JSON Schemas in specs: are they valid, and does a property path exist in one?

Reference checks follow ``properties`` (and ``items`` for list subscripts) only where a
schema declares them; anything the schema leaves open (no ``properties``, combinators,
``$ref``, ``additionalProperties`` true or a schema) is taken on trust rather than guessed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError

from workflow_compiler.validation.reporting import IssueLog

_OPEN_KEYWORDS = ("$ref", "$dynamicRef", "anyOf", "oneOf", "allOf", "if", "patternProperties")


def check_schema(
    schema: object, path: str, log: IssueLog, node_id: str | None = None
) -> bool:
    """Report an invalid (draft 2020-12) schema; True when it is valid."""
    try:
        Draft202012Validator.check_schema(schema)  # type: ignore[arg-type]
    except SchemaError as exc:
        where = "/".join(str(p) for p in exc.path)
        log.add("invalid_json_schema",
                f"not a valid JSON Schema: {exc.message}" + (f" (at {where})" if where else ""),
                path, node_id)
        return False
    except Exception as exc:  # jsonschema chokes on odd values in odd ways
        log.add("invalid_json_schema", f"not a valid JSON Schema: {type(exc).__name__}",
                path, node_id)
        return False
    return True


@dataclass(frozen=True, slots=True)
class PathProblem:
    """``path[:depth]`` resolved, ``path[depth]`` is not declared; ``known`` are the options."""

    depth: int
    known: tuple[str, ...]


def resolve_path(
    schema: object, path: Sequence[str | int]
) -> tuple[dict[str, Any] | None, PathProblem | None]:
    """The sub-schema at ``path`` (None if the schema stops saying), or where it breaks."""
    current: object = schema
    for depth, step in enumerate(path):
        if not isinstance(current, dict) or any(k in current for k in _OPEN_KEYWORDS):
            return None, None
        if isinstance(step, str):
            properties = current.get("properties")
            if not isinstance(properties, dict):
                return None, None
            if step in properties:
                current = properties[step]
                continue
            extra = current.get("additionalProperties", False)
            if extra is True or isinstance(extra, dict):
                current = extra
                continue
            return None, PathProblem(depth, tuple(str(k) for k in properties))
        prefix = current.get("prefixItems")
        if isinstance(prefix, list) and 0 <= step < len(prefix):
            current = prefix[step]
        elif "items" in current:
            current = current["items"]
        else:
            return None, None
    return (current if isinstance(current, dict) else None), None


def declared_types(schema: dict[str, Any] | None) -> set[str] | None:
    """The ``type`` keyword as a set, or None when the schema does not restrict it."""
    if schema is None:
        return None
    declared = schema.get("type")
    if isinstance(declared, str):
        return {declared}
    if isinstance(declared, list) and all(isinstance(t, str) for t in declared):
        return set(declared)
    return None
