"""A local stand-in for the OpenAI Chat Completions and Responses APIs.

Routes: ``POST /v1/chat/completions`` (JSON or ``stream: true`` SSE), ``POST /v1/responses``
(JSON or the typed event stream; see ``openai_responses``), ``GET /v1/models`` and
``GET /v1/models/{id}``. Auth: ``Authorization: Bearer <api_key>``.

Point the SDK at it with ``ChatOpenAI(base_url=f"{server.url}/v1", api_key=server.api_key)``.
"""

from __future__ import annotations

import itertools
from typing import Any

from ._server import FakeProviderServer, RecordedRequest, Response
from ._util import (
    apply_stop,
    arguments,
    dumps,
    fragments,
    retry_after_header,
    text_pieces,
    usage_for,
)
from .openai_responses import ResponsesEndpoint
from .script import ToolCall, Turn, Usage

__all__ = ["OpenAIServer"]

CREATED = 1_700_000_000

# status -> (error.type, error.code), after what api.openai.com sends.
_ERRORS: dict[int, tuple[str, str | None]] = {
    400: ("invalid_request_error", None),
    401: ("invalid_request_error", "invalid_api_key"),
    403: ("invalid_request_error", "unsupported_country_region_territory"),
    404: ("invalid_request_error", "model_not_found"),
    429: ("requests", "rate_limit_exceeded"),
}


def error_body(message: str, type_: str, code: str | None = None,
               param: str | None = None) -> dict[str, Any]:
    return {"error": {"message": message, "type": type_, "param": param, "code": code}}


def last_user_text(body: Any) -> str:
    messages = body.get("messages") if isinstance(body, dict) else None
    for message in reversed(messages or []):
        if isinstance(message, dict) and message.get("role") == "user":
            content = message.get("content")
            if isinstance(content, str):
                return content
            if isinstance(content, list):
                return "".join(p.get("text", "") for p in content
                               if isinstance(p, dict) and p.get("type") == "text")
    return ""


def conversation_error(messages: list[Any]) -> str | None:
    """What api.openai.com rejects with a 400: tool messages that don't answer the
    preceding assistant ``tool_calls``, or tool calls left unanswered."""
    pending: list[str] = []
    for index, message in enumerate(messages):
        if not isinstance(message, dict):
            return f"Invalid type for 'messages[{index}]': expected an object."
        role = message.get("role")
        if role == "tool":
            if message.get("tool_call_id") not in pending:
                return (f"Invalid parameter: messages with role 'tool' must be a response to "
                        f"a preceeding message with 'tool_calls'. (messages[{index}])")
            pending.remove(message["tool_call_id"])
            continue
        if pending:
            return ("An assistant message with 'tool_calls' must be followed by tool messages "
                    "responding to each 'tool_call_id'. The following tool_call_ids did not "
                    f"have response messages: {', '.join(pending)}")
        if role not in ("system", "developer", "user", "assistant"):
            return f"Invalid value: '{role}'. Supported values are: 'system', 'assistant', ..."
        if role == "assistant":
            pending = [c.get("id") for c in message.get("tool_calls") or []]
    if pending:
        return ("An assistant message with 'tool_calls' must be followed by tool messages "
                f"responding to each 'tool_call_id'. Missing: {', '.join(pending)}")
    return None


class OpenAIServer(FakeProviderServer):
    provider = "openai"

    def __init__(self, *, api_key: str = "sk-test-openai", models: tuple[str, ...] = (
            "gpt-4o-mini", "gpt-4.1-mini"), **kwargs: Any) -> None:
        super().__init__(api_key=api_key, **kwargs)
        self.models = models
        self._ids = itertools.count(1)
        self._responses = ResponsesEndpoint(self.take_turn, self._fail)

    # -- routing ---------------------------------------------------------------------

    def dispatch(self, request: RecordedRequest, response: Response) -> None:
        if not self._authorized(request, response):
            return
        path = request.path.rstrip("/")
        if request.method == "POST" and path == "/v1/chat/completions":
            self._chat(request, response)
        elif request.method == "POST" and path == "/v1/responses":
            self._responses.handle(request, response)
        elif request.method == "GET" and path == "/v1/models":
            response.json(200, {"object": "list", "data": [self._model(m) for m in self.models]})
        elif request.method == "GET" and path.startswith("/v1/models/"):
            name = path.removeprefix("/v1/models/")
            if name in self.models:
                response.json(200, self._model(name))
            else:
                response.json(404, error_body(f"The model '{name}' does not exist",
                                              "invalid_request_error", "model_not_found"))
        else:
            response.json(404, error_body(f"Invalid URL ({request.method} {request.path})",
                                          "invalid_request_error"))

    def _authorized(self, request: RecordedRequest, response: Response) -> bool:
        auth = request.header("authorization") or ""
        if auth == f"Bearer {self.api_key}":
            return True
        if not auth.startswith("Bearer ") or not auth.removeprefix("Bearer ").strip():
            message = ("You didn't provide an API key. You need to provide your API key in an "
                       "Authorization header using Bearer auth (i.e. Authorization: Bearer "
                       "YOUR_KEY).")
            response.json(401, error_body(message, "invalid_request_error"))
        else:
            key = auth.removeprefix("Bearer ")
            masked = f"{key[:3]}***{key[-4:]}" if len(key) > 8 else "***"
            response.json(401, error_body(f"Incorrect API key provided: {masked}.",
                                          "invalid_request_error", "invalid_api_key"))
        return False

    @staticmethod
    def _model(name: str) -> dict[str, Any]:
        return {"id": name, "object": "model", "created": CREATED, "owned_by": "graphwright-fake"}

    # -- chat completions ----------------------------------------------------------------

    def _chat(self, request: RecordedRequest, response: Response) -> None:
        body = request.json
        if not isinstance(body, dict) or not body.get("messages") or not body.get("model"):
            response.json(400, error_body("'messages' and 'model' are required",
                                          "invalid_request_error", param="messages"))
            return
        if problem := conversation_error(body["messages"]):
            response.json(400, error_body(problem, "invalid_request_error", param="messages"))
            return
        turn = self.take_turn(last_user_text(body))
        if turn is None:
            return
        if turn.failure is not None:
            self._fail(turn, response)
            return
        content, calls = self._render(turn, body)
        finish = "tool_calls" if calls else "stop"
        stop = body.get("stop")
        if content is not None and stop:
            content, _ = apply_stop(content, [stop] if isinstance(stop, str) else stop)
        usage = usage_for(turn, request.body,
                          [content or "", *(arguments(c) for c in calls)])
        completion_id = f"chatcmpl-fake{next(self._ids):04d}"
        tool_calls = [
            {"id": c.id or f"call_{completion_id[-4:]}_{i}", "type": "function",
             "function": {"name": c.name, "arguments": arguments(c)}}
            for i, c in enumerate(calls)
        ]
        if body.get("stream"):
            include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
            self._stream(response, body["model"], completion_id, content, tool_calls, finish,
                         usage if include_usage else None)
            return
        message: dict[str, Any] = {"role": "assistant", "content": content, "refusal": None,
                                   "annotations": []}
        if tool_calls:
            message["tool_calls"] = tool_calls
        response.json(200, {
            "id": completion_id,
            "object": "chat.completion",
            "created": CREATED,
            "model": body["model"],
            "choices": [{"index": 0, "message": message, "logprobs": None,
                         "finish_reason": finish}],
            "usage": self._usage(usage),
            "service_tier": "default",
            "system_fingerprint": "fp_fake",
        })

    @staticmethod
    def _render(turn: Turn, body: dict[str, Any]) -> tuple[str | None, tuple[ToolCall, ...]]:
        """(content, tool calls) for a turn; structured output follows the request."""
        if turn.has_structured:
            response_format = body.get("response_format") or {}
            tool_choice = body.get("tool_choice")
            if (response_format.get("type") not in ("json_schema", "json_object")
                    and isinstance(tool_choice, dict) and tool_choice.get("type") == "function"):
                return None, (ToolCall(tool_choice["function"]["name"], turn.structured),)
            return dumps(turn.structured), ()
        return turn.text, turn.tool_calls

    @staticmethod
    def _usage(usage: Usage) -> dict[str, Any]:
        return {
            "prompt_tokens": usage.input_tokens,
            "completion_tokens": usage.output_tokens,
            "total_tokens": usage.total_tokens,
            "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
            "completion_tokens_details": {"reasoning_tokens": 0, "audio_tokens": 0,
                                          "accepted_prediction_tokens": 0,
                                          "rejected_prediction_tokens": 0},
        }

    def _stream(self, response: Response, model: str, completion_id: str, content: str | None,
                tool_calls: list[dict[str, Any]], finish: str, usage: Usage | None) -> None:
        def chunk(delta: dict[str, Any], finish_reason: str | None = None) -> dict[str, Any]:
            out: dict[str, Any] = {
                "id": completion_id, "object": "chat.completion.chunk", "created": CREATED,
                "model": model, "service_tier": "default", "system_fingerprint": "fp_fake",
                "choices": [{"index": 0, "delta": delta, "logprobs": None,
                             "finish_reason": finish_reason}],
            }
            if usage is not None:
                out["usage"] = None
            return out

        stream = response.sse()
        stream.send(chunk({"role": "assistant", "content": "", "refusal": None}))
        for piece in text_pieces(content or ""):
            stream.send(chunk({"content": piece}))
        for index, call in enumerate(tool_calls):
            stream.send(chunk({"tool_calls": [{
                "index": index, "id": call["id"], "type": "function",
                "function": {"name": call["function"]["name"], "arguments": ""}}]}))
            for fragment in fragments(call["function"]["arguments"]):
                stream.send(chunk({"tool_calls": [{"index": index,
                                                   "function": {"arguments": fragment}}]}))
        stream.send(chunk({}, finish))
        if usage is not None:
            stream.send({"id": completion_id, "object": "chat.completion.chunk",
                         "created": CREATED, "model": model, "service_tier": "default",
                         "system_fingerprint": "fp_fake", "choices": [],
                         "usage": self._usage(usage)})
        stream.send("[DONE]")
        stream.close()

    @staticmethod
    def _fail(turn: Turn, response: Response) -> None:
        assert turn.failure is not None
        status = turn.failure.status
        type_, code = _ERRORS.get(status, ("server_error" if status >= 500
                                           else "invalid_request_error", None))
        headers = {"x-request-id": "req_fake", **retry_after_header(turn.failure.retry_after)}
        response.json(status, error_body(turn.failure.message, turn.failure.kind or type_, code),
                      headers)
