"""One error hierarchy with stable codes, shared by the CLI, the API and the worker.

Callers branch on ``code`` (stable) and show ``message`` (human); nothing downstream
parses messages. Every code is listed, with its meaning, in ``error_codes``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from workflow_compiler.error_codes import check_code


@dataclass(frozen=True, slots=True)
class SpecIssue:
    """One problem found in a spec: where it is (JSON pointer) and what to do about it."""

    code: str
    message: str
    path: str = ""
    node_id: str | None = None
    hint: str | None = None

    def __post_init__(self) -> None:
        check_code(self.code)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class GraphwrightError(Exception):
    """Base of every error graphwright raises on purpose."""

    code = "graphwright_error"

    def __init__(self, message: str, *, details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details or {}
        check_code(self.code)

    def to_dict(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message, **self.details}


class SpecValidationError(GraphwrightError):
    """A spec failed validation; ``issues`` lists every problem found at once."""

    code = "invalid_spec"

    def __init__(self, issues: list[SpecIssue]) -> None:
        first = issues[0].message if issues else "invalid spec"
        more = f" (and {len(issues) - 1} more)" if len(issues) > 1 else ""
        super().__init__(f"{first}{more}")
        self.issues = issues

    def to_dict(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message,
                "errors": [i.to_dict() for i in self.issues]}


class ExpressionError(GraphwrightError):
    """A template failed to parse, was refused by the sandbox, or exceeded a limit."""

    code = "expression_error"


class NodeExecutionError(GraphwrightError):
    """A node's executor failed. ``retryable`` decides whether the retry policy applies."""

    code = "node_failed"

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        retryable: bool = False,
        details: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message, details=details)
        if code is not None:
            self.code = code  # a tool's own code passes through: not checked
        self.retryable = retryable


#: Set in a ``NodeExecutionError``'s details when the failure is one that already happened
#: and was reported before the run paused, met again while a resumed node replays its
#: saved steps: the runner retries it without a second ``node.retrying`` or extra wait.
REPLAYED = "replayed"


class NodeTimeoutError(NodeExecutionError):
    """A node attempt ran past its ``timeout``."""

    def __init__(self, node_id: str, seconds: float) -> None:
        super().__init__(
            f"node {node_id!r} timed out after {seconds:g}s", code="node_timeout", retryable=True
        )


class RunLimitError(GraphwrightError):
    """A run exceeded ``limits.max_steps`` or ``limits.timeout``."""

    code = "run_limit_exceeded"


class RunNotFoundError(GraphwrightError):
    code = "run_not_found"


class RunStateError(GraphwrightError):
    """The run is not in a state that allows the requested operation."""

    code = "invalid_run_state"


class InvalidResponseError(GraphwrightError):
    """A human response (approval, input, signal) was refused; the run stays paused."""

    code = "invalid_response"


class SubworkflowNotFoundError(GraphwrightError):
    code = "subworkflow_not_found"


class ConfigurationError(GraphwrightError):
    """An operator setting (an environment variable) is malformed; raised when services
    are built, so a bad setting stops the process at start instead of failing runs."""

    code = "invalid_configuration"


class UnknownFileError(GraphwrightError):
    """A file input names no file the caller may use (none by that id, or another
    user's: the two look the same). Raised before a run is registered."""

    code = "unknown_file"


class FileInputsError(GraphwrightError):
    """A file input holds something other than a file reference (a descriptor object
    cannot be passed in: only the resolver makes descriptors)."""

    code = "invalid_inputs"


@dataclass(slots=True)
class ErrorInfo:
    """The serialisable form of a failure, as stored in outputs, events and run records."""

    code: str
    message: str
    node_id: str | None = None
    details: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.node_id is not None:
            out["node_id"] = self.node_id
        if self.details:
            out["details"] = self.details
        return out
