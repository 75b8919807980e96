"""Evaluating the commonest templates without running Jinja.

Most templates in real specs are a bare reference (``{{ nodes.a.b }}``) or text with bare
references dropped in (``"Ticket: {{ inputs.ticket }}"``). Going through Jinja costs a
context, a generator and the sandbox's attribute checks, several microseconds per node;
walking the path in Python costs a fraction of one. The fast path only takes the happy
case (every step is a present ``dict`` key or in-range ``list`` index, the value is plain
data) and reports ``MISSING`` otherwise, so the caller falls back to Jinja and both paths
give the same values and the same errors by construction.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from jinja2 import nodes

from workflow_compiler.expressions.limits import MAX_OUTPUT_CHARS
from workflow_compiler.expressions.references import ENVIRONMENT_NAMES, Chain, PathElement

FastReference = tuple[str, tuple[PathElement, ...]]
#: Literal text and references, in order: a plain interpolation, ready to join.
FastText = tuple[str | FastReference, ...]

#: Returned when the fast path does not apply; ``None`` is a value.
MISSING: Final = object()

_PLAIN_TYPES: Final = frozenset({dict, list, str, int, float, bool, type(None)})
# Integers that print the same through ``str`` and need no size or digit-limit checks.
_SMALL_INT_BITS: Final = 64


def bare_reference(expression: nodes.Node) -> FastReference | None:
    """Root and path when ``expression`` is a reference with constant steps only."""
    if not isinstance(expression, nodes.Expr):
        return None
    chain = Chain.unroll(expression)
    if not isinstance(chain.base, nodes.Name) or chain.base.name in ENVIRONMENT_NAMES:
        return None
    path, complete = chain.static_path()
    return (chain.base.name, path) if complete else None


def plain_interpolation(template: nodes.Template) -> FastText | None:
    """The parts of a template made only of literal text and bare references."""
    parts: list[str | FastReference] = []
    for statement in template.body:
        if not isinstance(statement, nodes.Output):
            return None
        for child in statement.nodes:
            if isinstance(child, nodes.TemplateData):
                parts.append(child.data)
                continue
            reference = bare_reference(child)
            if reference is None:
                return None
            parts.append(reference)
    return tuple(parts)


def resolve_plain(scope: Mapping[str, Any], root: str, path: tuple[PathElement, ...]) -> Any:
    """The value at ``root`` + ``path`` if every step is a plain hit, else ``MISSING``."""
    if root not in scope:
        return MISSING
    value = scope[root]
    for key in path:
        kind = type(value)
        if kind is dict and type(key) is str:
            if key not in value:
                return MISSING
            value = value[key]
        elif kind is list and type(key) is int and -len(value) <= key < len(value):
            value = value[key]
        else:
            return MISSING
    return value if type(value) in _PLAIN_TYPES else MISSING


def render_plain(parts: FastText, scope: Mapping[str, Any]) -> str | None:
    """The text of a plain interpolation, or None when any part needs Jinja's rules."""
    pieces: list[str] = []
    for part in parts:
        if isinstance(part, str):
            pieces.append(part)
            continue
        value = resolve_plain(scope, *part)
        kind = type(value)
        if kind is str:
            pieces.append(value)
        elif kind is int and value.bit_length() < _SMALL_INT_BITS:
            pieces.append(str(value))
        else:
            return None  # null, booleans, floats, containers: rendered as JSON by Jinja path
    text = "".join(pieces)
    return text if len(text) <= MAX_OUTPUT_CHARS else None
