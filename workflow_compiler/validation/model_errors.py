"""Pydantic's errors, re-said as spec issues: exact JSON pointers and stable codes.

Pydantic reports where it looked (``loc``), which for unions includes the name of each
member tried ("str", "list[dict[str,any]]"). Those are not places in the spec, so the loc
is walked against the raw data and stops at the first step that is not really there: the
union's field. All attempts at one place become one issue, since the user fixes one value.
"""

from __future__ import annotations

import types
import typing
from collections.abc import Mapping, Sequence
from typing import Any

from pydantic import BaseModel, ValidationError

from workflow_compiler.validation.reporting import IssueLog, did_you_mean, pointer

#: Fields written as a duration (ISO-8601 or seconds); their errors get ``invalid_duration``.
DURATION_FIELDS = frozenset({"timeout", "duration"})


def _locate(
    raw: object, loc: Sequence[str | int], *, missing: bool
) -> tuple[list[str | int], str]:
    """The tokens that exist in ``raw``, and the rest of ``loc`` said in words (the items
    inside a union member, which have no place of their own in the spec)."""
    tokens: list[str | int] = []
    current: object = raw
    for position, step in enumerate(loc):
        present = (isinstance(current, Mapping) and step in current) or (
            isinstance(current, list) and isinstance(step, int) and 0 <= step < len(current))
        if present:
            current = current[step]  # type: ignore[index]
        elif missing and position == len(loc) - 1:
            tokens.append(step)
            break
        else:
            rest = [s for s in loc[position + 1:] if isinstance(s, int)]
            return tokens, " ".join(f"item {i}:" for i in rest)
        tokens.append(step)
    return tokens, ""


def _model_fields(model: type[BaseModel]) -> dict[str, type[BaseModel] | None]:
    """Each field's spelling in a spec (alias first) and its nested model, if it is one."""
    names: dict[str, type[BaseModel] | None] = {}
    for name, info in model.model_fields.items():
        nested = None
        annotation = info.annotation
        candidates = typing.get_args(annotation) if isinstance(
            annotation, types.UnionType) or typing.get_origin(annotation) is typing.Union \
            else (annotation,)
        for candidate in candidates:
            if isinstance(candidate, type) and issubclass(candidate, BaseModel):
                nested = candidate
        names[info.alias or name] = nested
    return names


def _fields_at(model: type[BaseModel], tokens: Sequence[str | int]) -> list[str]:
    """Field names allowed in the object at ``tokens`` below ``model`` (for hints)."""
    current: type[BaseModel] | None = model
    for token in tokens:
        if current is None:
            return []
        current = _model_fields(current).get(str(token))
    return list(_model_fields(current)) if current is not None else []


def _is_duration(tokens: Sequence[str | int]) -> bool:
    """A node's own ``timeout``/``duration``, or ``limits.timeout`` at the top level."""
    if not tokens or tokens[-1] not in DURATION_FIELDS:
        return False
    return len(tokens) == 1 or (len(tokens) == 2 and tokens[0] == "limits")


def _clean(message: str) -> str:
    for prefix in ("Value error, ", "Assertion failed, "):
        if message.startswith(prefix):
            message = message[len(prefix):]
    return message[:1].lower() + message[1:]


def report_model_errors(
    error: ValidationError,
    *,
    model: type[BaseModel],
    raw: object,
    base: str,
    log: IssueLog,
    node_id: str | None = None,
    id_field: bool = False,
) -> None:
    """Add one issue per place ``error`` points at; ``id_field`` marks node ids."""
    grouped: dict[str, tuple[str, list[str], str | None]] = {}
    for detail in error.errors(include_url=False):
        kind = detail["type"]
        loc = tuple(detail["loc"])
        tokens, rest = _locate(raw, loc, missing=kind == "missing")
        path = pointer(base, *tokens)
        message = _clean(str(detail["msg"]))
        hint: str | None = None
        if kind == "missing":
            code = "missing_field"
            message = f"the required field {str(tokens[-1])!r} is missing"
        elif kind == "extra_forbidden":
            code = "unknown_field"
            allowed = _fields_at(model, tokens[:-1])
            message = f"unknown field {str(tokens[-1])!r}"
            hint = did_you_mean(tokens[-1], allowed) or (
                f"allowed here: {', '.join(sorted(allowed))}" if allowed else None)
        elif id_field and tokens == ["id"]:
            code = "invalid_node_id"
            message = ("a node id starts with a lowercase letter followed by lowercase letters, "
                       "digits or '_' (at most 64 characters)")
        elif _is_duration(tokens):
            code = "invalid_duration"
            if kind != "value_error":
                message = "a duration is an ISO-8601 string such as 'PT30S' or a number of seconds"
        else:
            code = "invalid_value"
        if rest:
            message = f"{rest} {message}"
        key = f"{code}\x00{path}"
        if key in grouped:
            if message not in grouped[key][1]:
                grouped[key][1].append(message)
        else:
            grouped[key] = (code, [message], hint)
    for key, (code, messages, hint) in grouped.items():
        path = key.split("\x00", 1)[1]
        log.add(code, "; or ".join(messages), path, node_id, hint, once_per_place=True)


def model_or_none(
    model: type[BaseModel], data: Any
) -> tuple[BaseModel | None, ValidationError | None]:
    """Validate without raising (model validators raise ValueError, which Pydantic wraps)."""
    try:
        return model.model_validate(data), None
    except ValidationError as exc:
        return None, exc
