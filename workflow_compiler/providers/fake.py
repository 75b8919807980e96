"""The deterministic ``fake`` provider: same request, same answer, no network, no keys.

It makes every example and test reproducible. With ``provider_options.responses`` it
replays scripted answers in order, one per visit of the node (loops advance it); otherwise it echoes the last
user message, or builds the smallest instance of ``output_schema``.
"""

from __future__ import annotations

import json
from typing import Any

from workflow_compiler.providers.base import (
    ChatRequest,
    ChatResponse,
    TokenSink,
    register_provider,
)


def example_for_schema(schema: Any, *, depth: int = 0) -> Any:
    """A deterministic value satisfying common JSON Schema shapes."""
    if not isinstance(schema, dict) or depth > 8:
        return None
    if "const" in schema:
        return schema["const"]
    if "enum" in schema and schema["enum"]:
        return schema["enum"][0]
    if "default" in schema:
        return schema["default"]
    for key in ("anyOf", "oneOf", "allOf"):
        if isinstance(schema.get(key), list) and schema[key]:
            return example_for_schema(schema[key][0], depth=depth + 1)
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "null")
    if kind == "object" or "properties" in schema:
        props = schema.get("properties", {})
        required = schema.get("required", list(props))
        return {k: example_for_schema(props.get(k, {}), depth=depth + 1) for k in required}
    if kind == "array":
        count = int(schema.get("minItems", 0))
        return [example_for_schema(schema.get("items", {}), depth=depth + 1)] * count
    if kind == "string":
        return "x" * int(schema.get("minLength", 4)) if schema.get("minLength") else "fake"
    if kind == "integer":
        return int(schema.get("minimum", 0))
    if kind == "number":
        return float(schema.get("minimum", 0))
    if kind == "boolean":
        return False
    return None


class FakeProvider:
    name = "fake"

    async def chat(self, request: ChatRequest, on_token: TokenSink) -> ChatResponse:
        scripted = request.options.get("responses")
        call = int(request.options.get("_call", 0))
        structured: Any = None
        if isinstance(scripted, list) and scripted:
            answer = scripted[min(call, len(scripted) - 1)]
            if request.output_schema is not None and not isinstance(answer, str):
                structured = answer
                text = json.dumps(answer, sort_keys=True)
            else:
                text = answer if isinstance(answer, str) else json.dumps(answer, sort_keys=True)
        elif request.output_schema is not None:
            structured = example_for_schema(request.output_schema)
            text = json.dumps(structured, sort_keys=True)
        else:
            last_user = next((m.get("content", "") for m in reversed(request.messages)
                              if m.get("role") == "user"), "")
            text = f"[{request.model}] {last_user}".strip()
        if request.stop:
            for stop in request.stop:
                if stop and stop in text:
                    text = text[: text.index(stop)]
        if request.max_tokens is not None:
            text = " ".join(text.split(" ")[: request.max_tokens])
        if structured is None and request.output_schema is not None:
            structured = json.loads(text)
        for i, word in enumerate(text.split(" ")):
            on_token(word if i == 0 else f" {word}")
        prompt_tokens = sum(len(str(m.get("content", "")).split()) for m in request.messages)
        return ChatResponse(
            text=text,
            structured=structured,
            usage={"input_tokens": prompt_tokens, "output_tokens": len(text.split())},
        )


register_provider(FakeProvider())
