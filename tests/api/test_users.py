"""The caller and their API keys over the API."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from fastapi import FastAPI
from helpers.api_client import Caller, assert_problem, client_for


async def test_me_is_the_authenticated_user(alice: Caller, bob: Caller) -> None:
    me = (await alice.client.get("/v1/me")).json()
    assert (me["id"], me["name"]) == (str(alice.user.id), alice.user.name)
    assert (await bob.client.get("/v1/me")).json()["name"] == bob.user.name


async def test_api_keys_are_shown_once_work_and_stop_when_revoked(app: FastAPI, alice: Caller
                                                                   ) -> None:
    made = await alice.client.post("/v1/me/api-keys", json={"name": "ci"})
    assert made.status_code == 201, made.text
    issued = made.json()
    assert issued["key"].startswith(f"gw_{issued['prefix']}_")
    listed = (await alice.client.get("/v1/me/api-keys")).json()["items"]
    assert [k["name"] for k in listed] == ["default", "ci"]
    assert all("key" not in k and "key_hash" not in k for k in listed)
    assert issued["key"] not in (await alice.client.get("/v1/me/api-keys")).text

    async with client_for(app, issued["key"]) as ci:
        assert (await ci.get("/v1/me")).json()["name"] == alice.user.name
        revoked = await alice.client.delete(f"/v1/me/api-keys/{issued['id']}")
        assert revoked.status_code == 200 and revoked.json()["revoked_at"]
        assert_problem(await ci.get("/v1/me"), 401, "unauthenticated")  # at once
    assert (await alice.client.get("/v1/me")).status_code == 200  # the other key still works
    assert_problem(await alice.client.delete("/v1/me/api-keys/not-a-key"), 404)


async def test_key_expiry(app: FastAPI, alice: Caller) -> None:
    past = (datetime.now(UTC) - timedelta(minutes=1)).isoformat()
    assert_problem(await alice.client.post("/v1/me/api-keys", json={"expires_at": past}), 422,
                   "invalid_argument")
    future = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    made = (await alice.client.post("/v1/me/api-keys", json={"expires_at": future})).json()
    assert made["expires_at"] is not None and made["name"] == "default"
    async with client_for(app, made["key"]) as client:
        assert (await client.get("/v1/me")).status_code == 200
    assert_problem(await alice.client.post("/v1/me/api-keys", json={"name": ""}), 422)
