"""The one Jinja environment expressions run in, and what it lets a template touch.

Jinja's immutable sandbox already refuses underscore attributes and mutating methods of
lists, dicts and sets. It still lets a template call any other public method of any object
it reaches, and some of those are size bombs (``'x'.center(10**9)``, ``str.replace``) or
formatting back doors (``str.format``). Since scope values are JSON, this environment goes
further: on strings, lists, objects and numbers only a fixed list of read-only methods is
reachable, and on anything else only plain data attributes. The operators that can
amplify (``*``, ``**``, ``+``, ``%``) are checked before they run, every call checks the
time budget, and values a template reads are looked up as keys before Python attributes,
so ``inputs.items`` is the ``items`` field and not ``dict.items``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final, NoReturn

from jinja2 import StrictUndefined, pass_context
from jinja2.exceptions import SecurityError
from jinja2.runtime import Context, LoopContext, Undefined
from jinja2.sandbox import ImmutableSandboxedEnvironment, is_internal_attribute

from workflow_compiler.errors import ExpressionError
from workflow_compiler.expressions.filters import build_filters, build_tests
from workflow_compiler.expressions.guards import bounded_range
from workflow_compiler.expressions.limits import MAX_INTEGER_BITS, active_budget, refuse_size
from workflow_compiler.expressions.paths import type_label, with_article
from workflow_compiler.expressions.results import measure, to_text

_STRING_METHODS: Final = frozenset({
    "capitalize", "casefold", "count", "endswith", "find", "index", "isalnum", "isalpha",
    "isascii", "isdecimal", "isdigit", "islower", "isnumeric", "isspace", "istitle",
    "isupper", "lower", "lstrip", "partition", "removeprefix", "removesuffix", "rfind",
    "rindex", "rpartition", "rsplit", "rstrip", "split", "splitlines", "startswith",
    "strip", "swapcase", "title", "upper",
})  # fmt: skip
_MAPPING_METHODS: Final = frozenset({"get", "items", "keys", "values"})
_SEQUENCE_METHODS: Final = frozenset({"count", "index"})
_NUMBER_ATTRIBUTES: Final = frozenset({"imag", "is_integer", "real"})
_LOOP_ATTRIBUTES: Final = frozenset({
    "changed", "cycle", "depth", "depth0", "first", "index", "index0", "last", "length",
    "nextitem", "previtem", "revindex", "revindex0",
})  # fmt: skip
#: Refused on every object, whatever its type: the classic sandbox-escape attributes that
#: do not start with an underscore, and string formatting, which reads attributes itself.
_NEVER: Final = frozenset({
    "format", "format_map", "mro", "func_globals", "func_code", "func_closure",
    "gi_frame", "gi_code", "gi_yieldfrom", "cr_frame", "cr_code", "cr_await", "ag_frame",
    "ag_code", "ag_await", "f_globals", "f_locals", "f_builtins", "f_back", "f_code",
    "tb_frame", "tb_next", "co_code", "im_func", "im_self", "im_class",
})  # fmt: skip


class MissingValue(StrictUndefined):
    """Strict about use, lenient about lookups.

    Any use of a missing value (printing, comparing, iterating, arithmetic) fails, as
    with ``StrictUndefined``. But looking something up *on* a missing value gives the
    same missing value back, so ``nodes.x.y | default(0)`` works when node ``x`` never
    ran, and the error, if any, names the first thing that was missing.
    """

    __slots__ = ()

    def __getattr__(self, name: str) -> Any:
        if name[:2] == "__" and name[-2:] == "__":
            raise AttributeError(name)
        return self

    def __getitem__(self, *args: Any, **kwargs: Any) -> Any:
        return self


@pass_context
def _finalize(context: Context, value: Any) -> str:
    # pass_context keeps Jinja from calling this at compile time on constants, where no
    # evaluation budget is active.
    text = to_text(value)
    active_budget().charge_text(len(text))
    return text


def _refuse_repetition(left: Any, right: Any) -> None:
    for sequence, times in ((left, right), (right, left)):
        if isinstance(times, int) and times > 0 and isinstance(sequence, str | list | tuple):
            unit = len(sequence) if isinstance(sequence, str) else measure(sequence)
            refuse_size("'*' repetition", unit * times)
    if isinstance(left, int) and isinstance(right, int):
        bits = abs(left).bit_length() + abs(right).bit_length()
        if bits > MAX_INTEGER_BITS:
            raise ExpressionError(f"'*' result would exceed {MAX_INTEGER_BITS} bits")


def _refuse_addition(left: Any, right: Any) -> None:
    if isinstance(left, str) and isinstance(right, str):
        refuse_size("'+' concatenation", len(left) + len(right))
    elif isinstance(left, list | tuple) and isinstance(right, list | tuple):
        refuse_size("'+' concatenation", measure(left) + measure(right))


def _refuse_power(base: Any, exponent: Any) -> None:
    if (
        isinstance(base, int)
        and isinstance(exponent, int)
        and exponent > 0
        and abs(base).bit_length() * exponent > MAX_INTEGER_BITS
    ):
        raise ExpressionError(f"'**' result would exceed {MAX_INTEGER_BITS} bits")


class ExpressionEnvironment(ImmutableSandboxedEnvironment):
    intercepted_binops = frozenset({"*", "**", "+", "%"})

    def is_safe_attribute(self, obj: Any, attr: str, value: Any) -> bool:
        if attr.startswith("_") or attr in _NEVER:
            return False
        if isinstance(obj, Undefined):
            return True
        if isinstance(obj, tuple) and attr in getattr(type(obj), "_fields", ()):
            return True  # named tuples, such as the groups ``groupby`` returns
        if isinstance(obj, str):
            return attr in _STRING_METHODS
        if isinstance(obj, Mapping):
            return attr in _MAPPING_METHODS
        if isinstance(obj, list | tuple):
            return attr in _SEQUENCE_METHODS
        if isinstance(obj, int | float):
            return attr in _NUMBER_ATTRIBUTES
        if isinstance(obj, LoopContext):
            return attr in _LOOP_ATTRIBUTES
        # Some other object a runtime put in scope: its data, never its behaviour.
        return not callable(value) and not is_internal_attribute(obj, attr)

    def is_safe_callable(self, obj: Any) -> bool:
        return not isinstance(obj, type) and super().is_safe_callable(obj)

    def getattr(self, obj: Any, attribute: str) -> Any:
        if isinstance(obj, Mapping) and not isinstance(obj, Undefined):
            try:
                return obj[attribute]
            except KeyError:
                pass
        return super().getattr(obj, attribute)

    def unsafe_undefined(self, obj: Any, attribute: str) -> NoReturn:
        # Refuse at the access, rather than returning a value that fails later: an
        # attempt to reach a method must not be silently absorbed by ``default``.
        raise SecurityError(
            f"access to {attribute!r} on {_describe(obj)} is not allowed in expressions"
        )

    def wrap_str_format(self, value: Any) -> None:
        return None  # ``format``/``format_map`` are refused outright in is_safe_attribute

    def call(self, context: Context, obj: Any, /, *args: Any, **kwargs: Any) -> Any:
        active_budget().check_time()
        if isinstance(obj, Undefined):
            str(obj)  # raises, naming what is missing
        if not self.is_safe_callable(obj):
            raise SecurityError(f"{_describe(obj)} cannot be called in expressions")
        return context.call(obj, *args, **kwargs)

    def call_binop(self, context: Context, operator: str, left: Any, right: Any) -> Any:
        if operator == "*":
            _refuse_repetition(left, right)
        elif operator == "+":
            _refuse_addition(left, right)
        elif operator == "**":
            _refuse_power(left, right)
        elif operator == "%" and isinstance(left, str):
            raise SecurityError("'%' string formatting is not available; use '~' or filters")
        return self.binop_table[operator](left, right)


def _describe(obj: Any) -> str:
    return with_article(type_label(obj))


def _build_environment() -> ExpressionEnvironment:
    environment = ExpressionEnvironment(
        undefined=MissingValue,
        finalize=_finalize,
        autoescape=False,
        keep_trailing_newline=True,  # prompts keep their text exactly
        optimized=False,  # no constant folding: nothing of a template runs at compile time
        cache_size=0,
        auto_reload=False,
    )
    environment.globals.clear()
    environment.globals["range"] = bounded_range
    environment.filters.clear()
    environment.filters.update(build_filters())
    environment.tests.clear()
    environment.tests.update(build_tests())
    return environment


#: The shared environment. Safe to share: compiled templates keep no state between calls.
ENVIRONMENT: Final = _build_environment()
