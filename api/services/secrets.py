"""Secrets: write-only over the API. A value goes in with PUT and never comes back out:
views hold names and dates, and only runs of the owner read values (through the
runtime's ``SecretsProvider``), which the runtime redacts from events and outputs."""

from __future__ import annotations

from uuid import UUID

from pydantic import BaseModel, Field

from api.services.bodies import RequestBody
from shared.config import Settings
from shared.database.entities import SecretInfo
from shared.database.errors import NotFoundError
from shared.database.repositories import SecretsRepository
from shared.database.repositories._common import SECRET_NAME_PATTERN, check_name
from shared.database.repositories.secrets import MAX_SECRET_BYTES


class SecretWrite(RequestBody):
    value: str = Field(max_length=MAX_SECRET_BYTES,
                       description=f"the secret (at most {MAX_SECRET_BYTES} bytes in UTF-8); "
                       "stored encrypted, never returned")


class SecretList(BaseModel):
    items: list[SecretInfo]


class SecretsService:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def _repository(self) -> SecretsRepository:
        """Built per call: without a configured key, only calls that need one fail (503)."""
        return SecretsRepository.from_settings(self.settings)

    async def put(self, owner_id: UUID, name: str, body: SecretWrite) -> SecretInfo:
        check_name(name, "secret name", SECRET_NAME_PATTERN)
        return await self._repository().put(owner_id, name, body.value)

    async def list(self, owner_id: UUID) -> SecretList:
        return SecretList(items=await self._repository().list(owner_id))

    async def delete(self, owner_id: UUID, name: str) -> None:
        if not SECRET_NAME_PATTERN.fullmatch(name):
            raise NotFoundError("secret", name)  # no secret can have this name
        await self._repository().delete(owner_id, name)
