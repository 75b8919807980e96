"""The API under test: the real app (``create_app``) with its lifespan, on a fresh
migrated database per module (SQLite and Postgres), called in-process through httpx's
ASGI transport. End-to-end tests over a real socket live in ``test_e2e_http.py``.

Each test gets its own users (``alice``, ``bob``), so tests in one module never see each
other's objects: every query is scoped to the caller.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.fernet import Fernet
from fastapi import FastAPI
from helpers.api_apps import AppFactory
from helpers.api_client import Caller, client_for, new_caller
from helpers.service_db import database_url

from api.app import create_app
from shared.config import Settings

__all__ = ["database_url"]

SECRETS_KEY = Fernet.generate_key().decode()


@pytest.fixture(autouse=True)
def operator_allows_loopback(monkeypatch: pytest.MonkeyPatch) -> None:
    """The http nodes of these tests call local servers on 127.0.0.1, internal services
    that only the operator can open to workflows (a spec's allow_hosts only narrows)."""
    monkeypatch.setenv("GRAPHWRIGHT_HTTP_ALLOW_HOSTS", "127.0.0.1")


@pytest.fixture
def settings(database_url: str, tmp_path: Path, request: pytest.FixtureRequest) -> Settings:
    checkpoints = (str(request.getfixturevalue("postgres_url"))
                   if database_url.startswith("postgres") else str(tmp_path / "cp.sqlite"))
    return Settings(data_dir=tmp_path, database_url=database_url,
                    checkpointer_url=checkpoints, secrets_key=SECRETS_KEY,
                    database_pool_max=5)


@pytest.fixture
async def app(settings: Settings) -> AsyncIterator[FastAPI]:
    application = create_app(settings)
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture
async def alice(app: FastAPI) -> AsyncIterator[Caller]:
    async for caller in new_caller(app, "alice"):
        yield caller


@pytest.fixture
async def bob(app: FastAPI) -> AsyncIterator[Caller]:
    async for caller in new_caller(app, "bob"):
        yield caller


@pytest.fixture
async def anonymous(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with client_for(app) as client:
        yield client


@pytest.fixture
def app_with(settings: Settings) -> AppFactory:
    """``async with app_with(max_upload_bytes=10) as app``: the app on these settings
    changed. The database connection is process-wide, so a test using this must not also
    use the ``app`` fixture (nor ``alice``/``bob``, which need it)."""

    @asynccontextmanager
    async def make(**changes: Any) -> AsyncIterator[FastAPI]:
        application = create_app(Settings(**{**dict(settings), **changes}))
        async with application.router.lifespan_context(application):
            yield application

    return make
