"""Secrets: encrypted at rest, write-only.

``put`` encrypts with the settings' Fernet key(s); ``list`` and ``put`` return names and
dates only. The one way back to a plaintext is ``reveal_for_run``, which the runtime's
``SecretsProvider`` (``provider(owner_id)``) calls while a run resolves
``{{ secrets.<name> }}``; the runtime then redacts the value from events, outputs and
checkpoints.
"""

from __future__ import annotations

import builtins
from dataclasses import dataclass
from uuid import UUID

from shared.config import Settings
from shared.database.entities import SecretInfo
from shared.database.errors import InvalidArgumentError, NotFoundError
from shared.database.models import Secret
from shared.database.repositories._common import SECRET_NAME_PATTERN, check_name
from shared.security.encryption import SecretCipher

MAX_SECRET_BYTES = 64 * 1024


class SecretsRepository:
    def __init__(self, cipher: SecretCipher) -> None:
        self._cipher = cipher

    @classmethod
    def from_settings(cls, settings: Settings) -> SecretsRepository:
        key = settings.secrets_key.get_secret_value() if settings.secrets_key else None
        return cls(SecretCipher(key))

    async def put(self, owner_id: UUID, name: str, value: str) -> SecretInfo:
        """Create or replace a secret."""
        check_name(name, "secret name", SECRET_NAME_PATTERN)
        if not isinstance(value, str) or len(value.encode("utf-8")) > MAX_SECRET_BYTES:
            raise InvalidArgumentError(
                f"a secret value is a string of at most {MAX_SECRET_BYTES} bytes", field="value")
        ciphertext = self._cipher.encrypt(_context(owner_id, name), value)
        row, created = await Secret.get_or_create(
            owner_id=owner_id, name=name, defaults={"ciphertext": ciphertext})
        if not created:
            row.ciphertext = ciphertext
            await row.save(update_fields=["ciphertext", "updated_at"])
        return SecretInfo.model_validate(row)

    async def list(self, owner_id: UUID) -> builtins.list[SecretInfo]:
        rows = await Secret.filter(owner_id=owner_id).order_by("name") \
            .only("name", "created_at", "updated_at")
        return [SecretInfo.model_validate(r) for r in rows]

    async def delete(self, owner_id: UUID, name: str) -> None:
        if await Secret.filter(owner_id=owner_id, name=name).delete() == 0:
            raise NotFoundError("secret", name)

    async def reveal_for_run(self, owner_id: UUID, name: str) -> str | None:
        """The plaintext, for the runtime resolving ``secrets.<name>`` of the owner's run.
        Never expose its result to a client."""
        row = await Secret.get_or_none(owner_id=owner_id, name=name).only("ciphertext")
        if row is None:
            return None
        return self._cipher.decrypt(_context(owner_id, name), row.ciphertext)

    async def rotate(self, owner_id: UUID) -> int:
        """Re-encrypt the owner's secrets with the first configured key (after putting a
        new key in front of the old one in GRAPHWRIGHT_SECRETS_KEY)."""
        rows = await Secret.filter(owner_id=owner_id)
        for row in rows:
            row.ciphertext = self._cipher.rotate(row.ciphertext)
            await row.save(update_fields=["ciphertext"])
        return len(rows)

    def provider(self, owner_id: UUID) -> OwnerSecrets:
        """A ``workflow_compiler.services.SecretsProvider`` reading this owner's secrets."""
        return OwnerSecrets(self, owner_id)


@dataclass(frozen=True, slots=True)
class OwnerSecrets:
    repository: SecretsRepository
    owner_id: UUID

    async def get(self, name: str) -> str | None:
        return await self.repository.reveal_for_run(self.owner_id, name)


def _context(owner_id: UUID, name: str) -> str:
    return f"{owner_id}/{name}"
