"""Runs: one row per run, the runtime's RunRecord plus what the service knows about it."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from tortoise import fields
from tortoise.models import Model

from shared.database.models.users import User
from shared.database.models.versions import Version
from shared.database.models.workflows import Workflow
from workflow_compiler.runtime.records import TRANSITIONS

RunSource = Literal["manual", "api", "trigger", "schedule", "agent"]
RUN_SOURCES: tuple[RunSource, ...] = ("manual", "api", "trigger", "schedule", "agent")
RUN_STATUSES: tuple[str, ...] = tuple(TRANSITIONS)
RUN_ID_LENGTH = 64


class Run(Model):
    # the runtime's run id (its LangGraph thread id); a uuid4 hex made by the repository
    id = fields.CharField(max_length=RUN_ID_LENGTH, primary_key=True)
    owner: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "graphwright.User", related_name="runs", on_delete=fields.CASCADE)
    owner_id: uuid.UUID
    workflow: fields.ForeignKeyNullableRelation[Workflow] = fields.ForeignKeyField(
        "graphwright.Workflow", related_name="runs", null=True, on_delete=fields.CASCADE)
    workflow_id: uuid.UUID | None
    version: fields.ForeignKeyNullableRelation[Version] = fields.ForeignKeyField(
        "graphwright.Version", related_name="runs", null=True, on_delete=fields.CASCADE)
    version_id: uuid.UUID | None
    parent_run: fields.ForeignKeyNullableRelation[Run] = fields.ForeignKeyField(
        "graphwright.Run", related_name="forks", null=True, on_delete=fields.SET_NULL)
    parent_run_id: str | None
    forked_from = fields.CharField(max_length=128, null=True)  # checkpoint id

    workflow_name = fields.CharField(max_length=255)  # the spec's name
    spec_hash = fields.CharField(max_length=64)
    # the spec, kept only when the run has no version with this hash (ad-hoc runs)
    spec: Any = fields.JSONField(null=True)
    status = fields.CharField(max_length=16, default="queued")
    source = fields.CharField(max_length=16, default="api")
    inputs: Any = fields.JSONField(default=dict)
    outputs: Any = fields.JSONField(null=True)
    error: Any = fields.JSONField(null=True)
    interrupts: Any = fields.JSONField(default=list)  # pending, as PendingInterrupt dicts
    usage: Any = fields.JSONField(default=dict)
    attempt = fields.IntField(default=1)
    idempotency_key = fields.CharField(max_length=255, null=True)
    last_seq = fields.IntField(default=0)
    # the spec's limits used so far over the run's drives (RunRecord.steps_used / active_ms)
    steps_used = fields.IntField(default=0, db_default=0)
    active_ms = fields.FloatField(default=0.0, db_default=0.0)

    created_at: datetime = fields.DatetimeField()
    started_at = fields.DatetimeField(null=True)
    finished_at = fields.DatetimeField(null=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "runs"
        unique_together = (("owner", "idempotency_key"),)
        indexes = (("owner_id", "created_at", "id"), ("owner_id", "workflow_id", "created_at"),
                   ("status", "created_at"))
