"""Checkpointer factory: ``memory``, a SQLite file (the embedded default) or Postgres.

On Postgres the saver is ``BatchedPostgresSaver`` over a connection pool: LangGraph's
own saver, with its writes committed in groups (``postgres_saver``).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.checkpoint.memory import InMemorySaver

#: connections of a Postgres checkpointer's pool (``GRAPHWRIGHT_CHECKPOINTER_POOL_MAX``)
DEFAULT_POOL_MAX = 8


def describe(url: str) -> str:
    if url == "memory":
        return "memory"
    if url.startswith(("postgres://", "postgresql://")):
        return "postgres"
    return "sqlite"


@asynccontextmanager
async def open_checkpointer(url: str, *, pool_max: int = DEFAULT_POOL_MAX
                           ) -> AsyncIterator[BaseCheckpointSaver[Any]]:
    """``memory``, ``postgresql://...``, or a SQLite path (``sqlite:///path`` or plain).

    ``pool_max``: on Postgres, how many connections (and concurrent statements) the saver
    may use; it opens one and grows on demand."""
    kind = describe(url)
    if kind == "memory":
        yield InMemorySaver()
        return
    if kind == "postgres":
        async with _postgres_saver(url, pool_max) as saver:
            yield saver
        return
    from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver

    path = sqlite_path(url)
    path.parent.mkdir(parents=True, exist_ok=True)
    async with AsyncSqliteSaver.from_conn_string(str(path)) as saver:
        await saver.setup()
        yield saver


@asynccontextmanager
async def _postgres_saver(url: str, pool_max: int) -> AsyncIterator[BaseCheckpointSaver[Any]]:
    from psycopg.rows import dict_row
    from psycopg_pool import AsyncConnectionPool

    from workflow_compiler.runtime.postgres_saver import BatchedPostgresSaver

    # the connection settings AsyncPostgresSaver.from_conn_string uses for its one
    kwargs: dict[str, Any] = {"autocommit": True, "prepare_threshold": 0,
                              "row_factory": dict_row}
    size = max(1, pool_max)
    async with AsyncConnectionPool(url, min_size=1, max_size=size, open=False,
                                   kwargs=kwargs) as pool:
        saver = BatchedPostgresSaver(pool, concurrency=size)
        async with pool.connection() as conn, setup_lock(conn):
            await saver.setup()
        try:
            yield saver
        finally:
            await saver.drain()


#: pg_advisory_lock key serialising LangGraph's table set-up ("gw-setup" as an int)
SETUP_LOCK_KEY = 0x67772D7365747570


@asynccontextmanager
async def setup_lock(conn: Any) -> AsyncIterator[None]:
    """Hold a Postgres advisory lock around LangGraph's ``setup()``: its ``CREATE TABLE IF
    NOT EXISTS`` statements race when several processes open a fresh database at once
    (``graphwright serve --workers 2``: one worker fails with a duplicate ``pg_type``).

    The lock is polled, not waited for: the set-up runs ``CREATE INDEX CONCURRENTLY``,
    which waits for every open transaction, a blocked ``pg_advisory_lock`` included (a
    deadlock); a session sleeping between tries holds none."""
    while True:
        cursor = await conn.execute("SELECT pg_try_advisory_lock(%s) AS locked",
                                    (SETUP_LOCK_KEY,))
        row = await cursor.fetchone()
        if (row["locked"] if isinstance(row, dict) else row[0]):
            break
        await asyncio.sleep(0.05)
    try:
        yield
    finally:
        await conn.execute("SELECT pg_advisory_unlock(%s)", (SETUP_LOCK_KEY,))


def sqlite_path(url: str) -> Path:
    return Path(url.removeprefix("sqlite:///").removeprefix("sqlite://"))
