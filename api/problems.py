"""RFC 7807 problem responses for every error the API returns.

One mapping from graphwright's error hierarchy (stable ``code``s) to HTTP statuses, so a
router never builds an error response itself: it raises, and the client always gets
``application/problem+json`` with a ``type`` URI it can branch on. Request validation
errors and unknown routes go through the same path; anything unanticipated becomes a
500 problem without a traceback (the traceback goes to the log).
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from shared.database.errors import ConflictError, InvalidArgumentError, NotFoundError
from shared.security.encryption import SecretsKeyError
from workflow_compiler.errors import (
    GraphwrightError,
    InvalidResponseError,
    RunNotFoundError,
    RunStateError,
    SpecValidationError,
    SubworkflowNotFoundError,
)

log = logging.getLogger("graphwright.api")

PROBLEM_JSON = "application/problem+json"
TYPE_BASE = "https://graphwright.dev/problems/"


class Problem(BaseModel):
    """An RFC 7807 problem; ``code`` repeats the last segment of ``type`` for convenience,
    ``errors`` lists spec or request problems when there are several."""

    model_config = ConfigDict(extra="allow")

    type: str = Field(description=f"stable URI: {TYPE_BASE}<code>")
    title: str
    status: int
    detail: str
    code: str
    instance: str | None = None
    errors: list[dict[str, Any]] | None = None


class AuthenticationError(GraphwrightError):
    code = "unauthenticated"


class ForbiddenError(GraphwrightError):
    code = "forbidden"


class PayloadTooLargeError(GraphwrightError):
    code = "payload_too_large"


_STATUS: list[tuple[type[GraphwrightError], int]] = [
    (AuthenticationError, 401),
    (ForbiddenError, 403),
    (NotFoundError, 404),
    (RunNotFoundError, 404),
    (ConflictError, 409),
    (RunStateError, 409),
    (PayloadTooLargeError, 413),
    (SpecValidationError, 422),
    (InvalidArgumentError, 422),
    (InvalidResponseError, 422),
    (SubworkflowNotFoundError, 422),
    (SecretsKeyError, 503),
]

_TITLES = {400: "Bad request", 401: "Unauthenticated", 403: "Forbidden", 404: "Not found",
           405: "Method not allowed", 409: "Conflict", 413: "Payload too large",
           415: "Unsupported media type", 422: "Unprocessable content",
           429: "Too many requests", 500: "Internal server error",
           503: "Service unavailable"}

#: codes of HTTP errors Starlette raises itself (unknown route, wrong method, ...)
_HTTP_CODES = {404: "not_found", 405: "method_not_allowed", 400: "bad_request",
               401: "unauthenticated", 403: "forbidden", 413: "payload_too_large",
               415: "unsupported_media_type", 429: "too_many_requests"}

#: GraphwrightErrors not listed above are the caller's fault (bad inputs, a bad
#: expression in an ad-hoc spec, ...): 422, never 500
DEFAULT_STATUS = 422

#: responses every route may give, for the OpenAPI document (400: a body that is not
#: UTF-8 JSON cannot even be validated; FastAPI refuses it before any route runs; 413: a
#: body past the limit, refused by ``api.body_limit`` before or while it is read)
COMMON_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": Problem, "description": _TITLES[status],
             "content": {PROBLEM_JSON: {}}}
    for status in (400, 401, 404, 413, 422)
}


def status_for(exc: GraphwrightError) -> int:
    for kind, status in _STATUS:
        if isinstance(exc, kind):
            return status
    return DEFAULT_STATUS


def problem_response(status: int, code: str, detail: str, *, request: Request | None = None,
                     headers: dict[str, str] | None = None, **extra: Any) -> JSONResponse:
    body: dict[str, Any] = {"type": TYPE_BASE + code, "title": _TITLES.get(status, "Error"),
                            "status": status, "detail": detail, "code": code}
    if request is not None:
        body["instance"] = request.url.path
    body.update({k: v for k, v in extra.items() if v is not None})
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


async def _graphwright_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, GraphwrightError)
    status = status_for(exc)
    extra = {k: v for k, v in exc.to_dict().items() if k not in {"code", "message"}}
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return problem_response(status, exc.code, exc.message, request=request, headers=headers,
                            **extra)


async def _request_validation(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = [{"code": "invalid_request", "path": "/" + "/".join(str(p) for p in e["loc"]),
               "message": e["msg"], "type": e["type"]} for e in exc.errors()]
    first = errors[0] if errors else {"path": "", "message": "invalid request"}
    detail = f"{first['path']}: {first['message']}"
    if len(errors) > 1:
        detail += f" (and {len(errors) - 1} more)"
    return problem_response(422, "invalid_request", detail, request=request, errors=errors)


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    code = _HTTP_CODES.get(exc.status_code, f"http_{exc.status_code}")
    detail = exc.detail if isinstance(exc.detail, str) else _TITLES.get(exc.status_code, "")
    return problem_response(exc.status_code, code, detail, request=request,
                            headers=dict(exc.headers or {}) or None)


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    log.exception("unhandled error on %s %s", request.method, request.url.path)
    return problem_response(500, "internal_error",
                            "the server met an unexpected error; it has been logged",
                            request=request)


def install_problem_handlers(app: FastAPI) -> None:
    app.add_exception_handler(GraphwrightError, _graphwright_error)
    app.add_exception_handler(RequestValidationError, _request_validation)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected)
