"""A fresh, migrated service database per test module, on SQLite and on Postgres.

Each module gets its own database: a SQLite file, or a Postgres schema of its own in the
session's database, dropped afterwards (creating a schema takes milliseconds, a database
about a second). It is migrated from zero with Tortoise's migrations, in an event loop of
its own; each test then connects in its own loop. Tests stay independent within a module
by working as users of their own (every query is scoped).

Conftests that need it import ``database_url`` (importing a fixture registers it).
"""

from __future__ import annotations

import asyncio
import sqlite3
import uuid
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path

import pytest

from shared.database import close_db, init_db

DATABASE_BACKENDS = ["sqlite", "postgres"]


async def _migrate(url: str) -> None:
    await init_db(url, global_fallback=False)
    await close_db()


def schema_of(url: str) -> str | None:
    """The module's Postgres schema, from a ``...?schema=<name>`` URL."""
    _, _, query = url.partition("?schema=")
    return query or None


@contextmanager
def empty_database(backend: str, directory: Path, session_url: str | None) -> Iterator[str]:
    """The URL of a database of its own, not migrated yet: a SQLite file in ``directory``,
    or a schema of its own in the session's Postgres database (``session_url``), dropped
    afterwards."""
    if backend == "sqlite":
        directory.mkdir(parents=True, exist_ok=True)
        yield f"sqlite://{directory / 'graphwright.db'}"
        return
    import psycopg

    assert session_url is not None, "Postgres needs the session's database"
    name = f"gw_mod_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(session_url, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{name}"')
    try:
        yield f"{session_url.replace('postgresql://', 'postgres://', 1)}?schema={name}"
    finally:
        with psycopg.connect(session_url, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA IF EXISTS "{name}" CASCADE')


def drop_tables(url: str) -> None:
    """Take the service's tables away from under a running app (the database stays up):
    every table of the SQLite file, or the Postgres schema."""
    schema = schema_of(url)
    if schema is None:
        path = url.removeprefix("sqlite://")
        with closing(sqlite3.connect(path)) as conn:
            tables = [row[0] for row in conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' "
                "AND name NOT LIKE 'sqlite_%'")]
            for table in tables:
                conn.execute(f'DROP TABLE "{table}"')
            conn.commit()
        return
    import psycopg

    session_url = url.partition("?")[0].replace("postgres://", "postgresql://", 1)
    with psycopg.connect(session_url, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


@pytest.fixture(scope="module", params=DATABASE_BACKENDS)
def database_url(request: pytest.FixtureRequest,
                 tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A migrated database for this module: ``sqlite:///...`` or ``postgres://...``."""
    session_url = (str(request.getfixturevalue("postgres_url"))
                   if request.param == "postgres" else None)
    with empty_database(request.param, tmp_path_factory.mktemp("db"), session_url) as url:
        asyncio.run(_migrate(url))
        yield url
