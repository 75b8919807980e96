"""The schema comes from Tortoise's migrations, applied from zero, on both databases."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from helpers.db_objects import transform_spec, unique
from tortoise import Tortoise
from tortoise.exceptions import IntegrityError

from shared.database import close_db, init_db
from shared.database.config import tortoise_config
from shared.database.connection import apply_migrations
from shared.database.models import Version
from shared.database.repositories import UsersRepository, VersionsRepository, WorkflowsRepository

TABLES = {
    "users", "api_keys", "namespaces", "workflows", "workflow_drafts", "workflow_versions",
    "runs", "run_steps", "run_events", "approvals", "approval_approvers",
    "approval_responses", "files", "secrets", "tortoise_migrations",
}
MIGRATIONS = ["0001_initial", "0002_one_published_version", "0003_run_limits"]


async def _tables(backend: str) -> set[str]:
    conn = Tortoise.get_connection(backend)
    if backend == "sqlite":
        _, rows = await conn.execute_query("SELECT name FROM sqlite_master WHERE type='table'")
        return {r["name"] for r in rows}
    _, rows = await conn.execute_query(
        "SELECT tablename FROM pg_tables WHERE schemaname = current_schema()")
    return {r["tablename"] for r in rows}


async def test_migrations_applied_from_zero(db: str, backend: str) -> None:
    assert await _tables(backend) >= TABLES
    conn = Tortoise.get_connection(backend)
    _, rows = await conn.execute_query(
        "SELECT name FROM tortoise_migrations WHERE app = 'graphwright' ORDER BY name")
    assert [r["name"] for r in rows] == MIGRATIONS


async def test_migrating_again_is_a_no_op(database_url: str, backend: str) -> None:
    await init_db(database_url)  # migrate=True on an up-to-date database
    try:
        conn = Tortoise.get_connection(backend)
        _, rows = await conn.execute_query("SELECT COUNT(*) AS n FROM tortoise_migrations")
        assert rows[0]["n"] == len(MIGRATIONS)
    finally:
        await close_db()


async def test_models_match_the_migrations(db: str) -> None:
    """What ``tortoise makemigrations`` would write next: nothing."""
    from tortoise.migrations.autodetector import MigrationAutodetector

    config = tortoise_config(db)
    detector = MigrationAutodetector(Tortoise.apps, config["apps"])
    assert await detector.changes() == []


async def test_the_database_allows_one_published_version_per_workflow(db: str) -> None:
    user, _ = await UsersRepository().create_user(unique("u"))
    workflow = await WorkflowsRepository().create(user.id, unique("wf"))
    versions = VersionsRepository()
    one, _ = await versions.create(user.id, workflow.id, transform_spec(text="1"))
    two, _ = await versions.create(user.id, workflow.id, transform_spec(text="2"))
    await versions.publish(user.id, workflow.id, one.number)
    with pytest.raises(IntegrityError):  # the partial unique index, bypassing the repository
        await Version.filter(id=two.id).update(status="published")


async def test_init_db_creates_the_sqlite_directory(tmp_path: Path) -> None:
    path = tmp_path / "nested" / "deeper" / "graphwright.db"
    await init_db(f"sqlite://{path}")
    try:
        user, key = await UsersRepository().create_user(f"u{uuid.uuid4().hex[:6]}")
        assert key.startswith("gw_")
        assert user.name.startswith("u")
    finally:
        await close_db()
    assert path.is_file()


@pytest.fixture
def fresh_url(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[str]:
    """An empty database of this module's kind, not yet migrated."""
    if backend == "sqlite":
        yield f"sqlite://{tmp_path / 'fresh.db'}"
        return
    import psycopg

    session_url = str(request.getfixturevalue("postgres_url"))
    name = f"gw_fresh_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(session_url, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{name}"')
    try:
        yield f"{session_url.replace('postgresql://', 'postgres://', 1)}?schema={name}"
    finally:
        with psycopg.connect(session_url, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA IF EXISTS "{name}" CASCADE')


async def test_concurrent_migrators_apply_each_migration_once(
    fresh_url: str, backend: str,
) -> None:
    """An API and a worker starting together: the lock makes one wait for the other."""
    await init_db(fresh_url, migrate=False)
    try:
        config = tortoise_config(fresh_url)
        await asyncio.gather(*(apply_migrations(config) for _ in range(3)))
        _, rows = await Tortoise.get_connection(backend).execute_query(
            "SELECT name FROM tortoise_migrations ORDER BY name")
        assert [r["name"] for r in rows] == MIGRATIONS
        assert await _tables(backend) >= TABLES
    finally:
        await close_db()


async def test_run_limits_migrate_a_database_that_has_runs(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """0003 adds NOT NULL columns: existing runs must get their database default (0)."""
    from helpers.service_db import empty_database
    from tortoise.migrations.executor import MigrationExecutor, MigrationTarget

    session = str(request.getfixturevalue("postgres_url")) if backend == "postgres" else None
    with empty_database(backend, tmp_path / "upgrade", session) as url:
        await init_db(url, migrate=False)
        try:
            config = tortoise_config(url)
            conn = Tortoise.get_connection(backend)
            apps = {"graphwright": config["apps"]["graphwright"]}
            await MigrationExecutor(conn, apps).migrate(
                [MigrationTarget("graphwright", "0002_one_published_version")])
            owner = uuid.uuid4()
            mark = "$1, $2" if backend == "postgres" else "?, ?"
            await conn.execute_query(
                "INSERT INTO users (id, name, display_name, is_active, created_at) "
                f"VALUES ({mark}, 'old', TRUE, CURRENT_TIMESTAMP)",
                [str(owner) if backend == "sqlite" else owner, unique("old")])
            await conn.execute_query(
                "INSERT INTO runs (id, workflow_name, spec_hash, status, source, inputs, "
                "interrupts, usage, attempt, last_seq, created_at, updated_at, owner_id) "
                "VALUES ('old-run', 'w', 'h', 'completed', 'api', '{}', '[]', '{}', 1, 0, "
                f"CURRENT_TIMESTAMP, CURRENT_TIMESTAMP, {mark.split(', ')[0]})",
                [str(owner) if backend == "sqlite" else owner])
            await MigrationExecutor(conn, apps).migrate()
            _, rows = await conn.execute_query(
                "SELECT steps_used, active_ms FROM runs WHERE id = 'old-run'")
            assert [(r["steps_used"], r["active_ms"]) for r in rows] == [(0, 0.0)]
        finally:
            await close_db()
