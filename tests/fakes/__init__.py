"""Local stand-ins for LLM provider HTTP APIs, for testing the real SDKs offline.

Each server speaks one provider's wire protocol on 127.0.0.1 (ephemeral port) and
answers from a script of turns (see ``script``); see README.md for how to point each
LangChain chat model at it.
"""

from . import network_guard
from ._server import FakeProviderServer, RecordedRequest
from .anthropic_server import AnthropicServer
from .gemini_server import GeminiServer
from .openai_server import OpenAIServer
from .script import (
    Failure,
    ScriptedModel,
    ToolCall,
    Turn,
    Usage,
    failure,
    hang,
    overloaded,
    rate_limited,
    server_error,
    structured,
    text,
    tool_calls,
    unauthorized,
)

__all__ = [
    "AnthropicServer",
    "Failure",
    "FakeProviderServer",
    "GeminiServer",
    "OpenAIServer",
    "RecordedRequest",
    "ScriptedModel",
    "ToolCall",
    "Turn",
    "Usage",
    "failure",
    "hang",
    "network_guard",
    "overloaded",
    "rate_limited",
    "server_error",
    "structured",
    "text",
    "tool_calls",
    "unauthorized",
]
