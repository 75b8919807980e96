"""Request bodies bounded while they arrive: 413 ``payload_too_large``, as a problem.

One pure ASGI middleware for every route (no ``BaseHTTPMiddleware``: it would cost every
request a task of its own on the hot path). JSON bodies may have ``max_request_bytes``;
a route that takes more (the file upload, ``max_upload_bytes`` plus room for the multipart
framing) has a limit of its own, by method and path.

* A declared ``Content-Length`` past the limit is refused before anything runs (no
  authentication, no routing) and before a byte of the body is read.
* Every body is also counted as the application reads it, so a chunked one (no
  ``Content-Length``) is refused as soon as it passes the limit: the rest is never read.
  The receive channel then raises ``BodyTooLargeError``, an ``HTTPException``: FastAPI
  re-raises those when they interrupt its reading of a body (anything else becomes a
  400), and the app's problem handlers, inside this middleware, answer them.

FastAPI's own ``max_body_size`` is not used: it answers ``text/plain`` when a request
with a large ``Content-Length`` is answered without its body being read (a 401, a 404),
and a route's own limit is gone from the scope by the time the error is answered.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.problems import problem_response


@dataclass(frozen=True, slots=True)
class BodyLimit:
    """The most bytes a request body may have, and what the 413 says when it has more."""

    max_bytes: int
    detail: str


class BodyTooLargeError(HTTPException):
    def __init__(self, limit: BodyLimit) -> None:
        super().__init__(413, limit.detail)


class BodyLimitMiddleware:
    def __init__(self, app: ASGIApp, *, default: BodyLimit,
                 routes: Mapping[tuple[str, str], BodyLimit] | None = None) -> None:
        """``routes``: (method, path) -> the limit of that route instead of ``default``."""
        self.app = app
        self.default = default
        self.routes = dict(routes or {})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.routes.get((scope["method"], scope["path"]), self.default)
        declared = _content_length(scope)
        if declared is not None and declared > limit.max_bytes:
            await _refuse(scope, receive, send, limit)
            return
        received = 0

        async def counting() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit.max_bytes:
                    raise BodyTooLargeError(limit)
            return message

        await self.app(scope, counting, send)


def _content_length(scope: Scope) -> int | None:
    for name, value in scope["headers"]:
        if name == b"content-length":
            return int(value) if value.isdigit() else None
    return None


async def _refuse(scope: Scope, receive: Receive, send: Send, limit: BodyLimit) -> None:
    response = problem_response(413, "payload_too_large", limit.detail, request=Request(scope))
    await response(scope, receive, send)
