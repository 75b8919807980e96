"""The llm node's parts without a provider server: the ``fake`` provider through the same
code path, static checks of llm nodes and their tools, the lowering of tool-only nodes,
error classification, argument schemas of nodes used as tools, and the model catalog."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fixtures_llm import EchoServer, make_runtime, of_type, serve_echo
from helpers.tools import Calls
from langchain_core.exceptions import ModelAPIError, ModelRateLimitError

from workflow_compiler.compiler.plan import DEFAULT_RETRY
from workflow_compiler.errors import NodeExecutionError
from workflow_compiler.llm.errors import model_error
from workflow_compiler.llm.tool_files import describe_file_parameters, file_slots, run_files
from workflow_compiler.nodes.base import ValidationContext
from workflow_compiler.providers import get_provider, provider_names
from workflow_compiler.providers.catalog import find_model, list_models
from workflow_compiler.validation import check_spec, validate_spec

SCHEMA = {"type": "object", "required": ["n"], "properties": {"n": {"type": "integer"}}}


@pytest.fixture
def echo_server() -> Iterator[EchoServer]:
    with serve_echo() as server:
        yield server


def fake(**config: Any) -> dict[str, Any]:
    return {"id": "agent", "type": "llm", "provider": "fake", "model": "m", "prompt": "hi",
            **config}


def spec(*nodes: dict[str, Any], edges: list[dict[str, Any]] | None = None,
         outputs: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"name": "parts", "nodes": list(nodes), "edges": edges or [],
            "outputs": outputs or {"out": "{{ nodes.agent }}"}}


def codes(raw: dict[str, Any], context: ValidationContext | None = None) -> list[str]:
    return [i.code for i in check_spec(raw, context=context)]


# -- the fake provider, through the real code path -------------------------------------------


async def test_fake_provider_calls_tools_and_streams_like_a_real_one() -> None:
    responses = [{"tool_calls": [{"name": "text_upper", "args": {"text": "abc"}},
                                 {"name": "weather_now", "args": {"city": "Oslo"}}]},
                 "All done here"]
    runtime = make_runtime(Calls(), {})
    events = [e async for e in runtime.stream(spec(fake(
        tools=["text.upper", "weather.now"], provider_options={"responses": responses})))]

    assert events[-1].type == "run.completed"
    output = events[-1].data["outputs"]["out"]
    assert output["text"] == "All done here"
    assert [m["role"] for m in output["messages"]] == ["user", "assistant", "tool", "tool",
                                                       "assistant"]
    assert output["messages"][2]["content"] == "ABC"
    assert "".join(e.data["text"] for e in of_type(events, "llm.token")) == "All done here"
    assert len(of_type(events, "node.completed")) == 3
    assert events[-1].data["usage"]["model_calls"] == 2


async def test_fake_provider_structured_output_example_script_and_repair() -> None:
    runtime = make_runtime(Calls(), {})
    example = await runtime.start(spec(fake(output_schema=SCHEMA)))
    assert example.outputs == {"out": {"n": 0}}
    repaired = await runtime.start(spec(fake(output_schema=SCHEMA, provider_options={
        "responses": [{"n": "seven"}, {"n": 7}]})))
    assert repaired.outputs == {"out": {"n": 7}}
    failed = await runtime.start(spec(fake(output_schema=SCHEMA, provider_options={
        "responses": ["not json", {"x": 1}]})))
    assert failed.error is not None
    assert failed.error["code"] == "invalid_model_output"
    assert "not valid JSON" in failed.error["message"] or "required" in failed.error["message"]


async def test_fake_provider_echoes_and_applies_stop_and_max_tokens() -> None:
    runtime = make_runtime(Calls(), {})
    result = await runtime.start(spec(fake(prompt="one two three. four five", stop=["."])))
    assert result.outputs["out"]["text"] == "[m] one two three"  # type: ignore[index]
    result = await runtime.start(spec(fake(prompt="a b c d e", max_tokens=3)))
    assert result.outputs["out"]["text"] == "[m] a b"  # type: ignore[index]


async def test_messages_in_and_out() -> None:
    history = [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello!"}]
    runtime = make_runtime(Calls(), {})
    result = await runtime.start(
        spec(fake(prompt=None, system_prompt="Be kind.",
                  messages="{{ inputs.history + [{'role': 'user', 'content': 'Bye'}] }}")),
        {"history": history})
    out = result.outputs["out"]  # type: ignore[index]
    assert out["messages"] == [{"role": "system", "content": "Be kind."}, *history,
                               {"role": "user", "content": "Bye"},
                               {"role": "assistant", "content": "[m] Bye"}]
    bad = await runtime.start(spec(fake(prompt=None, messages=[{"role": "robot"}])))
    assert bad.error is not None
    assert bad.error["code"] == "invalid_messages"


async def test_a_model_cannot_make_a_tool_node_render_templates(echo_server: EchoServer) -> None:
    responses = [{"tool_calls": [{"name": "fetch", "args": {
        "query": {"q": "{{ secrets.http_token }}"}, "path": "{{ secrets.http_token }}"}}]},
        "done"]
    runtime = make_runtime(Calls(), {"http_token": "tok-SECRET"})
    result = await runtime.start(spec(
        fake(provider_options={"responses": responses}),
        {"id": "fetch", "type": "http", "url": f"{echo_server.url}/x/",
         "headers": {"Authorization": "Bearer {{ secrets.http_token }}"}},
        edges=[{"from": "fetch", "to": "agent", "kind": "ai_tool"}]))
    assert result.status == "completed", result.error
    [seen] = echo_server.requests
    assert seen["query"] == {"q": "{{ secrets.http_token }}"}
    assert seen["path"] == "/x/%7B%7B%20secrets.http_token%20%7D%7D"


async def test_http_tool_paths_cannot_climb_out(echo_server: EchoServer) -> None:
    responses = [{"tool_calls": [{"name": "fetch", "args": {"path": "../admin"}}]}, "ok"]
    runtime = make_runtime(Calls(), {})
    events = [e async for e in runtime.stream(spec(
        fake(provider_options={"responses": responses}),
        {"id": "fetch", "type": "http", "url": f"{echo_server.url}/api/"},
        edges=[{"from": "fetch", "to": "agent", "kind": "ai_tool"}]))]
    [failed] = of_type(events, "node.failed")
    assert failed.data["error"]["code"] == "invalid_url"
    assert echo_server.requests == []


# -- static checks and lowering -------------------------------------------------------------


def test_tools_and_ai_tool_nodes_validate() -> None:
    context = ValidationContext(tool_names=frozenset({"weather.now", "text.upper"}))
    raw = spec(fake(tools=["weather.now"], require_approval=["weather_now", "lookup"]),
               {"id": "lookup", "type": "tool", "tool": "text.upper"},  # "text" from the model
               edges=[{"from": "lookup", "to": "agent", "kind": "ai_tool"}])
    assert codes(raw, context) == []
    validated = validate_spec(raw, context=context)
    assert validated.topology.roots == ("agent",)
    as_main = spec(fake(), {"id": "lookup", "type": "tool", "tool": "text.upper"},
                   edges=[{"from": "agent", "to": "lookup"}])
    assert "invalid_tool_args" in codes(as_main)  # run by control flow: args are complete


def test_tool_problems_are_reported() -> None:
    context = ValidationContext(tool_names=frozenset({"weather.now"}))
    assert codes(spec(fake(tools=["nope"])), context) == ["unknown_tool"]
    assert codes(spec(fake(tools=["weather.now"], require_approval=["other"])),
                 context) == ["unknown_tool"]
    clash = spec(fake(tools=["weather.now"]),
                 {"id": "weather_now", "type": "http", "url": "https://example.com/"},
                 edges=[{"from": "weather_now", "to": "agent", "kind": "ai_tool"}])
    assert codes(clash, context) == ["duplicate_tool_name"]
    assert codes(spec({**fake(), "provider": "openai", "provider_options": {
        "tempurature": 1}})) == ["unknown_provider_option"]
    assert codes(spec(fake(provider_options={"api_key_secret": "{{ secrets.k }}"}))) == [
        "invalid_value"]


def test_inline_subworkflow_tool_may_leave_inputs_to_the_model() -> None:
    child = {"name": "c", "inputs": {"type": "object", "required": ["city"],
                                     "properties": {"city": {"type": "string"}}},
             "nodes": [{"id": "x", "type": "transform", "value": "{{ inputs.city }}"}]}
    raw = spec(fake(), {"id": "sub", "type": "subworkflow", "spec": child},
               edges=[{"from": "sub", "to": "agent", "kind": "ai_tool"}])
    assert codes(raw) == []


def test_llm_nodes_retry_by_default_and_name_their_key_secret() -> None:
    from workflow_compiler.compiler.plan import build_plan

    assert DEFAULT_RETRY["llm"].max_attempts == 3
    assert DEFAULT_RETRY["llm"].initial_interval == 1.0
    raw = spec({**fake(), "provider_options": {"api_key_secret": "openai_key"}},
               {"id": "lookup", "type": "http", "url": "https://x.test/{{ secrets.t }}"},
               edges=[{"from": "lookup", "to": "agent", "kind": "ai_tool"}])
    validated = validate_spec(raw)
    plan = build_plan(validated.spec, validated.topology)
    agent = plan.nodes["agent"]
    assert agent.retry is not None
    assert agent.retry.max_attempts == 3
    assert agent.secret_names == {"openai_key", "t"}
    assert [n.id for n in agent.ai_tools] == ["lookup"]
    assert "lookup" not in plan.nodes


async def test_a_tool_only_node_inside_a_map_body_is_not_run_by_control_flow() -> None:
    body = {"nodes": [fake(prompt="{{ item }}", tools=[]),
                      {"id": "probe", "type": "tool", "tool": "test.probe"}],
            "edges": [{"from": "probe", "to": "agent", "kind": "ai_tool"}],
            "output": "{{ nodes.agent.text }}"}
    runtime = make_runtime(Calls(), {})
    result = await runtime.start({"name": "m", "nodes": [
        {"id": "each", "type": "map", "items": "{{ ['a', 'b'] }}", "body": body}],
        "outputs": {"r": "{{ nodes.each }}"}})
    assert result.outputs == {"r": ["[m] a", "[m] b"]}


# -- errors, providers, catalog ---------------------------------------------------------------


class _StatusError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status_code = status


@pytest.mark.parametrize(("exc", "code", "retryable"), [
    (_StatusError(429, "slow down"), "llm_rate_limited", True),
    (_StatusError(502, "bad gateway"), "llm_server_error", True),
    (_StatusError(401, "Incorrect API key provided: sk-abc...wxyz"), "llm_auth_failed", False),
    (_StatusError(403, "forbidden"), "llm_auth_failed", False),
    (_StatusError(400, "API key not valid. reason: API_KEY_INVALID"), "llm_auth_failed", False),
    (_StatusError(400, "bad request"), "llm_invalid_request", False),
    (_StatusError(404, "no such model"), "llm_model_not_found", False),
    (httpx.ReadTimeout("timed out"), "llm_timeout", True),
    (httpx.ConnectError("refused"), "llm_connection_error", True),
    (ModelRateLimitError("limited"), "llm_rate_limited", True),
    (ModelAPIError("boom"), "llm_server_error", True),
    (RuntimeError("odd"), "llm_error", False),
])
def test_errors_are_classified(exc: Exception, code: str, retryable: bool) -> None:
    provider = get_provider("openai")
    assert provider is not None
    error = model_error(exc, provider, secrets=("sk-abc",))
    assert isinstance(error, NodeExecutionError)
    assert (error.code, error.retryable) == (code, retryable)
    assert "sk-abc" not in error.message


def test_providers_and_catalog() -> None:
    assert {"openai", "anthropic", "gemini", "fake"} <= provider_names()
    info = find_model("openai", "gpt-4o-mini-2024-07-18")
    assert info is not None
    assert info.name == "gpt-4o-mini"
    assert info.tools
    assert find_model("anthropic", "claude-opus-4-1-20250805").name == "claude-opus-4-1"  # type: ignore[union-attr]
    assert find_model("openai", "llama3.1:8b") is None
    listed = list_models("gemini")
    assert listed
    assert all(m["provider"] == "gemini" and m["context_window"] > 0 for m in listed)
    anthropic = get_provider("anthropic")
    assert anthropic is not None
    from workflow_compiler.providers.base import ModelSettings

    assert anthropic.structured_method(ModelSettings(model="claude-haiku-4-5")) == "json_schema"
    assert anthropic.structured_method(ModelSettings(model="claude-3-5-haiku-latest")) \
        == "function_calling"


def test_catalog_matches_snapshots_not_other_versions_and_lists_no_retired_model() -> None:
    from workflow_compiler.providers.base import ModelSettings

    assert find_model("openai", "gpt-4o-2024-08-06").name == "gpt-4o"  # type: ignore[union-attr]
    assert find_model("anthropic", "claude-opus-4-6").name == "claude-opus-4-6"  # type: ignore[union-attr]
    # another version of a family is not a snapshot of it
    assert find_model("anthropic", "claude-opus-4-7") is None
    assert find_model("anthropic", "claude-sonnet-4-7-20270101") is None
    names = {m["name"] for m in list_models()}
    assert not names & {"claude-3-5-haiku", "claude-3-7-sonnet", "claude-opus-4",
                        "claude-sonnet-4", "o4-mini", "gpt-4.1-nano", "gemini-2.0-flash",
                        "gemini-2.5-flash"}
    assert {m["name"]: m["shutdown"] for m in list_models("anthropic")}[
        "claude-sonnet-4-5"] == "2026-11-30"
    anthropic = get_provider("anthropic")
    assert anthropic is not None
    # native JSON Schema output where Anthropic made it generally available; else a tool
    assert anthropic.structured_method(ModelSettings(model="claude-sonnet-4-6")) == "json_schema"
    assert anthropic.structured_method(ModelSettings(model="claude-opus-4-1-20250805")) \
        == "function_calling"
    assert all(m["context_window"] >= (m["max_output_tokens"] or 0) for m in list_models())


def test_file_inputs_of_a_subworkflow_tool_are_ids_of_the_runs_files() -> None:
    schema = {"type": "object", "properties": {
        "doc": {"format": "file"},
        "more": {"type": "array", "items": {"format": "file", "description": "extra"}},
        "meta": {"type": "object", "properties": {"cover": {"type": "string",
                                                            "format": "file"}}}}}
    held = {"id": "f-1", "name": "a.txt", "content_type": "text/plain", "size": 1,
            "sha256": "b" * 64, "path": None}
    # descriptors anywhere in the run's inputs, once each; look-alikes with other keys not
    files = run_files({"x": [held, {"deep": held}], "y": {**held, "extra": 1}})
    assert files == [held]
    described = describe_file_parameters(schema, file_slots(schema), files)
    note = "the id of a file this run holds: a.txt (id f-1)"
    assert described["properties"]["doc"] == {"type": "string", "description": note}
    assert described["properties"]["more"]["items"] == {"type": "string",
                                                        "description": f"extra ({note})"}
    assert described["properties"]["meta"]["properties"]["cover"] == {
        "type": "string", "description": note}
    assert schema["properties"]["doc"] == {"format": "file"}  # the child's own is untouched
