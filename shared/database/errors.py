"""Errors the repositories raise, in graphwright's one hierarchy with stable codes.

The API maps them to problem responses: ``NotFoundError`` 404 (also for another user's
object: scoping makes it simply absent), ``ConflictError`` and its kinds 409,
``InvalidArgumentError`` 422.
"""

from __future__ import annotations

from typing import Any

from workflow_compiler.errors import GraphwrightError, RunStateError


class NotFoundError(GraphwrightError):
    code = "not_found"

    def __init__(self, kind: str, key: object) -> None:
        super().__init__(f"no {kind} {key!s}", details={"kind": kind})


class ConflictError(GraphwrightError):
    code = "conflict"


class NameTakenError(ConflictError):
    code = "name_taken"


class StaleRevisionError(ConflictError):
    """A draft save based on a revision that is no longer the current one."""

    code = "stale_revision"

    def __init__(self, expected: int, current: int) -> None:
        super().__init__(
            f"the draft is at revision {current}, not {expected}: reload it and apply your "
            "change again", details={"expected_revision": expected, "current_revision": current})


class IdempotencyConflictError(ConflictError):
    """An idempotency key reused for a different request."""

    code = "idempotency_key_reused"


class InvalidTransitionError(RunStateError):
    """A run status change that ``records.TRANSITIONS`` does not allow."""

    code = "invalid_transition"

    def __init__(self, run_id: str, current: str, target: str) -> None:
        super().__init__(f"run {run_id} is {current}; it cannot become {target}",
                         details={"status": current, "target": target})


class InvalidArgumentError(GraphwrightError):
    code = "invalid_argument"

    def __init__(self, message: str, **details: Any) -> None:
        super().__init__(message, details=details)


class InvalidCursorError(InvalidArgumentError):
    """A pagination cursor no listing could have returned (crafted or truncated): 422
    ``invalid_cursor``."""

    code = "invalid_cursor"
