"""Structured output: the provider's native JSON Schema mode where LangChain has one
(``with_structured_output(method="json_schema")``), a forced tool call otherwise, JSON mode
on request; the result validated with jsonschema; exactly one repair attempt that shows
the model its errors; then ``invalid_model_output``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage

from workflow_compiler.errors import NodeExecutionError
from workflow_compiler.nodes._common import validation_errors
from workflow_compiler.providers.base import StructuredMethod

REPAIR_PROMPT = (
    "Your previous answer does not match the required JSON Schema:\n{errors}\n"
    "Answer again with only the corrected JSON object."
)
JSON_MODE_PROMPT = "Answer with only a JSON value matching this JSON Schema:\n{schema}"
_NAME = re.compile(r"[^a-zA-Z0-9_-]")

#: (runnable, messages) -> (raw reply, parsed value or None, parsing error or None)
StructuredCall = Callable[[Any, Sequence[BaseMessage]],
                          Awaitable[tuple[AIMessage, Any, str | None]]]


def named_schema(schema: dict[str, Any]) -> dict[str, Any]:
    """The schema with a ``title`` usable as a function/format name (OpenAI requires one)."""
    title = schema.get("title")
    name = _NAME.sub("_", title)[:64] if isinstance(title, str) and title else "output"
    return {**schema, "title": name}


def structured_runnable(model: BaseChatModel, schema: dict[str, Any],
                        method: StructuredMethod) -> Any:
    return model.with_structured_output(named_schema(schema), method=method, include_raw=True)


def problems(schema: dict[str, Any], parsed: Any, parse_error: str | None) -> list[str]:
    if parse_error is not None:
        return [f"the reply is not valid JSON: {parse_error}"]
    if parsed is None:
        return ["the reply holds no structured output"]
    return validation_errors(schema, parsed)


def _shown(raw: AIMessage, parsed: Any) -> str:
    """What the model answered, as text, for the repair turn (tool calls included)."""
    if parsed is not None:
        return json.dumps(parsed, ensure_ascii=False)
    if raw.tool_calls:
        return json.dumps(raw.tool_calls[0]["args"], ensure_ascii=False)
    if raw.invalid_tool_calls:
        return str(raw.invalid_tool_calls[0].get("args") or "")
    return raw.text


async def structured_answer(
    call: StructuredCall, runnable: Any, messages: Sequence[BaseMessage],
    schema: dict[str, Any], method: StructuredMethod,
) -> tuple[Any, list[AIMessage]]:
    """The validated object and the replies it took (one, or two after a repair)."""
    transcript = list(messages)
    if method == "json_mode":
        transcript.append(HumanMessage(JSON_MODE_PROMPT.format(
            schema=json.dumps(schema, ensure_ascii=False))))
    replies: list[AIMessage] = []
    errors: list[str] = []
    for attempt in (1, 2):
        raw, parsed, parse_error = await call(runnable, transcript)
        replies.append(raw)
        errors = problems(schema, parsed, parse_error)
        if not errors:
            return parsed, replies
        if attempt == 1:
            # The reply as plain text (a forced tool call would need a tool result first).
            transcript += [
                AIMessage(content=_shown(raw, parsed), response_metadata=raw.response_metadata),
                HumanMessage(REPAIR_PROMPT.format(errors="\n".join(f"- {e}" for e in errors))),
            ]
    raise NodeExecutionError(
        "the model's structured output does not match output_schema, also after one repair "
        "attempt: " + "; ".join(errors),
        code="invalid_model_output", details={"errors": errors},
    )
