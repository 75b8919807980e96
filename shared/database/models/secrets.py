"""Secrets, encrypted at rest (``shared.security.encryption``); the plaintext is never
stored and no query returns it except the runtime's ``reveal_for_run``."""

from __future__ import annotations

import uuid

from tortoise import fields
from tortoise.models import Model

from shared.database.models.users import User


class Secret(Model):
    id = fields.UUIDField(primary_key=True, default=uuid.uuid4)
    owner: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "graphwright.User", related_name="secrets", on_delete=fields.CASCADE)
    owner_id: uuid.UUID
    name = fields.CharField(max_length=128)
    ciphertext = fields.TextField()  # a Fernet token
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "secrets"
        unique_together = (("owner", "name"),)
