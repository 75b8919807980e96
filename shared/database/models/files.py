"""Uploaded files: metadata here, bytes at ``storage_path`` (under the files directory)."""

from __future__ import annotations

import uuid

from tortoise import fields
from tortoise.models import Model

from shared.database.models.users import User


class StoredFile(Model):
    id = fields.UUIDField(primary_key=True, default=uuid.uuid4)
    owner: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "graphwright.User", related_name="files", on_delete=fields.CASCADE)
    owner_id: uuid.UUID
    name = fields.CharField(max_length=255)
    content_type = fields.CharField(max_length=255, default="application/octet-stream")
    size = fields.BigIntField()
    sha256 = fields.CharField(max_length=64)
    storage_path = fields.CharField(max_length=1024)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "files"
        indexes = (("owner_id", "created_at"),)
