"""The llm node end to end through ``WorkflowRuntime``, for each of OpenAI, Anthropic and
Gemini: the real SDK (through LangChain) against the provider's local wire server from
``tests/fakes``, which records every request.

Covered per provider: a plain prompt with its parameters, token streaming, parallel tool
calls (a registry tool, an ``ai_tool`` tool node and an http node), a tool error fed back,
structured output (valid, repaired, invalid twice), 429 and 500 retried by the node's
policy, 401 failing fast, the node timeout, usage per node and per run, tool calls that
need approval (approved, rejected, nothing repeated on resume), a subworkflow as a tool,
and the API key never reaching events, outputs or checkpoints (SQLite and, with
GRAPHWRIGHT_TEST_POSTGRES_URL, Postgres).
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fakes import (
    OpenAIServer,
    Usage,
    hang,
    rate_limited,
    server_error,
    structured,
    text,
    tool_calls,
    unauthorized,
)
from fixtures_llm import (
    API_KEY,
    KEY_SECRET,
    PROVIDERS,
    Case,
    EchoServer,
    dumped,
    make_runtime,
    of_type,
    provider_case,
    serve_echo,
)
from helpers.tools import Calls

from workflow_compiler.errors import InvalidResponseError
from workflow_compiler.llm.streaming import TOKEN_INTERVAL
from workflow_compiler.runtime.checkpointers import open_checkpointer

CATEGORY = {"type": "object", "required": ["category"], "additionalProperties": False,
            "properties": {"category": {"enum": ["refund", "other"]}}}


@pytest.fixture(params=PROVIDERS)
def case(request: pytest.FixtureRequest) -> Iterator[Case]:
    with provider_case(str(request.param)) as provider:
        yield provider


@pytest.fixture
def echo_server() -> Iterator[EchoServer]:
    with serve_echo() as server:
        yield server


def _request_text(case: Case, index: int) -> str:
    return dumped(case.generation_requests()[index].json)


# -- chat, streaming, usage -----------------------------------------------------------------


async def test_plain_prompt_sends_parameters_and_reports_usage(case: Case) -> None:
    case.server.script(text("Sunny and warm.", usage=Usage(11, 4)))
    spec = case.spec(case.llm(system_prompt="You are terse.", temperature=0.2, max_tokens=64,
                              stop=["\n\n"], prompt="Weather in {{ inputs.city }}?"))

    result, events = await case.run(spec, {"city": "Paris"})

    assert result.status == "completed", result.error
    out = result.outputs["out"]  # type: ignore[index]
    assert out["text"] == "Sunny and warm."
    assert out["messages"] == [
        {"role": "system", "content": "You are terse."},
        {"role": "user", "content": "Weather in Paris?"},
        {"role": "assistant", "content": "Sunny and warm."}]
    usage = {"input_tokens": 11, "output_tokens": 4, "total_tokens": 15, "model_calls": 1}
    [completed] = of_type(events, "node.completed", "agent")
    assert completed.data["usage"] == usage
    assert of_type(events, "run.completed")[0].data["usage"] == usage
    assert (await case.runtime.get_run(result.run_id)).usage == usage
    [sent] = case.generation_requests()
    body = dumped(sent.json)
    assert "You are terse." in body
    assert "Weather in Paris?" in body
    assert "0.2" in body
    assert "64" in body


async def test_tokens_stream_as_deltas_without_duplicating_the_reply(case: Case) -> None:
    reply = "The quick brown fox jumps over the lazy dog."
    case.server.script(text(reply))
    case.server.chunk_delay = 2 * TOKEN_INTERVAL  # a slow model: every delta goes out alone

    _result, events = await case.run(case.spec(case.llm()))

    tokens = [e.data["text"] for e in of_type(events, "llm.token", "agent")]
    assert len(tokens) >= 5
    assert "".join(tokens) == reply
    assert reply not in tokens  # deltas only: the final text comes once, in node.completed
    completed = of_type(events, "node.completed", "agent")[0]
    assert completed.data["output"]["text"] == reply
    assert max(e.seq for e in of_type(events, "llm.token")) < completed.seq


async def test_fast_deltas_are_coalesced_into_few_token_events(case: Case) -> None:
    reply = " ".join(f"word{k}" for k in range(40))
    case.server.script(text(reply))  # all deltas at once: a local server, no delay

    _result, events = await case.run(case.spec(case.llm()))

    tokens = [e.data["text"] for e in of_type(events, "llm.token", "agent")]
    assert tokens[0] == "word0"  # the first delta goes out at once
    assert 2 <= len(tokens) < 10  # the rest gathered, not one event per delta
    assert "".join(tokens) == reply
    [completed] = of_type(events, "node.completed", "agent")
    assert completed.data["output"]["text"] == reply
    assert max(e.seq for e in of_type(events, "llm.token")) < completed.seq


async def test_usage_totals_add_up_over_nodes_and_calls(case: Case) -> None:
    case.server.script(tool_calls(("weather_now", {"city": "Paris"}), usage=Usage(10, 2)),
                       text("Sunny.", usage=Usage(20, 3)), text("Second.", usage=Usage(5, 1)))
    spec = case.spec(case.llm(tools=["weather.now"]), case.llm("again", prompt="And now?"),
                     edges=[{"from": "agent", "to": "again"}])

    result, events = await case.run(spec)

    assert result.status == "completed", result.error
    assert of_type(events, "node.completed", "agent")[0].data["usage"] == {
        "input_tokens": 30, "output_tokens": 5, "total_tokens": 35, "model_calls": 2}
    assert of_type(events, "run.completed")[0].data["usage"] == {
        "input_tokens": 35, "output_tokens": 6, "total_tokens": 41, "model_calls": 3}


# -- tools ------------------------------------------------------------------------------------


async def test_parallel_tool_calls_reach_a_registry_tool_a_tool_node_and_an_http_node(
        case: Case, echo_server: EchoServer) -> None:
    case.server.script(
        tool_calls(("weather_now", {"city": "Paris"}), ("lookup", {"city": "Rome"}),
                   ("fetch", {"path": "items/42", "query": {"q": "red"},
                              "json": {"qty": 2}})),
        text("Paris sunny, Rome sunny, item 42 found."))
    spec = case.spec(
        case.llm(tools=["weather.now"]),
        {"id": "lookup", "type": "tool", "tool": "weather.now",
         "description": "Weather anywhere"},
        {"id": "fetch", "type": "http", "method": "POST", "url": f"{echo_server.url}/api/",
         "headers": {"Authorization": "Bearer {{ secrets.http_token }}"}},
        edges=[{"from": "lookup", "to": "agent", "kind": "ai_tool"},
               {"from": "fetch", "to": "agent", "kind": "ai_tool"}])

    result, events = await case.run(spec)

    assert result.status == "completed", result.error
    first, second = case.generation_requests()
    offered = dumped(first.json)
    for name in ("weather_now", "lookup", "fetch", "Weather anywhere", "path", "query"):
        assert name in offered
    done = {e.node_id: e.data for e in of_type(events, "node.completed")}
    assert done["agent.tools.weather_now[1]"]["output"] == {"city": "Paris", "sky": "sunny"}
    assert done["agent.tools.lookup[1]"]["output"] == {"city": "Rome", "sky": "sunny"}
    assert done["agent.tools.fetch[1]"]["output"]["body"] == {
        "method": "POST", "path": "/api/items/42", "query": {"q": "red"}, "json": {"qty": 2}}
    assert echo_server.requests[0]["auth"] == "Bearer tok-SECRET-http-42"
    assert "tok-SECRET-http-42" not in dumped([e.model_dump() for e in events])
    results = _request_text(case, 1)
    assert "Rome" in results
    assert "/api/items/42" in results
    messages = result.outputs["out"]["messages"]  # type: ignore[index]
    assert [c["name"] for c in messages[1]["tool_calls"]] == ["weather_now", "lookup", "fetch"]
    assert [m["role"] for m in messages] == ["user", "assistant", "tool", "tool", "tool",
                                             "assistant"]
    assert of_type(events, "node.started", "lookup") == []  # tool-only: never a root
    assert second is not None


async def test_tool_calls_of_one_reply_run_concurrently(case: Case) -> None:
    case.server.script(
        tool_calls(("test_rendezvous", {"group": case.name, "parties": 2}),
                   ("test_rendezvous", {"group": case.name, "parties": 2})),
        text("both met"))
    result, events = await case.run(case.spec(case.llm(tools=["test.rendezvous"])))
    assert result.status == "completed", result.error
    assert len(of_type(events, "node.completed")) == 3  # two tool calls and the node
    assert of_type(events, "node.failed") == []


async def test_a_failing_tool_is_reported_to_the_model_not_the_run(case: Case) -> None:
    case.server.script(tool_calls(("weather_now", {"city": "Atlantis"})),
                       text("I could not find Atlantis."))

    result, events = await case.run(case.spec(case.llm(tools=["weather.now"])))

    assert result.status == "completed", result.error
    [failed] = of_type(events, "node.failed")
    assert failed.node_id == "agent.tools.weather_now[1]"
    assert failed.data["handled"] is True
    assert failed.data["tool_call"]["args"] == {"city": "Atlantis"}
    assert "no weather station in Atlantis" in _request_text(case, 1)
    assert result.outputs["out"]["text"] == "I could not find Atlantis."  # type: ignore[index]


# -- structured output ------------------------------------------------------------------------


async def test_structured_output(case: Case) -> None:
    case.server.script(structured({"category": "refund"}, usage=Usage(9, 3)))
    spec = case.spec(case.llm(output_schema=CATEGORY, prompt="I want my money back"),
                     outputs={"category": "{{ nodes.agent.category }}"})

    result, events = await case.run(spec)

    assert result.status == "completed", result.error
    assert result.outputs == {"category": "refund"}
    assert of_type(events, "node.completed", "agent")[0].data["usage"]["output_tokens"] == 3
    assert of_type(events, "llm.token") == []  # JSON is not prose: nothing streamed
    [sent] = case.generation_requests()
    native = {"openai": "response_format", "anthropic": "output_config",
              "gemini": "responseJsonSchema"}[case.name]
    assert native in sent.json or native in sent.json.get("generationConfig", {})


async def test_invalid_structured_output_is_repaired_once(case: Case) -> None:
    case.server.script(structured({"category": "maybe"}), structured({"category": "other"}))

    result, events = await case.run(case.spec(case.llm(output_schema=CATEGORY)))

    assert result.status == "completed", result.error
    assert result.outputs == {"out": {"category": "other"}}
    repair = _request_text(case, 1)
    assert "does not match the required JSON Schema" in repair
    assert "maybe" in repair
    assert of_type(events, "node.completed", "agent")[0].data["usage"]["model_calls"] == 2


async def test_structured_output_invalid_twice_fails_the_node(case: Case) -> None:
    case.server.script(structured({"category": "maybe"}), structured({"kind": "refund"}))

    result, events = await case.run(case.spec(case.llm(output_schema=CATEGORY)))

    assert result.status == "failed"
    assert result.error is not None
    assert result.error["code"] == "invalid_model_output"
    assert len(case.generation_requests()) == 2  # one repair, no retry of the node
    assert of_type(events, "node.retrying") == []


# -- errors and policies ----------------------------------------------------------------------


async def test_rate_limit_is_retried_by_the_node_policy(case: Case) -> None:
    case.server.script(rate_limited(retry_after=0), text("after the limit"))

    result, events = await case.run(case.spec(case.llm()))

    assert result.status == "completed", result.error
    [retrying] = of_type(events, "node.retrying", "agent")
    assert retrying.data["error"]["code"] == "llm_rate_limited"
    assert len(case.generation_requests()) == 2  # the SDK itself did not retry


async def test_server_errors_are_retried(case: Case) -> None:
    case.server.script(server_error(500), server_error(503), text("third time lucky"))

    result, events = await case.run(case.spec(case.llm()))

    assert result.status == "completed", result.error
    assert [e.data["error"]["code"] for e in of_type(events, "node.retrying")] == [
        "llm_server_error", "llm_server_error"]
    assert result.outputs["out"]["text"] == "third time lucky"  # type: ignore[index]


async def test_authentication_failure_fails_fast_without_the_key(case: Case) -> None:
    case.server.script(unauthorized("Incorrect API key provided: " + API_KEY))

    result, events = await case.run(case.spec(case.llm()))

    assert result.status == "failed"
    error = result.error
    assert error is not None
    assert error["code"] == "llm_auth_failed"
    label = {"openai": "OpenAI", "anthropic": "Anthropic", "gemini": "Gemini"}[case.name]
    assert label in error["message"]
    assert "api_key_secret" in error["message"]
    assert len(case.generation_requests()) == 1
    assert of_type(events, "node.retrying") == []
    assert API_KEY not in dumped([e.model_dump() for e in events])


async def test_node_timeout_is_honoured(case: Case) -> None:
    case.server.script(hang(30))
    started = time.monotonic()

    result, _ = await case.run(case.spec(case.llm(timeout=0.5, retry={"max_attempts": 1})))

    # The node gave up long before the server answered (a bound, not a speed target).
    assert time.monotonic() - started < 20
    assert result.status == "failed"
    assert result.error is not None
    assert result.error["code"] in ("node_timeout", "llm_timeout")


# -- approvals --------------------------------------------------------------------------------


async def test_approved_tool_call_runs_and_nothing_is_repeated_on_resume(case: Case) -> None:
    case.server.script(
        tool_calls(("weather_now", {"city": "Paris"}), ("test_count", {"name": "free"})),
        tool_calls(("weather_now", {"city": "Oslo"})),
        text("Paris and Oslo are sunny."))
    spec = case.spec(case.llm(tools=["weather.now", "test.count"],
                              require_approval=["weather_now"], approvers=["alice"]))

    paused, first = await case.run(spec)

    assert paused.status == "paused"
    [pending] = paused.interrupts
    assert (pending.kind, pending.node_id) == ("approval", "agent")
    assert pending.payload["tool_call"]["args"] == {"city": "Paris"}
    assert "weather_now" in pending.payload["question"]
    assert of_type(first, "node.started", "agent.tools.test_count[1]") == []  # asked first
    with pytest.raises(InvalidResponseError):
        await case.runtime.resume(paused.run_id, {"by": "mallory", "decision": "approve"})

    again, second = await case.resume(paused.run_id, {"by": "alice", "decision": "approve"})
    assert again.status == "paused"
    assert again.interrupts[0].payload["tool_call"]["args"] == {"city": "Oslo"}
    done, third = await case.resume(paused.run_id, {"by": "alice", "decision": "approve"})

    assert done.status == "completed", done.error
    assert done.outputs["out"]["text"] == "Paris and Oslo are sunny."  # type: ignore[index]
    assert len(case.generation_requests()) == 3  # each model call sent exactly once
    assert case.calls.counts == {"free": 1}
    events = [*first, *second, *third]
    for tool_call in ("agent.tools.weather_now[1]", "agent.tools.test_count[1]",
                      "agent.tools.weather_now[2]"):
        assert len(of_type(events, "node.completed", tool_call)) == 1, tool_call
    assert len(of_type(events, "node.started", "agent")) == 1
    assert of_type(events, "node.completed", "agent")[0].data["usage"]["model_calls"] == 3


async def test_rejected_tool_call_is_refused_to_the_model(case: Case) -> None:
    case.server.script(tool_calls(("weather_now", {"city": "Paris"})), text("Understood."))
    spec = case.spec(case.llm(tools=["weather.now"], require_approval=["weather_now"]))

    paused, _ = await case.run(spec)
    done, events = await case.resume(paused.run_id, {"by": "bob", "decision": "reject",
                                                     "comment": "not today"})

    assert done.status == "completed", done.error
    [skipped] = of_type(events, "node.skipped", "agent.tools.weather_now[1]")
    assert skipped.data["reason"] == "approval_rejected"
    assert of_type(events, "node.started", "agent.tools.weather_now[1]") == []
    refused = _request_text(case, 1)
    assert "The user refused this call." in refused
    assert "not today" in refused
    assert len(case.generation_requests()) == 2


# -- secrets ----------------------------------------------------------------------------------


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
async def test_the_api_key_never_reaches_events_outputs_or_checkpoints(
        case: Case, backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> None:
    url = str(tmp_path / "checkpoints.sqlite") if backend == "sqlite" \
        else str(request.getfixturevalue("postgres_url"))
    case.server.script(tool_calls(("weather_now", {"city": API_KEY[:8]})),
                       text(f"echoing the key {API_KEY} back"))
    spec = case.spec(case.llm(tools=["weather.now"], require_approval=["weather_now"],
                              prompt="Is {{ inputs.q }} the key?"))
    async with open_checkpointer(url) as saver:
        case.runtime = make_runtime(Calls(), case.secrets, saver)
        paused, first = await case.run(spec, {"q": "this"})
        done, second = await case.resume(paused.run_id, {"by": "x", "decision": "approve"})
        state = await case.runtime.state(paused.run_id)

    assert done.status == "completed", done.error
    assert case.server.requests[0].header("authorization") or \
        case.server.requests[0].header("x-goog-api-key")  # the SDK did send it
    assert API_KEY not in dumped([e.model_dump() for e in [*first, *second]])
    assert API_KEY not in dumped(done.outputs)
    assert "***" in dumped(done.outputs)
    assert API_KEY not in dumped(state)
    stored = [b"".join(v if isinstance(v, bytes) else dumped(v).encode() for v in row)
              for row in _checkpoint_rows(url, paused.run_id)]
    assert any(API_KEY[:8].encode() in row for row in stored)  # the scan sees the args
    assert not [row for row in stored if API_KEY.encode() in row]


def _checkpoint_rows(url: str, run_id: str) -> list[tuple[Any, ...]]:
    """Every stored row of the run's checkpoints, as the database holds them."""
    if not url.startswith("postgresql://"):
        with sqlite3.connect(url) as db:
            return [row for table in ("checkpoints", "writes")
                    for row in db.execute(f"SELECT * FROM {table} WHERE thread_id = ?",
                                          (run_id,))]
    import psycopg

    with psycopg.connect(url) as db:
        return [row for table in ("checkpoints", "checkpoint_blobs", "checkpoint_writes")
                for row in db.execute(f"SELECT * FROM {table} WHERE thread_id = %s",
                                      (run_id,)).fetchall()]


async def test_key_from_the_environment_and_an_openai_compatible_endpoint(
        openai_server_keyed: OpenAIServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", API_KEY)
    openai_server_keyed.script(structured({"category": "other"}))
    runtime = make_runtime(Calls(), {})
    spec = {"name": "local", "nodes": [{
        "id": "agent", "type": "llm", "provider": "openai", "model": "llama3.1:8b",
        "base_url": f"{openai_server_keyed.url}/v1", "prompt": "classify", "output_schema":
        CATEGORY}], "outputs": {"c": "{{ nodes.agent.category }}"}}

    result = await runtime.start(spec)

    assert result.status == "completed", result.error
    assert result.outputs == {"c": "other"}
    sent = openai_server_keyed.requests[-1]
    assert sent.header("authorization") == f"Bearer {API_KEY}"
    assert sent.json["model"] == "llama3.1:8b"
    assert sent.json["response_format"]["type"] == "json_schema"


async def test_a_missing_key_fails_before_any_request(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ANTHROPIC_API_KEY")
    spec = {"name": "nokey", "nodes": [{"id": "a", "type": "llm", "provider": "anthropic",
                                        "model": "claude-haiku-4-5", "prompt": "hi"}]}
    result = await make_runtime(Calls(), {}).start(spec)
    assert result.status == "failed"
    assert result.error is not None
    assert result.error["code"] == "llm_auth_failed"
    assert "ANTHROPIC_API_KEY" in result.error["message"]


@pytest.fixture
def openai_server_keyed() -> Any:
    with OpenAIServer(api_key=API_KEY) as server:
        yield server
    assert not server.errors


# -- a subworkflow as a tool --------------------------------------------------------------------


async def test_a_subworkflow_node_is_a_tool_with_its_inputs_schema(case: Case) -> None:
    child = {"name": "forecast", "description": "Forecast for a city and a number of days",
             "inputs": {"type": "object", "required": ["city", "days"],
                        "properties": {"city": {"type": "string"},
                                       "days": {"type": "integer"}}},
             "nodes": [{"id": "f", "type": "transform",
                        "value": "{{ inputs.city }} for {{ inputs.days }} days: sunny"}],
             "outputs": {"text": "{{ nodes.f }}"}}
    case.server.script(tool_calls(("forecast", {"city": "Rome"})), text("Sunny."))
    spec = case.spec(case.llm(prompt="Rome?"),
                     {"id": "forecast", "type": "subworkflow", "spec": child,
                      "inputs": {"days": 3}},
                     edges=[{"from": "forecast", "to": "agent", "kind": "ai_tool"}])

    result, events = await case.run(spec)

    assert result.status == "completed", result.error
    offered = case.offered_tools()["forecast"]
    assert offered["description"] == "Forecast for a city and a number of days"
    parameters = offered["parameters"]
    assert list(parameters["properties"]) == ["city"]  # days is fixed by the node
    assert parameters["properties"]["city"]["type"].lower() == "string"  # Gemini: STRING
    assert parameters["required"] == ["city"]
    done = {e.node_id: e.data for e in of_type(events, "node.completed")}
    assert done["agent.tools.forecast[1]"]["output"] == {"text": "Rome for 3 days: sunny"}
    assert "agent.tools.forecast[1]/f" in done
    assert "Rome for 3 days: sunny" in _request_text(case, 1)  # the result went back
    assert result.outputs["out"]["text"] == "Sunny."  # type: ignore[index]


async def test_a_subworkflow_tool_takes_the_runs_files_by_id(case: Case) -> None:
    """The child's file input is a string the model fills with the id of a file the
    calling run holds; the child gets that file's descriptor. An id the run does not hold
    is an unknown_file the model is told about."""
    report = {"id": "f-1", "name": "q3.csv", "content_type": "text/csv", "size": 42,
              "sha256": "a" * 64, "path": None}
    child = {"name": "summarise", "description": "Summarise a file",
             "inputs": {"type": "object", "required": ["doc"],
                        "properties": {"doc": {"format": "file", "description": "the file"}}},
             "nodes": [{"id": "s", "type": "transform",
                        "value": "{{ inputs.doc.name }}: {{ inputs.doc.size }} bytes"}],
             "outputs": {"text": "{{ nodes.s }}"}}
    case.server.script(tool_calls(("summarise", {"doc": "f-1"}),
                                  ("summarise", {"doc": "f-404"})), text("Done."))
    spec = {**case.spec(case.llm(prompt="Summarise my file"),
                        {"id": "summarise", "type": "subworkflow", "spec": child},
                        edges=[{"from": "summarise", "to": "agent", "kind": "ai_tool"}]),
            "inputs": {"type": "object", "properties": {"report": {"format": "file"}}}}

    result, events = await case.run(spec, {"report": report})

    assert result.status == "completed", result.error
    doc = case.offered_tools()["summarise"]["parameters"]["properties"]["doc"]
    assert doc["type"].lower() == "string"
    assert doc["description"] == "the file (the id of a file this run holds: q3.csv (id f-1))"
    done = {e.node_id: e.data for e in of_type(events, "node.completed")}
    assert done["agent.tools.summarise[1]"]["output"] == {"text": "q3.csv: 42 bytes"}
    [failed] = of_type(events, "node.failed")
    assert failed.node_id == "agent.tools.summarise[2]" and failed.data["handled"] is True
    assert failed.data["error"]["code"] == "unknown_file"
    assert "no such file 'f-404'" in _request_text(case, 1)


async def test_subworkflow_tools_waiting_for_people_pause_together(
        openai_server_keyed: OpenAIServer) -> None:
    child = {"name": "ask", "inputs": {"type": "object", "required": ["what"],
                                       "properties": {"what": {"type": "string"}}},
             "nodes": [{"id": "ok", "type": "approval", "question": "Do {{ inputs.what }}?"},
                       {"id": "res", "type": "transform", "value": "did {{ inputs.what }}"}],
             "edges": [{"from": "ok", "to": "res", "port": "approved"}],
             "outputs": {"r": "{{ nodes.res | default('refused') }}"}}
    openai_server_keyed.script(tool_calls(("asker", {"what": "X"}), ("asker", {"what": "Y"})),
                               text("both done"))
    runtime = make_runtime(Calls(), {KEY_SECRET: API_KEY})
    spec = {"name": "ask", "nodes": [
        {"id": "agent", "type": "llm", "provider": "openai", "model": "gpt-4o-mini",
         "base_url": f"{openai_server_keyed.url}/v1", "prompt": "go",
         "provider_options": {"api_key_secret": KEY_SECRET}},
        {"id": "asker", "type": "subworkflow", "spec": child}],
        "edges": [{"from": "asker", "to": "agent", "kind": "ai_tool"}]}

    result = await runtime.start(spec)
    assert [i.node_id for i in result.interrupts] == ["agent.tools.asker[1]/ok",
                                                     "agent.tools.asker[2]/ok"]
    second = result.interrupts[1]
    result = await runtime.resume(result.run_id, {"by": "a", "decision": "approve"},
                                  interrupt_id=second.id)
    assert [i.node_id for i in result.interrupts] == ["agent.tools.asker[1]/ok"]
    result = await runtime.resume(result.run_id, {"by": "a", "decision": "reject"})

    assert result.status == "completed", result.error
    assert len(openai_server_keyed.requests) == 2  # the first reply was not asked for again
    results = dumped(openai_server_keyed.requests[1].json["messages"])
    assert "did Y" in results
    assert "refused" in results


async def test_a_retried_call_before_a_pause_is_not_repeated_on_resume(
        openai_server_keyed: OpenAIServer) -> None:
    openai_server_keyed.script(rate_limited(retry_after=0),
                               tool_calls(("weather_now", {"city": "Paris"})), text("Sunny."))
    runtime = make_runtime(Calls(), {KEY_SECRET: API_KEY})
    spec = {"name": "retry-pause", "nodes": [
        {"id": "agent", "type": "llm", "provider": "openai", "model": "gpt-4o-mini",
         "base_url": f"{openai_server_keyed.url}/v1", "prompt": "Paris?",
         "tools": ["weather.now"], "require_approval": ["weather_now"],
         "retry": {"max_attempts": 2, "initial_interval": 0.01},
         "provider_options": {"api_key_secret": KEY_SECRET}}]}

    paused = await runtime.start(spec)
    assert paused.status == "paused", paused.error
    done = await runtime.resume(paused.run_id, {"by": "a", "decision": "approve"})

    assert done.status == "completed", done.error
    assert len(openai_server_keyed.requests) == 3
    events = await runtime.events(done.run_id)
    assert len(of_type(events, "node.retrying")) == 1
    assert len(of_type(events, "node.completed", "agent.tools.weather_now[1]")) == 1
