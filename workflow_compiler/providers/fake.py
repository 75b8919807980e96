"""The deterministic ``fake`` provider: same request, same answer, no network, no keys.

It is a LangChain ``BaseChatModel`` (tools, streaming, structured output through a forced
tool call), so a spec using it runs through exactly the code path of a real provider.
What it answers, per model call:

* with ``provider_options.responses`` the scripted answers in order: call ``k`` of a
  node execution answers ``responses[visit - 1 + attempt - 1 + k]`` (the last one once the
  list runs out), so loops and retries advance the script. An answer is a string (text),
  ``{"tool_calls": [{"name", "args", "id"?}], "text"?}`` (the model calls tools), or any
  other JSON value (the structured output, or its JSON text);
* otherwise the last user message echoed as ``[<model>] <text>``, or, when structured
  output is asked for, the smallest instance of the schema.

``stop`` cuts the text; ``max_tokens`` keeps that many words. Usage counts words.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator, Sequence
from typing import TYPE_CHECKING, Any, ClassVar

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage, HumanMessage
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from langchain_core.utils.function_calling import convert_to_openai_tool

from workflow_compiler.providers.base import ModelSettings, Provider, StructuredMethod
from workflow_compiler.providers.registry import register_provider

if TYPE_CHECKING:
    from langchain_core.callbacks import (
        AsyncCallbackManagerForLLMRun,
        CallbackManagerForLLMRun,
    )
    from langchain_core.runnables import Runnable
    from langchain_core.tools import BaseTool

PROVIDER_TAG = "fake"


def example_for_schema(schema: Any, *, depth: int = 0) -> Any:
    """A deterministic value satisfying common JSON Schema shapes."""
    if not isinstance(schema, dict) or depth > 8:
        return None
    if "const" in schema:
        return schema["const"]
    if schema.get("enum"):
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


def _words(text: str) -> int:
    return len(text.split())


def _content_text(message: BaseMessage) -> str:
    return message.text if message.content else ""


def _is_tool_script(answer: Any) -> bool:
    calls = answer.get("tool_calls") if isinstance(answer, dict) else None
    return isinstance(calls, list) and all(isinstance(c, dict) and "name" in c for c in calls)


class FakeChatModel(BaseChatModel):
    """A chat model that answers from a script, or echoes; see the module docstring."""

    model_name: str = "fake"
    responses: list[Any] | None = None
    call_offset: int = 0
    temperature: float | None = None
    max_tokens: int | None = None
    stop: list[str] | None = None

    @property
    def _llm_type(self) -> str:
        return "graphwright-fake"

    def bind_tools(
        self,
        tools: Sequence[dict[str, Any] | type | Any | BaseTool],
        *,
        tool_choice: str | dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> Runnable[Any, AIMessage]:
        formatted = [convert_to_openai_tool(t) for t in tools]
        return self.bind(tools=formatted, tool_choice=tool_choice, **kwargs)

    # -- answering -------------------------------------------------------------------

    def _call_index(self, messages: list[BaseMessage]) -> int:
        """Earlier answers of this execution are in the transcript: count them."""
        ours = sum(1 for m in messages if isinstance(m, AIMessage)
                   and m.response_metadata.get("model_provider") == PROVIDER_TAG)
        return self.call_offset + ours

    def _answer(self, messages: list[BaseMessage], stop: list[str] | None,
                kwargs: dict[str, Any]) -> AIMessage:
        index = self._call_index(messages)
        scripted: Any = None
        if self.responses:
            scripted = self.responses[min(index, len(self.responses) - 1)]
        forced = self._forced_tool(kwargs)
        text = ""
        calls: list[dict[str, Any]] = []
        if forced is not None:
            calls = [{"name": forced["name"], "id": f"call_fake_{index}_0",
                      "args": self._forced_args(scripted, forced)}]
        elif _is_tool_script(scripted):
            text = str(scripted.get("text") or "")
            calls = [{"name": c["name"], "args": dict(c.get("args") or {}),
                      "id": str(c.get("id") or f"call_fake_{index}_{i}")}
                     for i, c in enumerate(scripted["tool_calls"])]
        elif scripted is not None:
            text = scripted if isinstance(scripted, str) else json.dumps(scripted, sort_keys=True)
        else:
            last_user = next((_content_text(m) for m in reversed(messages)
                              if isinstance(m, HumanMessage)), "")
            text = f"[{self.model_name}] {last_user}".strip()
        text = self._limit(text, stop)
        prompt_tokens = sum(_words(_content_text(m)) for m in messages)
        output_tokens = _words(text) + sum(_words(json.dumps(c["args"])) for c in calls)
        return AIMessage(
            content=text,
            tool_calls=[{**c, "type": "tool_call"} for c in calls],
            usage_metadata={"input_tokens": prompt_tokens, "output_tokens": output_tokens,
                            "total_tokens": prompt_tokens + output_tokens},
            response_metadata={"model_provider": PROVIDER_TAG, "model_name": self.model_name,
                               "call_index": index},
        )

    @staticmethod
    def _forced_tool(kwargs: dict[str, Any]) -> dict[str, Any] | None:
        """The tool a caller forces (structured output); None when the model may choose."""
        choice = kwargs.get("tool_choice")
        tools = kwargs.get("tools") or []
        if not tools or choice in (None, "auto", "none"):
            return None
        if isinstance(choice, dict):
            wanted = choice.get("function", {}).get("name") or choice.get("name")
        elif choice in ("any", "required"):
            wanted = tools[0]["function"]["name"] if len(tools) == 1 else None
        else:
            wanted = choice
        for tool in tools:
            if tool["function"]["name"] == wanted:
                return dict(tool["function"])
        return None

    @staticmethod
    def _forced_args(scripted: Any, function: dict[str, Any]) -> Any:
        if isinstance(scripted, str):
            try:
                return json.loads(scripted)
            except ValueError:
                return {"_unparsable": scripted}
        if scripted is not None and not _is_tool_script(scripted):
            return scripted
        return example_for_schema(function.get("parameters", {}))

    def _limit(self, text: str, stop: list[str] | None) -> str:
        for marker in [*(self.stop or []), *(stop or [])]:
            if marker and marker in text:
                text = text[: text.index(marker)]
        if self.max_tokens is not None:
            text = " ".join(text.split(" ")[: self.max_tokens])
        return text

    # -- BaseChatModel ----------------------------------------------------------------

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        return ChatResult(generations=[ChatGeneration(message=self._answer(messages, stop,
                                                                           kwargs))])

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        yield from self._chunks(self._answer(messages, stop, kwargs))

    async def _astream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> AsyncIterator[ChatGenerationChunk]:
        for chunk in self._chunks(self._answer(messages, stop, kwargs)):
            if run_manager is not None and chunk.text:
                await run_manager.on_llm_new_token(chunk.text, chunk=chunk)
            yield chunk

    @staticmethod
    def _chunks(message: AIMessage) -> Iterator[ChatGenerationChunk]:
        """Word-sized text deltas, then the tool calls and usage in a last chunk."""
        text = message.text
        if text:
            for i, word in enumerate(text.split(" ")):
                yield ChatGenerationChunk(message=AIMessageChunk(
                    content=word if i == 0 else f" {word}"))
        yield ChatGenerationChunk(message=AIMessageChunk(
            content="",
            tool_call_chunks=[
                {"name": c["name"], "args": json.dumps(c["args"]), "id": c["id"], "index": i,
                 "type": "tool_call_chunk"}
                for i, c in enumerate(message.tool_calls)
            ],
            usage_metadata=message.usage_metadata,
            response_metadata=message.response_metadata,
            chunk_position="last",
        ))


class FakeProvider(Provider):
    name: ClassVar[str] = "fake"
    label: ClassVar[str] = "fake"
    strict_options: ClassVar[bool] = False
    default_structured_method: ClassVar[StructuredMethod] = "function_calling"
    #: a model carries its execution's place in the script (``call_offset``); cheap to build
    reuse_models: ClassVar[bool] = False

    def needs_key(self, settings: ModelSettings) -> bool:
        return False

    def structured_method(self, settings: ModelSettings) -> StructuredMethod:
        return "function_calling"

    def create(self, settings: ModelSettings) -> BaseChatModel:
        responses = settings.options.get("responses")
        return FakeChatModel(
            model_name=settings.model,
            responses=list(responses) if isinstance(responses, list) and responses else None,
            call_offset=settings.call_offset,
            temperature=settings.temperature,
            max_tokens=settings.max_tokens,
            stop=list(settings.stop) if settings.stop else None,
        )


register_provider(FakeProvider())
