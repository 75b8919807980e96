"""A first pass over the raw spec: is it plain JSON, and is it small enough to check?

Later checks walk the spec freely (templates, schemas, nested bodies). They may do so only
because this pass has already refused what would make a walk unsafe or slow: nesting past
``MAX_DEPTH``, circular Python structures, absurd sizes. Values JSON cannot carry (NaN,
non-string keys, sets...) are reported here too, since the spec hash and the API could not
represent them.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

from workflow_compiler.validation.reporting import IssueLog, pointer

MAX_DEPTH = 100
MAX_VALUES = 5_000_000
MAX_INT_BITS = 1024
MAX_NODES = 20_000

_Trail = tuple[object, object] | None  # (parent trail, key or index): a pointer, unspelled


_NO_TOKEN = object()
_IS_STR = str.__instancecheck__  # a C-level predicate: the key check runs once per object


def _trail_pointer(trail: _Trail, token: object = _NO_TOKEN) -> str:
    tokens: list[str | int] = []
    link: _Trail = (trail, token) if token is not _NO_TOKEN else trail
    while link is not None:
        parent, step = link
        tokens.append(step if type(step) is int else str(step))
        link = parent  # type: ignore[assignment]
    return pointer("", *reversed(tokens))


def check_json_values(raw: object, log: IssueLog) -> bool:
    """Report non-JSON values; False when the spec is unsafe to walk any further.

    Only containers go on the stack (scalars are judged where they are met) and each
    carries a link to its parent rather than a pointer string: specs are mostly valid and
    large, so the common path must allocate little. A Python structure containing itself
    is caught by the depth limit, which a depth-first walk reaches at once.
    """
    stack: list[tuple[Any, _Trail, int]] = [(raw, None, 0)]
    visits = 0
    while stack:
        value, trail, depth = stack.pop()
        if depth >= MAX_DEPTH:
            log.add("invalid_value", f"this value is nested more than {MAX_DEPTH} levels deep "
                    "(or contains itself); the spec cannot be checked further",
                    _trail_pointer(trail))
            return False
        visits += len(value)
        if visits > MAX_VALUES:
            log.add("invalid_value", f"the spec holds more than {MAX_VALUES:,} values; "
                    "split it into subworkflows", "")
            return False
        pairs: Iterable[tuple[object, Any]]
        if isinstance(value, dict):
            pairs = value.items()
            if not all(map(_IS_STR, value)):
                log.add("invalid_value", "object keys must be strings", _trail_pointer(trail))
        else:
            pairs = enumerate(value)
        for token, child in pairs:
            kind = type(child)
            if kind is dict or kind is list:
                stack.append((child, (trail, token), depth + 1))
            elif kind is str or kind is bool or child is None:
                continue
            elif isinstance(child, dict | list):
                stack.append((child, (trail, token), depth + 1))
            else:
                _check_scalar(child, trail, token, log)
    return True


def _check_scalar(value: object, trail: _Trail, token: object, log: IssueLog) -> None:
    if isinstance(value, int):
        if value.bit_length() > MAX_INT_BITS:
            log.add("invalid_value", "this integer is too large to be exchanged as JSON",
                    _trail_pointer(trail, token))
    elif isinstance(value, float):
        if not math.isfinite(value):
            log.add("invalid_value", "NaN and Infinity are not JSON numbers; use null or a "
                    "string", _trail_pointer(trail, token))
    else:
        log.add("invalid_value", f"a {type(value).__name__} is not a JSON value (only objects, "
                "arrays, strings, numbers, booleans and null are)", _trail_pointer(trail, token))


def count_nodes(raw: object) -> int:
    """Nodes in a spec including map bodies and inline subworkflows (after the safe pass)."""
    total = 0
    pending = [raw]
    while pending:
        spec = pending.pop()
        nodes = spec.get("nodes") if isinstance(spec, dict) else None
        if not isinstance(nodes, list):
            continue
        total += len(nodes)
        for node in nodes:
            if not isinstance(node, dict):
                continue
            body, inline = node.get("body"), node.get("spec")
            if isinstance(body, dict):
                pending.append(body)
            if isinstance(inline, dict):
                pending.append(inline)
    return total
