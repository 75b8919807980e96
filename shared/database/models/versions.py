"""Immutable spec snapshots of a workflow, numbered 1, 2, ... and deduplicated by hash."""

from __future__ import annotations

import uuid
from typing import Any, Literal

from tortoise import fields
from tortoise.models import Model

from shared.database.models.users import User
from shared.database.models.workflows import Workflow

VersionStatus = Literal["draft", "published", "archived"]
VERSION_STATUSES: tuple[VersionStatus, ...] = ("draft", "published", "archived")


class Version(Model):
    id = fields.UUIDField(primary_key=True, default=uuid.uuid4)
    owner: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "graphwright.User", related_name="versions", on_delete=fields.CASCADE)
    owner_id: uuid.UUID
    workflow: fields.ForeignKeyRelation[Workflow] = fields.ForeignKeyField(
        "graphwright.Workflow", related_name="versions", on_delete=fields.CASCADE)
    workflow_id: uuid.UUID
    number = fields.IntField()
    spec: Any = fields.JSONField()
    # ``workflow_compiler.validation.spec_hash``: equal to the RunRecord.spec_hash of its runs
    spec_hash = fields.CharField(max_length=64)
    status = fields.CharField(max_length=16, default="draft")
    note = fields.TextField(default="")
    created_at = fields.DatetimeField(auto_now_add=True)
    published_at = fields.DatetimeField(null=True)
    archived_at = fields.DatetimeField(null=True)

    class Meta:
        table = "workflow_versions"
        unique_together = (("workflow", "number"), ("workflow", "spec_hash"))
        # At most one published version per workflow: a partial unique index, created by
        # migration 0002 (Tortoise's schema editor only emits partial indexes on Postgres).
