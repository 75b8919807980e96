"""``POST /v1/responses``: the OpenAI Responses API, as ``OpenAIServer`` serves it.

What ``ChatOpenAI(use_responses_api=True)`` needs: ``input`` items (messages,
``function_call`` and ``function_call_output``), ``tools`` as flat function definitions,
``text.format`` for JSON Schema output, ``tool_choice`` to force a function; the answer
as a ``response`` object whose ``output`` holds a ``message`` item (``output_text``
content) and ``function_call`` items, with ``usage``; and, with ``stream: true``, the
typed event stream (``response.created``, ``response.output_item.added``,
``response.output_text.delta``, ``response.function_call_arguments.delta``,
``response.output_item.done``, ..., ``response.completed``), each event numbered by
``sequence_number`` and sent with its ``event:`` line.

Like the real API it refuses (400) a ``function_call_output`` that answers no earlier
``function_call`` of the input, and a ``function_call`` left without its output.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

from ._server import RecordedRequest, Response, SSEStream
from ._util import arguments, dumps, fragments, text_pieces, usage_for
from .script import ToolCall, Turn, Usage

CREATED = 1_700_000_000
Fail = Callable[[Turn, Response], None]


def error_body(message: str, param: str | None = None) -> dict[str, Any]:
    return {"error": {"message": message, "type": "invalid_request_error", "param": param,
                      "code": None}}


def _items(body: dict[str, Any]) -> list[dict[str, Any]]:
    given = body.get("input")
    if isinstance(given, str):
        return [{"role": "user", "content": given}]
    return [i for i in given or [] if isinstance(i, dict)]


def _text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(p.get("text", "") for p in content
                       if isinstance(p, dict) and p.get("type") in ("input_text", "text",
                                                                      "output_text"))
    return ""


def last_user_text(body: dict[str, Any]) -> str:
    for item in reversed(_items(body)):
        if item.get("role") == "user" and (text := _text(item.get("content"))):
            return text
    return ""


def input_error(items: list[dict[str, Any]]) -> str | None:
    """What api.openai.com refuses in ``input``: outputs for unknown calls, calls left
    without an output."""
    open_calls: list[str] = []
    for item in items:
        kind = item.get("type")
        if kind == "function_call":
            open_calls.append(str(item.get("call_id")))
        elif kind == "function_call_output":
            call_id = str(item.get("call_id"))
            if call_id not in open_calls:
                return f"No tool call found for function call output with call_id {call_id}."
            open_calls.remove(call_id)
    if open_calls:
        return f"No tool output found for function call {open_calls[0]}."
    return None


class ResponsesEndpoint:
    """Renders one scripted turn as a Responses API answer."""

    def __init__(self, take_turn: Callable[[str], Turn | None], fail: Fail) -> None:
        self._take_turn = take_turn
        self._fail = fail
        self._ids = itertools.count(1)

    def handle(self, request: RecordedRequest, response: Response) -> None:
        body = request.json
        if not isinstance(body, dict) or not body.get("model") or not body.get("input"):
            response.json(400, error_body("'model' and 'input' are required", "input"))
            return
        if "stop" in body:  # the Responses API has no stop sequences
            response.json(400, error_body("Unsupported parameter: 'stop'.", "stop"))
            return
        if problem := input_error(_items(body)):
            response.json(400, error_body(problem, "input"))
            return
        turn = self._take_turn(last_user_text(body))
        if turn is None:
            return
        if turn.failure is not None:
            self._fail(turn, response)
            return
        text, calls = self._render(turn, body)
        usage = usage_for(turn, request.body,
                          [text or "", *(arguments(c) for c in calls)])
        number = next(self._ids)
        output: list[dict[str, Any]] = []
        if text is not None:
            output.append({"type": "message", "id": f"msg_fake{number:04d}",
                           "status": "completed", "role": "assistant",
                           "content": [{"type": "output_text", "text": text,
                                        "annotations": [], "logprobs": []}]})
        output.extend({"type": "function_call", "id": f"fc_fake{number:04d}_{i}",
                       "call_id": c.id or f"call_fake{number:04d}_{i}", "name": c.name,
                       "arguments": arguments(c), "status": "completed"}
                      for i, c in enumerate(calls))
        result = self._response(body, f"resp_fake{number:04d}", output, usage)
        if body.get("stream"):
            self._stream(response.sse(), result)
        else:
            response.json(200, result, {"x-request-id": "req_fake"})

    @staticmethod
    def _render(turn: Turn, body: dict[str, Any]) -> tuple[str | None, tuple[ToolCall, ...]]:
        if turn.has_structured:
            text_format = (body.get("text") or {}).get("format") or {}
            choice = body.get("tool_choice")
            if (text_format.get("type") not in ("json_schema", "json_object")
                    and isinstance(choice, dict) and choice.get("type") == "function"):
                return None, (ToolCall(str(choice.get("name")), turn.structured),)
            return dumps(turn.structured), ()
        if turn.text is None and not turn.tool_calls:
            return "", ()
        return turn.text, turn.tool_calls

    @staticmethod
    def _response(body: dict[str, Any], response_id: str, output: list[dict[str, Any]],
                  usage: Usage) -> dict[str, Any]:
        return {
            "id": response_id, "object": "response", "created_at": CREATED,
            "status": "completed", "model": body["model"], "output": output,
            "error": None, "incomplete_details": None, "instructions": body.get("instructions"),
            "metadata": {}, "parallel_tool_calls": True,
            "tool_choice": body.get("tool_choice", "auto"), "tools": body.get("tools", []),
            "temperature": body.get("temperature", 1.0), "top_p": body.get("top_p", 1.0),
            "max_output_tokens": body.get("max_output_tokens"),
            "text": body.get("text") or {"format": {"type": "text"}},
            "usage": {"input_tokens": usage.input_tokens,
                      "input_tokens_details": {"cached_tokens": 0},
                      "output_tokens": usage.output_tokens,
                      "output_tokens_details": {"reasoning_tokens": 0},
                      "total_tokens": usage.total_tokens},
        }

    @staticmethod
    def _stream(stream: SSEStream, result: dict[str, Any]) -> None:
        sequence = itertools.count()

        def send(kind: str, **fields: Any) -> None:
            stream.send({"type": kind, "sequence_number": next(sequence), **fields}, event=kind)

        started = {**result, "status": "in_progress", "output": [], "usage": None}
        send("response.created", response=started)
        send("response.in_progress", response=started)
        for index, item in enumerate(result["output"]):
            if item["type"] == "message":
                text = item["content"][0]["text"]
                send("response.output_item.added", output_index=index,
                     item={**item, "status": "in_progress", "content": []})
                part = {"type": "output_text", "text": "", "annotations": [], "logprobs": []}
                send("response.content_part.added", item_id=item["id"], output_index=index,
                     content_index=0, part=part)
                for piece in text_pieces(text):
                    send("response.output_text.delta", item_id=item["id"],
                         output_index=index, content_index=0, delta=piece, logprobs=[])
                send("response.output_text.done", item_id=item["id"], output_index=index,
                     content_index=0, text=text, logprobs=[])
                send("response.content_part.done", item_id=item["id"], output_index=index,
                     content_index=0, part={**part, "text": text})
            else:
                send("response.output_item.added", output_index=index,
                     item={**item, "arguments": "", "status": "in_progress"})
                for fragment in fragments(item["arguments"]):
                    send("response.function_call_arguments.delta", item_id=item["id"],
                         output_index=index, delta=fragment)
                send("response.function_call_arguments.done", item_id=item["id"],
                     output_index=index, name=item["name"], arguments=item["arguments"])
            send("response.output_item.done", output_index=index, item=item)
        send("response.completed", response=result)
        stream.close()
