"""Helpers of the workflows, catalog, files, secrets, users, metrics and isolation tests."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from typing import Any

from fastapi import FastAPI

from helpers.api_client import Caller

#: ``async with app_with(**settings_changes) as app`` (the fixture in tests/api/conftest.py)
AppFactory = Callable[..., AbstractAsyncContextManager[FastAPI]]


def greeting(name: str = "greet", text: str = "hi") -> dict[str, Any]:
    """The smallest valid spec: one transform."""
    return {"spec_version": "1", "name": name,
            "nodes": [{"id": "say", "type": "transform", "value": text}], "edges": [],
            "outputs": {"said": "{{ nodes.say }}"}}


async def create(caller: Caller, name: str, **fields: Any) -> dict[str, Any]:
    """A workflow of the caller's, made over the API."""
    response = await caller.client.post("/v1/workflows", json={"name": name, **fields})
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body
