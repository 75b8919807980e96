"""Probes for orchestrators: liveness says the process serves, readiness that the
database answers (a load balancer should stop sending runs to an instance that cannot
record them)."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from api.services.health import database_ready

router = APIRouter(tags=["health"])


class Health(BaseModel):
    status: Literal["ok", "unavailable"]
    checks: dict[str, str] = {}


@router.get("/healthz", response_model=Health)
async def healthz() -> Health:
    return Health(status="ok")


@router.get("/readyz", response_model=Health,
            responses={503: {"model": Health, "description": "not ready"}})
async def readyz() -> Health | JSONResponse:
    problem = await database_ready()
    if problem is None:
        return Health(status="ok", checks={"database": "ok"})
    body = Health(status="unavailable", checks={"database": problem})
    return JSONResponse(body.model_dump(), status_code=503)
