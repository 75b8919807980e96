"""One guarded HTTP exchange with bounded time and size, failures mapped to stable codes.

Kept apart from the http node so the rules that matter for safety (the guard on every hop,
the byte limit enforced while streaming, credentials never following a redirect to another
origin, request headers never quoted in errors) live in one place any caller can reuse.
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Mapping, Sequence
from contextlib import AbstractAsyncContextManager, nullcontext
from dataclasses import dataclass

import httpx

from workflow_compiler.errors import NodeExecutionError
from workflow_compiler.net.ssrf import SsrfGuard
from workflow_compiler.net.transport import GuardedTransport

DEFAULT_TIMEOUT_SECONDS = 30.0
DEFAULT_DEADLINE_SECONDS = 300.0
# Headers a redirect to another origin may still carry: they describe the client, not the
# caller's identity. Everything else the caller set (API keys, tokens) is dropped.
_PORTABLE_HEADERS = frozenset({"accept", "accept-language", "user-agent", "content-type"})


@dataclass(frozen=True, slots=True)
class FetchOptions:
    timeout: float = DEFAULT_TIMEOUT_SECONDS
    """Per network operation (connect, each read, each write), so a hung socket fails."""
    deadline: float | None = DEFAULT_DEADLINE_SECONDS
    """For the whole exchange, so a server dripping bytes cannot hold the node forever."""
    max_response_bytes: int = 10_000_000
    follow_redirects: bool = False
    max_redirects: int = 5
    verify: ssl.SSLContext | bool = True


@dataclass(frozen=True, slots=True)
class FetchedResponse:
    status: int
    reason: str
    headers: dict[str, str]
    content: bytes
    url: str
    content_type: str = ""
    charset: str | None = None

    def text(self) -> str:
        """Decoded by the declared charset; unknown charsets and bad bytes do not fail."""
        try:
            return self.content.decode(self.charset or "utf-8", errors="replace")
        except LookupError:
            return self.content.decode("utf-8", errors="replace")


async def fetch(
    guard: SsrfGuard,
    method: str,
    url: str,
    *,
    headers: Mapping[str, str] | None = None,
    params: Sequence[tuple[str, str]] | None = None,
    content: bytes | None = None,
    options: FetchOptions | None = None,
) -> FetchedResponse:
    """Send one request through ``guard``; raise ``NodeExecutionError`` on any failure.

    Codes: ``ssrf_blocked``/``invalid_url`` (refused before connecting), ``http_timeout``
    and ``http_error`` (retryable when the next attempt may succeed), ``response_too_large``.
    HTTP error statuses are returned, not raised: whether they fail is the caller's call.
    """
    opts = options or FetchOptions()
    target = guard.inspect(url)  # refuses bad schemes and spellings before httpx sees them
    request_url = target.url.copy_merge_params(list(params)) if params else target.url
    transport = GuardedTransport(guard, verify=opts.verify)
    deadline: AbstractAsyncContextManager[object] = (
        asyncio.timeout(opts.deadline) if opts.deadline else nullcontext()
    )
    try:
        async with deadline, httpx.AsyncClient(
            transport=transport,
            follow_redirects=opts.follow_redirects,
            max_redirects=opts.max_redirects,
            timeout=httpx.Timeout(opts.timeout),
            trust_env=False,  # an environment proxy would resolve names we did not vet
            event_hooks={"request": [_CrossOriginScrubber(request_url, headers or {})]},
        ) as client:
            request = client.build_request(method, request_url, headers=headers,
                                           content=content)
            response = await client.send(request, stream=True)
            try:
                body = await _read_limited(response, opts.max_response_bytes)
            finally:
                await response.aclose()
    except TimeoutError:
        raise NodeExecutionError(
            f"HTTP request to {_safe_url(request_url)} exceeded {opts.deadline or 0:g}s",
            code="http_timeout", retryable=True,
        ) from None
    except httpx.HTTPError as exc:
        raise _mapped(exc, request_url) from None
    return FetchedResponse(
        status=response.status_code,
        reason=response.reason_phrase,
        headers={key.lower(): value for key, value in response.headers.items()},
        content=body,
        url=str(response.url),
        content_type=response.headers.get("content-type", ""),
        charset=response.charset_encoding,
    )


async def _read_limited(response: httpx.Response, limit: int) -> bytes:
    declared = response.headers.get("content-length", "")
    # A HEAD response declares the size of a body it does not send.
    if response.request.method != "HEAD" and declared.isdigit() and int(declared) > limit:
        raise _too_large(response, limit)
    chunks: list[bytes] = []
    size = 0
    # aiter_bytes yields decoded (decompressed) bytes, so the limit also stops zip bombs.
    async for chunk in response.aiter_bytes():
        size += len(chunk)
        if size > limit:
            raise _too_large(response, limit)
        chunks.append(chunk)
    return b"".join(chunks)


def _too_large(response: httpx.Response, limit: int) -> NodeExecutionError:
    return NodeExecutionError(
        f"response from {_safe_url(response.url)} is larger than {limit} bytes"
        " (max_response_bytes)",
        code="response_too_large", retryable=False,
        details={"status": response.status_code, "limit": limit},
    )


class _CrossOriginScrubber:
    """Drops the caller's own headers from redirect hops that leave the original origin.

    httpx already drops ``Authorization`` there, but an API key in ``X-Api-Key`` would
    still follow a redirect to any host; a workflow's secrets must not.
    """

    def __init__(self, first: httpx.URL, headers: Mapping[str, str]) -> None:
        self._origin = (first.scheme, first.host, first.port)
        self._names = {name.lower() for name in headers} - _PORTABLE_HEADERS

    async def __call__(self, request: httpx.Request) -> None:
        if not self._keeps_headers(request.url):
            for name in self._names:
                request.headers.pop(name, None)

    def _keeps_headers(self, url: httpx.URL) -> bool:
        """Same origin, or the same host upgraded from http to https on default ports."""
        scheme, host, port = self._origin
        if (url.scheme, url.host, url.port) == self._origin:
            return True
        return (scheme, url.scheme, url.host, port, url.port) == ("http", "https", host, None,
                                                                   None)


def _mapped(exc: httpx.HTTPError, url: httpx.URL) -> NodeExecutionError:
    """A stable code, and whether trying again may help. Never quotes request data."""
    where = _safe_url(exc.request.url if _has_request(exc) else url)
    if isinstance(exc, httpx.TimeoutException):
        return NodeExecutionError(f"HTTP request to {where} timed out ({type(exc).__name__})",
                                  code="http_timeout", retryable=True)
    if isinstance(exc, httpx.TooManyRedirects):
        return NodeExecutionError(f"too many redirects from {where}", code="http_error")
    if isinstance(exc, httpx.LocalProtocolError):
        # h11's message may quote a header value, and header values may be secrets.
        return NodeExecutionError(f"the request to {where} is malformed and was not sent",
                                  code="http_error")
    if isinstance(exc, httpx.UnsupportedProtocol | httpx.DecodingError):
        return NodeExecutionError(f"HTTP request to {where} failed: {exc}", code="http_error")
    if _certificate_failure(exc):
        return NodeExecutionError(
            f"TLS certificate of {where} could not be verified: {exc}", code="http_error")
    return NodeExecutionError(f"HTTP request to {where} failed: {type(exc).__name__}: {exc}",
                              code="http_error", retryable=True)


def _has_request(exc: httpx.HTTPError) -> bool:
    try:
        exc.request  # noqa: B018  (the property raises when no request is attached)
    except RuntimeError:
        return False
    return True


def _certificate_failure(exc: BaseException) -> bool:
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, ssl.SSLCertVerificationError):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def _safe_url(url: httpx.URL) -> str:
    """The URL without its query, which may carry an API key."""
    return str(url.copy_with(query=None, fragment=None))
