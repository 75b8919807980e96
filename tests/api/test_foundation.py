"""The app's foundation: probes, problem responses, authentication by API key, request
body limits."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from helpers.api_apps import AppFactory, greeting
from helpers.api_client import Caller, assert_problem, client_for, new_caller
from helpers.service_db import drop_tables, empty_database

from shared.config import Settings
from shared.database.repositories import UsersRepository


async def test_probes_answer_without_credentials(anonymous: httpx.AsyncClient) -> None:
    assert (await anonymous.get("/healthz")).json() == {"status": "ok", "checks": {}}
    ready = await anonymous.get("/readyz")
    assert ready.status_code == 200
    assert ready.json() == {"status": "ok", "checks": {"database": "ok"}}


async def test_unknown_route_is_a_problem(alice: Caller) -> None:
    assert_problem(await alice.client.get("/v1/no-such-thing"), 404, "not_found")


async def test_bad_or_missing_credentials_are_401(app: FastAPI, alice: Caller) -> None:
    await UsersRepository().revoke_api_key(
        alice.user.id, (await UsersRepository().list_api_keys(alice.user.id))[0].id)
    app.state.authenticator.keys.clear()
    for key in (None, "nonsense", "gw_0123456789ab_" + "x" * 43, alice.key):
        async with client_for(app, key) as client:
            response = await client.get("/v1/workflows")
        body = assert_problem(response, 401, "unauthenticated")
        assert response.headers["www-authenticate"] == "Bearer"
        assert "Bearer" in body["detail"]


async def test_request_bodies_past_the_limit_are_413_problems(app_with: AppFactory) -> None:
    async with app_with(max_request_bytes=2000, max_upload_bytes=10_000) as app:
        async for caller in new_caller(app, "bodies"):
            made = await caller.client.post("/v1/runs", json={"spec": greeting()})
            assert made.status_code == 201, made.text
            padded = {"spec": greeting(), "inputs": {"pad": "x" * 3000}}
            body = assert_problem(await caller.client.post("/v1/runs", json=padded), 413,
                                  "payload_too_large")
            assert "2000" in body["detail"]
            # refused by its Content-Length before anything runs, authentication included
            async with client_for(app) as anonymous:
                assert_problem(await anonymous.post("/v1/runs", json=padded), 413,
                               "payload_too_large")
            # chunked (no Content-Length): read until past the limit and no further
            sent = 0

            async def chunks() -> AsyncIterator[bytes]:
                nonlocal sent
                yield b'{"spec": ' + json.dumps(greeting()).encode()
                for _ in range(1000):
                    sent += 1
                    yield b" " * 500
                yield b"}"

            chunked = await caller.client.post(
                "/v1/runs", content=chunks(), headers={"content-type": "application/json"})
            assert_problem(chunked, 413, "payload_too_large")
            assert sent < 10
            listed = (await caller.client.get("/v1/runs")).json()["items"]
            assert [r["id"] for r in listed] == [made.json()["id"]]
            # uploads have a limit of their own
            upload = await caller.client.post("/v1/files", files={
                "file": ("big.bin", b"x" * 5000, "application/octet-stream")})
            assert upload.status_code == 201, upload.text


async def test_readyz_is_503_when_the_database_cannot_answer(
        app_with: AppFactory, settings: Settings, request: pytest.FixtureRequest,
        tmp_path: Path) -> None:
    """What /readyz checks is a query on a migrated table: once the tables are gone (the
    database dropped under the app), it answers 503 and says why."""
    backend = "postgres" if settings.database_url.startswith("postgres") else "sqlite"
    session = str(request.getfixturevalue("postgres_url")) if backend == "postgres" else None
    with empty_database(backend, tmp_path / "own", session) as url:
        async with app_with(database_url=url) as app, client_for(app) as client:
            assert (await client.get("/readyz")).status_code == 200
            drop_tables(url)
            ready = await client.get("/readyz")
            assert (await client.get("/healthz")).status_code == 200
    assert ready.status_code == 503, ready.text
    body = ready.json()
    assert body["status"] == "unavailable"
    assert body["checks"]["database"] not in ("", "ok")
