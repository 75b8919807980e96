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
import uuid
from collections.abc import Iterator

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


@pytest.fixture(scope="module", params=DATABASE_BACKENDS)
def database_url(request: pytest.FixtureRequest,
                 tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A migrated database for this module: ``sqlite:///...`` or ``postgres://...``."""
    if request.param == "sqlite":
        url = f"sqlite://{tmp_path_factory.mktemp('db') / 'graphwright.db'}"
        asyncio.run(_migrate(url))
        yield url
        return
    import psycopg

    session_url = str(request.getfixturevalue("postgres_url"))
    name = f"gw_mod_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(session_url, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{name}"')
    url = f"{session_url.replace('postgresql://', 'postgres://', 1)}?schema={name}"
    try:
        asyncio.run(_migrate(url))
        yield url
    finally:
        with psycopg.connect(session_url, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA IF EXISTS "{name}" CASCADE')
