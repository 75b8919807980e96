"""Secrets (``/v1/secrets...``): write-only values, readable by the owner's runs as
``{{ secrets.<name> }}``."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response, status

from api.auth import CurrentUser
from api.routers._responses import problems
from api.services.secrets import SecretList, SecretsService, SecretWrite
from api.state import service_state
from shared.database.entities import SecretInfo

router = APIRouter(tags=["secrets"], responses=problems(503))


def _service(request: Request) -> SecretsService:
    return SecretsService(service_state(request).settings)


Service = Annotated[SecretsService, Depends(_service)]


@router.put("/secrets/{name}", response_model=SecretInfo, responses=problems(400),
            summary="Create or replace a secret (the response never contains its value)")
async def put_secret(name: str, body: SecretWrite, user: CurrentUser, service: Service
                     ) -> SecretInfo:
    return await service.put(user.id, name, body)


@router.get("/secrets", response_model=SecretList, summary="Secret names and dates")
async def list_secrets(user: CurrentUser, service: Service) -> SecretList:
    return await service.list(user.id)


@router.delete("/secrets/{name}", status_code=status.HTTP_204_NO_CONTENT,
               response_class=Response)
async def delete_secret(name: str, user: CurrentUser, service: Service) -> Response:
    await service.delete(user.id, name)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
