"""Turning whatever went wrong during an evaluation into one clear ``ExpressionError``.

Callers see a single error type with a message written for workflow authors; raw Jinja
exceptions and Python tracebacks never leave the package (they would leak internals and
are useless to someone editing a JSON spec). Messages never carry scope values: they can
hold secrets, and an error message ends up in events and logs. Names and types are
enough to fix a template, and any secret value that still slipped into a message (from a
Python error about a value, say) is masked.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from jinja2.exceptions import SecurityError, TemplateError, UndefinedError

from workflow_compiler.errors import ExpressionError
from workflow_compiler.expressions.paths import Miss, find_miss
from workflow_compiler.expressions.references import Reference

_SNIPPET_CHARS: Final = 200
_MIN_SECRET_CHARS: Final = 4


def snippet(source: str) -> str:
    """The template as quoted in error details: enough to recognise it."""
    if len(source) <= _SNIPPET_CHARS:
        return source
    return source[: _SNIPPET_CHARS - 3] + "..."


def _explain_undefined(
    jinja_message: str, references: tuple[Reference, ...], scope: Mapping[str, Any]
) -> str:
    unguarded: list[Miss] = []
    # Unguarded references first: a guarded one rarely raises on its own.
    for reference in sorted(references, key=lambda ref: ref.has_fallback):
        miss = find_miss(scope, reference.root, reference.path)
        if miss is None:
            continue
        if miss.matches(jinja_message):
            return miss.explain(scope)
        if not reference.has_fallback:
            unguarded.append(miss)
    if len(unguarded) == 1:
        return unguarded[0].explain(scope)
    return f"undefined value: {jinja_message}"


def _redact(message: str, scope: Mapping[str, Any]) -> str:
    secrets = scope.get("secrets")
    if isinstance(secrets, Mapping):
        for value in secrets.values():
            if isinstance(value, str) and len(value) >= _MIN_SECRET_CHARS:
                message = message.replace(value, "***")
    return message


def describe_failure(exc: BaseException) -> str:
    """A one-line account of an exception that carries no scope context."""
    if isinstance(exc, ExpressionError):
        return exc.message
    if isinstance(exc, SecurityError):
        return f"refused by the sandbox: {exc}"
    if isinstance(exc, TemplateError):
        return exc.message or type(exc).__name__
    if isinstance(exc, RecursionError):
        return "expression nests too deeply"
    if isinstance(exc, MemoryError):
        return "expression ran out of memory"
    return f"{type(exc).__name__}: {exc}"


def evaluation_error(
    exc: BaseException,
    *,
    source: str,
    references: tuple[Reference, ...],
    scope: Mapping[str, Any],
) -> ExpressionError:
    """The ``ExpressionError`` to raise for ``exc``, raised while evaluating ``source``."""
    if isinstance(exc, UndefinedError):
        message = _explain_undefined(exc.message or "", references, scope)
    else:
        message = describe_failure(exc)
    details: dict[str, Any] = {"expression": snippet(source)}
    return ExpressionError(_redact(message, scope), details=details)
