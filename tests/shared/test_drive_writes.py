"""The end of a drive in one write (``repositories.drive_writes``, used by
``TortoiseRunStore.commit``): what it stores must be exactly what the runtime produced,
read back through the ORM, on SQLite and Postgres; and nothing when the run moved
meanwhile."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any
from uuid import UUID

import pytest
from helpers.db_objects import unique
from helpers.tools import Calls

from shared.database.errors import InvalidTransitionError
from shared.database.models import Run, RunEventRow, RunStep
from shared.database.repositories import (
    EventsRepository,
    RunsRepository,
    StepsRepository,
    VersionsRepository,
    WorkflowsRepository,
)
from shared.database.repositories.drive_writes import DriveWrites
from shared.database.run_store import TortoiseRunStore
from workflow_compiler.compiler.cache import WorkflowCompiler
from workflow_compiler.nodes.base import ValidationContext
from workflow_compiler.runtime import RunEvent, WorkflowRuntime
from workflow_compiler.runtime.checkpointers import open_checkpointer
from workflow_compiler.runtime.records import RunRecord
from workflow_compiler.services import RuntimeServices

BIG = "x" * 6000  # beyond a step's whole-output limit: stored as a preview
SPEC: dict[str, Any] = {
    "spec_version": "1", "name": "drive-writes",
    "inputs": {"type": "object", "properties": {"go": {"type": "boolean"}}},
    "nodes": [
        {"id": "text", "type": "transform", "value": {"t": "Grüße, 世界 \U0001f600", "n": None}},
        {"id": "gate", "type": "condition", "if": "{{ inputs.go }}"},
        {"id": "big", "type": "transform", "value": BIG},
        {"id": "never", "type": "transform", "value": 1},
        {"id": "flaky", "type": "tool", "tool": "test.flaky",
         "args": {"name": "f", "failures": 1},
         "retry": {"max_attempts": 2, "initial_interval": 0.01}},
        {"id": "broken", "type": "tool", "tool": "test.flaky",
         "args": {"name": "b", "failures": 9, "retryable": False}, "on_error": "continue"},
        {"id": "end", "type": "transform", "join": "any",
         "value": "{{ nodes.big | default('') | length }}"},
    ],
    "edges": [
        {"from": "text", "to": "gate"},
        {"from": "gate", "port": "true", "to": "big"},
        {"from": "gate", "port": "false", "to": "never"},
        {"from": "big", "to": "flaky"}, {"from": "flaky", "to": "broken"},
        {"from": "broken", "to": "end"}, {"from": "never", "to": "end"},
    ],
    "outputs": {"end": "{{ nodes.end }}"},
}



@pytest.fixture
async def runtime(db: str, checkpointer_url: str) -> AsyncIterator[WorkflowRuntime]:
    services = RuntimeServices(tools=Calls().tools())
    compiler = WorkflowCompiler(context=ValidationContext(tool_names=services.tools.names()))
    async with open_checkpointer(checkpointer_url) as saver:
        yield WorkflowRuntime(checkpointer=saver, store=TortoiseRunStore(), services=services,
                              compiler=compiler)


async def _registered(owner: UUID, store: TortoiseRunStore) -> str:
    workflow = await WorkflowsRepository().create(owner, unique("wf"), spec=SPEC)
    version, _ = await VersionsRepository().create(owner, workflow.id)
    run, _ = await RunsRepository().create(owner, version_id=version.id,
                                           inputs={"go": True}, started=True)
    store.registered(run, owner)
    return run.id


async def test_a_drive_stores_exactly_its_events_and_steps(
    runtime: WorkflowRuntime, alice: UUID
) -> None:
    assert isinstance(runtime.store, TortoiseRunStore)
    run_id = await _registered(alice, runtime.store)
    streamed = [e async for e in runtime.stream(SPEC, {"go": True}, run_id=run_id)]
    assert streamed[-1].type == "run.completed", streamed[-1].data

    stored = await EventsRepository().list(alice, run_id)
    assert [_plain(e) for e in stored] == [_plain(e) for e in streamed]

    steps = {s.node_id: s for s in await StepsRepository().list(alice, run_id)}
    assert steps["text"].output_summary == {"value": {"t": "Grüße, 世界 \U0001f600", "n": None}}
    assert steps["text"].node_type == "transform" and steps["gate"].ports == ["true"]
    assert steps["never"].status == "skipped" and steps["never"].reason
    assert steps["big"].output_summary is not None and steps["big"].output_summary["truncated"]
    assert steps["flaky"].status == "completed" and steps["flaky"].attempt == 2
    assert steps["broken"].status == "failed" and steps["broken"].error is not None
    assert steps["broken"].error["handled"] is True
    ordered = await StepsRepository().list(alice, run_id)
    assert [s.started_at for s in ordered] == sorted(s.started_at for s in ordered)
    completed = [s for s in ordered if s.status == "completed"]
    assert all(s.duration_ms is not None and s.finished_at is not None for s in completed)

    run = await RunsRepository().get(alice, run_id)
    assert run.status == "completed" and run.outputs == {"end": len(BIG)}
    assert run.last_seq == streamed[-1].seq and run.finished_at is not None


async def test_nothing_lands_when_the_run_moved_meanwhile(db: str, alice: UUID) -> None:
    store = TortoiseRunStore()
    run_id = await _registered(alice, store)
    await Run.filter(id=run_id).update(status="cancelled")  # another process cancelled it
    record = RunRecord(run_id=run_id, workflow="drive-writes", spec_hash="x",
                       status="completed", created_at="2026-01-01T00:00:00+00:00",
                       started_at="2026-01-01T00:00:00+00:00",
                       finished_at="2026-01-01T00:00:01+00:00", last_seq=2)
    events = [RunEvent(seq=1, run_id=run_id, type="run.started", ts=record.created_at),
              RunEvent(seq=2, run_id=run_id, type="run.completed", ts=record.finished_at or "")]
    with pytest.raises(InvalidTransitionError):
        await store.commit(record, events)
    assert await RunEventRow.filter(run_id=run_id).count() == 0
    assert await RunStep.filter(run_id=run_id).count() == 0
    assert (await Run.get(id=run_id)).status == "cancelled"


async def test_an_unknown_run_moves_nothing(db: str) -> None:
    conn = Run._meta.db
    moved = await DriveWrites().commit(
        conn, "no-such-run", {"status": "completed", "outputs": None, "error": None,
                              "interrupts": [], "usage": {}, "last_seq": 1,
                              "started_at": None, "finished_at": None,
                              "updated_at": None, "steps_used": 0, "active_ms": 0.0},
        ("running",), [], [])
    assert moved is False


def _plain(event: RunEvent) -> dict[str, Any]:
    """An event as clients see it (timestamps compared as instants)."""
    from datetime import datetime

    dumped = event.model_dump(mode="json")
    dumped["ts"] = datetime.fromisoformat(dumped["ts"]).timestamp()
    return dumped
