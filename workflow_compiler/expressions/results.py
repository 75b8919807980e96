"""Turning what a template produced into plain JSON-like Python, within a size limit.

Node outputs are checkpointed, streamed as events and fed to other nodes, so an
expression must hand back plain data: lists rather than the tuples and generators Jinja
filters produce, ``str`` rather than ``Markup``. Measuring happens in the same walk,
because the dangerous results are the cheap-to-build ones: ``[[x] * 100] * 100`` nested a
few times is a few objects in memory but gigabytes once serialized, so the walk counts a
shared object every time it is reached and stops as soon as the limit is passed.

Mixed text follows one rule: strings are inserted as they are and every other value is
inserted as its JSON text (``null``, ``true``, ``[1, 2]``, ``{"a": 1}``), because specs,
inputs and node outputs are JSON and authors reason in JSON, not in Python reprs.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Final

from jinja2.runtime import LoopContext, Undefined

from workflow_compiler.errors import ExpressionError
from workflow_compiler.expressions.limits import MAX_OUTPUT_CHARS

_SCALAR_WEIGHT: Final = 4
_OPAQUE_WEIGHT: Final = 8
_SCALAR_TYPES: Final = frozenset({int, float, bool, type(None)})


class _OverLimitError(Exception):
    """Internal signal: the walk passed its limit; callers decide what that means."""


def measure(value: Any, limit: int = MAX_OUTPUT_CHARS) -> int:
    """Approximate JSON length of ``value``, or some number above ``limit`` once passed.

    Never consumes iterators (they count as small opaque values): only materialised data
    can be amplified by the operators that call this.
    """
    total = 0
    stack = [value]
    pop, push_all = stack.pop, stack.extend
    while stack:
        item = pop()
        kind = type(item)  # exact types first: this walk runs on every guarded operation
        if kind is str:
            total += len(item) + 2
        elif kind is int or kind is float or kind is bool or item is None:
            total += _SCALAR_WEIGHT
        elif kind is list or kind is tuple:
            total += 2 + len(item)
            push_all(item)
        elif kind is dict or isinstance(item, Mapping):
            total += 2 + 2 * len(item)
            push_all(item.keys())
            push_all(item.values())
        elif isinstance(item, str):
            total += len(item) + 2
        elif isinstance(item, list | tuple):
            total += 2 + len(item)
            push_all(item)
        else:
            total += _OPAQUE_WEIGHT
        if total > limit:
            return total
    return total


#: Strings shorter than this are not tracked when looking for repeated values: repeating
#: them cannot amplify much, and tracking every short string would slow the walk down.
_TRACKED_STRING_CHARS: Final = 64


def repeated_size(value: Any, limit: int = MAX_OUTPUT_CHARS) -> int:
    """How much larger ``value`` becomes when each shared part is written out every time
    it occurs, or some number above ``limit`` once passed. Zero for plain trees.

    ``[a, a, a]`` costs nothing to build, however large ``a`` is, and ``[b, b, b]`` over it
    squares that: a few literals make a structure whose comparison or serialisation never
    ends, inside one C call the time budget cannot interrupt. Containers that templates
    build are checked with this as they are built, so such structures never exist. Each
    object is walked once, and repeats only until the limit is passed.
    """
    seen: set[int] = set()
    extra = 0
    stack = [value]
    pop, push_all = stack.pop, stack.extend
    while stack:
        item = pop()
        kind = type(item)
        if kind in _SCALAR_TYPES:
            continue
        if kind is str or isinstance(item, str):
            if len(item) < _TRACKED_STRING_CHARS:
                continue
        elif not (kind is list or kind is dict or isinstance(item, Mapping | list | tuple)):
            continue  # opaque values: nothing inside to repeat
        if id(item) in seen:
            extra += measure(item, limit - extra)
            if extra > limit:
                return extra
            continue
        seen.add(id(item))
        if isinstance(item, Mapping):
            push_all(item.values())
        elif not isinstance(item, str):
            push_all(item)
    return extra


class _Converter:
    """One walk that converts a result to plain data and charges its size."""

    __slots__ = ("anchors", "remaining")

    def __init__(self, limit: int, anchors: set[int] | None) -> None:
        self.remaining = limit
        # Objects the scope already holds: the first occurrence costs nothing, since
        # handing back existing data does not amplify anything.
        self.anchors = anchors

    def spend(self, amount: int) -> None:
        self.remaining -= amount
        if self.remaining < 0:
            raise _OverLimitError

    def convert(self, value: Any) -> Any:
        kind = type(value)
        if kind is str:
            if self.anchors and id(value) in self.anchors:
                self.anchors.discard(id(value))
            else:
                self.spend(len(value) + 2)
            return value
        if value is None or kind is bool or kind is int or kind is float:
            self.spend(_SCALAR_WEIGHT)
            return value
        if self.anchors and id(value) in self.anchors:
            self.anchors.discard(id(value))
            return value
        if isinstance(value, Undefined):
            str(value)  # a strict undefined raises here, naming what is missing
        if isinstance(value, str):
            plain = str.__str__(value)
            self.spend(len(plain) + 2)
            return plain
        if isinstance(value, bool | int | float):
            self.spend(_SCALAR_WEIGHT)
            return value
        if isinstance(value, Mapping):
            return self._convert_mapping(value)
        if isinstance(value, list | tuple):
            return self._convert_sequence(value)
        if callable(value) or isinstance(value, LoopContext):
            raise ExpressionError(
                "the expression produced a function or method, not a value "
                "(a method name used as a key, or a call without parentheses?)"
            )
        if isinstance(value, Iterable) and not isinstance(value, bytes | bytearray):
            return self._materialise(value)
        self.spend(_OPAQUE_WEIGHT)
        return value

    def _convert_mapping(self, value: Mapping[Any, Any]) -> dict[Any, Any]:
        self.spend(2)
        changed = type(value) is not dict
        out: dict[Any, Any] = {}
        for key, item in value.items():
            new_key = str.__str__(key) if isinstance(key, str) else key
            new_item = self.convert(item)
            changed = changed or new_key is not key or new_item is not item
            self.spend(2 + (len(new_key) if isinstance(new_key, str) else _SCALAR_WEIGHT))
            out[new_key] = new_item
        return out if changed else value  # type: ignore[return-value]

    def _convert_sequence(self, value: list[Any] | tuple[Any, ...]) -> list[Any]:
        self.spend(2)
        changed = type(value) is not list
        out: list[Any] = []
        for item in value:
            new_item = self.convert(item)
            changed = changed or new_item is not item
            self.spend(1)
            out.append(new_item)
        return out if changed else value  # type: ignore[return-value]

    def _materialise(self, value: Iterable[Any]) -> list[Any]:
        # Generators come from filters over finite data or ranges (which spend their own
        # iterations); the size charge bounds the rest.
        self.spend(2)
        out: list[Any] = []
        for item in value:
            self.spend(1)
            out.append(self.convert(item))
        return out


def plain_result(
    value: Any,
    *,
    limit: int = MAX_OUTPUT_CHARS,
    anchors: Callable[[], set[int]] | None = None,
) -> Any:
    """``value`` as plain JSON-like data, refusing results larger than ``limit``.

    ``anchors`` lazily lists the ids of objects the scope already holds; it is consulted
    only when the first measurement says the result is too large, so that passing a big
    node output through ``| default(...)`` stays possible without slowing the common case.
    """
    try:
        return _Converter(limit, None).convert(value)
    except _OverLimitError:
        pass
    if anchors is not None:
        try:
            return _Converter(limit, anchors()).convert(value)
        except _OverLimitError:
            pass
    raise ExpressionError(f"expression result is larger than {limit} characters")


def to_text(value: Any, *, limit: int = MAX_OUTPUT_CHARS) -> str:
    """How ``value`` reads inside mixed text: strings as is, everything else as JSON."""
    if type(value) is str:
        return value
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if type(value) is int:
        try:
            return str(value)
        except ValueError as exc:  # more digits than Python will print
            raise ExpressionError(f"number too large to render: {exc}") from None
    plain = plain_result(value, limit=limit)
    if isinstance(plain, str):
        return plain
    if isinstance(plain, dict | list | float):
        return json.dumps(plain, ensure_ascii=False, default=str)
    return str(plain)
