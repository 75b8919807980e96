"""The caller (``/v1/me``) and their API keys (``/v1/me/api-keys...``)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request, status

from api.auth import CurrentUser
from api.routers._responses import problems
from api.services.users import ApiKeyCreate, ApiKeyList, IssuedApiKey, UsersService
from api.state import service_state
from shared.database.entities import ApiKeyInfo, UserInfo

router = APIRouter(tags=["users"])


def _service(request: Request) -> UsersService:
    return UsersService(service_state(request).authenticator)


Service = Annotated[UsersService, Depends(_service)]


@router.get("/me", response_model=UserInfo, summary="The authenticated user")
async def me(user: CurrentUser) -> UserInfo:
    return user


@router.get("/me/api-keys", response_model=ApiKeyList,
            summary="The caller's API keys (prefixes and dates, never the keys)")
async def list_api_keys(user: CurrentUser, service: Service) -> ApiKeyList:
    return await service.api_keys(user.id)


@router.post("/me/api-keys", response_model=IssuedApiKey, status_code=status.HTTP_201_CREATED,
             responses=problems(400),
             summary="Create an API key (its value is in this response only)")
async def create_api_key(user: CurrentUser, service: Service,
                         body: ApiKeyCreate | None = None) -> IssuedApiKey:
    return await service.create_api_key(user.id, body or ApiKeyCreate())


@router.delete("/me/api-keys/{key_id}", response_model=ApiKeyInfo,
               summary="Revoke an API key: it stops working at once; its record stays, "
               "with revoked_at")
async def delete_api_key(key_id: str, user: CurrentUser, service: Service) -> ApiKeyInfo:
    return await service.revoke_api_key(user.id, key_id)
