"""The provider contract: how an llm node's settings become a LangChain chat model.

Everything the llm node does (streaming, tools, structured output, error mapping) goes
through LangChain's ``BaseChatModel`` interface, so a provider only has to say how to build
its model, which environment variables hold its key, and which structured-output method
suits a model. The model object holds the API key: it is never put in state, events or
checkpoints. Models of providers with ``reuse_models`` are shared by executions with the
same settings and key (``model_cache``); the others live for one execution.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, Literal

if TYPE_CHECKING:
    from langchain_core.language_models import BaseChatModel

StructuredMethod = Literal["json_schema", "function_calling", "json_mode"]
STRUCTURED_METHODS: tuple[str, ...] = ("json_schema", "function_calling", "json_mode")

#: provider_options the llm node itself reads (every provider accepts them).
NODE_OPTIONS = frozenset({"api_key_secret", "structured_output_method", "request_timeout"})

#: SDK request timeout when neither the node's timeout nor ``request_timeout`` says one.
DEFAULT_REQUEST_TIMEOUT = 120.0


@dataclass(frozen=True, slots=True)
class ModelSettings:
    """One node execution's model configuration, templates already rendered."""

    model: str
    api_key: str | None = None
    base_url: str | None = None
    temperature: float | None = None
    max_tokens: int | None = None
    stop: tuple[str, ...] | None = None
    timeout: float = DEFAULT_REQUEST_TIMEOUT
    #: the provider's own options from ``provider_options`` (see ``Provider.options``)
    options: Mapping[str, Any] = field(default_factory=dict)
    #: which pass of a loop (plus retry attempt) this is; the fake provider scripts by it
    call_offset: int = 0


class Provider:
    """Base of the built-in providers; a new provider subclasses it in one small module."""

    name: ClassVar[str]
    label: ClassVar[str]  # for messages: "OpenAI"
    #: environment variables holding an API key, checked in order
    key_env: ClassVar[tuple[str, ...]] = ()
    #: provider_options passed on to the chat model (besides ``NODE_OPTIONS``)
    options: ClassVar[frozenset[str]] = frozenset()
    #: False: any provider_options key is accepted (the fake provider)
    strict_options: ClassVar[bool] = True
    default_structured_method: ClassVar[StructuredMethod] = "json_schema"
    #: whether one model may serve many executions (and event loops) with the same
    #: settings; False when it holds per-loop clients or per-execution state
    reuse_models: ClassVar[bool] = True

    def needs_key(self, settings: ModelSettings) -> bool:
        """Whether a call without an API key is pointless (a local server may need none)."""
        return bool(self.key_env)

    def structured_method(self, settings: ModelSettings) -> StructuredMethod:
        """The structured-output method for this model: native JSON Schema where known."""
        from workflow_compiler.providers.catalog import find_model

        info = find_model(self.name, settings.model)
        if info is not None and not info.native_structured_output:
            return "function_calling"
        return self.default_structured_method

    def key_help(self) -> str:
        """How to give this provider a key, for error messages (never the key itself)."""
        env = " or ".join(self.key_env)
        return (f"set the {env} environment variable, or name a secret holding the key in "
                "provider_options.api_key_secret")

    def create(self, settings: ModelSettings) -> BaseChatModel:
        raise NotImplementedError

    async def close(self, model: BaseChatModel) -> None:
        """Release what a model that is not shared holds (connections bound to this loop)."""


def passthrough(settings: ModelSettings, allowed: frozenset[str]) -> dict[str, Any]:
    """The provider's own options, as constructor arguments."""
    return {k: v for k, v in settings.options.items() if k in allowed}
