"""What is known about each provider's models, for ``GET /catalog/models`` and for picking
a structured-output method.

Facts come from the providers' public model documentation, checked on 2026-11-22; each
group below names its sources. ``context_window`` is the provider's stated context
window (OpenAI, Anthropic: prompt and answer together) or, for Gemini, its input token
limit (the answer's ``max_output_tokens`` come on top). Models the providers have shut
down are not listed (a call to one fails); models with an announced shutdown carry its
date in ``shutdown``. A model missing here still works: the provider's defaults apply.
Dated snapshots ("gpt-4o-2024-08-06", "claude-opus-4-1-20250805") match their family
entry; another version of a family ("claude-opus-4-7" next to "claude-opus-4-6") does not.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class ModelInfo:
    name: str
    provider: str
    context_window: int  # tokens (see the module docstring)
    max_output_tokens: int | None
    tools: bool  # function/tool calling
    structured_output: bool  # schema-constrained output, natively or through a forced tool
    native_structured_output: bool  # the provider constrains decoding to a JSON Schema
    description: str = ""
    #: the provider's announced shutdown date (ISO), after which calls fail; None: none
    shutdown: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _m(name: str, provider: str, context: int, max_out: int | None, *, tools: bool = True,
       structured: bool = True, native: bool = True, description: str = "",
       shutdown: str | None = None) -> ModelInfo:
    return ModelInfo(name, provider, context, max_out, tools, structured, native, description,
                     shutdown)


MODELS: tuple[ModelInfo, ...] = (
    # OpenAI. Structured outputs (response_format json_schema) and function calling on
    # every model listed. Limits: the model pages on developers.openai.com/api/docs/models.
    # Shutdowns: developers.openai.com/api/docs/deprecations (gpt-5 family and o3 on
    # 2026-12-11; gpt-4o, gpt-4o-mini, gpt-4.1, gpt-4.1-mini on 2027-01-14). Removed:
    # o4-mini and gpt-4.1-nano, shut down on 2026-10-23 (same page).
    _m("gpt-6-luna", "openai", 1_050_000, 128_000,
       description="efficient reasoning model; on Chat Completions, function calling needs "
                   "reasoning_effort 'none' (developers.openai.com/api/docs/models/gpt-6-luna)"),
    _m("gpt-5", "openai", 400_000, 128_000, description="reasoning model",
       shutdown="2026-12-11"),
    _m("gpt-5-mini", "openai", 400_000, 128_000, description="faster, cheaper GPT-5",
       shutdown="2026-12-11"),
    _m("gpt-5-nano", "openai", 400_000, 128_000, description="smallest GPT-5",
       shutdown="2026-12-11"),
    _m("gpt-4.1", "openai", 1_047_576, 32_768, shutdown="2027-01-14"),
    _m("gpt-4.1-mini", "openai", 1_047_576, 32_768, shutdown="2027-01-14"),
    _m("gpt-4o", "openai", 128_000, 16_384, shutdown="2027-01-14"),
    _m("gpt-4o-mini", "openai", 128_000, 16_384, shutdown="2027-01-14"),
    _m("o3", "openai", 200_000, 100_000, description="reasoning model", shutdown="2026-12-11"),
    # Anthropic. Limits: platform.claude.com/docs/en/models/<model>/overview (Opus 4.6 and
    # Sonnet 4.6: 1M context, 128K output; the 4.5 models: 200K, 64K; Opus 4.1: 200K, 32K).
    # Native JSON Schema output (output_config.format): generally available for Opus 4.6,
    # Sonnet 4.5, Opus 4.5 and Haiku 4.5 (platform.claude.com/docs/.../structured-outputs),
    # and Sonnet 4.6 (listed by Vertex AI's Claude structured-outputs page); Opus 4.1 was in
    # the public beta only, so it gets a forced tool call. Shutdowns: the anthropic SDK's
    # DEPRECATED_MODELS (claude-sonnet-4-5 on 2026-11-30). Removed, past their end of life
    # in the same list: claude-opus-4 and claude-sonnet-4 (2026-06-15), claude-3-7-sonnet
    # and claude-3-5-haiku (2026-02-19).
    _m("claude-opus-4-6", "anthropic", 1_000_000, 128_000),
    _m("claude-sonnet-4-6", "anthropic", 1_000_000, 128_000),
    _m("claude-opus-4-5", "anthropic", 200_000, 64_000),
    _m("claude-sonnet-4-5", "anthropic", 200_000, 64_000, shutdown="2026-11-30"),
    _m("claude-haiku-4-5", "anthropic", 200_000, 64_000),
    _m("claude-opus-4-1", "anthropic", 200_000, 32_000, native=False),
    # Google Gemini (responseJsonSchema). Limits and capabilities (function calling and
    # structured outputs supported): ai.google.dev/gemini-api/docs/models/<model>.
    # Removed: gemini-2.0-flash and -lite, and the 2.5 models, all past the shutdown dates
    # of ai.google.dev/gemini-api/docs/deprecations (2.0: February 2026 at the earliest;
    # gemini-2.5-pro and -flash 2026-06-17, -flash-lite 2026-07-22).
    _m("gemini-3.5-flash", "gemini", 1_048_576, 65_536, description="stable"),
    _m("gemini-3.1-pro-preview", "gemini", 1_048_576, 65_536,
       description="preview: may be retired at short notice"),
    # the deterministic test provider: any model name works
    _m("fake", "fake", 1_000_000, None, native=False,
       description="deterministic, offline: scripted answers, echo, schema examples"),
)

_BY_PROVIDER: dict[str, tuple[ModelInfo, ...]] = {}
for _info in MODELS:
    _BY_PROVIDER[_info.provider] = (*_BY_PROVIDER.get(_info.provider, ()), _info)

#: what follows a family name in another version of it ("-7" in "claude-opus-4-7"), as
#: opposed to a snapshot ("-20250805", "-2024-08-06", "-001", "-latest", "-preview-05-20")
_OTHER_VERSION = re.compile(r"^\d{1,2}(?:-|$)")


def list_models(provider: str | None = None) -> list[dict[str, Any]]:
    """The catalog as JSON-ready dicts, optionally for one provider."""
    return [m.to_dict() for m in MODELS if provider is None or m.provider == provider]


def find_model(provider: str, name: str) -> ModelInfo | None:
    """The entry for ``name`` or the family it is a snapshot of (longest prefix wins)."""
    best: ModelInfo | None = None
    for info in _BY_PROVIDER.get(provider, ()):
        if name == info.name:
            return info
        if (name.startswith(f"{info.name}-")
                and not _OTHER_VERSION.match(name[len(info.name) + 1:])
                and (best is None or len(info.name) > len(best.name))):
            best = info
    return best
