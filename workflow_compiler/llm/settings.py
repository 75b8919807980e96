"""An llm node's model settings for one execution: templates rendered, key found.

The API key comes from the secret named in ``provider_options.api_key_secret`` (resolved
by the runner with the node's other secret references, so the run redacts it everywhere),
else from the provider's environment variables (``OPENAI_API_KEY``, ``ANTHROPIC_API_KEY``,
``GOOGLE_API_KEY``/``GEMINI_API_KEY``), which are then added to the run's redaction list
too. The key goes into the chat model object only, which is kept in process memory (shared
by executions with the same settings and key, see ``providers.model_cache``), never in
state, events or checkpoints.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from workflow_compiler.errors import NodeExecutionError
from workflow_compiler.llm.errors import auth_error
from workflow_compiler.nodes.base import NodeContext
from workflow_compiler.providers.base import (
    DEFAULT_REQUEST_TIMEOUT,
    NODE_OPTIONS,
    STRUCTURED_METHODS,
    ModelSettings,
    Provider,
    StructuredMethod,
)
from workflow_compiler.spec.durations import parse_duration
from workflow_compiler.spec.models import LlmNode

LITERAL_OPTIONS = frozenset({"responses"})
API_KEY_SECRET = "api_key_secret"  # noqa: S105  (the option's name, not a secret)


def api_key_secret(node: LlmNode) -> str | None:
    """The secret the node names for its API key (a plain name, not a template)."""
    name = node.provider_options.get(API_KEY_SECRET)
    return name if isinstance(name, str) and name.strip() else None


def _remember_for_redaction(ctx: NodeContext, label: str, value: str) -> None:
    context = getattr(ctx.config.get("runtime"), "context", None)
    values = getattr(context, "secret_values", None)
    if isinstance(values, dict) and value:
        values.setdefault(label, value)


def _api_key(ctx: NodeContext, node: LlmNode, provider: Provider,
             base_url: str | None) -> str | None:
    secret = api_key_secret(node)
    if secret is not None:
        secrets = ctx.scope.get("secrets")
        value = secrets.get(secret) if isinstance(secrets, Mapping) else None
        if not isinstance(value, str) or not value:
            raise NodeExecutionError(f"secret {secret!r} (provider_options.api_key_secret) is "
                                     "not set", code="missing_secret")
        return value
    for name in provider.key_env:
        value = os.environ.get(name)
        if value:
            _remember_for_redaction(ctx, f"env:{name}", value)
            return value
    return None


def model_settings(ctx: NodeContext, node: LlmNode, provider: Provider) -> ModelSettings:
    # Rendered (they may hold ``{{ secrets.x }}`` for headers); the fake provider's
    # scripted ``responses`` are data, kept as written.
    options = {k: v if k in LITERAL_OPTIONS else ctx.render(v)
               for k, v in node.provider_options.items()}
    base_url = ctx.render(node.base_url) if node.base_url else None
    if base_url is not None and (not isinstance(base_url, str) or not base_url.strip()):
        raise NodeExecutionError("base_url must render to a URL", code="invalid_base_url")
    base_url = base_url.strip().rstrip("/") if base_url else None
    key = _api_key(ctx, node, provider, base_url)
    settings = ModelSettings(
        model=node.model,
        api_key=key,
        base_url=base_url,
        temperature=node.temperature,
        max_tokens=node.max_tokens,
        stop=tuple(node.stop) if node.stop else None,
        timeout=request_timeout(node, options),
        options={k: v for k, v in options.items() if k not in NODE_OPTIONS},
        call_offset=max(ctx.visit - 1, 0) + max(ctx.attempt - 1, 0),
    )
    if key is None and provider.needs_key(settings):
        raise auth_error(provider, missing=True)
    return settings


def request_timeout(node: LlmNode, options: Mapping[str, Any]) -> float:
    """The SDK's per-request timeout: ``request_timeout``, else the node's, else 120 s."""
    given = options.get("request_timeout")
    if isinstance(given, int | float) and not isinstance(given, bool) and given > 0:
        return float(given)
    if node.timeout is not None:
        return parse_duration(node.timeout)
    return DEFAULT_REQUEST_TIMEOUT


def structured_method(node: LlmNode, provider: Provider, settings: ModelSettings
                      ) -> StructuredMethod:
    """``provider_options.structured_output_method`` if given, else the provider's choice."""
    chosen = node.provider_options.get("structured_output_method")
    if isinstance(chosen, str) and chosen in STRUCTURED_METHODS:
        return chosen  # type: ignore[return-value]
    return provider.structured_method(settings)
