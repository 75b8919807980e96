"""What happened in a run: its events (the persisted stream) and its steps (per-node log).

Both are written by the runtime's store only; steps are a projection of the node events.
"""

from __future__ import annotations

from typing import Any, Literal

from tortoise import fields
from tortoise.models import Model

from shared.database.models.runs import Run

StepStatus = Literal["running", "completed", "failed", "skipped"]
STEP_STATUSES: tuple[StepStatus, ...] = ("running", "completed", "failed", "skipped")


class RunEventRow(Model):
    id = fields.BigIntField(primary_key=True)
    run: fields.ForeignKeyRelation[Run] = fields.ForeignKeyField(
        "graphwright.Run", related_name="events", on_delete=fields.CASCADE)
    run_id: str
    seq = fields.IntField()
    type = fields.CharField(max_length=32)
    node_id = fields.CharField(max_length=512, null=True)
    ts = fields.DatetimeField()
    data: Any = fields.JSONField(default=dict)

    class Meta:
        table = "run_events"
        unique_together = (("run", "seq"),)


class RunStep(Model):
    id = fields.BigIntField(primary_key=True)
    run: fields.ForeignKeyRelation[Run] = fields.ForeignKeyField(
        "graphwright.Run", related_name="steps", on_delete=fields.CASCADE)
    run_id: str
    node_id = fields.CharField(max_length=512)  # qualified: "m[2].approve", "sub/x"
    node_type = fields.CharField(max_length=32, null=True)
    status = fields.CharField(max_length=16)
    attempt = fields.IntField(default=1)
    visit = fields.IntField(default=1)  # pass number inside a loop
    started_at = fields.DatetimeField()
    finished_at = fields.DatetimeField(null=True)
    duration_ms = fields.FloatField(null=True)  # the last attempt's execution time
    ports: Any = fields.JSONField(null=True)
    error: Any = fields.JSONField(null=True)
    output_summary: Any = fields.JSONField(null=True)  # {"value": ...} or a truncated preview
    usage: Any = fields.JSONField(null=True)
    reason = fields.CharField(max_length=64, null=True)  # why it was skipped

    class Meta:
        table = "run_steps"
        indexes = (("run_id", "node_id"),)
