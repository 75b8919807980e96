"""Shared fixtures: checkpointers on every backend, a fresh Postgres database per test
session, and a few test tools (counters, rendezvous) registered like any real tool."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from helpers.tools import Calls

from workflow_compiler.runtime import WorkflowRuntime
from workflow_compiler.runtime.checkpointers import open_checkpointer
from workflow_compiler.services import DictResolver, DictSecrets, RuntimeServices

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
async def runtime(
    checkpointer_url: str, services: RuntimeServices
) -> AsyncIterator[WorkflowRuntime]:
    from workflow_compiler.compiler.cache import WorkflowCompiler
    from workflow_compiler.nodes.base import ValidationContext

    context = ValidationContext(tool_names=services.tools.names())
    async with open_checkpointer(checkpointer_url) as saver:
        yield WorkflowRuntime(checkpointer=saver, services=services,
                              compiler=WorkflowCompiler(context=context))
