"""Clients of the API under test, authenticated as users of their own."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
from fastapi import FastAPI

from shared.database.entities import UserInfo
from shared.database.repositories import UsersRepository

PROBLEM_JSON = "application/problem+json"


@dataclass
class Caller:
    """A user of the API and a client that authenticates as them."""

    user: UserInfo
    key: str
    client: httpx.AsyncClient


def client_for(app: FastAPI, key: str | None = None) -> httpx.AsyncClient:
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                             base_url="http://testserver", headers=headers)


async def new_caller(app: FastAPI, prefix: str) -> AsyncIterator[Caller]:
    user, key = await UsersRepository().create_user(f"{prefix}-{uuid.uuid4().hex[:8]}")
    async with client_for(app, key) as client:
        yield Caller(user, key, client)


def assert_problem(response: httpx.Response, status: int, code: str | None = None
                   ) -> dict[str, Any]:
    """The response is an RFC 7807 problem with this status (and code); returns its body."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM_JSON), response.headers
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    assert body["type"].startswith("https://graphwright.dev/problems/")
    assert body["type"].rsplit("/", 1)[1] == body["code"]
    assert isinstance(body["title"], str) and isinstance(body["detail"], str)
    if code is not None:
        assert body["code"] == code, body
    return body
