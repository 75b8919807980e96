"""Service database tests: a fresh, migrated database per module (see
``helpers.service_db``), each test connected in its own loop and working as users of its
own (every query is scoped)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from uuid import UUID

import pytest
from helpers.db_objects import unique
from helpers.service_db import database_url

from shared.database import close_db, init_db
from shared.database.repositories import UsersRepository

__all__ = ["database_url"]


@pytest.fixture
def backend(database_url: str) -> str:
    return "sqlite" if database_url.startswith("sqlite") else "postgres"


@pytest.fixture
def checkpointer_url(database_url: str, backend: str, tmp_path: Path) -> str:
    """LangGraph checkpoints beside this module's database: a SQLite file of the test's,
    or the same Postgres schema (through libpq's search_path)."""
    if backend == "sqlite":
        return str(tmp_path / "checkpoints.sqlite")
    base, _, schema = database_url.partition("?schema=")
    return f"postgresql://{base.split('://', 1)[1]}?options=-csearch_path%3D{schema}"


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[str]:
    """Connected to this module's database for the duration of one test."""
    await init_db(database_url, migrate=False)
    try:
        yield database_url
    finally:
        await close_db()


@pytest.fixture
async def alice(db: str) -> UUID:
    user, _ = await UsersRepository().create_user(unique("alice"))
    return user.id


@pytest.fixture
async def bob(db: str) -> UUID:
    user, _ = await UsersRepository().create_user(unique("bob"))
    return user.id
