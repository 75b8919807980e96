"""The Tortoise configuration of the service database.

``TORTOISE_ORM`` is what Tortoise's own migration CLI reads; from the repository root::

    GRAPHWRIGHT_DATABASE_URL=sqlite://:memory: \\
        .venv/bin/tortoise -c shared.database.config.TORTOISE_ORM makemigrations
    .venv/bin/tortoise -c shared.database.config.TORTOISE_ORM migrate   # what init_db does
"""

from __future__ import annotations

import os
from functools import cache
from typing import Any

from tortoise.backends.base.config_generator import expand_db_url

from shared.config import get_settings
from shared.database.models._common import APP

MODELS_MODULE = "shared.database.models"
MIGRATIONS_MODULE = "shared.database.migrations"


def connection_name(url: str) -> str:
    """The Tortoise connection name: the dialect. Tortoise caches compiled SQL per
    connection name for the whole process, so one name must never serve two dialects
    (a process opening SQLite, then Postgres, would send SQLite's SQL to Postgres)."""
    return "sqlite" if url.startswith("sqlite://") else "postgres"


def tortoise_config(url: str, *, pool_max: int = 20) -> dict[str, Any]:
    """A Tortoise config dict for ``url`` (sqlite://..., postgres://..., postgresql://...)."""
    name = connection_name(url)
    return {
        "connections": {name: _connection(url, pool_max)},
        "apps": {APP: {"models": [MODELS_MODULE], "default_connection": name,
                       "migrations": MIGRATIONS_MODULE}},
        "use_tz": True,
        "timezone": "UTC",
    }


def _connection(url: str, pool_max: int) -> str | dict[str, Any]:
    if url.startswith("sqlite://"):
        path = os.path.expanduser(url.removeprefix("sqlite://"))
        # WAL and foreign keys are Tortoise's defaults; wait for a lock instead of failing
        # when another process (api and worker on one file) is writing.
        return {"engine": "tortoise.backends.sqlite",
                "credentials": {"file_path": path, "busy_timeout": 5000}}
    if not url.startswith(("postgres://", "postgresql://")):
        raise ValueError(f"unsupported database URL {url.split(':', 1)[0]}://...: "
                         "use sqlite:///path/to/file.db or postgres://user:pass@host/db")
    config = expand_db_url(url)  # asyncpg; ?schema=<name> sets the search_path
    credentials = config["credentials"]
    credentials["maxsize"] = int(credentials.get("maxsize") or pool_max)
    credentials["connection_class"] = _session_keeping_connection()
    return config


@cache
def _session_keeping_connection() -> type:
    """An asyncpg connection whose return to the pool costs no round trip.

    Tortoise takes a pooled connection per query, and asyncpg resets each one on release
    with ``SELECT pg_advisory_unlock_all(); CLOSE ALL; UNLISTEN *; RESET ALL`` (a
    round trip: about 40% of a run's statements). Our queries leave no session state behind
    (no SET, LISTEN or cursors; the migration lock is released on its own connection), so
    the reset query is empty; asyncpg still rolls back a transaction left open."""
    import asyncpg  # type: ignore[import-untyped]

    class SessionKeepingConnection(asyncpg.Connection):  # type: ignore[misc]
        def get_reset_query(self) -> str:
            return ""

    return SessionKeepingConnection


def _settings_config() -> dict[str, Any]:
    settings = get_settings()
    return tortoise_config(settings.database_url, pool_max=settings.database_pool_max)


TORTOISE_ORM = _settings_config()
