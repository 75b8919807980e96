"""Namespaces, workflows and each workflow's draft (the editable spec)."""

from __future__ import annotations

import uuid
from typing import Any

from tortoise import fields
from tortoise.models import Model

from shared.database.models.users import User


class Namespace(Model):
    id = fields.UUIDField(primary_key=True, default=uuid.uuid4)
    owner: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "graphwright.User", related_name="namespaces", on_delete=fields.CASCADE)
    owner_id: uuid.UUID
    name = fields.CharField(max_length=64)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "namespaces"
        unique_together = (("owner", "name"),)


class Workflow(Model):
    id = fields.UUIDField(primary_key=True, default=uuid.uuid4)
    owner: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "graphwright.User", related_name="workflows", on_delete=fields.CASCADE)
    owner_id: uuid.UUID
    namespace: fields.ForeignKeyRelation[Namespace] = fields.ForeignKeyField(
        "graphwright.Namespace", related_name="workflows", on_delete=fields.RESTRICT)
    namespace_id: uuid.UUID
    name = fields.CharField(max_length=128)
    description = fields.TextField(default="")
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "workflows"
        # namespaces belong to one owner, so this is "unique per owner and namespace"
        unique_together = (("namespace", "name"),)
        indexes = (("owner_id", "created_at"),)


class Draft(Model):
    # The working copy of a workflow's spec. ``revision`` counts saves; a save names the
    # revision it was based on and is refused when another save came first.
    id = fields.UUIDField(primary_key=True, default=uuid.uuid4)
    owner: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "graphwright.User", related_name="drafts", on_delete=fields.CASCADE)
    owner_id: uuid.UUID
    workflow: fields.OneToOneRelation[Workflow] = fields.OneToOneField(
        "graphwright.Workflow", related_name="draft", on_delete=fields.CASCADE)
    workflow_id: uuid.UUID
    spec: Any = fields.JSONField(null=True)
    revision = fields.IntField(default=0)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "workflow_drafts"
