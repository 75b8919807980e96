"""The provider contract the llm node talks to, and the registry of providers."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol


@dataclass(slots=True)
class ChatRequest:
    model: str
    messages: list[dict[str, Any]]
    temperature: float | None = None
    max_tokens: int | None = None
    stop: list[str] | None = None
    output_schema: dict[str, Any] | None = None
    options: dict[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class ChatResponse:
    text: str
    structured: Any = None
    usage: dict[str, int] = field(default_factory=dict)


TokenSink = Callable[[str], None]


class ChatProvider(Protocol):
    name: str

    async def chat(self, request: ChatRequest, on_token: TokenSink) -> ChatResponse: ...


_PROVIDERS: dict[str, ChatProvider] = {}


def register_provider(provider: ChatProvider) -> None:
    _PROVIDERS[provider.name] = provider


def get_provider(name: str) -> ChatProvider | None:
    from workflow_compiler.providers import fake  # noqa: F401  (registers itself)

    return _PROVIDERS.get(name)


def provider_names() -> frozenset[str]:
    from workflow_compiler.providers import fake  # noqa: F401

    return frozenset(_PROVIDERS)
