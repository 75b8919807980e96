"""What is known about each provider's models, for ``GET /catalog/models`` and for picking
a structured-output method.

Facts come from the providers' public model documentation (context windows in tokens).
A model missing here still works: the provider's defaults apply. Dated snapshots
("gpt-4o-2024-08-06", "claude-sonnet-4-5-20250929") match their family entry.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class ModelInfo:
    name: str
    provider: str
    context_window: int  # tokens, input and output together
    max_output_tokens: int | None
    tools: bool  # function/tool calling
    structured_output: bool  # schema-constrained output, natively or through a forced tool
    native_structured_output: bool  # the provider constrains decoding to a JSON Schema
    description: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _m(name: str, provider: str, context: int, max_out: int | None, *, tools: bool = True,
       structured: bool = True, native: bool = True, description: str = "") -> ModelInfo:
    return ModelInfo(name, provider, context, max_out, tools, structured, native, description)


MODELS: tuple[ModelInfo, ...] = (
    # OpenAI (Chat Completions; structured outputs via response_format json_schema)
    _m("gpt-5", "openai", 400_000, 128_000, description="flagship reasoning model"),
    _m("gpt-5-mini", "openai", 400_000, 128_000, description="faster, cheaper GPT-5"),
    _m("gpt-5-nano", "openai", 400_000, 128_000, description="smallest GPT-5"),
    _m("gpt-4.1", "openai", 1_047_576, 32_768),
    _m("gpt-4.1-mini", "openai", 1_047_576, 32_768),
    _m("gpt-4.1-nano", "openai", 1_047_576, 32_768),
    _m("gpt-4o", "openai", 128_000, 16_384),
    _m("gpt-4o-mini", "openai", 128_000, 16_384),
    _m("o3", "openai", 200_000, 100_000, description="reasoning model"),
    _m("o4-mini", "openai", 200_000, 100_000, description="small reasoning model"),
    # Anthropic (native JSON Schema output on the 4.5-generation models and Opus 4.1)
    _m("claude-opus-4-5", "anthropic", 200_000, 64_000),
    _m("claude-sonnet-4-5", "anthropic", 200_000, 64_000),
    _m("claude-haiku-4-5", "anthropic", 200_000, 64_000),
    _m("claude-opus-4-1", "anthropic", 200_000, 32_000),
    _m("claude-opus-4", "anthropic", 200_000, 32_000, native=False),
    _m("claude-sonnet-4", "anthropic", 200_000, 64_000, native=False),
    _m("claude-3-7-sonnet", "anthropic", 200_000, 64_000, native=False),
    _m("claude-3-5-haiku", "anthropic", 200_000, 8_192, native=False),
    # Google Gemini (responseJsonSchema)
    _m("gemini-2.5-pro", "gemini", 1_048_576, 65_536),
    _m("gemini-2.5-flash", "gemini", 1_048_576, 65_536),
    _m("gemini-2.5-flash-lite", "gemini", 1_048_576, 65_536),
    _m("gemini-2.0-flash", "gemini", 1_048_576, 8_192),
    _m("gemini-2.0-flash-lite", "gemini", 1_048_576, 8_192),
    # the deterministic test provider: any model name works
    _m("fake", "fake", 1_000_000, None, native=False,
       description="deterministic, offline: scripted answers, echo, schema examples"),
)

_BY_PROVIDER: dict[str, tuple[ModelInfo, ...]] = {}
for _info in MODELS:
    _BY_PROVIDER[_info.provider] = (*_BY_PROVIDER.get(_info.provider, ()), _info)


def list_models(provider: str | None = None) -> list[dict[str, Any]]:
    """The catalog as JSON-ready dicts, optionally for one provider."""
    return [m.to_dict() for m in MODELS if provider is None or m.provider == provider]


def find_model(provider: str, name: str) -> ModelInfo | None:
    """The entry for ``name`` or the family it is a snapshot of (longest prefix wins)."""
    best: ModelInfo | None = None
    for info in _BY_PROVIDER.get(provider, ()):
        if name == info.name:
            return info
        if name.startswith(f"{info.name}-") and (best is None or len(info.name) > len(best.name)):
            best = info
    return best
