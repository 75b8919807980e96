"""Runs (idempotent creation, the status machine, filtered cursor listing), their steps
log and their events, each scoped to the run's owner."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from itertools import product
from typing import Any
from uuid import UUID

import pytest
from helpers.db_objects import transform_spec, unique

from shared.database.entities import RunInfo
from shared.database.errors import (
    IdempotencyConflictError,
    InvalidArgumentError,
    InvalidTransitionError,
    NotFoundError,
)
from shared.database.models import Run
from shared.database.repositories import (
    EventsRepository,
    RunsRepository,
    StepsRepository,
    VersionsRepository,
    WorkflowsRepository,
)
from shared.database.repositories._common import utcnow
from shared.database.repositories.steps import OUTPUT_SUMMARY_BYTES
from workflow_compiler.errors import RunStateError
from workflow_compiler.runtime.events import RunEvent
from workflow_compiler.runtime.records import TRANSITIONS
from workflow_compiler.validation import spec_hash

runs = RunsRepository()
steps = StepsRepository()
events = EventsRepository()


async def _version(owner: UUID, text: str = "v") -> tuple[UUID, UUID]:
    workflow = await WorkflowsRepository().create(owner, unique("wf"))
    version, _ = await VersionsRepository().create(owner, workflow.id, transform_spec(text=text))
    return workflow.id, version.id


# -- creating -------------------------------------------------------------------------------

async def test_a_run_of_a_version_and_an_ad_hoc_run(db: str, alice: UUID) -> None:
    workflow_id, version_id = await _version(alice)
    run, created = await runs.create(alice, version_id=version_id, inputs={"x": 1},
                                     source="manual")
    assert created
    assert (run.status, run.source, run.inputs, run.workflow_id, run.version_id) == \
        ("queued", "manual", {"x": 1}, workflow_id, version_id)
    assert (run.workflow_name, run.spec_hash) == ("tiny", spec_hash(transform_spec(text="v")))
    assert (run.started_at, run.finished_at, run.duration_ms) == (None, None, None)
    assert await runs.get(alice, run.id) == run
    assert await runs.spec(alice, run.id) == transform_spec(text="v")
    assert (await Run.get(id=run.id)).spec is None  # kept once, in the version

    spec = transform_spec(name="adhoc", text="a")
    adhoc, _ = await runs.create(alice, spec=spec)
    assert (adhoc.workflow_id, adhoc.version_id, adhoc.workflow_name) == (None, None, "adhoc")
    assert await runs.spec(alice, adhoc.id) == spec
    draft_run, _ = await runs.create(alice, spec=spec, workflow_id=workflow_id)
    assert draft_run.workflow_id == workflow_id


async def test_creation_arguments_are_checked(db: str, alice: UUID, bob: UUID) -> None:
    workflow_id, version_id = await _version(alice)
    with pytest.raises(InvalidArgumentError):
        await runs.create(alice)
    with pytest.raises(InvalidArgumentError):
        await runs.create(alice, version_id=version_id, spec=transform_spec())
    with pytest.raises(InvalidArgumentError):
        await runs.create(alice, spec=transform_spec(), source="cron")
    with pytest.raises(InvalidArgumentError):
        await runs.create(alice, spec=transform_spec(), idempotency_key="k" * 256)
    other_workflow, _ = await _version(alice)
    with pytest.raises(NotFoundError):  # the version belongs to another workflow
        await runs.create(alice, version_id=version_id, workflow_id=other_workflow)
    for attempt in (runs.create(bob, version_id=version_id),
                    runs.create(bob, spec=transform_spec(), workflow_id=workflow_id),
                    runs.create(bob, spec=transform_spec(), parent_run_id="missing")):
        with pytest.raises(NotFoundError):
            await attempt


async def test_idempotency_keys_return_the_first_run(db: str, alice: UUID, bob: UUID) -> None:
    _, version_id = await _version(alice)
    first, created = await runs.create(alice, version_id=version_id, inputs={"n": 1},
                                       idempotency_key="order-17")
    again, created_again = await runs.create(alice, version_id=version_id, inputs={"n": 1},
                                             idempotency_key="order-17")
    assert (created, created_again, again.id) == (True, False, first.id)
    with pytest.raises(IdempotencyConflictError) as caught:
        await runs.create(alice, version_id=version_id, inputs={"n": 2},
                          idempotency_key="order-17")
    assert caught.value.details["run_id"] == first.id
    # keys are per owner
    _, bob_version = await _version(bob)
    bobs, created = await runs.create(bob, version_id=bob_version, idempotency_key="order-17")
    assert created
    assert bobs.id != first.id


async def test_concurrent_requests_with_one_key_make_one_run(db: str, alice: UUID) -> None:
    _, version_id = await _version(alice)
    results = await asyncio.gather(*(
        runs.create(alice, version_id=version_id, idempotency_key="burst") for _ in range(8)))
    assert len({run.id for run, _ in results}) == 1
    assert sum(created for _, created in results) == 1


# -- the status machine -------------------------------------------------------------------

STATUSES = list(TRANSITIONS)


async def _run_in(owner: UUID, status: str) -> RunInfo:
    run, _ = await runs.create(owner, spec=transform_spec())
    await Run.filter(id=run.id).update(status=status)
    return await runs.get(owner, run.id)


@pytest.mark.parametrize(("current", "target"), list(product(STATUSES, STATUSES)))
async def test_transitions_follow_the_runtimes_table(
    db: str, alice: UUID, current: str, target: str,
) -> None:
    run = await _run_in(alice, current)
    if target in TRANSITIONS[current]:
        moved = await runs.transition(alice, run.id, target)
        assert moved.status == target
        if target == "running":
            assert moved.started_at is not None
        if target in ("completed", "failed", "cancelled"):
            assert moved.finished_at is not None
    else:
        with pytest.raises(InvalidTransitionError) as caught:
            await runs.transition(alice, run.id, target)
        assert isinstance(caught.value, RunStateError)
        assert (await runs.get(alice, run.id)).status == current


async def test_transition_records_error_and_refuses_bad_targets(db: str, alice: UUID,
                                                                bob: UUID) -> None:
    run, _ = await runs.create(alice, spec=transform_spec())
    failed = await runs.transition(alice, run.id, "failed",
                                   error={"code": "boom", "message": "it broke"})
    assert failed.error == {"code": "boom", "message": "it broke"}
    with pytest.raises(InvalidArgumentError):
        await runs.transition(alice, run.id, "exploded")
    other, _ = await runs.create(alice, spec=transform_spec())
    with pytest.raises(NotFoundError):
        await runs.transition(bob, other.id, "cancelled")
    assert (await runs.get(alice, other.id)).status == "queued"


async def test_only_one_of_two_racing_transitions_wins(db: str, alice: UUID) -> None:
    run, _ = await runs.create(alice, spec=transform_spec())
    results = await asyncio.gather(runs.transition(alice, run.id, "running"),
                                   runs.transition(alice, run.id, "cancelled"),
                                   return_exceptions=True)
    errors = [r for r in results if isinstance(r, BaseException)]
    final = (await runs.get(alice, run.id)).status
    # either both applied in a legal order (queued->running->cancelled) or one was refused
    assert final in ("running", "cancelled")
    assert all(isinstance(e, InvalidTransitionError) for e in errors)


# -- listing ------------------------------------------------------------------------------

async def test_list_filters_and_pages_newest_first(db: str, alice: UUID, bob: UUID) -> None:
    workflow_id, version_id = await _version(alice)
    made: list[RunInfo] = []
    for i in range(12):
        run, _ = await runs.create(alice, version_id=version_id,
                                   source="api" if i % 2 else "schedule")
        made.append(run)
    # several runs with one timestamp: the id breaks the tie, nothing is lost or repeated
    same = utcnow()
    await Run.filter(id__in=[r.id for r in made[4:8]]).update(created_at=same)
    adhoc, _ = await runs.create(alice, spec=transform_spec())
    await runs.create(bob, spec=transform_spec())
    await runs.transition(alice, made[0].id, "cancelled")

    seen: list[str] = []
    cursor = None
    pages = 0
    while True:
        page = await runs.list(alice, workflow_id=workflow_id, limit=5, cursor=cursor)
        seen.extend(r.id for r in page.items)
        pages += 1
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    assert pages == 3
    assert sorted(seen) == sorted(r.id for r in made)
    assert len(seen) == len(set(seen))
    rows = {r.id: r for r in await Run.filter(id__in=seen)}
    keys = [(rows[i].created_at, i) for i in seen]
    assert keys == sorted(keys, reverse=True)

    everything = await runs.list(alice, limit=100)
    assert everything.items[0].id == adhoc.id
    assert len(everything.items) == 13
    assert everything.next_cursor is None
    assert {r.id for r in (await runs.list(alice, status="cancelled")).items} == {made[0].id}
    assert {r.source for r in (await runs.list(alice, source="schedule", limit=100)).items} \
        == {"schedule"}
    assert len((await runs.list(alice, source="schedule", limit=100)).items) == 6
    assert (await runs.list(alice, created_after=utcnow() + timedelta(seconds=5))).items == []
    window = await runs.list(alice, created_after=same, created_before=same + timedelta(
        microseconds=1), limit=100)
    assert {r.id for r in window.items} == {r.id for r in made[4:8]}
    for bad in ({"limit": 0}, {"limit": 1001}, {"status": "done"}, {"source": "x"},
                {"cursor": "!!"}):
        with pytest.raises(InvalidArgumentError):
            await runs.list(alice, **bad)  # type: ignore[arg-type]


async def test_another_users_runs_do_not_exist_for_you(db: str, alice: UUID, bob: UUID) -> None:
    run, _ = await runs.create(alice, spec=transform_spec(), idempotency_key="mine")
    for attempt in (runs.get(bob, run.id), runs.spec(bob, run.id),
                    runs.transition(bob, run.id, "cancelled"), steps.list(bob, run.id),
                    events.list(bob, run.id)):
        with pytest.raises(NotFoundError):
            await attempt
    assert run.id not in {r.id for r in (await runs.list(bob, limit=1000)).items}
    theirs, created = await runs.create(bob, spec=transform_spec(), idempotency_key="mine")
    assert created
    assert theirs.id != run.id


# -- events and steps ---------------------------------------------------------------------------

def _event(run_id: str, seq: int, kind: str, node: str | None = None, **data: Any) -> RunEvent:
    return RunEvent(seq=seq, run_id=run_id, type=kind, node_id=node,  # type: ignore[arg-type]
                    ts=(utcnow() + timedelta(milliseconds=seq)).isoformat(), data=data)


async def test_events_append_in_batches_and_list_after_seq(db: str, alice: UUID) -> None:
    run, _ = await runs.create(alice, spec=transform_spec())
    batch = [_event(run.id, i, "node.started", f"n{i}") for i in range(1, 6)]
    await events.append(run.id, batch[:3])
    await events.append(run.id, batch[2:])  # an overlapping replay is harmless
    listed = await events.list(alice, run.id)
    assert [e.seq for e in listed] == [1, 2, 3, 4, 5]
    assert listed[0] == batch[0]
    assert [e.seq for e in await events.list(alice, run.id, after_seq=3)] == [4, 5]
    assert [e.seq for e in await events.list(alice, run.id, after_seq=1, limit=2)] == [2, 3]
    assert await events.last_seq(run.id) == 5


async def test_steps_project_node_events(db: str, alice: UUID) -> None:
    run, _ = await runs.create(alice, spec=transform_spec())
    big = {"blob": "x" * OUTPUT_SUMMARY_BYTES}
    first = [
        _event(run.id, 1, "run.started"),
        _event(run.id, 2, "node.started", "fetch", type="http", visit=1),
        _event(run.id, 3, "node.retrying", "fetch", attempt=1, max_attempts=3,
               error={"code": "http_503", "message": "unavailable"}),
        _event(run.id, 4, "node.completed", "fetch", output={"ok": True}, port=["out"],
               duration_ms=12.5, attempt=2, usage=None),
        _event(run.id, 5, "node.skipped", "cold", reason="branch_not_taken"),
        _event(run.id, 6, "node.started", "ask", type="approval", visit=1),
    ]
    types = {"fetch": "http", "cold": "transform", "ask": "approval", "sum": "transform"}
    await steps.apply_events(run.id, first, types)
    later = [  # after a resume: the open step of "ask" is closed from the database
        _event(run.id, 7, "node.completed", "ask", output={"decision": "approved"},
               port=["approved"], duration_ms=1.0, attempt=1),
        _event(run.id, 8, "node.started", "sum", type="transform", visit=1),
        _event(run.id, 9, "node.failed", "sum", error={"code": "bad", "message": "no"},
               attempt=1, handled=True),
        _event(run.id, 10, "node.started", "big", type="transform", visit=1),
        _event(run.id, 11, "node.completed", "big", output=big, port=["out"], duration_ms=2),
    ]
    await steps.apply_events(run.id, later, types)

    listed = await steps.list(alice, run.id)
    assert [(s.node_id, s.status) for s in listed] == [
        ("fetch", "completed"), ("cold", "skipped"), ("ask", "completed"),
        ("sum", "failed"), ("big", "completed")]
    fetch, cold, ask, failed, large = listed
    assert (fetch.node_type, fetch.attempt, fetch.duration_ms, fetch.ports) == \
        ("http", 2, 12.5, ["out"])
    assert (fetch.output_summary, fetch.error) == ({"value": {"ok": True}}, None)
    assert (cold.node_type, cold.reason) == ("transform", "branch_not_taken")
    assert ask.ports == ["approved"]
    assert ask.finished_at is not None
    assert ask.finished_at > ask.started_at
    assert failed.error == {"code": "bad", "message": "no", "handled": True}
    assert large.output_summary["truncated"] is True
    assert large.output_summary["bytes"] > OUTPUT_SUMMARY_BYTES

    assert [s.node_id for s in await steps.list(alice, run.id, node_id="fetch")] == ["fetch"]
    assert [s.node_id for s in await steps.list(alice, run.id, node_type="transform")] == \
        ["cold", "sum", "big"]
    assert [s.node_id for s in await steps.list(alice, run.id, status="skipped")] == ["cold"]
    assert [s.node_id for s in await steps.list(alice, run.id, errors_only=True)] == ["sum"]
    assert [s.node_id for s in await steps.list(alice, run.id, limit=2)] == ["fetch", "cold"]
    assert [s.node_id for s in await steps.list(alice, run.id, after_id=listed[1].id,
                                                limit=2)] == ["ask", "sum"]
    for bad in ({"limit": 0}, {"limit": 1001}, {"status": "done"}):
        with pytest.raises(InvalidArgumentError):
            await steps.list(alice, run.id, **bad)  # type: ignore[arg-type]
    assert len(await steps.list(alice, run.id, limit=1000)) == 5
