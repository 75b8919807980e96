"""``openai``: ChatOpenAI over the official SDK; with ``base_url``, any OpenAI-compatible
server (vLLM, Ollama, llama.cpp, LiteLLM, ...) through the Chat Completions API.

``provider_options.use_responses_api: true`` opts in to OpenAI's Responses API instead
(``POST /v1/responses``: streaming, tools and structured output alike). Chat Completions
stays the default because it is what compatible servers speak. The Responses API has no
stop sequences, so a node that sets ``stop`` with it is a configuration error rather than
a silently ignored setting (LangChain drops ``stop`` for that API)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from workflow_compiler.providers.base import ModelSettings, Provider, passthrough
from workflow_compiler.providers.registry import register_provider

if TYPE_CHECKING:
    from langchain_core.language_models import BaseChatModel

#: sent when a local OpenAI-compatible server needs no key (the SDK insists on one)
NO_KEY = "not-needed"


class OpenAIProvider(Provider):
    name: ClassVar[str] = "openai"
    label: ClassVar[str] = "OpenAI"
    key_env: ClassVar[tuple[str, ...]] = ("OPENAI_API_KEY",)
    options: ClassVar[frozenset[str]] = frozenset({
        "top_p", "frequency_penalty", "presence_penalty", "seed", "reasoning_effort",
        "organization", "default_headers", "use_responses_api",
    })

    def needs_key(self, settings: ModelSettings) -> bool:
        return settings.base_url is None  # local servers (Ollama, llama.cpp) often need none

    def create(self, settings: ModelSettings) -> BaseChatModel:
        from langchain_openai import ChatOpenAI

        if settings.options.get("use_responses_api") and settings.stop:
            raise ValueError("the OpenAI Responses API (use_responses_api) has no stop "
                             "sequences: remove 'stop', or use the Chat Completions API")
        params: dict[str, Any] = {
            "model": settings.model,
            "api_key": settings.api_key or NO_KEY,
            "max_retries": 0,  # the node's retry policy retries, with backoff
            "timeout": settings.timeout,
            "stream_usage": True,  # off by default for a non-OpenAI base_url
            "use_responses_api": False,  # Chat Completions: what compatible servers speak
        }
        if settings.base_url:
            params["base_url"] = settings.base_url
        if settings.temperature is not None:
            params["temperature"] = settings.temperature
        if settings.max_tokens is not None:
            params["max_tokens"] = settings.max_tokens
        if settings.stop:
            params["stop"] = list(settings.stop)
        params.update(passthrough(settings, self.options))
        return ChatOpenAI(**params)


register_provider(OpenAIProvider())
