"""Property-based tests of the whole API from its own OpenAPI document (schemathesis), on
SQLite and Postgres: for generated requests to every operation, no 5xx, and every
response (status, content type, body) is one the document declares.

The app runs under schemathesis's ASGI transport, which starts the app's lifespan in an
event loop thread of its own; the database connection is process-wide, so the lifespan
is shut down when the module ends, before other modules open theirs. The calling user is
created beforehand, in a loop of its own, like the module's migrations.

Bounded: ``MAX_EXAMPLES`` per operation and database keeps the module under a few minutes
on a 2-core machine. Raise it locally to dig deeper (``GRAPHWRIGHT_FUZZ_EXAMPLES=200``).
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from cryptography.fernet import Fernet
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.python import asgi
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from api.app import create_app
from shared.config import Settings
from shared.database import close_db, init_db
from shared.database.repositories import UsersRepository

MAX_EXAMPLES = int(os.environ.get("GRAPHWRIGHT_FUZZ_EXAMPLES", "25"))
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_schema_conformance]
NEGATIVE_CHECKS = [not_a_server_error, status_code_conformance]


async def _make_user(url: str) -> str:
    await init_db(url, global_fallback=False)
    try:
        _, key = await UsersRepository().create_user("fuzzer")
    finally:
        await close_db()
    return key


@pytest.fixture(scope="module")
def fuzz_target(database_url: str, tmp_path_factory: pytest.TempPathFactory,
                request: pytest.FixtureRequest) -> Iterator[tuple[Any, str]]:
    data_dir: Path = tmp_path_factory.mktemp("fuzz")
    checkpoints = (str(request.getfixturevalue("postgres_url"))
                   if database_url.startswith("postgres") else str(data_dir / "cp.sqlite"))
    app = create_app(Settings(data_dir=data_dir, database_url=database_url,
                              checkpointer_url=checkpoints,
                              secrets_key=Fernet.generate_key().decode(),
                              database_pool_max=5, max_upload_bytes=64 * 1024))
    key = asyncio.run(_make_user(database_url))
    try:
        yield app, key
    finally:
        asgi.shutdown_lifespans()


def _failure(label: str, exc: BaseException) -> str:
    text = str(exc).strip()
    return f"{label}: {type(exc).__name__}: {text[:1500]}"


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE],
                         ids=["positive", "negative"])
def test_every_operation_against_its_declaration(fuzz_target: tuple[Any, str],
                                                 mode: GenerationMode) -> None:
    """Positive cases (valid requests) must meet every check; negative ones (invalid
    requests) must still never be a 5xx or an undeclared status. Failures are collected
    over all operations, so one run lists them all."""
    app, key = fuzz_target
    api = schemathesis.openapi.from_asgi("/openapi.json", app)
    checks = CHECKS if mode is GenerationMode.POSITIVE else NEGATIVE_CHECKS
    failures: list[str] = []
    operations = 0
    for result in api.get_all_operations():
        operation = result.ok()
        operations += 1
        label = f"{operation.method.upper()} {operation.path}"

        @given(case=operation.as_strategy(generation_mode=mode))
        @settings(max_examples=MAX_EXAMPLES, deadline=None, database=None,
                  suppress_health_check=list(HealthCheck), phases=[Phase.generate])
        def check(case: Any) -> None:
            case.call_and_validate(headers={"Authorization": f"Bearer {key}"},
                                   checks=checks)

        try:
            check()
        except Unsatisfiable:
            continue  # nothing to negate (an operation without parameters or body)
        except (Exception, BaseExceptionGroup) as exc:  # collect: report every operation
            failures.append(_failure(label, exc))
    assert operations >= 30
    assert not failures, "\n\n".join(failures)
