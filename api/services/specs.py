"""Spec validation for the API: one place that asks the runtime's compiler, so the API
accepts exactly what runs will accept (the same tool registry, the same checks).

``report`` never raises for a bad spec (the validate endpoint and drafts show problems);
``compile_or_raise`` is the gate in front of versions: a ``SpecValidationError`` becomes a
422 problem carrying the compiler's structured errors.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from api.services.bodies import RequestBody
from workflow_compiler.compiler.mermaid import draw_mermaid
from workflow_compiler.errors import SpecIssue, SpecValidationError
from workflow_compiler.runtime.runtime import WorkflowRuntime
from workflow_compiler.validation import check_spec, validate_spec


class SpecError(BaseModel):
    """One problem of a spec, as the compiler reports it (codes are stable)."""

    model_config = ConfigDict(frozen=True)

    code: str = Field(description="stable code, e.g. dangling_edge, unknown_reference")
    message: str
    path: str = Field(description="JSON pointer into the spec")
    node_id: str | None = None
    hint: str | None = None

    @classmethod
    def of(cls, issue: SpecIssue) -> SpecError:
        return cls(code=issue.code, message=issue.message, path=issue.path,
                   node_id=issue.node_id, hint=issue.hint)


class SpecBody(RequestBody):
    spec: dict[str, Any] = Field(description="a workflow spec (see GET /v1/catalog/spec-schema)")


class ValidationReport(BaseModel):
    valid: bool
    errors: list[SpecError] = Field(default_factory=list,
                                    description="every problem at once; empty when valid")
    spec_hash: str | None = Field(default=None, description="canonical hash, when valid")
    mermaid: str | None = Field(default=None,
                                description="a mermaid flowchart of the spec, when valid")


def spec_errors(runtime: WorkflowRuntime, spec: object) -> list[SpecError]:
    """Every problem of ``spec`` against this runtime's tools; empty when valid."""
    return [SpecError.of(i) for i in check_spec(spec, context=runtime.compiler.context)]


def report(runtime: WorkflowRuntime, spec: object) -> ValidationReport:
    try:
        validated = validate_spec(spec, context=runtime.compiler.context)
    except SpecValidationError as exc:
        return ValidationReport(valid=False, errors=[SpecError.of(i) for i in exc.issues])
    return ValidationReport(valid=True, spec_hash=validated.spec_hash,
                            mermaid=draw_mermaid(validated.spec, validated.topology))


def compile_or_raise(runtime: WorkflowRuntime, spec: object) -> None:
    """Raises ``SpecValidationError`` (422, with ``errors``) unless ``spec`` compiles.
    Compiling (not only validating) also warms the runtime's cache for the first run."""
    runtime.compiler.compile(spec)
