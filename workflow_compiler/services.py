"""What executors need from the outside world, injected so the core stays pure and testable.

The CLI builds one with embedded defaults; the service builds one backed by its database
(saved workflows, encrypted secrets). Nothing here knows about either.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from workflow_compiler.errors import ConfigurationError, SubworkflowNotFoundError
from workflow_compiler.tools.registry import ToolRegistry, default_tool_registry


class SubworkflowResolver(Protocol):
    """Finds a saved workflow's spec by name and optional version (None: published/latest)."""

    async def resolve(self, name: str, version: int | None) -> dict[str, Any]: ...


class SecretsProvider(Protocol):
    async def get(self, name: str) -> str | None: ...


class Clock(Protocol):
    def now(self) -> datetime: ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


@dataclass(slots=True)
class DictResolver:
    """Workflows held in memory: ``{name: spec}`` or ``{name: {version: spec}}``."""

    workflows: dict[str, dict[str, Any]] = field(default_factory=dict)
    versions: dict[tuple[str, int], dict[str, Any]] = field(default_factory=dict)

    async def resolve(self, name: str, version: int | None) -> dict[str, Any]:
        if version is not None:
            found = self.versions.get((name, version))
        else:
            found = self.workflows.get(name)
        if found is None:
            suffix = f" version {version}" if version is not None else ""
            raise SubworkflowNotFoundError(f"no saved workflow named {name!r}{suffix}")
        return found


@dataclass(slots=True)
class DirectoryResolver:
    """Workflows as files ``<dir>/<name>.json`` (or ``.yaml``), for the CLI."""

    directory: Path

    async def resolve(self, name: str, version: int | None) -> dict[str, Any]:
        from workflow_compiler.spec.loading import load_spec_file

        for suffix in (".json", ".yaml", ".yml"):
            candidate = self.directory / f"{name}{suffix}"
            if candidate.is_file():
                return load_spec_file(candidate)
        raise SubworkflowNotFoundError(
            f"no workflow named {name!r} in {self.directory} (looked for {name}.json/.yaml)"
        )


@dataclass(slots=True)
class EnvSecrets:
    """Secrets from the environment: ``secrets.api_key`` reads ``GRAPHWRIGHT_SECRET_API_KEY``."""

    environ: Mapping[str, str] = field(default_factory=lambda: os.environ)
    prefix: str = "GRAPHWRIGHT_SECRET_"

    async def get(self, name: str) -> str | None:
        return self.environ.get(f"{self.prefix}{name.upper()}")


@dataclass(slots=True)
class DictSecrets:
    values: dict[str, str] = field(default_factory=dict)

    async def get(self, name: str) -> str | None:
        return self.values.get(name)


HTTP_ALLOW_HOSTS_ENV = "GRAPHWRIGHT_HTTP_ALLOW_HOSTS"


@dataclass(slots=True)
class HttpPolicy:
    """The operator's rules for the http node.

    ``allow_hosts`` is the only source of exemptions from the SSRF guard (loopback,
    private, link-local, cloud metadata): the operator knows which internal services
    workflows may reach, while a spec is written by exactly the users the guard defends
    against. A node's own ``allow_hosts`` can only narrow what it reaches.
    """

    allow_hosts: tuple[str, ...] = ()
    max_redirects: int = 5
    user_agent: str = "graphwright/0.1"

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] | None = None) -> HttpPolicy:
        """The policy ``GRAPHWRIGHT_HTTP_ALLOW_HOSTS`` describes (entries separated by
        commas or spaces), which is how the CLI and the service are configured. A
        malformed entry raises ``ConfigurationError`` now, not in every run later."""
        from workflow_compiler.net.allowlist import parse_entry

        text = (os.environ if environ is None else environ).get(HTTP_ALLOW_HOSTS_ENV, "")
        entries = tuple(e for e in text.replace(",", " ").split() if e)
        for entry in entries:
            try:
                parse_entry(entry)
            except ValueError as exc:
                raise ConfigurationError(f"{HTTP_ALLOW_HOSTS_ENV}: {exc}") from None
        return cls(allow_hosts=entries)


@dataclass(slots=True)
class RuntimeServices:
    tools: ToolRegistry = field(default_factory=default_tool_registry)
    resolver: SubworkflowResolver = field(default_factory=DictResolver)
    secrets: SecretsProvider = field(default_factory=EnvSecrets)
    clock: Clock = field(default_factory=SystemClock)
    http: HttpPolicy = field(default_factory=HttpPolicy.from_environment)
