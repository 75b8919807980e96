"""OpenAPI declarations of the problem responses a route may give beyond the common
ones (401, 404, 422), so every status a client can see is in the document."""

from __future__ import annotations

from typing import Any

from api.problems import PROBLEM_JSON, Problem

_DESCRIPTIONS = {400: "Bad request: the body could not be read (not UTF-8 JSON)",
                 403: "Forbidden", 409: "Conflict", 413: "Payload too large",
                 503: "Service unavailable"}


def problems(*statuses: int) -> dict[int | str, dict[str, Any]]:
    return {status: {"model": Problem, "description": _DESCRIPTIONS.get(status, "Error"),
                     "content": {PROBLEM_JSON: {}}}
            for status in statuses}

