"""``anthropic``: ChatAnthropic over the official SDK."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from workflow_compiler.providers.base import (
    ModelSettings,
    Provider,
    StructuredMethod,
    passthrough,
)
from workflow_compiler.providers.registry import register_provider

if TYPE_CHECKING:
    from langchain_core.language_models import BaseChatModel


class AnthropicProvider(Provider):
    name: ClassVar[str] = "anthropic"
    label: ClassVar[str] = "Anthropic"
    key_env: ClassVar[tuple[str, ...]] = ("ANTHROPIC_API_KEY",)
    options: ClassVar[frozenset[str]] = frozenset({
        "top_p", "top_k", "thinking", "effort", "default_headers",
    })
    #: a forced tool call works on every Claude model; the catalog names the models with
    #: native JSON Schema output
    default_structured_method: ClassVar[StructuredMethod] = "function_calling"

    def structured_method(self, settings: ModelSettings) -> StructuredMethod:
        from workflow_compiler.providers.catalog import find_model

        info = find_model(self.name, settings.model)
        if info is not None and info.native_structured_output:
            return "json_schema"
        return self.default_structured_method

    def create(self, settings: ModelSettings) -> BaseChatModel:
        from langchain_anthropic import ChatAnthropic

        params: dict[str, Any] = {
            "model": settings.model,
            "api_key": settings.api_key,
            "max_retries": 0,
            "timeout": settings.timeout,
        }
        if settings.base_url:
            params["base_url"] = settings.base_url
        if settings.temperature is not None:
            params["temperature"] = settings.temperature
        if settings.max_tokens is not None:
            params["max_tokens"] = settings.max_tokens
        if settings.stop:
            params["stop_sequences"] = list(settings.stop)
        params.update(passthrough(settings, self.options))
        return ChatAnthropic(**params)


register_provider(AnthropicProvider())
