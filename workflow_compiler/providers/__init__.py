"""LLM providers: LangChain chat models over the official SDKs, behind one small contract.

A provider is one module (``openai``, ``anthropic``, ``gemini``, ``fake``) that turns a
node's settings into a ``BaseChatModel``; ``registry`` finds them by name and ``catalog``
holds what is known about their models.
"""

from workflow_compiler.providers.base import ModelSettings, Provider
from workflow_compiler.providers.registry import get_provider, provider_names, register_provider

__all__ = ["ModelSettings", "Provider", "get_provider", "provider_names", "register_provider"]
