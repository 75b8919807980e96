"""Expressions: ``{{ ... }}`` Jinja templates evaluated in an immutable sandbox.

A string that is exactly one ``{{ expr }}`` evaluates to the expression's native value
(number, list, object...); any other template renders to text, where non-string values
appear as JSON. Templates read the run's scope through the roots in ``ROOTS`` and are
compiled once: parse, refuse unsafe constructs, extract references for the validator,
instrument loops for the resource limits in ``limits``. Every failure, from a syntax error
to a sandbox refusal or an exceeded limit, is an ``ExpressionError``.
"""

from workflow_compiler.expressions.limits import (
    EVALUATION_TIMEOUT_SECONDS,
    MAX_GENERATED_CHARS,
    MAX_INTEGER_BITS,
    MAX_ITERATIONS,
    MAX_OUTPUT_CHARS,
    MAX_RANGE_LENGTH,
    MAX_TEMPLATE_CHARS,
)
from workflow_compiler.expressions.references import ROOTS, Reference
from workflow_compiler.expressions.template import CompiledTemplate, compile_template, is_template
from workflow_compiler.expressions.values import CompiledValue, compile_value, references_in

__all__ = [
    "EVALUATION_TIMEOUT_SECONDS",
    "MAX_GENERATED_CHARS",
    "MAX_INTEGER_BITS",
    "MAX_ITERATIONS",
    "MAX_OUTPUT_CHARS",
    "MAX_RANGE_LENGTH",
    "MAX_TEMPLATE_CHARS",
    "ROOTS",
    "CompiledTemplate",
    "CompiledValue",
    "Reference",
    "compile_template",
    "compile_value",
    "is_template",
    "references_in",
]
