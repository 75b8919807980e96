"""Approvals waiting for people (the inbox) and the responses they collected.

Kept in step with the runtime by the run store: an approval interrupt of a paused run
opens (or refreshes) a pending approval; the node's completion decides it.
"""

from __future__ import annotations

import uuid
from typing import Any, Literal

from tortoise import fields
from tortoise.models import Model

from shared.database.models.runs import Run
from shared.database.models.users import User

ApprovalStatus = Literal["pending", "decided", "cancelled"]
APPROVAL_STATUSES: tuple[ApprovalStatus, ...] = ("pending", "decided", "cancelled")


class Approval(Model):
    id = fields.UUIDField(primary_key=True, default=uuid.uuid4)
    owner: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "graphwright.User", related_name="approvals", on_delete=fields.CASCADE)
    owner_id: uuid.UUID  # the run's owner
    run: fields.ForeignKeyRelation[Run] = fields.ForeignKeyField(
        "graphwright.Run", related_name="approvals", on_delete=fields.CASCADE)
    run_id: str
    node_path = fields.CharField(max_length=512)
    # the runtime's current interrupt id; an approval needing several responses pauses
    # once per response, so this changes while the approval stays the same
    interrupt_id = fields.CharField(max_length=128)
    status = fields.CharField(max_length=16, default="pending")
    question = fields.TextField(default="")
    options: Any = fields.JSONField(default=list)
    approvers: Any = fields.JSONField(default=list)
    min_approvals = fields.IntField(default=1)
    max_rejections = fields.IntField(default=1)
    due_at = fields.DatetimeField(null=True)
    decision = fields.CharField(max_length=64, null=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    decided_at = fields.DatetimeField(null=True)

    responses: fields.ReverseRelation[ApprovalResponse]

    class Meta:
        table = "approvals"
        # not unique: an approval node inside a loop asks again on every pass
        indexes = (("owner_id", "status"), ("run_id", "node_path"))


class ApprovalApprover(Model):
    # One row per name in ``approvers``, so the inbox is one indexed query.
    id = fields.BigIntField(primary_key=True)
    approval: fields.ForeignKeyRelation[Approval] = fields.ForeignKeyField(
        "graphwright.Approval", related_name="approver_names", on_delete=fields.CASCADE)
    approval_id: uuid.UUID
    name = fields.CharField(max_length=64, db_index=True)

    class Meta:
        table = "approval_approvers"
        unique_together = (("approval", "name"),)


class ApprovalResponse(Model):
    id = fields.BigIntField(primary_key=True)
    approval: fields.ForeignKeyRelation[Approval] = fields.ForeignKeyField(
        "graphwright.Approval", related_name="responses", on_delete=fields.CASCADE)
    approval_id: uuid.UUID
    by = fields.CharField(max_length=64)
    user: fields.ForeignKeyNullableRelation[User] = fields.ForeignKeyField(
        "graphwright.User", related_name="approval_responses", null=True,
        on_delete=fields.SET_NULL)
    user_id: uuid.UUID | None
    decision = fields.CharField(max_length=64)
    comment = fields.TextField(null=True)
    # {"value": <the response's data>}: Tortoise's JSONField cannot hold a bare string
    data: Any = fields.JSONField(null=True)
    responded_at = fields.DatetimeField()

    class Meta:
        table = "approval_responses"
        unique_together = (("approval", "by"),)  # one response per person
