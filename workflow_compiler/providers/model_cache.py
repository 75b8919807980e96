"""Chat models shared across executions of the same settings and key.

Building a LangChain chat model is not free (``ChatOpenAI`` validates its fields and builds
SDK clients: about half a millisecond, several percent of a local call), and an llm node
in a loop, a map or a busy workflow asks for the same model again and again. Models whose
provider says they are reusable (``Provider.reuse_models``: no state bound to one event
loop, nothing per execution) are therefore kept in a small process-wide LRU.

What identifies a model: the provider, every rendered setting that reaches the
constructor (model, base URL, temperature, max tokens, stop, timeout, provider options)
and the API key. The cache key is a SHA-256 digest of all of it, so a key is never held
in the cache's keys, and two executions with different keys (or headers holding secrets)
never share a model. The models themselves hold their key, like the per-execution models
did; they live in this process's memory only, never in state, events or checkpoints.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections import OrderedDict
from typing import TYPE_CHECKING

from workflow_compiler.providers.base import ModelSettings, Provider

if TYPE_CHECKING:
    from langchain_core.language_models import BaseChatModel

#: models kept at most; the least recently used goes first
MAX_MODELS = 64

_models: OrderedDict[str, BaseChatModel] = OrderedDict()
_lock = threading.Lock()


def model_key(provider: Provider, settings: ModelSettings) -> str | None:
    """The cache key of ``settings`` (a digest), or None when they cannot be cached."""
    try:
        material = json.dumps(
            [provider.name, settings.model, settings.api_key, settings.base_url,
             settings.temperature, settings.max_tokens,
             list(settings.stop) if settings.stop else None, settings.timeout,
             dict(settings.options)],
            sort_keys=True, ensure_ascii=False, allow_nan=True)
    except (TypeError, ValueError):  # an option that is not plain JSON: build per execution
        return None
    return hashlib.sha256(material.encode()).hexdigest()


def shared_model(provider: Provider, settings: ModelSettings) -> tuple[BaseChatModel, bool]:
    """A chat model for ``settings``: (model, shared). A shared model must not be closed;
    one that is not shared belongs to the caller (``provider.close`` it when done)."""
    key = model_key(provider, settings) if provider.reuse_models else None
    if key is None:
        return provider.create(settings), False
    with _lock:
        model = _models.get(key)
        if model is not None:
            _models.move_to_end(key)
            return model, True
    model = provider.create(settings)  # outside the lock: may raise on a bad option
    with _lock:
        model = _models.setdefault(key, model)
        _models.move_to_end(key)
        while len(_models) > MAX_MODELS:
            _models.popitem(last=False)
    return model, True


def cached_models() -> int:
    """How many models are kept (for tests and diagnostics)."""
    return len(_models)


def clear_models() -> None:
    """Forget every shared model (a key rotated out of service, tests)."""
    with _lock:
        _models.clear()
