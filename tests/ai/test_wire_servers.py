"""The fake provider servers speak each provider's wire protocol well enough for the REAL
SDKs, driven through LangChain: chat, streaming, parallel tool calls, tool results,
structured output, usage, and the errors our AI node must classify.

Each test runs against OpenAI (Chat Completions), Anthropic (Messages) and Gemini
(generateContent) unless it is about one provider's specifics.
"""

from __future__ import annotations

import importlib
import json
import os
import socket
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anthropic
import httpx
import openai
import pytest
from fakes import (
    AnthropicServer,
    FakeProviderServer,
    GeminiServer,
    OpenAIServer,
    RecordedRequest,
    Usage,
    hang,
    network_guard,
    overloaded,
    rate_limited,
    server_error,
    structured,
    text,
    tool_calls,
    unauthorized,
)
from fakes.network_guard import RealNetworkAccessError
from google.genai import errors as genai_errors
from langchain_core.exceptions import (
    ModelAPIError,
    ModelAuthenticationError,
    ModelError,
    ModelInvalidRequestError,
    ModelRateLimitError,
    ModelTimeoutError,
)
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import (
    AIMessage,
    AIMessageChunk,
    BaseMessage,
    HumanMessage,
    SystemMessage,
    ToolMessage,
)
from langchain_core.tools import tool
from langchain_google_genai.chat_models import (
    GoogleAPIError,
    GoogleAuthenticationError,
    GoogleInvalidRequestError,
    GoogleRateLimitError,
)

PROVIDERS = ["openai", "anthropic", "gemini"]


@tool
def get_weather(city: str) -> str:
    """Current weather for a city."""
    return f"sunny in {city}"


@tool
def get_time(timezone: str) -> str:
    """Current time in an IANA timezone."""
    return "12:00"


FORECAST_SCHEMA: dict[str, Any] = {
    "title": "Forecast",
    "description": "A weather forecast.",
    "type": "object",
    "properties": {
        "city": {"type": "string"},
        "temperature_c": {"type": "integer"},
    },
    "required": ["city", "temperature_c"],
    "additionalProperties": False,
}
FORECAST = {"city": "Paris", "temperature_c": 21}


# -- what each provider sends on the wire --------------------------------------------


def _openai_text(content: Any) -> str:
    if isinstance(content, list):
        return "".join(p.get("text", "") for p in content)
    return str(content)


def _gemini_text(content: dict[str, Any]) -> str:
    return "".join(p.get("text", "") for p in content.get("parts", []))


@dataclass
class Case:
    """One provider: its server, a model factory and how to read its requests."""

    name: str
    server: FakeProviderServer
    make: Callable[..., BaseChatModel]
    rate_limit_error: type[BaseException]
    api_error: type[BaseException]
    auth_error: type[BaseException]

    def generation_requests(self) -> list[RecordedRequest]:
        suffix = {"openai": "/chat/completions", "anthropic": "/v1/messages"}.get(self.name)
        return [r for r in self.server.requests
                if (r.path.endswith(suffix) if suffix else "Content" in r.path)]

    def params(self, body: dict[str, Any]) -> dict[str, Any]:
        """(system prompt, last user text, temperature, max tokens, stop) as sent."""
        if self.name == "openai":
            messages = body["messages"]
            return {
                "system": next(_openai_text(m["content"]) for m in messages
                               if m["role"] in ("system", "developer")),
                "user": _openai_text(messages[-1]["content"]),
                "temperature": body.get("temperature"),
                "max_tokens": body.get("max_completion_tokens", body.get("max_tokens")),
                "stop": body.get("stop"),
            }
        if self.name == "anthropic":
            system = body.get("system")
            return {
                "system": system if isinstance(system, str) else _openai_text(system),
                "user": _openai_text(body["messages"][-1]["content"]),
                "temperature": body.get("temperature"),
                "max_tokens": body.get("max_tokens"),
                "stop": body.get("stop_sequences"),
            }
        config = body.get("generationConfig", {})
        return {
            "system": _gemini_text(body["systemInstruction"]),
            "user": _gemini_text(body["contents"][-1]),
            "temperature": config.get("temperature"),
            "max_tokens": config.get("maxOutputTokens"),
            "stop": config.get("stopSequences"),
        }

    def tool_names(self, body: dict[str, Any]) -> set[str]:
        if self.name == "openai":
            return {t["function"]["name"] for t in body["tools"]}
        if self.name == "anthropic":
            return {t["name"] for t in body["tools"]}
        return {d["name"] for t in body["tools"] for d in t["functionDeclarations"]}


@pytest.fixture(params=PROVIDERS)
def case(request: pytest.FixtureRequest) -> Case:
    name = str(request.param)
    errors: dict[str, tuple[type[BaseException], ...]] = {
        "openai": (openai.RateLimitError, openai.InternalServerError,
                   openai.AuthenticationError),
        "anthropic": (anthropic.RateLimitError, anthropic.InternalServerError,
                      anthropic.AuthenticationError),
        "gemini": (GoogleRateLimitError, GoogleAPIError, GoogleAuthenticationError),
    }
    rate, api, auth = errors[name]
    return Case(name, request.getfixturevalue(f"{name}_server"),
                request.getfixturevalue(f"{name}_chat"), rate, api, auth)


async def _collect(model: Any, messages: Any) -> tuple[list[AIMessageChunk], AIMessageChunk]:
    chunks: list[AIMessageChunk] = [c async for c in model.astream(messages)]
    merged = chunks[0]
    for chunk in chunks[1:]:
        merged = merged + chunk
    return chunks, merged


# -- chat ---------------------------------------------------------------------------


async def test_plain_chat_sends_params_and_reports_usage(case: Case) -> None:
    case.server.script(text("Paris is the capital of France.", usage=Usage(11, 7)))
    model = case.make(temperature=0.2, max_tokens=50)

    reply = await model.ainvoke(
        [SystemMessage("Answer in one sentence."), HumanMessage("Capital of France?")],
        stop=["\n\n"])

    assert isinstance(reply, AIMessage)
    assert reply.text == "Paris is the capital of France."
    assert reply.usage_metadata is not None
    assert reply.usage_metadata["input_tokens"] == 11
    assert reply.usage_metadata["output_tokens"] == 7
    assert reply.usage_metadata["total_tokens"] == 18
    [sent] = case.generation_requests()
    assert case.params(sent.json) == {
        "system": "Answer in one sentence.", "user": "Capital of France?",
        "temperature": 0.2, "max_tokens": 50, "stop": ["\n\n"]}


async def test_empty_script_echoes_the_last_user_message(case: Case) -> None:
    reply = await case.make().ainvoke("ping from the test")
    assert reply.text == "echo: ping from the test"
    assert reply.usage_metadata is not None
    assert reply.usage_metadata["input_tokens"] > 0


def test_sync_invoke_and_stream_work_against_the_threaded_server(case: Case) -> None:
    case.server.script(text("synchronous hello"), text("synchronous stream of words"))
    model = case.make()
    assert model.invoke("hi").text == "synchronous hello"
    pieces = [c.text for c in model.stream("hi") if c.text]
    assert len(pieces) > 1
    assert "".join(pieces) == "synchronous stream of words"


async def test_streaming_yields_several_chunks_that_concatenate(case: Case) -> None:
    script = "The quick brown fox jumps over the lazy dog."
    case.server.script(text(script, usage=Usage(9, 10)))

    chunks, merged = await _collect(case.make(), "Tell me a pangram")

    pieces = [c.text for c in chunks if c.text]
    assert len(pieces) >= 5
    assert "".join(pieces) == script
    assert merged.usage_metadata is not None
    assert (merged.usage_metadata["input_tokens"], merged.usage_metadata["output_tokens"]) \
        == (9, 10)
    [sent] = case.generation_requests()
    if case.name == "gemini":
        assert sent.path.endswith(":streamGenerateContent")
        assert sent.query["alt"] == ["sse"]
    else:
        assert sent.json["stream"] is True
    if case.name == "openai":
        assert sent.json["stream_options"] == {"include_usage": True}


# -- tools --------------------------------------------------------------------------


@pytest.mark.parametrize("stream", [False, True], ids=["invoke", "stream"])
async def test_parallel_tool_calls_are_parsed(case: Case, stream: bool) -> None:
    case.server.script(tool_calls(("get_weather", {"city": "Paris"}),
                                  ("get_time", {"timezone": "Europe/Paris"}),
                                  usage=Usage(30, 12)))
    model = case.make().bind_tools([get_weather, get_time])

    reply: AIMessage
    if stream:
        chunks, reply = await _collect(model, "Weather and time in Paris?")
        if case.name != "gemini":  # Gemini sends whole calls; the others stream fragments
            assert sum(len(c.tool_call_chunks) for c in chunks) > 2
    else:
        reply = await model.ainvoke("Weather and time in Paris?")

    assert [(c["name"], c["args"]) for c in reply.tool_calls] == [
        ("get_weather", {"city": "Paris"}), ("get_time", {"timezone": "Europe/Paris"})]
    ids = [c["id"] for c in reply.tool_calls]
    assert all(ids)
    assert len(set(ids)) == 2
    assert reply.usage_metadata is not None
    assert reply.usage_metadata["output_tokens"] == 12
    [sent] = case.generation_requests()
    assert case.tool_names(sent.json) == {"get_weather", "get_time"}


async def test_tool_results_are_sent_back_in_the_provider_format(case: Case) -> None:
    case.server.script(
        tool_calls(("get_weather", {"city": "Paris"}), ("get_weather", {"city": "Rome"})),
        text("Sunny in Paris, rainy in Rome."))
    model = case.make().bind_tools([get_weather])
    history: list[BaseMessage] = [HumanMessage("Weather in Paris and Rome?")]

    first = await model.ainvoke(history)
    results = {"Paris": "sunny, 24C", "Rome": "rainy, 17C"}
    history.append(first)
    history.extend(ToolMessage(results[c["args"]["city"]], tool_call_id=c["id"] or "",
                               name=c["name"]) for c in first.tool_calls)
    final = await model.ainvoke(history)

    assert final.text == "Sunny in Paris, rainy in Rome."
    body = case.generation_requests()[1].json
    ids = [c["id"] for c in first.tool_calls]
    if case.name == "openai":
        assistant = next(m for m in body["messages"] if m["role"] == "assistant")
        assert [c["id"] for c in assistant["tool_calls"]] == ids
        sent = [(m["tool_call_id"], m["content"]) for m in body["messages"]
                if m["role"] == "tool"]
        assert sent == [(ids[0], "sunny, 24C"), (ids[1], "rainy, 17C")]
    elif case.name == "anthropic":
        assistant = next(m for m in body["messages"] if m["role"] == "assistant")
        assert [b["id"] for b in assistant["content"] if b["type"] == "tool_use"] == ids
        blocks = [b for b in body["messages"][-1]["content"] if b["type"] == "tool_result"]
        assert [(b["tool_use_id"], _openai_text(b["content"])) for b in blocks] \
            == [(ids[0], "sunny, 24C"), (ids[1], "rainy, 17C")]
    else:
        model_turn = next(c for c in body["contents"] if c["role"] == "model")
        assert [p["functionCall"]["args"] for p in model_turn["parts"]] \
            == [{"city": "Paris"}, {"city": "Rome"}]
        responses = [p["functionResponse"] for c in body["contents"] for p in c["parts"]
                     if "functionResponse" in p]
        assert [r["name"] for r in responses] == ["get_weather", "get_weather"]
        assert ["sunny, 24C" in json.dumps(r["response"]) for r in responses] == [True, False]
        assert "rainy, 17C" in json.dumps(responses[1]["response"])


@pytest.mark.parametrize("provider", ["openai", "anthropic"])
async def test_unanswered_tool_calls_are_rejected_like_the_real_api(
        provider: str, request: pytest.FixtureRequest) -> None:
    server: FakeProviderServer = request.getfixturevalue(f"{provider}_server")
    make: Callable[..., BaseChatModel] = request.getfixturevalue(f"{provider}_chat")
    history: list[BaseMessage] = [
        HumanMessage("Weather in Paris?"),
        AIMessage("", tool_calls=[{"name": "get_weather", "args": {"city": "Paris"},
                                   "id": "call_1", "type": "tool_call"}]),
        HumanMessage("Never mind."),
    ]
    with pytest.raises(ModelInvalidRequestError, match="call_1"):
        await make().bind_tools([get_weather]).ainvoke(history)
    assert server.model.served == []


# -- structured output ----------------------------------------------------------------


async def test_structured_output_with_a_json_schema(case: Case) -> None:
    case.server.script(structured(FORECAST))
    model = case.make().with_structured_output(FORECAST_SCHEMA, method="json_schema")

    assert await model.ainvoke("Forecast for Paris?") == FORECAST

    [sent] = case.generation_requests()
    body = sent.json
    if case.name == "openai":
        assert body["response_format"]["type"] == "json_schema"
        assert body["response_format"]["json_schema"]["name"] == "Forecast"
        schema = body["response_format"]["json_schema"]["schema"]
    elif case.name == "anthropic":
        assert body["output_config"]["format"]["type"] == "json_schema"
        schema = body["output_config"]["format"]["schema"]
    else:
        assert body["generationConfig"]["responseMimeType"] == "application/json"
        schema = body["generationConfig"]["responseJsonSchema"]
    assert schema["properties"] == FORECAST_SCHEMA["properties"]
    assert schema["required"] == ["city", "temperature_c"]


async def test_structured_output_through_a_forced_tool(case: Case) -> None:
    """``method="function_calling"``: langchain-anthropic's default."""
    case.server.script(structured(FORECAST))
    model = case.make().with_structured_output(FORECAST_SCHEMA, method="function_calling")

    assert await model.ainvoke("Forecast for Paris?") == FORECAST

    body = case.generation_requests()[0].json
    if case.name == "openai":
        assert body["tool_choice"] == {"type": "function", "function": {"name": "Forecast"}}
    elif case.name == "anthropic":
        assert body["tool_choice"] == {"type": "tool", "name": "Forecast"}
    else:
        calling = body["toolConfig"]["functionCallingConfig"]
        assert calling["mode"] == "ANY"
        assert calling["allowedFunctionNames"] == ["Forecast"]


# -- errors the node has to classify ---------------------------------------------------


async def test_rate_limit_surfaces_then_the_next_call_succeeds(case: Case) -> None:
    case.server.script(rate_limited(retry_after=7), text("recovered"))
    model = case.make()

    with pytest.raises(case.rate_limit_error) as caught:
        await model.ainvoke("hi")

    assert isinstance(caught.value, ModelRateLimitError)
    assert caught.value.is_retryable
    if case.name == "gemini":
        cause = caught.value.__cause__
        assert isinstance(cause, genai_errors.ClientError)
        assert cause.code == 429
        assert cause.details["error"]["details"][0]["retryDelay"] == "7s"
    else:
        assert caught.value.response.headers["retry-after"] == "7"  # type: ignore[attr-defined]
    assert len(case.generation_requests()) == 1  # the SDK did not retry
    assert (await model.ainvoke("hi")).text == "recovered"


async def test_server_error_surfaces_as_a_retryable_api_error(case: Case) -> None:
    case.server.script(server_error(500, "boom"))
    with pytest.raises(case.api_error) as caught:
        await case.make().ainvoke("hi")
    assert isinstance(caught.value, ModelAPIError)
    assert caught.value.is_retryable
    assert "boom" in str(caught.value)
    assert len(case.generation_requests()) == 1


async def test_scripted_401_is_an_authentication_error(case: Case) -> None:
    case.server.script(unauthorized("bad token"))
    with pytest.raises(case.auth_error) as caught:
        await case.make().ainvoke("hi")
    assert isinstance(caught.value, ModelAuthenticationError)
    assert not caught.value.is_retryable


async def test_wrong_api_key_is_rejected(case: Case) -> None:
    model = case.make(api_key="wrong-key-123456")
    if case.name == "gemini":
        # Like the real Gemini API: a bad key is 400 INVALID_ARGUMENT / API_KEY_INVALID,
        # which LangChain classifies as an invalid request, not an authentication error.
        with pytest.raises(GoogleInvalidRequestError, match="API_KEY_INVALID"):
            await model.ainvoke("hi")
    else:
        with pytest.raises(case.auth_error) as caught:
            await model.ainvoke("hi")
        assert isinstance(caught.value, ModelAuthenticationError)
    assert case.server.model.served == []  # rejected before reaching the script


def _http_timeout_types() -> tuple[type[BaseException], ...]:
    found: list[type[BaseException]] = [httpx.TimeoutException]
    try:
        fork = importlib.import_module("httpx2")
    except ImportError:
        return tuple(found)
    found.append(fork.TimeoutException)
    return tuple(found)


async def test_client_timeout_on_a_hanging_server(case: Case) -> None:
    case.server.script(hang(30))
    started = time.monotonic()
    with pytest.raises(Exception) as caught:  # noqa: PT011 - the type differs, checked below
        await case.make(timeout=0.3).ainvoke("hi")
    assert time.monotonic() - started < 20  # gave up long before the 30 s hang ended
    if case.name == "openai":
        assert isinstance(caught.value, openai.APITimeoutError)
        assert isinstance(caught.value, ModelTimeoutError)
    elif case.name == "anthropic":
        assert isinstance(caught.value, anthropic.APITimeoutError)
        assert isinstance(caught.value, ModelTimeoutError)
    else:
        # Quirk (langchain-google-genai 4.4): a timeout escapes as the bare HTTP client's
        # exception, not classified as a LangChain ModelTimeoutError. google-genai 2.x
        # raises httpx's; 3.x raises the same class of httpx2 (a fork it switched to).
        assert isinstance(caught.value, _http_timeout_types())
        assert not isinstance(caught.value, ModelError)


async def test_anthropic_overloaded_529(anthropic_server: AnthropicServer,
                                       anthropic_chat: Callable[..., Any]) -> None:
    anthropic_server.script(overloaded())
    with pytest.raises(anthropic.APIStatusError) as caught:
        await anthropic_chat().ainvoke("hi")
    assert caught.value.status_code == 529
    assert isinstance(caught.value, ModelAPIError)
    assert caught.value.body["error"]["type"] == "overloaded_error"  # type: ignore[index]


# -- provider specifics --------------------------------------------------------------


async def test_anthropic_headers_and_x_api_key(anthropic_server: AnthropicServer,
                                               anthropic_chat: Callable[..., Any]) -> None:
    await anthropic_chat().ainvoke("hi")
    sent = anthropic_server.last_request
    assert sent.header("anthropic-version")
    # anthropic>=2 sends `api_key=` as a bearer token; x-api-key is accepted too.
    assert sent.header("authorization") == f"Bearer {anthropic_server.api_key}"
    async with httpx.AsyncClient(base_url=anthropic_server.url) as client:
        ok = await client.post("/v1/messages", json={
            "model": "claude-haiku-4-5", "max_tokens": 10,
            "messages": [{"role": "user", "content": "raw"}]},
            headers={"x-api-key": anthropic_server.api_key, "anthropic-version": "2023-06-01"})
        no_version = await client.post("/v1/messages", json={},
                                       headers={"x-api-key": anthropic_server.api_key})
        bad_key = await client.post("/v1/messages", json={}, headers={"x-api-key": "nope"})
    assert ok.status_code == 200
    assert ok.json()["content"][0]["text"] == "echo: raw"
    assert no_version.status_code == 400
    assert bad_key.status_code == 401
    assert bad_key.json() == {"type": "error", "request_id": "req_fake", "error": {
        "type": "authentication_error", "message": "invalid x-api-key"}}


async def test_openai_models_endpoint_and_error_shape(openai_server: OpenAIServer) -> None:
    async with openai.AsyncOpenAI(base_url=f"{openai_server.url}/v1",
                                  api_key=openai_server.api_key, max_retries=0) as client:
        models = [m.id async for m in client.models.list()]
    assert models == list(openai_server.models)
    async with httpx.AsyncClient(base_url=openai_server.url) as raw:
        denied = await raw.get("/v1/models", headers={"Authorization": "Bearer sk-wrong-key"})
    assert denied.status_code == 401
    assert denied.json()["error"]["code"] == "invalid_api_key"
    assert set(denied.json()["error"]) == {"message", "type", "param", "code"}


async def test_gemini_key_in_query_and_error_shape(gemini_server: GeminiServer) -> None:
    body = {"contents": [{"role": "user", "parts": [{"text": "raw"}]}]}
    path = "/v1beta/models/gemini-2.5-flash:generateContent"
    async with httpx.AsyncClient(base_url=gemini_server.url) as client:
        ok = await client.post(path, params={"key": gemini_server.api_key}, json=body)
        missing = await client.post(path, json=body)
    assert ok.status_code == 200
    assert ok.json()["candidates"][0]["content"]["parts"] == [{"text": "echo: raw"}]
    assert missing.status_code == 403
    assert missing.json()["error"]["status"] == "PERMISSION_DENIED"


def test_server_closes_promptly_with_idle_and_hanging_connections() -> None:
    server = OpenAIServer().start()
    idle = socket.create_connection(("127.0.0.1", server.port))
    server.script(hang(30))
    body = json.dumps({"model": "gpt-4o-mini",
                       "messages": [{"role": "user", "content": "wait"}]}).encode()
    hanging = socket.create_connection(("127.0.0.1", server.port))
    hanging.sendall(b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer "
                    + server.api_key.encode()
                    + b"\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body))
    try:
        deadline = time.monotonic() + 5
        while not server.model.served and time.monotonic() < deadline:
            time.sleep(0.01)
        assert server.model.served[0].delay == 30  # a handler is now sleeping in the hang
        started = time.monotonic()
        server.close()
        assert time.monotonic() - started < 15  # did not wait for the 30 s hang
        assert server.threads() == []
        assert server.errors == []
    finally:
        idle.close()
        hanging.close()


# -- the network guard ----------------------------------------------------------------


def test_guard_blocks_dns_for_real_providers() -> None:
    for host in ("api.openai.com", "api.anthropic.com", "generativelanguage.googleapis.com"):
        with pytest.raises(RealNetworkAccessError, match=host):
            socket.getaddrinfo(host, 443)
    assert len(network_guard.take_violations()) == 3


def test_guard_blocks_connections_to_public_addresses() -> None:
    with pytest.raises(RealNetworkAccessError):
        socket.create_connection(("api.openai.com", 443), timeout=1)
    with socket.socket() as sock, pytest.raises(RealNetworkAccessError):
        sock.connect(("8.8.8.8", 443))
    assert len(network_guard.take_violations()) == 2


def test_guard_allows_loopback(openai_server: OpenAIServer) -> None:
    with socket.create_connection(("localhost", openai_server.port), timeout=1):
        pass
    with socket.create_connection(("127.0.0.1", openai_server.port), timeout=1):
        pass
    assert network_guard.violations == []


def test_guard_fails_a_test_that_swallows_the_error(tmp_path: Path) -> None:
    """SDKs catch connection errors; the fixture still fails the test at teardown."""
    (tmp_path / "test_leaky.py").write_text(textwrap.dedent("""
        import socket

        def test_swallows_the_error():
            try:
                socket.create_connection(("api.openai.com", 443), timeout=1)
            except Exception:
                pass

        def test_loopback_is_fine():
            socket.getaddrinfo("localhost", 80)
    """))
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1]),
           "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"}
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "fakes.pytest_plugin",
         "-p", "no:cacheprovider", "test_leaky.py"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 1, result.stdout + result.stderr
    # pytest reports a teardown failure as an error on top of the passed call
    assert "2 passed, 1 error" in result.stdout
    assert "tried to reach the network" in result.stdout
    assert "blocked socket.getaddrinfo to 'api.openai.com'" in result.stdout


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_guard_stops_an_sdk_using_its_default_endpoint(provider: str) -> None:
    """No base_url: the SDK aims at the real API and the guard refuses the lookup."""
    from langchain_anthropic import ChatAnthropic
    from langchain_google_genai import ChatGoogleGenerativeAI
    from langchain_openai import ChatOpenAI

    model: BaseChatModel
    if provider == "openai":
        model = ChatOpenAI(model="gpt-4o-mini", max_retries=0)
    elif provider == "anthropic":
        model = ChatAnthropic(model="claude-haiku-4-5", max_retries=0)
    else:
        model = ChatGoogleGenerativeAI(model="gemini-2.5-flash", max_retries=1)
    try:
        with pytest.raises(Exception) as caught:  # noqa: PT011 - each SDK wraps it its own way
            await model.ainvoke("hi")
    finally:
        if isinstance(model, ChatGoogleGenerativeAI):
            await model.aclose()
    assert any(isinstance(e, RealNetworkAccessError) for e in _exception_chain(caught.value))
    violations = network_guard.take_violations()
    assert violations
    assert all("blocked socket." in v for v in violations)


def _exception_chain(exc: BaseException | None) -> list[BaseException]:
    chain: list[BaseException] = []
    while exc is not None and exc not in chain:
        chain.append(exc)
        exc = exc.__cause__ or exc.__context__
    return chain


def test_provider_env_is_scrubbed() -> None:
    assert os.environ["OPENAI_API_KEY"].startswith("sk-test-")
    assert "OPENAI_BASE_URL" not in os.environ
    assert "ANTHROPIC_BASE_URL" not in os.environ
    assert "GOOGLE_GENAI_USE_VERTEXAI" not in os.environ
