"""Shared fixtures: checkpointers on every backend, a fresh Postgres database per test
session, and a few test tools (counters, rendezvous) registered like any real tool."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from workflow_compiler.errors import NodeExecutionError
from workflow_compiler.runtime import WorkflowRuntime
from workflow_compiler.runtime.checkpointers import open_checkpointer
from workflow_compiler.services import DictResolver, DictSecrets, RuntimeServices
from workflow_compiler.tools.registry import Tool, ToolRegistry, default_tool_registry

POSTGRES_ENV = "GRAPHWRIGHT_TEST_POSTGRES_URL"
ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A database created for this test session and dropped after it."""
    base = os.environ.get(POSTGRES_ENV)
    if not base:
        pytest.skip(f"Postgres tests need {POSTGRES_ENV} (e.g. postgresql://postgres@127.0.0.1/test)")
    import psycopg

    name = f"gw_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(base, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    prefix, _, _ = base.rpartition("/")
    yield f"{prefix}/{name}"
    with psycopg.connect(base, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


BACKENDS = ["memory", "sqlite", "postgres"]


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
async def checkpointer_url(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> str:
    if backend == "memory":
        return "memory"
    if backend == "sqlite":
        return str(tmp_path / "checkpoints.sqlite")
    return str(request.getfixturevalue("postgres_url"))


class Calls:
    """Counts tool invocations, so tests can prove work is not repeated on resume."""

    def __init__(self) -> None:
        self.counts: dict[str, int] = {}
        self.barriers: dict[str, asyncio.Barrier] = {}
        self.failures: dict[str, int] = {}
        self.in_flight = {"now": 0, "max": 0}

    def tools(self) -> ToolRegistry:
        registry = default_tool_registry()

        def count(name: str = "default", value: Any = None) -> dict[str, Any]:
            self.counts[name] = self.counts.get(name, 0) + 1
            return {"name": name, "count": self.counts[name], "value": value}

        async def rendezvous(group: str, parties: int = 2) -> dict[str, Any]:
            """Returns only when ``parties`` calls are in flight at once: proves parallelism."""
            barrier = self.barriers.setdefault(group, asyncio.Barrier(parties))
            async with asyncio.timeout(10):
                await barrier.wait()
            return {"group": group}

        def flaky(name: str, failures: int, retryable: bool = True) -> dict[str, Any]:
            seen = self.failures.get(name, 0)
            self.counts[name] = self.counts.get(name, 0) + 1
            if seen < failures:
                self.failures[name] = seen + 1
                raise NodeExecutionError(f"{name} failed (attempt {seen + 1})",
                                         code="flaky", retryable=retryable)
            return {"name": name, "attempts": seen + 1}

        async def sleep(seconds: float) -> dict[str, Any]:
            await asyncio.sleep(seconds)
            return {"slept": seconds}

        async def probe() -> dict[str, Any]:
            """Records how many calls overlap, to check concurrency limits."""
            self.in_flight["now"] += 1
            self.in_flight["max"] = max(self.in_flight["max"], self.in_flight["now"])
            await asyncio.sleep(0.02)
            self.in_flight["now"] -= 1
            return {}

        registry.register(Tool("test.probe", "concurrency probe", probe))
        registry.register(Tool("test.count", "count calls", count,
                               {"type": "object", "properties": {"name": {"type": "string"}}}))
        registry.register(Tool("test.rendezvous", "wait for parallel peers", rendezvous))
        registry.register(Tool("test.flaky", "fail n times", flaky))
        registry.register(Tool("test.sleep", "sleep", sleep))
        return registry


@pytest.fixture
def calls() -> Calls:
    return Calls()


@pytest.fixture
def services(calls: Calls) -> RuntimeServices:
    return RuntimeServices(
        tools=calls.tools(),
        resolver=DictResolver(),
        secrets=DictSecrets({"api_key": "sk-test-SECRET-value"}),
    )


@pytest.fixture
async def runtime(checkpointer_url: str, services: RuntimeServices) -> AsyncIterator[WorkflowRuntime]:
    from workflow_compiler.compiler.cache import WorkflowCompiler
    from workflow_compiler.nodes.base import ValidationContext

    context = ValidationContext(tool_names=services.tools.names())
    async with open_checkpointer(checkpointer_url) as saver:
        yield WorkflowRuntime(checkpointer=saver, services=services,
                              compiler=WorkflowCompiler(context=context))
