"""Provider failures as node errors with stable codes, and whether retrying may help.

LangChain classifies SDK errors (``langchain_core.exceptions.ModelRateLimitError`` and
friends, which still subclass the SDK's own types); a few escape unclassified (a Gemini
read timeout is a bare ``httpx`` exception), so the HTTP status and the exception's class
names are consulted too. Authentication failures never carry the provider's message:
OpenAI echoes part of the key in it. A rate limit's ``Retry-After`` goes into the details
as given (``retry_after``) and in seconds (``retry_after_s``), which the node runner
honours before retrying.
"""

from __future__ import annotations

from typing import Any

from workflow_compiler.compiler.retry_after import retry_after_seconds
from workflow_compiler.errors import NodeExecutionError
from workflow_compiler.providers.base import Provider

MAX_MESSAGE_CHARS = 500

_TIMEOUT_NAMES = ("Timeout", "TimeoutError", "TimeoutException", "ReadTimeout",
                  "ConnectTimeout", "WriteTimeout", "PoolTimeout")
_CONNECTION_NAMES = ("ConnectError", "ConnectionError", "NetworkError", "TransportError",
                     "RemoteProtocolError", "APIConnectionError")


def _chain(exc: BaseException) -> list[BaseException]:
    seen: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in seen and len(seen) < 8:
        seen.append(current)
        current = current.__cause__ or current.__context__
    return seen


def _status(exc: BaseException) -> int | None:
    for item in _chain(exc):
        for attr in ("status_code", "code", "status"):
            value = getattr(item, attr, None)
            if isinstance(value, int) and 100 <= value <= 599:
                return value
        response = getattr(item, "response", None)
        value = getattr(response, "status_code", None)
        if isinstance(value, int):
            return value
    return None


def _named(exc: BaseException, names: tuple[str, ...]) -> bool:
    return any(cls.__name__ in names for item in _chain(exc) for cls in type(item).__mro__)


def _retry_after(exc: BaseException) -> str | None:
    """The ``Retry-After`` header, else Gemini's ``RetryInfo.retryDelay`` (the real API
    sends only that, in the error body)."""
    chain = _chain(exc)
    for item in chain:
        headers = getattr(getattr(item, "response", None), "headers", None)
        if headers is not None:
            value = headers.get("retry-after")
            if value:
                return str(value)
    for item in chain:
        body = getattr(item, "details", None)
        error = body.get("error") if isinstance(body, dict) else None
        for detail in (error.get("details") if isinstance(error, dict) else None) or []:
            if isinstance(detail, dict) and isinstance(detail.get("retryDelay"), str):
                return str(detail["retryDelay"])
    return None


def _text(exc: BaseException, secrets: tuple[str, ...]) -> str:
    message = str(exc) or type(exc).__name__
    for secret in secrets:
        if secret:
            message = message.replace(secret, "***")
    message = " ".join(message.split())
    return message if len(message) <= MAX_MESSAGE_CHARS else message[:MAX_MESSAGE_CHARS] + "..."


def auth_error(provider: Provider, status: int | None = None, *, missing: bool = False
               ) -> NodeExecutionError:
    if missing:
        message = f"no API key for {provider.label}: {provider.key_help()}"
    else:
        where = f" (HTTP {status})" if status else ""
        message = (f"{provider.label} rejected the API key{where}: check it, or "
                   f"{provider.key_help()}")
    return NodeExecutionError(message, code="llm_auth_failed",
                              details={"provider": provider.name})


def model_error(exc: BaseException, provider: Provider, *, secrets: tuple[str, ...] = ()
                ) -> NodeExecutionError:
    """The node error for a failed model call; ``secrets`` are scrubbed from messages."""
    from langchain_core import exceptions as lc

    status = _status(exc)
    label = provider.label
    details: dict[str, Any] = {"provider": provider.name}
    if status is not None:
        details["status"] = status
    message = _text(exc, secrets)
    if isinstance(exc, lc.ModelAuthenticationError | lc.ModelPermissionDeniedError) \
            or status in (401, 403) or "API_KEY_INVALID" in message:
        return auth_error(provider, status)
    if isinstance(exc, lc.ModelRateLimitError) or status == 429:
        retry_after = _retry_after(exc)
        if retry_after is not None:
            details["retry_after"] = retry_after
            seconds = retry_after_seconds(retry_after)
            if seconds is not None:  # the runner waits this long before the retry
                details["retry_after_s"] = seconds
        return NodeExecutionError(f"{label} rate limit reached (HTTP 429): {message}",
                                  code="llm_rate_limited", retryable=True, details=details)
    if isinstance(exc, lc.ModelTimeoutError | TimeoutError) or _named(exc, _TIMEOUT_NAMES):
        return NodeExecutionError(f"the {label} request timed out", code="llm_timeout",
                                  retryable=True, details=details)
    if isinstance(exc, lc.ModelAPIError) or (status is not None and status >= 500):
        return NodeExecutionError(f"{label} server error{_http(status)}: {message}",
                                  code="llm_server_error", retryable=True, details=details)
    if isinstance(exc, lc.ModelConnectionError) or _named(exc, _CONNECTION_NAMES):
        return NodeExecutionError(f"could not reach {label}: {message}",
                                  code="llm_connection_error", retryable=True, details=details)
    if isinstance(exc, lc.ContextOverflowError):
        return NodeExecutionError(f"the conversation is too long for the model: {message}",
                                  code="llm_context_overflow", details=details)
    if isinstance(exc, lc.ModelNotFoundError) or status == 404:
        return NodeExecutionError(f"{label} does not know this model{_http(status)}: {message}",
                                  code="llm_model_not_found", details=details)
    if isinstance(exc, lc.ModelInvalidRequestError) or status in (400, 413, 422):
        return NodeExecutionError(f"{label} refused the request{_http(status)}: {message}",
                                  code="llm_invalid_request", details=details)
    retryable = bool(getattr(exc, "is_retryable", False))
    return NodeExecutionError(f"the {label} call failed: {type(exc).__name__}: {message}",
                              code="llm_error", retryable=retryable, details=details)


def _http(status: int | None) -> str:
    return f" (HTTP {status})" if status is not None else ""
