"""The caller's own account: who they are and their API keys.

A new key's plaintext is returned by the call that creates it and never again (only its
hash is stored). Revoking clears this process's cache of verified keys, so the key stops
working here at once (other processes within ``KEY_CACHE_SECONDS``).
"""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import UUID

from pydantic import BaseModel, Field

from api.auth import Authenticator
from api.services.bodies import RequestBody
from shared.database.entities import ApiKeyInfo
from shared.database.errors import InvalidArgumentError
from shared.database.repositories import UsersRepository


class ApiKeyCreate(RequestBody):
    name: str = Field(default="default", min_length=1, max_length=64)
    expires_at: datetime | None = Field(default=None,
                                        description="when the key stops working; none: never")


class ApiKeyList(BaseModel):
    items: list[ApiKeyInfo]


class IssuedApiKey(ApiKeyInfo):
    key: str = Field(description="the key itself: shown this once, store it now")


class UsersService:
    def __init__(self, authenticator: Authenticator) -> None:
        self.authenticator = authenticator
        self.users = UsersRepository()

    async def api_keys(self, owner_id: UUID) -> ApiKeyList:
        return ApiKeyList(items=await self.users.list_api_keys(owner_id))

    async def create_api_key(self, owner_id: UUID, body: ApiKeyCreate) -> IssuedApiKey:
        expires = body.expires_at
        if expires is not None:
            if expires.tzinfo is None:
                expires = expires.replace(tzinfo=UTC)
            if expires <= datetime.now(UTC):
                raise InvalidArgumentError("expires_at is in the past", field="expires_at")
        info, plaintext = await self.users.create_api_key(owner_id, body.name,
                                                          expires_at=expires)
        return IssuedApiKey(**info.model_dump(), key=plaintext)

    async def revoke_api_key(self, owner_id: UUID, key_id: str) -> ApiKeyInfo:
        revoked = await self.users.revoke_api_key(owner_id, key_id)
        self.authenticator.keys.clear()
        return revoked
