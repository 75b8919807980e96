"""The per-node log of a run, derived from its node events.

One step per node execution (per loop pass, per map item, per tool call of an llm node):
``node.started`` opens it, ``node.retrying`` counts an attempt, ``node.completed`` /
``node.failed`` close it, ``node.skipped`` is a step of its own. A node paused by an
interrupt keeps its open step across the pause (the runtime does not repeat
``node.started`` on resume), so the step spans the wait while ``duration_ms`` is the last
attempt's execution time. Its ``usage`` is what all its attempts spent (each of
``node.retrying``, ``node.failed`` and ``node.completed`` reports its own attempt's).

Writes come from the run store only (``apply_events``); reads are scoped to the caller.
"""

from __future__ import annotations

import builtins
import json
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from shared.database.entities import StepInfo
from shared.database.models import RunStep
from shared.database.models.run_log import STEP_STATUSES
from shared.database.repositories._common import check_choice, check_limit, json_size, parse_ts
from shared.database.repositories.runs import owned_run
from workflow_compiler.runtime.events import RunEvent

#: outputs up to this many bytes of JSON are kept whole in the step; larger ones as a preview
OUTPUT_SUMMARY_BYTES = 4096
PREVIEW_CHARS = 512
NODE_EVENTS = frozenset({"node.started", "node.completed", "node.failed", "node.skipped",
                         "node.retrying"})


def summarize_output(output: Any) -> dict[str, Any]:
    """``{"value": output}``, or for a large output ``{"truncated": true, "bytes": n,
    "preview": "<start of its JSON>"}`` (the whole output is in the node.completed event).
    Always an object: Tortoise's JSONField cannot hold a bare string."""
    size = json_size(output)
    if size <= OUTPUT_SUMMARY_BYTES:
        return {"value": output}
    text = json.dumps(output, default=str, separators=(",", ":"))
    return {"truncated": True, "bytes": size, "preview": text[:PREVIEW_CHARS]}


class StepsRepository:
    async def list(
        self, owner_id: UUID, run_id: str, *, node_id: str | None = None,
        node_type: str | None = None, status: str | None = None, errors_only: bool = False,
        limit: int = 100, after_id: int | None = None, peek: bool = False,
    ) -> builtins.list[StepInfo]:
        """Chronological (by start). ``after_id`` continues after the last step seen.
        ``peek``: one step more than ``limit`` when there is one, telling a pager whether
        another page follows (a full page may well be the last)."""
        check_limit(limit, low=1, high=1000)
        check_choice(status, STEP_STATUSES, "status")
        await owned_run(owner_id, run_id)
        query = RunStep.filter(run_id=run_id)
        if node_id is not None:
            query = query.filter(node_id=node_id)
        if node_type is not None:
            query = query.filter(node_type=node_type)
        if status is not None:
            query = query.filter(status=status)
        if errors_only:
            query = query.filter(status="failed")
        if after_id is not None:
            query = query.filter(id__gt=after_id)
        rows = await query.order_by("id").limit(limit + 1 if peek else limit)
        return [StepInfo.model_validate(s) for s in rows]

    # -- runtime side (the run store) -------------------------------------------------

    async def apply_events(
        self, run_id: str, events: Iterable[RunEvent], node_types: Mapping[str, str],
    ) -> None:
        """Project a batch of events onto the run's steps (call inside the transaction
        that stores the events). ``node_types``: node id -> type, from the spec."""
        created: builtins.list[RunStep] = []
        open_steps: dict[str, RunStep] = {}  # node id -> its open step, new or stored
        looked_up: set[str] = set()
        changed: dict[int, RunStep] = {}

        async def open_step(node_id: str) -> RunStep | None:
            if node_id in open_steps:
                return open_steps[node_id]
            if node_id not in looked_up:  # a step opened before this batch (a resume)
                looked_up.add(node_id)
                stored = await RunStep.filter(run_id=run_id, node_id=node_id,
                                              status="running").order_by("-id").first()
                if stored is not None:
                    open_steps[node_id] = stored
                    return stored
            return None

        for event in events:
            if event.type not in NODE_EVENTS or not event.node_id:
                continue
            node_id, data = event.node_id, event.data or {}
            moment = parse_ts(event.ts)
            assert moment is not None
            if event.type in ("node.started", "node.skipped"):
                step = RunStep(**asdict(_opened(run_id, event.type, node_id, data, node_types,
                                                moment)))
                created.append(step)
                if event.type == "node.started":
                    open_steps[node_id] = step
                continue
            found = await open_step(node_id)
            if found is None:  # closed without a start we know of: record it anyway
                found = RunStep(**asdict(_new_step(run_id, node_id, data, node_types, moment)))
                created.append(found)
            elif found.id is not None:
                changed[found.id] = found
            _apply(found, event.type, data, moment)
            if found.status != "running":
                open_steps.pop(node_id, None)
        if created:
            await RunStep.bulk_create(created)
        for step in changed.values():
            await step.save(update_fields=["status", "attempt", "finished_at", "duration_ms",
                                           "ports", "error", "output_summary", "usage"])


def plan_steps(run_id: str, events: Iterable[RunEvent], node_types: Mapping[str, str]
               ) -> builtins.list[StepDraft] | None:
    """The steps a batch of events makes, when it is self-contained (every step it closes
    it also opened, as in a drive from the start); None when some step was opened before
    the batch and ``apply_events`` must look it up."""
    drafts: builtins.list[StepDraft] = []
    open_steps: dict[str, StepDraft] = {}
    for event in events:
        if event.type not in NODE_EVENTS or not event.node_id:
            continue
        node_id, data = event.node_id, event.data or {}
        moment = parse_ts(event.ts)
        assert moment is not None
        if event.type in ("node.started", "node.skipped"):
            step = _opened(run_id, event.type, node_id, data, node_types, moment)
            drafts.append(step)
            if event.type == "node.started":
                open_steps[node_id] = step
            continue
        found = open_steps.get(node_id)
        if found is None:
            return None
        _apply(found, event.type, data, moment)
        if found.status != "running":
            open_steps.pop(node_id)
    return drafts


@dataclass(slots=True)
class StepDraft:
    """A step's columns before it is stored (``RunStep`` without the ORM's cost)."""

    run_id: str
    node_id: str
    node_type: str | None
    status: str
    attempt: int
    visit: int
    started_at: datetime
    finished_at: datetime | None = None
    duration_ms: float | None = None
    ports: builtins.list[str] | None = None
    error: dict[str, Any] | None = None
    output_summary: dict[str, Any] | None = None
    usage: dict[str, Any] | None = None
    reason: str | None = None


def _opened(run_id: str, kind: str, node_id: str, data: Mapping[str, Any],
            node_types: Mapping[str, str], moment: datetime) -> StepDraft:
    step = _new_step(run_id, node_id, data, node_types, moment)
    if kind == "node.skipped":
        step.status, step.finished_at, step.duration_ms = "skipped", moment, 0.0
        step.reason = str(data.get("reason"))[:64] if data.get("reason") else None
    return step


def _new_step(run_id: str, node_id: str, data: Mapping[str, Any],
              node_types: Mapping[str, str], moment: datetime) -> StepDraft:
    node_type = data.get("type")
    if not isinstance(node_type, str):
        node_type = node_types.get(node_id) or node_types.get(_last_segment(node_id))
    visit = data.get("visit")
    return StepDraft(run_id=run_id, node_id=node_id[:512],
                     node_type=node_type[:32] if node_type else None, status="running",
                     attempt=1, visit=visit if isinstance(visit, int) else 1,
                     started_at=moment)


def _apply(step: RunStep | StepDraft, kind: str, data: Mapping[str, Any], moment: datetime
           ) -> None:
    attempt = data.get("attempt")
    step.usage = _add_usage(step.usage, data.get("usage"))
    if kind == "node.retrying":
        step.attempt = (attempt if isinstance(attempt, int) else step.attempt) + 1
        step.error = data.get("error")
        return
    if isinstance(attempt, int):
        step.attempt = attempt
    step.finished_at = moment
    duration = data.get("duration_ms")
    step.duration_ms = float(duration) if isinstance(duration, int | float) else (
        (moment - step.started_at).total_seconds() * 1000)
    if kind == "node.completed":
        step.status, step.error = "completed", None
        ports = data.get("port")
        step.ports = list(ports) if isinstance(ports, list | tuple) else None
        step.output_summary = summarize_output(data.get("output"))
    else:  # node.failed; "handled" failures (on_error continue/route) are failures too
        step.status = "failed"
        error = data.get("error")
        step.error = dict(error) if isinstance(error, dict) else {"message": str(error)}
        if data.get("handled"):
            step.error["handled"] = True


def _add_usage(total: Any, usage: Any) -> dict[str, int] | None:
    """``total`` plus one attempt's ``usage``, count by count. Every attempt is paid for
    (a retried llm call spent its tokens), so a step costs what all its attempts did, as
    the run's totals count it; None while no attempt has reported a count."""
    counts = dict(total) if isinstance(total, dict) else {}
    if isinstance(usage, dict):
        for key, value in usage.items():
            if isinstance(value, int) and not isinstance(value, bool):
                counts[key] = counts.get(key, 0) + value
    return counts or None


def _last_segment(node_id: str) -> str:
    """``m[2].approve`` -> ``approve``; ``sub/x`` -> ``x`` (best effort for nested ids)."""
    tail = node_id.rsplit("/", 1)[-1]
    return tail.rsplit(".", 1)[-1].split("[", 1)[0]
