"""A local stand-in for the Gemini Developer API (the REST surface google-genai uses).

Routes, under any API version segment (``v1beta`` by default):
``POST /v1beta/models/{model}:generateContent``,
``POST /v1beta/models/{model}:streamGenerateContent?alt=sse`` (``data: {...}`` chunks),
``POST /v1beta/models/{model}:countTokens`` and ``GET /v1beta/models``.
Auth: ``x-goog-api-key: <key>`` header or ``?key=<key>``. Like the real API, a wrong key
answers 400 INVALID_ARGUMENT / API_KEY_INVALID and a missing key 403 PERMISSION_DENIED;
a scripted ``unauthorized()`` turn answers 401 UNAUTHENTICATED.

Point LangChain at it with
``ChatGoogleGenerativeAI(model="gemini-2.5-flash", api_key=server.api_key, base_url=server.url)``.
"""

from __future__ import annotations

import itertools
import re
from typing import Any

from ._server import FakeProviderServer, RecordedRequest, Response
from ._util import apply_stop, dumps, estimate_tokens, retry_after_header, text_pieces, usage_for
from .script import ToolCall, Turn, Usage

__all__ = ["GeminiServer"]

_ROUTE = re.compile(r"^/(?P<version>v1[a-z0-9]*)/models/(?P<model>[^/:]+):(?P<method>[A-Za-z]+)$")
_LIST = re.compile(r"^/(?P<version>v1[a-z0-9]*)/models$")

_STATUS: dict[int, str] = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    409: "ABORTED",
    429: "RESOURCE_EXHAUSTED",
    499: "CANCELLED",
    500: "INTERNAL",
    501: "NOT_IMPLEMENTED",
    503: "UNAVAILABLE",
    504: "DEADLINE_EXCEEDED",
}


def error_body(code: int, message: str, status: str | None = None,
               details: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    error: dict[str, Any] = {"code": code, "message": message,
                             "status": status or _STATUS.get(code, "UNKNOWN")}
    if details:
        error["details"] = details
    return {"error": error}


def last_user_text(body: Any) -> str:
    contents = body.get("contents") if isinstance(body, dict) else None
    for content in reversed(contents or []):
        if isinstance(content, dict) and content.get("role", "user") == "user":
            text = "".join(p.get("text", "") for p in content.get("parts") or []
                           if isinstance(p, dict))
            if text:
                return text
    return ""


#: the Gemini API's own wording for the order rules it enforces
CALL_AFTER_USER = ("Please ensure that function call turn comes immediately after a user turn "
                   "or after a function response turn.")
ALTERNATE = "Please ensure that multiturn requests alternate between user and model."
RESPONSES_MATCH_CALLS = ("Please ensure that the number of function response parts is equal "
                         "to the number of function call parts of the function call turn.")


def conversation_error(contents: list[Any]) -> str | None:
    """What the Gemini API rejects with a 400 INVALID_ARGUMENT: a function call turn (a
    ``model`` content with ``functionCall`` parts) that does not come right after a user
    turn or a function response turn; a function response turn whose number of
    ``functionResponse`` parts differs from the number of calls of the call turn right
    before it (or that follows no call turn); roles other than user and model; a history
    that opens with a model turn. (Names are not compared: the API's rule is the count.)"""
    previous = "none"  # user, model, call, response
    pending = 0  # calls the next turn must answer
    for index, content in enumerate(contents):
        if not isinstance(content, dict):
            return f"* GenerateContentRequest.contents[{index}]: must be an object"
        role = content.get("role") or "user"
        if role not in ("user", "model", "function"):
            return (f"* GenerateContentRequest.contents[{index}].role: Please use a valid "
                    "role: user, model.")
        if index == 0 and role == "model":
            return ALTERNATE
        parts = [p for p in content.get("parts") or [] if isinstance(p, dict)]
        calls = sum(1 for p in parts if "functionCall" in p)
        answers = sum(1 for p in parts if "functionResponse" in p)
        if answers != pending:
            return RESPONSES_MATCH_CALLS
        if calls and (role != "model" or previous not in ("user", "response")):
            return CALL_AFTER_USER
        pending = calls
        previous = ("response" if answers else "call" if calls
                    else "model" if role == "model" else "user")
    return None


class GeminiServer(FakeProviderServer):
    provider = "gemini"

    def __init__(self, *, api_key: str = "test-gemini-key", models: tuple[str, ...] = (
            "gemini-2.5-flash", "gemini-2.5-pro"), **kwargs: Any) -> None:
        super().__init__(api_key=api_key, **kwargs)
        self.models = models
        self._ids = itertools.count(1)

    # -- routing ---------------------------------------------------------------------

    def dispatch(self, request: RecordedRequest, response: Response) -> None:
        if not self._authorized(request, response):
            return
        if (match := _ROUTE.match(request.path)) and request.method == "POST":
            request.params.update(match.groupdict())
            method = match["method"]
            if method in ("generateContent", "streamGenerateContent"):
                self._generate(request, response, stream=method == "streamGenerateContent")
            elif method == "countTokens":
                response.json(200, {"totalTokens": estimate_tokens(request.body)})
            else:
                response.json(404, error_body(404, f"Method not found: {method}"))
        elif _LIST.match(request.path) and request.method == "GET":
            response.json(200, {"models": [{
                "name": f"models/{m}", "displayName": m, "inputTokenLimit": 1_048_576,
                "outputTokenLimit": 65_536,
                "supportedGenerationMethods": ["generateContent", "countTokens"],
            } for m in self.models]})
        else:
            response.json(404, error_body(404, f"Not found: {request.method} {request.path}"))

    def _authorized(self, request: RecordedRequest, response: Response) -> bool:
        key = request.header("x-goog-api-key")
        if key is None and request.query.get("key"):
            key = request.query["key"][0]
        if key == self.api_key:
            return True
        if key is None:
            response.json(403, error_body(
                403, "Method doesn't allow unregistered callers (callers without established "
                     "identity). Please use API Key or other form of API consumer identity to "
                     "call this API."))
        else:
            response.json(400, error_body(
                400, "API key not valid. Please pass a valid API key.",
                details=[{"@type": "type.googleapis.com/google.rpc.ErrorInfo",
                          "reason": "API_KEY_INVALID", "domain": "googleapis.com",
                          "metadata": {"service": "generativelanguage.googleapis.com"}}]))
        return False

    # -- generateContent -------------------------------------------------------------

    def _generate(self, request: RecordedRequest, response: Response, *, stream: bool) -> None:
        body = request.json
        if not isinstance(body, dict) or not body.get("contents"):
            response.json(400, error_body(400, "* GenerateContentRequest.contents: contents is "
                                               "not specified"))
            return
        if stream and request.query.get("alt") != ["sse"]:
            response.json(400, error_body(400, "the fake only streams with ?alt=sse"))
            return
        if problem := conversation_error(body["contents"]):
            response.json(400, error_body(400, problem))
            return
        turn = self.take_turn(last_user_text(body))
        if turn is None:
            return
        if turn.failure is not None:
            self._fail(turn, response)
            return
        text, calls = self._render(turn, body)
        config = body.get("generationConfig") or {}
        if text is not None and config.get("stopSequences"):
            text, _ = apply_stop(text, config["stopSequences"])
        usage = usage_for(turn, request.body,
                          [text or "", *(dumps(dict(c.args)) for c in calls)])
        response_id = f"fake-response-{next(self._ids):04d}"
        model = request.params["model"]
        call_parts = [{"functionCall": self._function_call(c)} for c in calls]
        if not stream:
            parts = ([{"text": text}] if text is not None else []) + call_parts
            response.json(200, self._chunk(model, response_id, parts, usage, final=True))
            return
        chunks: list[list[dict[str, Any]]] = [[{"text": p}] for p in text_pieces(text or "")]
        if call_parts:  # the real API sends whole function calls, all in one chunk
            chunks.append(call_parts)
        if not chunks:
            chunks.append([{"text": ""}])
        sse = response.sse()
        for index, parts in enumerate(chunks):
            final = index == len(chunks) - 1
            sse.send(self._chunk(model, response_id, parts, usage if final else None,
                                 final=final), sep="\r\n")
        sse.close()

    @staticmethod
    def _function_call(call: ToolCall) -> dict[str, Any]:
        out: dict[str, Any] = {"name": call.name, "args": dict(call.args)}
        if call.id is not None:
            out["id"] = call.id
        return out

    @staticmethod
    def _render(turn: Turn, body: dict[str, Any]) -> tuple[str | None, tuple[ToolCall, ...]]:
        if turn.has_structured:
            config = body.get("generationConfig") or {}
            calling = (body.get("toolConfig") or {}).get("functionCallingConfig") or {}
            allowed = calling.get("allowedFunctionNames") or []
            if (config.get("responseMimeType") != "application/json"
                    and calling.get("mode") == "ANY" and len(allowed) == 1):
                return None, (ToolCall(allowed[0], turn.structured),)
            return dumps(turn.structured), ()
        if turn.text is None and not turn.tool_calls:
            return "", ()
        return turn.text, turn.tool_calls

    @staticmethod
    def _chunk(model: str, response_id: str, parts: list[dict[str, Any]], usage: Usage | None,
               *, final: bool) -> dict[str, Any]:
        candidate: dict[str, Any] = {"content": {"role": "model", "parts": parts}, "index": 0}
        if final:
            candidate["finishReason"] = "STOP"
        out: dict[str, Any] = {"candidates": [candidate], "modelVersion": model,
                               "responseId": response_id}
        if usage is not None:
            out["usageMetadata"] = {
                "promptTokenCount": usage.input_tokens,
                "candidatesTokenCount": usage.output_tokens,
                "totalTokenCount": usage.total_tokens,
                "promptTokensDetails": [{"modality": "TEXT", "tokenCount": usage.input_tokens}],
            }
        return out

    @staticmethod
    def _fail(turn: Turn, response: Response) -> None:
        assert turn.failure is not None
        failure = turn.failure
        details: list[dict[str, Any]] = []
        if failure.retry_after is not None:
            details.append({"@type": "type.googleapis.com/google.rpc.RetryInfo",
                            "retryDelay": f"{failure.retry_after:g}s"})
        response.json(failure.status,
                      error_body(failure.status, failure.message, failure.kind, details),
                      retry_after_header(failure.retry_after))
