"""``gemini``: ChatGoogleGenerativeAI over the google-genai SDK (the Gemini Developer API)."""

from __future__ import annotations

import functools
import os
import ssl
from typing import TYPE_CHECKING, Any, ClassVar

from workflow_compiler.providers.base import ModelSettings, Provider, passthrough
from workflow_compiler.providers.registry import register_provider

if TYPE_CHECKING:
    from langchain_core.language_models import BaseChatModel


class GeminiProvider(Provider):
    name: ClassVar[str] = "gemini"
    label: ClassVar[str] = "Gemini"
    key_env: ClassVar[tuple[str, ...]] = ("GOOGLE_API_KEY", "GEMINI_API_KEY")
    options: ClassVar[frozenset[str]] = frozenset({
        "top_p", "top_k", "seed", "thinking_budget", "thinking_level", "include_thoughts",
    })
    #: each model owns google-genai httpx clients bound to the loop that used them
    reuse_models: ClassVar[bool] = False

    def create(self, settings: ModelSettings) -> BaseChatModel:
        from langchain_google_genai import ChatGoogleGenerativeAI

        params: dict[str, Any] = {
            "model": settings.model,
            "api_key": settings.api_key,
            # google-genai counts attempts, not retries: 1 is a single request.
            "max_retries": 1,
            "timeout": settings.timeout,
            # google-genai builds two TLS contexts per client (~50 ms each); share one.
            "client_args": {"verify": _tls_context(), "ssl": _tls_context()},
        }
        if settings.base_url:
            params["base_url"] = settings.base_url
        if settings.temperature is not None:
            params["temperature"] = settings.temperature
        if settings.max_tokens is not None:
            params["max_output_tokens"] = settings.max_tokens
        if settings.stop:
            params["stop"] = list(settings.stop)
        params.update(passthrough(settings, self.options))
        return ChatGoogleGenerativeAI(**params)

    async def close(self, model: BaseChatModel) -> None:
        # Each model owns an httpx client pair bound to this event loop.
        aclose = getattr(model, "aclose", None)
        if aclose is not None:
            await aclose()


@functools.cache
def _tls_context() -> ssl.SSLContext:
    """The context google-genai would build (certifi, or SSL_CERT_FILE / SSL_CERT_DIR)."""
    import certifi

    return ssl.create_default_context(cafile=os.environ.get("SSL_CERT_FILE", certifi.where()),
                                      capath=os.environ.get("SSL_CERT_DIR"))


register_provider(GeminiProvider())
