"""The app's foundation: probes, problem responses, authentication by API key."""

from __future__ import annotations

import httpx
from fastapi import FastAPI
from helpers.api_client import Caller, assert_problem, client_for

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
