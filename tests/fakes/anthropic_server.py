"""A local stand-in for the Anthropic Messages API.

Routes: ``POST /v1/messages`` (JSON, or SSE with ``event:`` lines when ``stream: true``),
``POST /v1/messages/count_tokens`` and ``GET /v1/models``. Auth: ``x-api-key: <key>``, or
``Authorization: Bearer <key>`` (what anthropic>=2 sends for ``api_key=``), plus a
required ``anthropic-version`` header.

Point the SDK at it with ``ChatAnthropic(base_url=server.url, api_key=server.api_key)``.
"""

from __future__ import annotations

import itertools
from typing import Any

from ._server import FakeProviderServer, RecordedRequest, Response
from ._util import (
    apply_stop,
    dumps,
    estimate_tokens,
    fragments,
    retry_after_header,
    text_pieces,
    usage_for,
)
from .script import ToolCall, Turn, Usage

__all__ = ["AnthropicServer"]

_ERRORS: dict[int, str] = {
    400: "invalid_request_error",
    401: "authentication_error",
    402: "billing_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    500: "api_error",
    504: "timeout_error",
    529: "overloaded_error",
}


def error_body(type_: str, message: str) -> dict[str, Any]:
    return {"type": "error", "error": {"type": type_, "message": message},
            "request_id": "req_fake"}


def _text_of(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(b.get("text", "") for b in content
                       if isinstance(b, dict) and b.get("type") == "text")
    return ""


def last_user_text(body: Any) -> str:
    """Text of the last user message that has any (tool_result-only turns are skipped)."""
    messages = body.get("messages") if isinstance(body, dict) else None
    for message in reversed(messages or []):
        if (isinstance(message, dict) and message.get("role") == "user"
                and (text := _text_of(message.get("content")))):
            return text
    return ""


def conversation_error(messages: list[Any]) -> str | None:
    """What the Messages API rejects with a 400: ``tool_use`` blocks not answered by
    ``tool_result`` blocks at the start of the very next (user) message (a result after
    other content does not count: results come first, text after them), or results for
    unknown ids."""
    pending: set[str] = set()
    for index, message in enumerate(messages):
        if not isinstance(message, dict) or message.get("role") not in ("user", "assistant"):
            return f"messages.{index}: role must be 'user' or 'assistant'"
        content = message.get("content")
        blocks = [b for b in content if isinstance(b, dict)] if isinstance(content, list) else []
        leading = list(itertools.takewhile(lambda b: b.get("type") == "tool_result", blocks))
        results = {str(b.get("tool_use_id")) for b in leading}
        late = {str(b.get("tool_use_id")) for b in blocks[len(leading):]
                if b.get("type") == "tool_result"}
        if late & (pending - results):  # answered, but after other content
            return (f"messages.{index - 1}: `tool_use` ids were found without `tool_result` "
                    f"blocks immediately after: {', '.join(sorted(pending - results))}. Each "
                    "`tool_use` block must have a corresponding `tool_result` block in the "
                    "next message.")
        results |= late
        if unexpected := results - pending:
            return (f"messages.{index}.content: unexpected `tool_use_id` found in "
                    f"`tool_result` blocks: {', '.join(sorted(unexpected))}. Each "
                    "`tool_result` block must have a corresponding `tool_use` block in the "
                    "previous message.")
        if missing := pending - results:
            return (f"messages.{index - 1}: `tool_use` ids were found without `tool_result` "
                    f"blocks immediately after: {', '.join(sorted(missing))}. Each `tool_use` "
                    "block must have a corresponding `tool_result` block in the next message.")
        pending = ({b["id"] for b in blocks if b.get("type") == "tool_use" and "id" in b}
                   if message["role"] == "assistant" else set())
    return None


class AnthropicServer(FakeProviderServer):
    provider = "anthropic"

    def __init__(self, *, api_key: str = "sk-ant-test", models: tuple[str, ...] = (
            "claude-haiku-4-5", "claude-sonnet-4-6"), **kwargs: Any) -> None:
        super().__init__(api_key=api_key, **kwargs)
        self.models = models
        self._ids = itertools.count(1)

    # -- routing ---------------------------------------------------------------------

    def dispatch(self, request: RecordedRequest, response: Response) -> None:
        if not self._authorized(request, response):
            return
        path = request.path.rstrip("/")
        if request.method == "POST" and path == "/v1/messages":
            self._messages(request, response)
        elif request.method == "POST" and path == "/v1/messages/count_tokens":
            response.json(200, {"input_tokens": estimate_tokens(request.body)})
        elif request.method == "GET" and path == "/v1/models":
            data = [{"type": "model", "id": m, "display_name": m,
                     "created_at": "2025-01-01T00:00:00Z"} for m in self.models]
            response.json(200, {"data": data, "has_more": False,
                                "first_id": self.models[0] if self.models else None,
                                "last_id": self.models[-1] if self.models else None})
        else:
            response.json(404, error_body("not_found_error", f"Not found: {request.path}"))

    def _authorized(self, request: RecordedRequest, response: Response) -> bool:
        key = request.header("x-api-key")
        auth = request.header("authorization") or ""
        if key is None and auth.startswith("Bearer "):
            key = auth.removeprefix("Bearer ")
        if key != self.api_key:
            message = "x-api-key header is required" if key is None else "invalid x-api-key"
            response.json(401, error_body("authentication_error", message))
            return False
        if not request.header("anthropic-version"):
            response.json(400, error_body("invalid_request_error",
                                          "anthropic-version: header is required"))
            return False
        return True

    # -- messages --------------------------------------------------------------------

    def _messages(self, request: RecordedRequest, response: Response) -> None:
        body = request.json
        if not isinstance(body, dict):
            response.json(400, error_body("invalid_request_error", "body must be JSON"))
            return
        for required in ("model", "max_tokens", "messages"):
            if body.get(required) in (None, []):
                response.json(400, error_body("invalid_request_error",
                                              f"{required}: Field required"))
                return
        if problem := conversation_error(body["messages"]):
            response.json(400, error_body("invalid_request_error", problem))
            return
        turn = self.take_turn(last_user_text(body))
        if turn is None:
            return
        if turn.failure is not None:
            self._fail(turn, response)
            return
        text, calls = self._render(turn, body)
        stop_sequence = None
        if text is not None and body.get("stop_sequences"):
            text, stop_sequence = apply_stop(text, body["stop_sequences"])
        stop_reason = ("tool_use" if calls else
                       "stop_sequence" if stop_sequence is not None else "end_turn")
        usage = usage_for(turn, request.body,
                          [text or "", *(dumps(dict(c.args)) for c in calls)])
        message_id = f"msg_fake{next(self._ids):04d}"
        blocks: list[dict[str, Any]] = []
        if text is not None:
            blocks.append({"type": "text", "text": text})
        blocks.extend({"type": "tool_use", "id": c.id or f"toolu_{message_id[-4:]}_{i}",
                       "name": c.name, "input": dict(c.args)} for i, c in enumerate(calls))
        message: dict[str, Any] = {
            "id": message_id, "type": "message", "role": "assistant", "model": body["model"],
            "content": blocks, "stop_reason": stop_reason, "stop_sequence": stop_sequence,
            "usage": self._usage(usage),
        }
        if body.get("stream"):
            self._stream(response, message, usage)
        else:
            response.json(200, message, {"request-id": "req_fake"})

    @staticmethod
    def _render(turn: Turn, body: dict[str, Any]) -> tuple[str | None, tuple[ToolCall, ...]]:
        if turn.has_structured:
            output_format = ((body.get("output_config") or {}).get("format")
                             or body.get("output_format"))
            tool_choice = body.get("tool_choice")
            if (not output_format and isinstance(tool_choice, dict)
                    and tool_choice.get("type") == "tool"):
                return None, (ToolCall(tool_choice["name"], turn.structured),)
            return dumps(turn.structured), ()
        if turn.text is None and not turn.tool_calls:
            return "", ()
        return turn.text, turn.tool_calls

    @staticmethod
    def _usage(usage: Usage) -> dict[str, Any]:
        return {"input_tokens": usage.input_tokens, "output_tokens": usage.output_tokens,
                "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0,
                "service_tier": "standard"}

    def _stream(self, response: Response, message: dict[str, Any], usage: Usage) -> None:
        stream = response.sse({"request-id": "req_fake"})
        start = {**message, "content": [], "stop_reason": None, "stop_sequence": None,
                 "usage": {**self._usage(usage), "output_tokens": 1}}
        stream.send({"type": "message_start", "message": start}, event="message_start")
        for index, block in enumerate(message["content"]):
            if block["type"] == "text":
                opening: dict[str, Any] = {"type": "text", "text": ""}
                deltas = [{"type": "text_delta", "text": p} for p in text_pieces(block["text"])]
            else:
                opening = {**block, "input": {}}
                deltas = [{"type": "input_json_delta", "partial_json": p}
                          for p in fragments(dumps(block["input"]))]
            stream.send({"type": "content_block_start", "index": index,
                         "content_block": opening}, event="content_block_start")
            if index == 0:
                stream.send({"type": "ping"}, event="ping")
            for delta in deltas:
                stream.send({"type": "content_block_delta", "index": index, "delta": delta},
                            event="content_block_delta")
            stream.send({"type": "content_block_stop", "index": index},
                        event="content_block_stop")
        final_usage = self._usage(usage)
        final_usage.pop("service_tier")
        stream.send({"type": "message_delta",
                     "delta": {"stop_reason": message["stop_reason"],
                               "stop_sequence": message["stop_sequence"]},
                     "usage": final_usage}, event="message_delta")
        stream.send({"type": "message_stop"}, event="message_stop")
        stream.close()

    @staticmethod
    def _fail(turn: Turn, response: Response) -> None:
        assert turn.failure is not None
        status = turn.failure.status
        type_ = turn.failure.kind or _ERRORS.get(
            status, "api_error" if status >= 500 else "invalid_request_error")
        headers = {"request-id": "req_fake", **retry_after_header(turn.failure.retry_after)}
        response.json(status, error_body(type_, turn.failure.message), headers)
