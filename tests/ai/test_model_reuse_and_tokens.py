"""What keeps an llm node cheap per call: chat models shared by executions with the same
settings and key (never across keys), and text deltas coalesced into few ``llm.token``
events without losing or reordering text."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from fakes import OpenAIServer, text
from fixtures_llm import API_KEY, KEY_SECRET, make_runtime, of_type
from helpers.tools import Calls
from langchain_core.messages import AIMessageChunk, HumanMessage
from langchain_core.runnables import RunnableGenerator

from workflow_compiler.llm.streaming import TokenBuffer, stream_reply
from workflow_compiler.providers import ModelSettings, get_provider
from workflow_compiler.providers.model_cache import (
    MAX_MODELS,
    cached_models,
    clear_models,
    model_key,
    shared_model,
)


@pytest.fixture(autouse=True)
def fresh_cache() -> Iterator[None]:
    clear_models()
    yield
    clear_models()


def provider(name: str) -> Any:
    found = get_provider(name)
    assert found is not None
    return found


# -- shared chat models -------------------------------------------------------------------


def test_same_settings_and_key_share_one_model() -> None:
    openai = provider("openai")
    settings = ModelSettings(model="gpt-4o-mini", api_key="sk-one", base_url="http://127.0.0.1:9",
                             temperature=0.2, options={"seed": 7})

    first, shared = shared_model(openai, settings)
    again, _ = shared_model(openai, ModelSettings(
        model="gpt-4o-mini", api_key="sk-one", base_url="http://127.0.0.1:9", temperature=0.2,
        options={"seed": 7}))

    assert shared and again is first
    assert cached_models() == 1


@pytest.mark.parametrize("change", [
    {"api_key": "sk-two"}, {"temperature": 0.3}, {"base_url": "http://127.0.0.1:10"},
    {"options": {"seed": 8}}, {"options": {"default_headers": {"X-Token": "b"}}},
    {"stop": ("END",)}, {"max_tokens": 5}, {"timeout": 3.0}, {"model": "gpt-4o"},
])
def test_any_difference_in_key_or_settings_gets_its_own_model(change: dict[str, Any]) -> None:
    openai = provider("openai")
    base: dict[str, Any] = {"model": "gpt-4o-mini", "api_key": "sk-one",
                            "base_url": "http://127.0.0.1:9", "temperature": 0.2,
                            "options": {"seed": 7}}
    first, _ = shared_model(openai, ModelSettings(**base))
    other, _ = shared_model(openai, ModelSettings(**{**base, **change}))

    assert other is not first
    assert cached_models() == 2


def test_the_cache_key_is_a_digest_not_the_credentials() -> None:
    settings = ModelSettings(model="m", api_key="sk-very-secret",
                             options={"default_headers": {"Authorization": "Bearer tok-secret"}})
    key = model_key(provider("anthropic"), settings)

    assert key is not None and len(key) == 64
    assert "secret" not in key


def test_providers_with_per_loop_clients_or_scripts_build_per_execution() -> None:
    for name in ("gemini", "fake"):
        settings = ModelSettings(model="gemini-2.5-flash", api_key="k",
                                 base_url="http://127.0.0.1:9")
        first, shared = shared_model(provider(name), settings)
        second, _ = shared_model(provider(name), settings)
        assert not shared and second is not first
    assert cached_models() == 0


def test_the_cache_is_bounded_least_recently_used_first() -> None:
    anthropic = provider("anthropic")

    def settings(k: int) -> ModelSettings:
        return ModelSettings(model="claude-haiku-4-5", api_key=f"sk-{k}")

    first, _ = shared_model(anthropic, settings(0))
    for k in range(1, MAX_MODELS + 5):
        shared_model(anthropic, settings(k))
        if k == MAX_MODELS // 2:
            assert shared_model(anthropic, settings(0))[0] is first  # used: kept

    assert cached_models() == MAX_MODELS
    assert shared_model(anthropic, settings(0))[0] is first
    assert shared_model(anthropic, settings(1))[0] is not None  # evicted, built again
    assert cached_models() == MAX_MODELS


async def test_runs_reuse_the_model_but_never_across_api_keys() -> None:
    good, wrong = API_KEY, "sk-gw-test-SECRET-other-key"
    spec = {"spec_version": "1", "name": "reuse", "nodes": [{
        "id": "agent", "type": "llm", "provider": "openai", "model": "gpt-4o-mini",
        "prompt": "Hi", "provider_options": {"api_key_secret": KEY_SECRET}}],
        "edges": [], "outputs": {"text": "{{ nodes.agent.text }}"}}
    with OpenAIServer(api_key=good) as server:
        spec["nodes"][0]["base_url"] = f"{server.url}/v1"
        server.script(text("one"), text("two"))
        runtime = make_runtime(Calls(), {KEY_SECRET: good})
        for expected in ("one", "two"):
            result = await runtime.start(spec, {})
            assert result.status == "completed", result.error
            assert result.outputs == {"text": expected}
        assert cached_models() == 1

        # The same spec and settings with another key: a model of its own, the wrong key
        # sent (and refused), not the cached model holding the right one.
        other = make_runtime(Calls(), {KEY_SECRET: wrong})
        failed = await other.start(spec, {})

        assert failed.status == "failed"
        assert failed.error is not None and failed.error["code"] == "llm_auth_failed"
        assert wrong not in str(failed.error)
        assert server.requests[-1].header("authorization") == f"Bearer {wrong}"
        assert cached_models() == 2
        assert not server.errors


# -- token events -------------------------------------------------------------------------


def chunks_with_pauses(script: list[tuple[float, str]]) -> RunnableGenerator[Any, Any]:
    """A model that streams ``script`` (seconds to wait, then a text delta)."""
    async def generate(_messages: AsyncIterator[Any]) -> AsyncIterator[AIMessageChunk]:
        async for _ in _messages:
            pass
        for pause, delta in script:
            if pause:
                await asyncio.sleep(pause)
            yield AIMessageChunk(content=delta)

    return RunnableGenerator(generate)


async def test_first_delta_goes_out_at_once_then_deltas_are_gathered() -> None:
    sent: list[str] = []
    model = chunks_with_pauses([(0, "Hel"), (0, "lo"), (0, ","), (0, " world")])

    reply = await stream_reply(model, [HumanMessage("hi")], sent.append, interval=10.0)

    assert sent == ["Hel", "lo, world"]  # the rest flushed when the stream ended
    assert reply.text == "Hello, world"


async def test_a_stalled_stream_still_delivers_what_waits() -> None:
    sent: list[tuple[float, str]] = []
    started = time.monotonic()
    model = chunks_with_pauses([(0, "a"), (0, "b"), (0.6, "c")])

    def sink(delta: str) -> None:
        sent.append((time.monotonic() - started, delta))

    reply = await stream_reply(model, [HumanMessage("hi")], sink, interval=0.05)

    assert [d for _, d in sent] == ["a", "b", "c"]
    assert sent[1][0] < 0.5  # "b" went out on the timer, not with "c" after the stall
    assert reply.text == "abc"


async def test_interval_zero_sends_every_delta() -> None:
    sent: list[str] = []
    buffer = TokenBuffer(sent.append, interval=0)
    for delta in ("x", "y", "z"):
        buffer.add(delta)
    buffer.flush()

    assert sent == ["x", "y", "z"]


async def test_deltas_sent_before_a_failure_are_not_lost() -> None:
    sent: list[str] = []

    async def generate(_messages: AsyncIterator[Any]) -> AsyncIterator[AIMessageChunk]:
        async for _ in _messages:
            pass
        yield AIMessageChunk(content="partial")
        yield AIMessageChunk(content=" answer")
        raise ConnectionError("stream cut")

    with pytest.raises(ConnectionError):
        await stream_reply(RunnableGenerator(generate), [HumanMessage("hi")], sent.append,
                           interval=10.0)
    assert "".join(sent) == "partial answer"


async def test_fake_provider_tokens_are_coalesced_in_the_run_stream() -> None:
    reply = " ".join(f"w{k}" for k in range(30))
    node = {"id": "agent", "type": "llm", "provider": "fake", "model": "m", "prompt": "hi",
            "provider_options": {"responses": [reply]}}
    runtime = make_runtime(Calls(), {})
    events = [e async for e in runtime.stream({"name": "tokens", "nodes": [node], "edges": [],
                                               "outputs": {"t": "{{ nodes.agent.text }}"}})]

    tokens = [e.data["text"] for e in of_type(events, "llm.token", "agent")]
    assert tokens[0] == "w0"
    assert len(tokens) < 10  # 30 deltas arriving at once: a handful of events
    assert "".join(tokens) == reply
    assert events[-1].data["outputs"] == {"t": reply}
