"""Every router of the app, in the order the OpenAPI document lists them.

Each entry is ``(router, under_v1)``. A new router is added here; the isolation test
(tests/api/test_isolation.py) then checks its routes need authentication and scope.
"""

from __future__ import annotations

from fastapi import APIRouter

from api.routers import (
    approvals,
    catalog,
    files,
    health,
    metrics,
    runs,
    secrets,
    users,
    versions,
    workflows,
)

ROUTERS: list[tuple[APIRouter, bool]] = [
    (health.router, False),
    (metrics.router, False),
    (workflows.router, True),
    (versions.router, True),
    (runs.router, True),
    (approvals.router, True),
    (catalog.router, True),
    (files.router, True),
    (secrets.router, True),
    (users.router, True),
]
