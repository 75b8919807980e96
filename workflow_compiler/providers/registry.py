"""Providers by name. Built-ins register on first lookup; their SDKs load only when a model
is created, so validating a spec never imports langchain-openai and friends."""

from __future__ import annotations

import importlib

from workflow_compiler.providers.base import Provider

_BUILTIN_MODULES = ("fake", "openai", "anthropic", "gemini")
_PROVIDERS: dict[str, Provider] = {}
_loaded = False


def _load_builtins() -> None:
    global _loaded
    if not _loaded:
        for module in _BUILTIN_MODULES:
            importlib.import_module(f"workflow_compiler.providers.{module}")
        _loaded = True


def register_provider(provider: Provider) -> Provider:
    _PROVIDERS[provider.name] = provider
    return provider


def get_provider(name: str) -> Provider | None:
    _load_builtins()
    return _PROVIDERS.get(name)


def provider_names() -> frozenset[str]:
    _load_builtins()
    return frozenset(_PROVIDERS)
