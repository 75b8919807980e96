"""OpenAI's Responses API, opt-in for the ``openai`` provider
(``provider_options.use_responses_api: true``): the real openai SDK through
``ChatOpenAI(use_responses_api=True)`` against ``POST /v1/responses`` of the local OpenAI
wire server, first directly, then through the llm node (streaming tokens, parallel tool
calls, structured output, memory replay, usage)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fakes import OpenAIServer, Usage, structured, text, tool_calls
from fixtures_llm import KEY_SECRET, Case, of_type, provider_case
from langchain_core.exceptions import ModelInvalidRequestError
from langchain_core.messages import AIMessage, AIMessageChunk, HumanMessage, ToolMessage
from langchain_core.tools import tool

from workflow_compiler.llm.streaming import TOKEN_INTERVAL


@tool
def get_weather(city: str) -> str:
    """Current weather for a city."""
    return f"sunny in {city}"


def bodies(server: OpenAIServer) -> list[dict[str, Any]]:
    return [r.json for r in server.requests if r.path.endswith("/responses")]


# -- the SDK against the fake ---------------------------------------------------------------


async def test_streamed_text_arrives_in_deltas_with_usage(
        openai_server: OpenAIServer, openai_chat: Callable[..., Any]) -> None:
    openai_server.script(text("The quick brown fox jumps.", usage=Usage(9, 5)))
    model = openai_chat(use_responses_api=True)

    chunks: list[AIMessageChunk] = [c async for c in model.astream([HumanMessage("Go!")])]

    texts = [c.text for c in chunks if c.text]
    assert len(texts) >= 4
    merged = chunks[0] + chunks[1:]
    assert merged.text == "The quick brown fox jumps."
    assert merged.usage_metadata is not None
    assert (merged.usage_metadata["input_tokens"], merged.usage_metadata["output_tokens"]) \
        == (9, 5)
    [body] = bodies(openai_server)
    assert body["stream"] is True
    assert body["input"][-1]["content"] == "Go!"


async def test_parallel_function_calls_and_their_outputs_round_trip(
        openai_server: OpenAIServer, openai_chat: Callable[..., Any]) -> None:
    openai_server.script(
        tool_calls(("get_weather", {"city": "Paris"}), ("get_weather", {"city": "Rome"})),
        text("Sunny in both."))
    model = openai_chat(use_responses_api=True).bind_tools([get_weather])
    history: list[Any] = [HumanMessage("Weather in Paris and Rome?")]

    first = await model.ainvoke(history)
    assert [c["args"] for c in first.tool_calls] == [{"city": "Paris"}, {"city": "Rome"}]
    history += [first, *(ToolMessage(f"sunny in {c['args']['city']}", tool_call_id=c["id"],
                                     name=c["name"]) for c in first.tool_calls)]
    final = await model.ainvoke(history)

    assert final.text == "Sunny in both."
    sent = bodies(openai_server)
    assert [t["name"] for t in sent[0]["tools"]] == ["get_weather"]
    calls = [i for i in sent[1]["input"] if i.get("type") == "function_call"]
    outputs = [i for i in sent[1]["input"] if i.get("type") == "function_call_output"]
    assert [c["call_id"] for c in calls] == [o["call_id"] for o in outputs] \
        == [c["id"] for c in first.tool_calls]


async def test_a_function_call_without_its_output_is_refused_like_the_real_api(
        openai_server: OpenAIServer, openai_chat: Callable[..., Any]) -> None:
    history = [HumanMessage("Weather?"),
               AIMessage("", tool_calls=[{"name": "get_weather", "args": {"city": "Oslo"},
                                          "id": "call_1", "type": "tool_call"}]),
               HumanMessage("Never mind.")]

    with pytest.raises(ModelInvalidRequestError, match="No tool output found"):
        await openai_chat(use_responses_api=True).bind_tools([get_weather]).ainvoke(history)
    assert openai_server.model.served == []


# -- the llm node ---------------------------------------------------------------------------


@pytest.fixture
def case() -> Iterator[Case]:
    with provider_case("openai") as provider:
        yield provider


def responses_llm(case: Case, **config: Any) -> dict[str, Any]:
    return case.llm(provider_options={"api_key_secret": KEY_SECRET, "use_responses_api": True},
                    **config)


async def test_node_streams_tokens_and_calls_tools_over_the_responses_api(case: Case) -> None:
    case.server.script(
        tool_calls(("weather_now", {"city": "Paris"}), ("weather_now", {"city": "Oslo"}),
                   usage=Usage(10, 3)),
        text("Sunny in Paris and in Oslo.", usage=Usage(20, 6)))
    case.server.chunk_delay = 2 * TOKEN_INTERVAL  # every text delta its own token event

    result, events = await case.run(case.spec(responses_llm(case, tools=["weather.now"])))

    assert result.status == "completed", result.error
    output = result.outputs["out"]  # type: ignore[index]
    assert output["text"] == "Sunny in Paris and in Oslo."
    assert [m["role"] for m in output["messages"]] == ["user", "assistant", "tool", "tool",
                                                       "assistant"]
    tokens = [e.data["text"] for e in of_type(events, "llm.token", "agent")]
    assert len(tokens) >= 4 and "".join(tokens) == "Sunny in Paris and in Oslo."
    assert len(of_type(events, "node.completed")) == 3  # two tool calls and the node
    assert of_type(events, "node.completed", "agent")[0].data["usage"] == {
        "input_tokens": 30, "output_tokens": 9, "total_tokens": 39, "model_calls": 2}
    assert all(r.path == "/v1/responses" for r in case.server.requests)


async def test_node_structured_output_over_the_responses_api(case: Case) -> None:
    schema = {"type": "object", "required": ["category"], "additionalProperties": False,
              "properties": {"category": {"enum": ["refund", "other"]}}}
    case.server.script(structured({"category": "refund"}))

    result, _ = await case.run(case.spec(responses_llm(case, output_schema=schema)))

    assert result.status == "completed", result.error
    assert result.outputs == {"out": {"category": "refund"}}
    [body] = bodies(case.server)  # type: ignore[arg-type]
    assert body["text"]["format"]["type"] == "json_schema"
    assert body["text"]["format"]["schema"]["properties"] == schema["properties"]


async def test_node_memory_is_replayed_over_the_responses_api(case: Case) -> None:
    spec = case.spec(responses_llm(case, prompt="{{ inputs.message }}", tools=["weather.now"],
                                   memory={"key": "ada", "window": 20}))
    case.server.script(tool_calls(("weather_now", {"city": "Paris"})), text("Sunny."))

    for message in ("Weather in Paris?", "Thanks!"):
        result, _ = await case.run(spec, {"message": message})
        assert result.status == "completed", result.error

    replay = bodies(case.server)[-1]["input"]  # type: ignore[arg-type]
    kinds = [i.get("role") or i.get("type") for i in replay]
    assert kinds[-1] == "user"
    assert kinds.count("function_call") == kinds.count("function_call_output") == 1


async def test_stop_with_the_responses_api_is_a_clear_configuration_error(case: Case) -> None:
    result, _ = await case.run(case.spec(responses_llm(case, stop=["END"])))

    assert result.status == "failed"
    assert result.error is not None
    assert result.error["code"] == "llm_invalid_config"
    assert "stop" in result.error["message"]
    assert case.server.requests == []
