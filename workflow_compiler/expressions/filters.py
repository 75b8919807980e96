"""The filters, tests and globals templates may use: an allow-list, not Jinja's defaults.

Jinja's stock set is made for HTML pages written by the site's own developers. Here the
authors are untrusted and the data is JSON, so the list keeps what reshapes data and drops
what escapes HTML (``escape``, ``safe``, ``xmlattr``), what reaches Python objects
(``attr``), what is random (``random``: a resumed run must render the same text) and what
can amplify a small template into a huge string (``center``, ``indent``, ``wordwrap``,
``format``). The few kept filters that build strings are replaced by versions that check
the result size before building it; those that walk their input are wrapped by the
guards in ``guards``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any, Final, Literal, cast

from jinja2 import filters as jinja_filters
from jinja2 import pass_environment
from jinja2 import tests as jinja_tests
from jinja2.environment import Environment
from jinja2.runtime import Undefined

from workflow_compiler.errors import ExpressionError
from workflow_compiler.expressions.guards import (
    checked_input,
    guarded_concat,
    guarded_iteration,
    guarded_literal,
    timed_input,
)
from workflow_compiler.expressions.limits import MAX_RANGE_LENGTH, refuse_size
from workflow_compiler.expressions.results import measure, plain_result, to_text

#: Jinja filters kept as they are: each is linear in its input and returns data.
_KEPT_FILTERS: Final = (
    "abs", "capitalize", "count", "d", "default", "dictsort", "first", "float", "int",
    "last", "length", "lower", "title", "trim", "truncate", "upper", "urlencode",
    "wordcount",
)  # fmt: skip
#: Kept filters that walk their input lazily: the walk checks the clock.
_TIMED_FILTERS: Final = ("map", "reject", "rejectattr", "select", "selectattr", "unique")
#: Kept filters that collect or compare their input with one built-in call: the input is
#: collected and checked for repeated values first.
_CHECKED_FILTERS: Final = ("groupby", "list", "max", "min", "reverse", "sort")

#: Jinja tests kept: every stock test except those about callables, HTML escaping and
#: the environment's own filter and test tables.
_KEPT_TESTS: Final = frozenset(jinja_tests.TESTS) - {"callable", "escaped", "filter", "test"}

#: Names of the filters the compiler inserts to instrument loops, ``~`` and literals;
#: authors cannot write them (they are not public, and start with ``_``).
LOOP_GUARD_FILTER: Final = "_gw_loop_guard"
CONCAT_FILTER: Final = "_gw_concat"
LITERAL_FILTER: Final = "_gw_literal"
_INTERNAL_FILTERS: Final = frozenset({LOOP_GUARD_FILTER, CONCAT_FILTER, LITERAL_FILTER})

_MAX_JSON_INDENT: Final = 8
_MAX_ROUND_DIGITS: Final = 30


def _require_defined(value: Any) -> None:
    if isinstance(value, Undefined):
        str(value)  # a strict undefined raises, naming what is missing


@pass_environment
def join_filter(
    environment: Environment, value: Iterable[Any], d: str = "", attribute: str | None = None
) -> str:
    _require_defined(value)
    if attribute is not None:
        value = map(jinja_filters.make_attrgetter(environment, attribute), value)
    separator = to_text(d)
    texts: list[str] = []
    size = 0
    for item in value:
        text = to_text(item)
        size += len(text) + len(separator)
        refuse_size("join", size)
        texts.append(text)
    return separator.join(texts)


def replace_filter(value: Any, old: Any, new: Any, count: int | None = None) -> str:
    _require_defined(value)
    text, old_text, new_text = to_text(value), to_text(old), to_text(new)
    hits = text.count(old_text) if old_text else len(text) + 1
    if count is not None and count >= 0:
        hits = min(hits, count)
    refuse_size("replace", len(text) + hits * (len(new_text) - len(old_text)))
    return text.replace(old_text, new_text, -1 if count is None else count)


def batch_filter(value: Any, linecount: int, fill_with: Any = None) -> Iterator[list[Any]]:
    """Batch size is capped: with ``fill_with`` the last batch is padded to full size."""
    if isinstance(linecount, bool) or not isinstance(linecount, int):
        raise ExpressionError("batch size must be an integer")
    if not 1 <= linecount <= MAX_RANGE_LENGTH:
        raise ExpressionError(f"batch size must be between 1 and {MAX_RANGE_LENGTH}")
    if fill_with is not None:
        refuse_size("batch padding", measure(fill_with) * (linecount - 1))
    _require_defined(value)
    return jinja_filters.do_batch(value, linecount, fill_with)


def round_filter(
    value: Any, precision: int = 0, method: Literal["common", "ceil", "floor"] = "common"
) -> float:
    """Precision is capped: Jinja's ``ceil``/``floor`` rounding computes ``10**precision``."""
    if isinstance(precision, bool) or not isinstance(precision, int):
        raise ExpressionError("round precision must be an integer")
    if abs(precision) > _MAX_ROUND_DIGITS:
        raise ExpressionError(f"round precision must be within ±{_MAX_ROUND_DIGITS}")
    _require_defined(value)
    return jinja_filters.do_round(value, precision, method)


def string_filter(value: Any) -> str:
    return to_text(value)


def tojson_filter(value: Any, indent: int | None = None) -> str:
    if indent is not None and not 0 <= indent <= _MAX_JSON_INDENT:
        raise ExpressionError(f"tojson indent must be between 0 and {_MAX_JSON_INDENT}")
    plain = plain_result(value)
    if indent:
        # Indentation multiplies the text by nesting depth; measure the real thing.
        refuse_size("tojson", measure(plain) * (1 + indent))
    return json.dumps(plain, ensure_ascii=False, indent=indent, sort_keys=False, default=str)


def fromjson_filter(value: Any) -> Any:
    _require_defined(value)
    if not isinstance(value, str):
        raise ExpressionError(f"fromjson expects a string, got {type(value).__name__}")
    refuse_size("fromjson", len(value))
    try:
        return json.loads(value)
    except json.JSONDecodeError as exc:
        raise ExpressionError(
            f"fromjson: invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}"
        ) from None


def items_filter(value: Any) -> Iterator[tuple[Any, Any]]:
    """Jinja's ``items`` quietly yields nothing for a missing value; here that is an error."""
    _require_defined(value)
    return jinja_filters.do_items(value)


def keys_filter(value: Any) -> list[Any]:
    _require_defined(value)
    if not isinstance(value, Mapping):
        raise ExpressionError(f"keys expects an object, got {type(value).__name__}")
    return list(value.keys())


def values_filter(value: Any) -> list[Any]:
    _require_defined(value)
    if not isinstance(value, Mapping):
        raise ExpressionError(f"values expects an object, got {type(value).__name__}")
    return list(value.values())


@pass_environment
def sum_filter(
    environment: Environment,
    iterable: Iterable[Any],
    attribute: str | int | None = None,
    start: int | float = 0,
) -> int | float:
    """Numbers only: summing lists would be quadratic concatenation in disguise."""
    _require_defined(iterable)
    if attribute is not None:
        iterable = map(jinja_filters.make_attrgetter(environment, attribute), iterable)
    total = start
    for item in iterable:
        if isinstance(item, bool) or not isinstance(item, int | float):
            _require_defined(item)
            raise ExpressionError(f"sum adds numbers, got {type(item).__name__}")
        total += item
    return total


def build_filters() -> dict[str, Callable[..., Any]]:
    stock = jinja_filters.FILTERS
    kept: dict[str, Callable[..., Any]] = {name: stock[name] for name in _KEPT_FILTERS}
    kept.update({name: timed_input(stock[name], name) for name in _TIMED_FILTERS})
    kept.update({name: checked_input(stock[name], name) for name in _CHECKED_FILTERS})
    kept.update(
        batch=checked_input(batch_filter, "batch"),
        join=join_filter,
        replace=replace_filter,
        round=round_filter,
        string=string_filter,
        tojson=tojson_filter,
        fromjson=fromjson_filter,
        items=items_filter,
        keys=keys_filter,
        values=values_filter,
        sum=sum_filter,
    )
    kept[LOOP_GUARD_FILTER] = guarded_iteration
    kept[CONCAT_FILTER] = guarded_concat
    kept[LITERAL_FILTER] = guarded_literal
    return kept


def build_tests() -> dict[str, Callable[..., Any]]:
    stock = cast(dict[str, Callable[..., Any]], jinja_tests.TESTS)
    return {name: test for name, test in stock.items() if name in _KEPT_TESTS}


#: Filters authors may name in templates (the instrumentation filters are not among them).
PUBLIC_FILTER_NAMES: Final = frozenset(build_filters()) - _INTERNAL_FILTERS
PUBLIC_TEST_NAMES: Final = frozenset(build_tests())
