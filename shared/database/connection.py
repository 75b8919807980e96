"""Opening the service database: connect, then bring the schema up to date.

The schema comes from Tortoise's own migrations (``shared/database/migrations``), never
from ``generate_schemas``, so a database created today and one upgraded from an older
release end up identical. The migration step holds a lock (a Postgres advisory lock, or
a lock file beside a SQLite database), so an API and a worker starting together do not
race to apply the same migration.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import IO, Any

from tortoise import Tortoise
from tortoise.context import TortoiseContext
from tortoise.migrations.executor import MigrationExecutor

from shared.database.config import tortoise_config
from shared.database.models._common import APP

#: pg_advisory_lock key: "graphwright migrations"
_MIGRATION_LOCK = 0x6777_6D69_6772


async def init_db(url: str, *, migrate: bool = True, pool_max: int = 20,
                  global_fallback: bool = True) -> TortoiseContext:
    """Connect Tortoise to ``url`` and, with ``migrate``, apply pending migrations.

    ``global_fallback`` makes the connection visible to every task of the process (a web
    server handles requests in tasks other than the one that ran its startup)."""
    config = tortoise_config(url, pool_max=pool_max)
    sqlite_path = _sqlite_path(config)
    if sqlite_path is not None and sqlite_path != ":memory:":
        await asyncio.to_thread(_make_parent_dir, sqlite_path)
    context = await Tortoise.init(config=config, _enable_global_fallback=global_fallback)
    if migrate:
        await apply_migrations(config)
    return context


async def apply_migrations(config: dict[str, Any]) -> None:
    """Apply every migration not yet recorded in ``tortoise_migrations``."""
    connection = Tortoise.get_connection(config["apps"][APP]["default_connection"])
    if connection.capabilities.dialect == "postgres":
        # The lock belongs to the session that took it: hold one pooled connection for it
        # while the migrations run on others.
        async with connection.acquire_connection() as raw:
            await raw.execute(f"SELECT pg_advisory_lock({_MIGRATION_LOCK})")
            try:
                await _migrate(connection, config)
            finally:
                await raw.execute(f"SELECT pg_advisory_unlock({_MIGRATION_LOCK})")
        return
    async with _file_lock(_sqlite_path(config)):
        await _migrate(connection, config)


async def _migrate(connection: Any, config: dict[str, Any]) -> None:
    executor = MigrationExecutor(connection, {APP: config["apps"][APP]})
    await executor.migrate()


async def close_db() -> None:
    await Tortoise.close_connections()


@contextlib.asynccontextmanager
async def _file_lock(database: str | None) -> AsyncIterator[None]:
    """An exclusive lock on ``<database>.migrate.lock`` (POSIX ``flock``; taken in a thread
    so waiting does not block the event loop). A no-op for in-memory databases."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows: one process per SQLite file, please
        fcntl = None  # type: ignore[assignment]
    if fcntl is None or database is None or database == ":memory:":
        yield
        return
    handle = await asyncio.to_thread(_open_lock_file, f"{database}.migrate.lock")
    try:
        await asyncio.to_thread(fcntl.flock, handle.fileno(), fcntl.LOCK_EX)
        yield
    finally:
        fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
        handle.close()


def _open_lock_file(path: str) -> IO[str]:
    return Path(path).expanduser().open("a", encoding="utf-8")


def _make_parent_dir(path: str) -> None:
    Path(path).expanduser().parent.mkdir(parents=True, exist_ok=True)


def _sqlite_path(config: dict[str, Any]) -> str | None:
    default = next(iter(config["connections"].values()))
    if isinstance(default, dict) and default.get("engine") == "tortoise.backends.sqlite":
        return str(default["credentials"]["file_path"])
    return None
