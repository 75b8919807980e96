"""Users and their API keys (stored as a prefix and a hash, never the key)."""

from __future__ import annotations

import uuid

from tortoise import fields
from tortoise.models import Model


class User(Model):
    id = fields.UUIDField(primary_key=True, default=uuid.uuid4)
    # the handle approval nodes list in ``approvers`` and responses carry in ``by``
    name = fields.CharField(max_length=64, unique=True)
    display_name = fields.CharField(max_length=255, default="")
    email = fields.CharField(max_length=255, null=True)
    is_active = fields.BooleanField(default=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "users"


class ApiKey(Model):
    id = fields.UUIDField(primary_key=True, default=uuid.uuid4)
    owner: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "graphwright.User", related_name="api_keys", on_delete=fields.CASCADE)
    owner_id: uuid.UUID
    name = fields.CharField(max_length=64, default="default")
    prefix = fields.CharField(max_length=16, unique=True)
    key_hash = fields.CharField(max_length=64)
    created_at = fields.DatetimeField(auto_now_add=True)
    last_used_at = fields.DatetimeField(null=True)
    expires_at = fields.DatetimeField(null=True)
    revoked_at = fields.DatetimeField(null=True)

    class Meta:
        table = "api_keys"
