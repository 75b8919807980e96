"""Compiling one template string, and evaluating it against a run's scope.

A template is compiled once (parse, refuse, extract references, instrument) and evaluated
many times, once per node execution, so the split matters for the per-node overhead the
benchmarks measure. Bare references and plain interpolations are evaluated without Jinja
(see ``fast_path``); everything else runs the generated code in the sandbox, generated on
first use because validation compiles every template but evaluates none.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any, Final

from jinja2 import nodes
from jinja2.environment import Template
from jinja2.exceptions import TemplateSyntaxError
from jinja2.runtime import Context

from workflow_compiler.errors import ExpressionError
from workflow_compiler.expressions.diagnostics import describe_failure, evaluation_error, snippet
from workflow_compiler.expressions.fast_path import (
    MISSING,
    FastReference,
    FastText,
    bare_reference,
    plain_interpolation,
    render_plain,
    resolve_plain,
)
from workflow_compiler.expressions.instrumentation import instrument
from workflow_compiler.expressions.limits import (
    EVALUATION_TIMEOUT_SECONDS,
    MAX_OUTPUT_CHARS,
    MAX_TEMPLATE_CHARS,
    Budget,
    current_budget,
    enter_budget,
    leave_budget,
)
from workflow_compiler.expressions.paths import UNRESOLVED, resolve
from workflow_compiler.expressions.quick_parser import quick_parse
from workflow_compiler.expressions.references import Reference, extract_references
from workflow_compiler.expressions.results import plain_result
from workflow_compiler.expressions.sandbox import ENVIRONMENT
from workflow_compiler.expressions.syntax_policy import check_template

#: Compiled templates kept; a workflow has at most a few hundred distinct templates.
COMPILE_CACHE_SIZE: Final = 1024

_RESULT_NAME: Final = "result"
_GLOBALS: Final = dict(ENVIRONMENT.globals)


def is_template(text: str) -> bool:
    """Whether ``text`` needs evaluating: it contains ``{{`` or ``{%``."""
    return "{{" in text or "{%" in text


def _single_expression(template: nodes.Template) -> nodes.Expr | None:
    """The expression of a template that is exactly one ``{{ expr }}`` (whitespace aside)."""
    if len(template.body) != 1 or not isinstance(template.body[0], nodes.Output):
        return None
    expressions = []
    for child in template.body[0].nodes:
        if isinstance(child, nodes.TemplateData):
            if child.data.strip():
                return None
        else:
            expressions.append(child)
    return expressions[0] if len(expressions) == 1 else None


def _syntax_error(exc: TemplateSyntaxError, source: str) -> ExpressionError:
    return ExpressionError(
        f"template syntax error on line {exc.lineno}: {exc.message}",
        details={"line": exc.lineno, "expression": snippet(source)},
    )


class CompiledTemplate:
    """One template, ready to evaluate any number of times (thread-safe, immutable)."""

    __slots__ = (
        "_fast_text",
        "_fast_value",
        "_program",
        "_template",
        "native",
        "references",
        "source",
    )

    def __init__(
        self,
        source: str,
        program: nodes.Template,
        *,
        native: bool,
        references: tuple[Reference, ...],
        fast_value: FastReference | None,
        fast_text: FastText | None,
    ) -> None:
        self.source = source
        self.native = native
        self.references = references
        # Python code is generated from the checked, instrumented tree on first use: it is
        # half the cost of compiling, and validation only needs the references.
        self._program = program
        self._template: Template | None = None
        self._fast_value = fast_value
        self._fast_text = fast_text

    def __repr__(self) -> str:
        return f"CompiledTemplate({self.source!r})"

    def evaluate(self, scope: Mapping[str, Any], *, timeout: float | None = None) -> Any:
        """The template's value in ``scope``: native for a lone ``{{ expr }}``, else text.

        ``timeout`` overrides ``EVALUATION_TIMEOUT_SECONDS`` for this call.
        """
        if self._fast_value is not None:
            value = resolve_plain(scope, *self._fast_value)
            if value is not MISSING:
                return value
        elif self._fast_text is not None:
            text = render_plain(self._fast_text, scope)
            if text is not None:
                return text
        return self._evaluate_with_jinja(scope, timeout)

    def _evaluate_with_jinja(self, scope: Mapping[str, Any], timeout: float | None) -> Any:
        # Inside a ``CompiledValue`` evaluation the whole value shares one budget.
        own_budget = current_budget() is None
        if own_budget:
            token = enter_budget(Budget(EVALUATION_TIMEOUT_SECONDS if timeout is None else timeout))
        try:
            template = self._template
            if template is None:
                # Two threads may both generate; either result is correct.
                template = self._template = ENVIRONMENT.from_string(self._program)
            # shared=True skips Jinja's merge with the environment's globals (a ChainMap,
            # slow to copy); the one global is added here, and scope names take precedence.
            context = template.new_context({**_GLOBALS, **scope}, shared=True)
            if self.native:
                for _ in template.root_render_func(context):
                    pass
                return plain_result(
                    context.vars[_RESULT_NAME], anchors=lambda: self._anchors(scope)
                )
            return _render_text(template, context)
        except Exception as exc:
            raise evaluation_error(
                exc, source=self.source, references=self.references, scope=scope
            ) from None
        finally:
            if own_budget:
                leave_budget(token)

    def _anchors(self, scope: Mapping[str, Any]) -> set[int]:
        """Ids of the objects this template reads from the scope (see ``plain_result``)."""
        found = (resolve(scope, ref.root, ref.path) for ref in self.references)
        return {id(value) for value in found if value is not UNRESOLVED}


def _render_text(template: Template, context: Context) -> str:
    pieces: list[str] = []
    size = 0
    for piece in template.root_render_func(context):
        size += len(piece)
        if size > MAX_OUTPUT_CHARS:
            raise ExpressionError(f"rendered text is longer than {MAX_OUTPUT_CHARS} characters")
        pieces.append(piece)
    return "".join(pieces)


def _compile(source: str) -> CompiledTemplate:
    if not isinstance(source, str):
        raise ExpressionError(f"a template must be a string, got {type(source).__name__}")
    if len(source) > MAX_TEMPLATE_CHARS:
        raise ExpressionError(
            f"template is {len(source)} characters long (limit {MAX_TEMPLATE_CHARS})"
        )
    try:
        parsed = quick_parse(source, ENVIRONMENT)
        if parsed is None:
            parsed = ENVIRONMENT.parse(source)
        check_template(parsed)
        references = extract_references(parsed, source)
        expression = _single_expression(parsed)
        fast_value = bare_reference(expression) if expression is not None else None
        fast_text = plain_interpolation(parsed) if expression is None else None
        if expression is not None:
            target = nodes.Name(_RESULT_NAME, "store", lineno=expression.lineno)
            assign = nodes.Assign(target, expression, lineno=expression.lineno)
            parsed = nodes.Template([assign], lineno=1)
        instrument(parsed).set_environment(ENVIRONMENT)
    except TemplateSyntaxError as exc:
        raise _syntax_error(exc, source) from None
    except ExpressionError as exc:
        raise ExpressionError(
            exc.message, details={**exc.details, "expression": snippet(source)}
        ) from None
    except Exception as exc:  # a pathological source can break the parser itself
        raise ExpressionError(
            f"cannot compile template: {describe_failure(exc)}",
            details={"expression": snippet(source)},
        ) from None
    return CompiledTemplate(
        source,
        parsed,
        native=expression is not None,
        references=references,
        fast_value=fast_value,
        fast_text=fast_text,
    )


@functools.lru_cache(maxsize=COMPILE_CACHE_SIZE)
def compile_template(source: str) -> CompiledTemplate:
    """Compile ``source`` (cached); raises ``ExpressionError`` on syntax or policy errors."""
    return _compile(source)
