"""The ``no_real_providers`` fixture: scrubbed provider env vars plus the network guard.

``tests/ai/conftest.py`` imports it (which makes it autouse for tests/ai); any other test
tree can do the same, or load this module with ``-p fakes.pytest_plugin``.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from . import network_guard

__all__ = ["TEST_ENV", "no_real_providers"]

network_guard.install()

#: Env vars the SDKs (or LangSmith tracing) read to pick a key, endpoint, proxy or
#: credentials: all removed, so nothing from a developer machine leaks into a test.
_SCRUBBED_PREFIXES = (
    "OPENAI_", "AZURE_OPENAI_", "ANTHROPIC_", "GOOGLE_", "GEMINI_", "LANGSMITH_",
    "LANGCHAIN_", "AWS_BEARER_TOKEN_BEDROCK", "CLOUD_ML_REGION",
)
_SCRUBBED_NAMES = frozenset({
    "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy",
})
#: Plausible-looking keys that no provider would accept.
TEST_ENV = {
    "OPENAI_API_KEY": "sk-test-env-not-a-real-key",
    "ANTHROPIC_API_KEY": "sk-ant-test-env-not-a-real-key",
    "GOOGLE_API_KEY": "test-env-not-a-real-key",
    "LANGSMITH_TRACING": "false",
    "LANGCHAIN_TRACING_V2": "false",
}


@pytest.fixture(autouse=True)
def no_real_providers(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    """Scrub provider env vars, then refuse any DNS lookup or connect beyond loopback.

    A blocked attempt raises ``RealNetworkAccessError`` where it happens; since SDKs
    wrap (and may swallow) connection errors, any attempt also fails the test here.
    """
    for name in list(os.environ):
        if name.startswith(_SCRUBBED_PREFIXES) or name in _SCRUBBED_NAMES:
            monkeypatch.delenv(name)
    for name, value in TEST_ENV.items():
        monkeypatch.setenv(name, value)
    # anthropic>=2 falls back to profiles under ~/.config/anthropic: point it at nothing.
    monkeypatch.setenv("ANTHROPIC_CONFIG_DIR", str(tmp_path / "no-anthropic-config"))
    network_guard.violations.clear()
    network_guard.enabled = True
    try:
        yield
    finally:
        network_guard.enabled = False
    if leaked := network_guard.take_violations():
        pytest.fail("test tried to reach the network:\n" + "\n".join(leaked), pytrace=False)
