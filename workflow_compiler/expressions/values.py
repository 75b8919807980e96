"""JSON values whose strings may be templates: node configs, transform bodies, outputs.

A node's config is compiled into a small tree of builders once, so evaluating it only
visits the parts that contain templates; parts without templates are reused as they are
(never copied: callers treat evaluation results as read-only). Object keys are literal,
never templates: a key that depends on run data makes the shape of a value unknowable to
the validator.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from typing import Any, Final

from workflow_compiler.expressions.limits import (
    EVALUATION_TIMEOUT_SECONDS,
    Budget,
    enter_budget,
    leave_budget,
)
from workflow_compiler.expressions.references import Reference
from workflow_compiler.expressions.template import CompiledTemplate, compile_template, is_template

_Builder = Callable[[Mapping[str, Any]], Any]

#: Compiled string values kept; strings are the one hashable value worth caching.
VALUE_CACHE_SIZE: Final = 1024


class CompiledValue:
    """A JSON value whose strings may be templates, compiled once."""

    __slots__ = ("_build", "_template", "_value", "references", "static")

    def __init__(
        self,
        value: Any,
        build: _Builder | None,
        references: tuple[Reference, ...],
        template: CompiledTemplate | None = None,
    ) -> None:
        self._value = value
        self._build = build
        # A lone template is evaluated directly: no builder, no shared budget to set up.
        self._template = template
        self.static = build is None
        self.references = references

    def __repr__(self) -> str:
        return f"CompiledValue({self._value!r})"

    def evaluate(self, scope: Mapping[str, Any], *, timeout: float | None = None) -> Any:
        """The value with every template evaluated in ``scope``.

        All templates of one value share one time and iteration budget.
        """
        if self._build is None:
            return self._value
        if self._template is not None:
            return self._template.evaluate(scope, timeout=timeout)
        token = enter_budget(Budget(EVALUATION_TIMEOUT_SECONDS if timeout is None else timeout))
        try:
            return self._build(scope)
        finally:
            leave_budget(token)


def _compile_part(value: Any, references: list[Reference]) -> _Builder | None:
    """A builder for ``value``, or None when it holds no template; collects references."""
    if isinstance(value, str):
        if not is_template(value):
            return None
        template = compile_template(value)
        references.extend(template.references)
        return template.evaluate
    if isinstance(value, Mapping):
        entries = [(key, item, _compile_part(item, references)) for key, item in value.items()]
        if all(build is None for _, _, build in entries):
            return None
        return functools.partial(_build_mapping, entries)
    if isinstance(value, list | tuple):
        items = [(item, _compile_part(item, references)) for item in value]
        if all(build is None for _, build in items):
            return None
        return functools.partial(_build_sequence, items, type(value) is tuple)
    return None


def _build_mapping(
    entries: list[tuple[Any, Any, _Builder | None]], scope: Mapping[str, Any]
) -> dict[Any, Any]:
    return {key: item if build is None else build(scope) for key, item, build in entries}


def _build_sequence(
    items: list[tuple[Any, _Builder | None]], as_tuple: bool, scope: Mapping[str, Any]
) -> list[Any] | tuple[Any, ...]:
    built = [item if build is None else build(scope) for item, build in items]
    return tuple(built) if as_tuple else built


def _compile_value(value: Any) -> CompiledValue:
    references: list[Reference] = []
    build = _compile_part(value, references)
    template = compile_template(value) if build is not None and isinstance(value, str) else None
    return CompiledValue(value, build, tuple(dict.fromkeys(references)), template)


@functools.lru_cache(maxsize=VALUE_CACHE_SIZE)
def _compile_string(value: str) -> CompiledValue:
    return _compile_value(value)


def compile_value(value: Any) -> CompiledValue:
    """Compile a JSON value; raises ``ExpressionError`` on the first bad template."""
    if isinstance(value, str):
        return _compile_string(value)
    return _compile_value(value)


def references_in(value: Any) -> list[Reference]:
    """Every reference in a JSON value, in order; raises ``ExpressionError`` on bad syntax."""
    return list(compile_value(value).references)
