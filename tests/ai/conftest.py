"""Fixtures for AI-node tests: a network guard, scrubbed provider env vars, and the fake
provider servers with LangChain chat models already pointed at them.

No test under tests/ai may reach a real model provider: ``no_real_providers`` (autouse,
from fakes/pytest_plugin.py) blocks every non-loopback DNS lookup or connect and fails
the test if one was tried.
"""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

_TESTS_DIR = str(Path(__file__).resolve().parents[1])
if _TESTS_DIR not in sys.path:  # `fakes` lives in tests/; pytest puts tests/ on sys.path
    sys.path.insert(0, _TESTS_DIR)

from fakes import AnthropicServer, FakeProviderServer, GeminiServer, OpenAIServer  # noqa: E402
from fakes.pytest_plugin import no_real_providers  # noqa: E402

__all__ = ["no_real_providers"]  # imported to register it: autouse for every test here


def _check_clean(server: FakeProviderServer) -> None:
    assert not server.errors, f"the fake {server.provider} server itself failed: {server.errors!r}"
    assert not server.threads(), f"fake server threads left running: {server.threads()!r}"


@pytest.fixture
def openai_server() -> Iterator[OpenAIServer]:
    with OpenAIServer() as server:
        yield server
    _check_clean(server)


@pytest.fixture
def anthropic_server() -> Iterator[AnthropicServer]:
    with AnthropicServer() as server:
        yield server
    _check_clean(server)


@pytest.fixture
def gemini_server() -> Iterator[GeminiServer]:
    with GeminiServer() as server:
        yield server
    _check_clean(server)


# -- chat models pointed at the fakes --------------------------------------------------
# SDK retries are off everywhere: the node does its own retries, and a test that scripts
# one failure must see exactly one request.

OPENAI_MODEL = "gpt-4o-mini"
ANTHROPIC_MODEL = "claude-haiku-4-5"  # not in anthropic's DEPRECATED_MODELS (that warns)
GEMINI_MODEL = "gemini-2.5-flash"


@pytest.fixture
def openai_chat(openai_server: OpenAIServer) -> Callable[..., Any]:
    from langchain_openai import ChatOpenAI

    def make(**overrides: Any) -> ChatOpenAI:
        params: dict[str, Any] = {
            "model": OPENAI_MODEL,
            "base_url": f"{openai_server.url}/v1",
            "api_key": openai_server.api_key,
            "max_retries": 0,
            "timeout": 10,
            "stream_usage": True,  # off by default for a non-OpenAI base_url
            "use_responses_api": False,  # Chat Completions (True: the fake's /v1/responses)
        }
        params.update(overrides)
        return ChatOpenAI(**params)

    return make


@pytest.fixture
def anthropic_chat(anthropic_server: AnthropicServer) -> Callable[..., Any]:
    from langchain_anthropic import ChatAnthropic

    def make(**overrides: Any) -> ChatAnthropic:
        params: dict[str, Any] = {
            "model": ANTHROPIC_MODEL,
            "base_url": anthropic_server.url,
            "api_key": anthropic_server.api_key,
            "max_retries": 0,
            "timeout": 10,
        }
        params.update(overrides)
        return ChatAnthropic(**params)

    return make


@pytest.fixture
async def gemini_chat(gemini_server: GeminiServer) -> AsyncIterator[Callable[..., Any]]:
    from langchain_google_genai import ChatGoogleGenerativeAI

    made: list[ChatGoogleGenerativeAI] = []

    def make(**overrides: Any) -> ChatGoogleGenerativeAI:
        params: dict[str, Any] = {
            "model": GEMINI_MODEL,
            "base_url": gemini_server.url,
            "api_key": gemini_server.api_key,
            # google-genai counts attempts, not retries: 1 = a single request, no retry.
            "max_retries": 1,
            "timeout": 10,
        }
        params.update(overrides)
        model = ChatGoogleGenerativeAI(**params)
        made.append(model)
        return model

    yield make
    for model in made:  # each model owns an httpx client pair; close them on this loop
        await model.aclose()
