"""Runtime guards the compiled templates call: loops, ``range``, ``~``, literals, filters.

The time budget is cooperative, so every place where a template can spend unbounded time
must pass through Python code that checks it. Loops and ``range`` spend iterations;
filters that walk their input check the clock as they go. What cannot be interrupted is a
single C-level operation (a comparison, a sort, a serialisation), so the structures those
operations run on are kept from growing beyond their data: containers a template builds
may not repeat the same large value over and over (see ``results.repeated_size``).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any, Final, TypeVar

from jinja2.runtime import Undefined

from workflow_compiler.errors import ExpressionError
from workflow_compiler.expressions.limits import (
    MAX_OUTPUT_CHARS,
    MAX_RANGE_LENGTH,
    active_budget,
    refuse_size,
)
from workflow_compiler.expressions.results import repeated_size, to_text

_CLOCK_EVERY: Final = 64

_Filter = TypeVar("_Filter", bound=Callable[..., Any])


class BoundedRange:
    """``range()`` for templates: capped in length, and every item spends loop budget.

    A sequence rather than a generator so that ``range(5) | length`` and ``loop.length``
    keep working as they do in Jinja.
    """

    __slots__ = ("_range",)

    def __init__(self, *args: int) -> None:
        if not all(isinstance(arg, int) for arg in args):
            raise ExpressionError("range() takes integers")
        self._range = range(*args)
        if len(self._range) > MAX_RANGE_LENGTH:
            raise ExpressionError(f"range() is limited to {MAX_RANGE_LENGTH} items")

    def __len__(self) -> int:
        return len(self._range)

    def __iter__(self) -> Iterator[int]:
        budget = active_budget()
        for number in self._range:
            budget.tick()
            yield number

    def __reversed__(self) -> Iterator[int]:
        budget = active_budget()
        for number in reversed(self._range):
            budget.tick()
            yield number

    def __contains__(self, item: object) -> bool:
        return item in self._range

    def __getitem__(self, index: int) -> int:
        if not isinstance(index, int):
            raise ExpressionError("range items are selected by integer index")
        return self._range[index]

    def __repr__(self) -> str:
        return repr(self._range)


def bounded_range(*args: int) -> BoundedRange:
    return BoundedRange(*args)


def guarded_iteration(iterable: Any, text_per_item: int = 0) -> Iterator[Any]:
    """Wraps every ``{% for %}`` iterable: spends one iteration, and the literal text the
    loop body writes, per item. Nested loops over data would otherwise run unchecked."""
    if isinstance(iterable, BoundedRange) and not text_per_item:
        return iter(iterable)  # a range already spends an iteration per item
    return _charged(iterable, text_per_item, counted=isinstance(iterable, BoundedRange))


def _charged(iterable: Iterable[Any], text_per_item: int, *, counted: bool) -> Iterator[Any]:
    budget = active_budget()
    for item in iterable:
        if not counted:
            budget.tick()
        if text_per_item:
            budget.charge_text(text_per_item)
        yield item


def guarded_concat(parts: list[Any]) -> str:
    """The ``~`` operator: refuses before building, since ``{% set s = s ~ s %}`` doubles."""
    texts = [to_text(part) for part in parts]
    refuse_size("'~' concatenation", sum(len(text) for text in texts))
    return "".join(texts)


def refuse_repetition(value: Any, what: str) -> None:
    extra = repeated_size(value)
    if extra > MAX_OUTPUT_CHARS:
        raise ExpressionError(
            f"{what} repeats the same values too often (about {extra} more characters "
            f"once written out; limit {MAX_OUTPUT_CHARS})"
        )


def guarded_literal(value: Any) -> Any:
    """Every list, tuple and dict literal that holds expressions passes through here."""
    refuse_repetition(value, "a literal")
    return value


def timed(iterable: Iterable[Any]) -> Iterator[Any]:
    """``iterable`` with a clock check every few items, for filters that walk their input."""
    budget = active_budget()
    for count, item in enumerate(iterable, 1):
        if not count % _CLOCK_EVERY:
            budget.check_time()
        yield item


def _is_walkable(value: Any) -> bool:
    """Inputs worth wrapping: strings and mappings cannot hide repetition or long work."""
    return not isinstance(value, str | Mapping | Undefined) and isinstance(value, Iterable)


def _wrap_input(
    jinja_filter: _Filter, prepare: Callable[[Iterable[Any], str], Any], name: str
) -> _Filter:
    # Jinja marks filters that take the context or environment first; keep the marker
    # (functools.wraps copies it) and find the input after that argument.
    position = 0 if getattr(jinja_filter, "jinja_pass_arg", None) is None else 1

    @functools.wraps(jinja_filter)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if len(args) > position and _is_walkable(args[position]):
            args = (*args[:position], prepare(args[position], name), *args[position + 1 :])
        return jinja_filter(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


def timed_input(jinja_filter: _Filter, name: str) -> _Filter:
    """A lazy filter (``map``, ``select``...) whose input is walked with clock checks."""
    return _wrap_input(jinja_filter, lambda value, _: timed(value), name)


def _materialise_checked(value: Iterable[Any], name: str) -> list[Any]:
    items = list(timed(value))
    refuse_repetition(items, f"the input of '{name}'")
    return items


def checked_input(jinja_filter: _Filter, name: str) -> _Filter:
    """A filter that builds a list or compares items (``list``, ``sort``, ``max``...):
    its input is collected with clock checks and refused if it repeats large values,
    before the filter hands it to an uninterruptible built-in."""
    return _wrap_input(jinja_filter, _materialise_checked, name)
