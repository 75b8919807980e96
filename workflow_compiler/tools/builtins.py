"""Built-in tools: small pure functions for the data shaping templates do awkwardly.

Every tool here is deterministic and bounded, because tools are also offered to llm agents,
which call them with whatever arguments a model invents. Arguments are checked against
``args_schema`` by the ``tool`` node before the call, so the functions only guard against
what a schema cannot say (a result too large to be useful, a non-finite number).
"""

from __future__ import annotations

import ast
import json
import math
import operator
import re
import unicodedata
from collections.abc import Callable
from decimal import ROUND_HALF_UP, Context, Decimal
from typing import Any

from workflow_compiler.tools.registry import Tool

Number = int | float

_STRING: dict[str, Any] = {"type": "string"}
_NUMBER: dict[str, Any] = {"type": "number"}
_NUMBERS: dict[str, Any] = {"type": "array", "items": _NUMBER, "maxItems": 100_000}
_MAX_TEXT = 1_000_000


def _args(required: list[str], **properties: dict[str, Any]) -> dict[str, Any]:
    return {"type": "object", "properties": properties, "required": required,
            "additionalProperties": False}


def _text(description: str) -> dict[str, Any]:
    return {"type": "string", "maxLength": _MAX_TEXT, "description": description}


def _finite(value: Number) -> Number:
    """JSON has no NaN or infinity, so a result that overflowed is an error, not a value."""
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError("the result is not a finite number")
    return value


# --- text -------------------------------------------------------------------------------


def _upper(text: str) -> str:
    return text.upper()


def _lower(text: str) -> str:
    return text.lower()


def _length(text: str) -> int:
    return len(text)


def _split(text: str, separator: str | None = None, max_splits: int = -1) -> list[str]:
    return text.split(separator, max_splits)


def _join(items: list[str | Number | bool], separator: str = "") -> str:
    # Numbers and booleans are joined as JSON writes them (true, not True).
    return separator.join(item if isinstance(item, str) else json.dumps(item) for item in items)


def _replace(text: str, old: str, new: str, count: int = -1) -> str:
    result = text.replace(old, new, count)
    if len(result) > _MAX_TEXT:
        raise ValueError(f"the result would exceed {_MAX_TEXT} characters")
    return result


def _slugify(text: str, separator: str = "-", max_length: int | None = None) -> str:
    """ASCII, lowercase, runs of anything else collapsed to one separator.

    Accents are folded (``Crème brûlée`` -> ``creme-brulee``) rather than dropped, since a
    slug usually ends up in a URL or file name that readers should still recognise.
    """
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    slug = re.sub(r"[^a-z0-9]+", separator, folded.lower()).strip(separator)
    if max_length is not None and len(slug) > max_length:
        slug = slug[:max_length].rstrip(separator)
    return slug


# --- math -------------------------------------------------------------------------------


def _add(a: Number, b: Number) -> Number:
    return _finite(a + b)


def _sum(numbers: list[Number]) -> Number:
    # fsum is exactly rounded, so the answer does not depend on the order of the items.
    if all(isinstance(n, int) for n in numbers):
        return sum(numbers)
    return _finite(math.fsum(numbers))


def _mean(numbers: list[Number]) -> float:
    return _finite(math.fsum(numbers) / len(numbers))


_DECIMAL_CONTEXT = Context(prec=400)


def round_half_away(value: Number, digits: int = 0) -> Number:
    """Rounds as people do on paper: 2.5 -> 3, 2.675 -> 2.68 (Python's ``round`` gives 2, 2.67).

    Python rounds half to even on the binary value; going through the shortest decimal
    repr rounds the number the user actually wrote. Non-positive ``digits`` give an int.
    """
    quantum = Decimal(1).scaleb(-digits)
    rounded = Decimal(repr(value)).quantize(quantum, rounding=ROUND_HALF_UP,
                                            context=_DECIMAL_CONTEXT)
    return int(rounded) if digits <= 0 else _finite(float(rounded))


# --- math.evaluate ----------------------------------------------------------------------

MAX_EXPRESSION_LENGTH = 1000
_MAX_INT_BITS = 1024
_MAX_EXPONENT = 1000


def _checked(value: object) -> Number:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError("the result is not a real number")
    if isinstance(value, int) and value.bit_length() > _MAX_INT_BITS:
        raise ValueError(f"an intermediate result exceeds {_MAX_INT_BITS} bits")
    return _finite(value)


def _power(base: Number, exponent: Number) -> Number:
    """Bounded before computing: ``9**9**9`` would otherwise run for minutes."""
    if abs(exponent) > _MAX_EXPONENT:
        raise ValueError(f"exponents are limited to ±{_MAX_EXPONENT}")
    growth = (abs(base).bit_length() - 1) * exponent if isinstance(base, int) else 0
    if isinstance(exponent, int) and growth > _MAX_INT_BITS:
        raise ValueError(f"the power would exceed {_MAX_INT_BITS} bits")
    return _checked(base**exponent)


_BINARY: dict[type[ast.operator], Callable[[Number, Number], Number]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv,
    ast.Mod: operator.mod,
    ast.Pow: _power,
}
_UNARY: dict[type[ast.unaryop], Callable[[Number], Number]] = {
    ast.USub: operator.neg,
    ast.UAdd: operator.pos,
}


def _call_min(*args: Number) -> Number:
    return min(args)


def _call_max(*args: Number) -> Number:
    return max(args)


def _call_round(value: Number, digits: Number = 0) -> Number:
    if not isinstance(digits, int) or not -15 <= digits <= 15:
        raise ValueError("round() takes a whole number of digits between -15 and 15")
    return round_half_away(value, digits)


_FUNCTIONS: dict[str, tuple[int, int, Callable[..., Number]]] = {
    # name: (fewest args, most args, implementation)
    "abs": (1, 1, abs),
    "min": (1, 50, _call_min),
    "max": (1, 50, _call_max),
    "round": (1, 2, _call_round),
    "sqrt": (1, 1, math.sqrt),
    "floor": (1, 1, math.floor),
    "ceil": (1, 1, math.ceil),
}


def _operands(node: ast.AST) -> list[ast.expr]:
    """The sub-expressions ``node`` needs, after checking it is on the allow-list."""
    if isinstance(node, ast.Constant):
        if isinstance(node.value, bool) or not isinstance(node.value, int | float):
            raise ValueError(f"only numbers are allowed, not {node.value!r}")
        return []
    if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
        return [node.left, node.right]
    if isinstance(node, ast.UnaryOp) and type(node.op) in _UNARY:
        return [node.operand]
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
        name = node.func.id
        if name not in _FUNCTIONS:
            allowed = ", ".join(sorted(_FUNCTIONS))
            raise ValueError(f"unknown function {name!r}; available: {allowed}")
        fewest, most, _function = _FUNCTIONS[name]
        if node.keywords or not fewest <= len(node.args) <= most:
            raise ValueError(f"{name}() takes {fewest} to {most} positional arguments")
        return list(node.args)
    if isinstance(node, ast.Call):
        allowed = ", ".join(sorted(_FUNCTIONS))
        raise ValueError(f"only the functions {allowed} may be called, by name")
    if isinstance(node, ast.Name):
        raise ValueError(f"names are not allowed ({node.id!r}); only numbers and functions")
    if isinstance(node, ast.BinOp | ast.UnaryOp):
        raise ValueError(f"the operator {type(node.op).__name__} is not allowed")
    raise ValueError(f"the syntax {type(node).__name__} is not allowed")


def _apply(node: ast.AST, values: list[Number]) -> Number:
    """``node``'s value from its operands, which are the last entries of ``values``."""
    if isinstance(node, ast.Constant):
        return _checked(node.value)
    if isinstance(node, ast.BinOp):
        right, left = values.pop(), values.pop()
        return _checked(_BINARY[type(node.op)](left, right))
    if isinstance(node, ast.UnaryOp):
        return _checked(_UNARY[type(node.op)](values.pop()))
    assert isinstance(node, ast.Call)
    assert isinstance(node.func, ast.Name)
    first = len(values) - len(node.args)
    args = values[first:]
    del values[first:]
    return _checked(_FUNCTIONS[node.func.id][2](*args))


def _evaluate_tree(root: ast.expr) -> Number:
    # Post-order with an explicit stack: a chain like 1+1+...+1 is as deep as it is long,
    # and recursion would tie the allowed length to the interpreter's stack.
    values: list[Number] = []
    stack: list[tuple[ast.AST, bool]] = [(root, False)]
    while stack:
        node, operands_done = stack.pop()
        if operands_done:
            values.append(_apply(node, values))
        else:
            stack.append((node, True))
            stack.extend((child, False) for child in reversed(_operands(node)))
    return values[0]


def evaluate_arithmetic(expression: str) -> Number:
    """Arithmetic from untrusted text, evaluated on an AST allow-list (never ``eval``).

    Only numbers, ``+ - * / // % **``, parentheses, unary signs and a few functions. Length,
    exponents and integer growth are bounded so no input runs long or eats memory.
    """
    if len(expression) > MAX_EXPRESSION_LENGTH:
        raise ValueError(f"expressions are limited to {MAX_EXPRESSION_LENGTH} characters")
    try:
        tree = ast.parse(expression.strip(), mode="eval")
    except (SyntaxError, ValueError, RecursionError, MemoryError) as exc:
        message = exc.msg if isinstance(exc, SyntaxError) else "cannot be parsed"
        raise ValueError(f"invalid expression: {message}") from None
    return _evaluate_tree(tree.body)


# --- json -------------------------------------------------------------------------------


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def _json_parse(text: str) -> Any:
    try:
        return json.loads(text, parse_constant=_refuse_constant)
    except json.JSONDecodeError as exc:
        raise ValueError(f"invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}") \
            from None
    except RecursionError:
        raise ValueError("the JSON is nested too deeply") from None


def _json_format(value: Any, indent: int | None = 2, sort_keys: bool = False) -> str:
    separators = (",", ":") if indent is None else (",", ": ")
    return json.dumps(value, indent=indent, sort_keys=sort_keys, separators=separators,
                      ensure_ascii=False, allow_nan=False)


_TEXT_OUT = _STRING

BUILTIN_TOOLS: tuple[Tool, ...] = (
    Tool("text.upper", "Upper-case a text.", _upper,
         _args(["text"], text=_text("the text")), _TEXT_OUT),
    Tool("text.lower", "Lower-case a text.", _lower,
         _args(["text"], text=_text("the text")), _TEXT_OUT),
    Tool("text.length", "Count the characters (Unicode code points) of a text.", _length,
         _args(["text"], text=_text("the text")), {"type": "integer", "minimum": 0}),
    Tool("text.split", "Split a text on a separator (default: runs of whitespace).", _split,
         _args(["text"], text=_text("the text"),
               separator={"type": ["string", "null"], "minLength": 1,
                          "description": "omit or null to split on whitespace"},
               max_splits={"type": "integer", "minimum": -1,
                           "description": "-1 (default): no limit"}),
         {"type": "array", "items": _STRING}),
    Tool("text.join", "Join items into one text with a separator.", _join,
         _args(["items"],
               items={"type": "array", "maxItems": 100_000,
                      "items": {"type": ["string", "number", "boolean"]}},
               separator={"type": "string", "maxLength": 1000}),
         _TEXT_OUT),
    Tool("text.replace", "Replace occurrences of a substring.", _replace,
         _args(["text", "old", "new"], text=_text("the text"),
               old={"type": "string", "minLength": 1, "maxLength": 10_000},
               new={"type": "string", "maxLength": 10_000},
               count={"type": "integer", "minimum": -1,
                      "description": "most replacements; -1 (default): all"}),
         _TEXT_OUT),
    Tool("text.slugify", "Make a URL-safe slug: ASCII, lowercase, words joined by '-'.",
         _slugify,
         _args(["text"], text=_text("the text"),
               separator={"type": "string", "enum": ["-", "_", "."]},
               max_length={"type": ["integer", "null"], "minimum": 1, "maximum": 10_000}),
         {"type": "string", "pattern": "^[a-z0-9._-]*$"}),
    Tool("math.add", "Add two numbers.", _add, _args(["a", "b"], a=_NUMBER, b=_NUMBER),
         _NUMBER),
    Tool("math.sum", "Sum a list of numbers (exactly rounded).", _sum,
         _args(["numbers"], numbers=_NUMBERS), _NUMBER),
    Tool("math.mean", "Arithmetic mean of a non-empty list of numbers.", _mean,
         _args(["numbers"], numbers={**_NUMBERS, "minItems": 1}), _NUMBER),
    Tool("math.round", "Round half away from zero to a number of decimal digits.",
         round_half_away,
         _args(["value"], value=_NUMBER,
               digits={"type": "integer", "minimum": -15, "maximum": 15,
                       "description": "decimal places (default 0); negative: tens, hundreds"}),
         _NUMBER),
    Tool("math.evaluate",
         "Evaluate arithmetic: numbers, + - * / // % **, parentheses and the functions "
         "abs, min, max, round, sqrt, floor, ceil. No variables.",
         evaluate_arithmetic,
         _args(["expression"],
               expression={"type": "string", "minLength": 1,
                           "maxLength": MAX_EXPRESSION_LENGTH,
                           "examples": ["(2 + 3) * 4", "sqrt(2) ** 2", "max(1, 7 // 2)"]}),
         _NUMBER),
    Tool("json.parse", "Parse a JSON text into a value.", _json_parse,
         _args(["text"], text={"type": "string", "maxLength": 10_000_000}), {}),
    Tool("json.format", "Write a value as JSON text (indent null: compact).", _json_format,
         _args(["value"], value={},
               indent={"type": ["integer", "null"], "minimum": 0, "maximum": 8},
               sort_keys={"type": "boolean"}),
         _TEXT_OUT),
)
