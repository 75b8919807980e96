"""A real WorkflowRuntime persisting into the service database through TortoiseRunStore:
runs, gap-free events, the steps log and the approvals inbox, across pauses and resumes."""

from __future__ import annotations

import asyncio
import copy
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import pytest
from cryptography.fernet import Fernet
from helpers.db_objects import example, transform_spec, unique
from tortoise import Tortoise

from shared.database.errors import InvalidTransitionError, NotFoundError
from shared.database.models import Run
from shared.database.repositories import (
    ApprovalsRepository,
    EventsRepository,
    RunsRepository,
    SecretsRepository,
    StepsRepository,
    UsersRepository,
    VersionsRepository,
    WorkflowsRepository,
)
from shared.database.run_store import TortoiseRunStore
from shared.security.encryption import SecretCipher
from workflow_compiler.errors import InvalidResponseError, RunNotFoundError, RunStateError
from workflow_compiler.runtime import RunEvent, WorkflowRuntime
from workflow_compiler.runtime.checkpointers import open_checkpointer
from workflow_compiler.services import RuntimeServices

users = UsersRepository()
runs = RunsRepository()
events = EventsRepository()
steps = StepsRepository()
approvals = ApprovalsRepository()
SECRETS = SecretsRepository(SecretCipher(Fernet.generate_key().decode()))



@pytest.fixture
async def runtime(db: str, checkpointer_url: str, alice: UUID) -> AsyncIterator[WorkflowRuntime]:
    async with open_checkpointer(checkpointer_url) as saver:
        services = RuntimeServices(secrets=SECRETS.provider(alice))
        yield WorkflowRuntime(checkpointer=saver, store=TortoiseRunStore(), services=services)


async def _saved(owner: UUID, spec: dict[str, Any]) -> tuple[UUID, UUID]:
    workflow = await WorkflowsRepository().create(owner, unique("wf"), spec=spec)
    version, _ = await VersionsRepository().create(owner, workflow.id)
    return workflow.id, version.id


async def _start(runtime: WorkflowRuntime, owner: UUID, spec: dict[str, Any],
                 inputs: dict[str, Any] | None = None) -> tuple[str, list[RunEvent]]:
    """The service's way: register the run, then let the runtime run it."""
    _, version_id = await _saved(owner, spec)
    run, _ = await runs.create(owner, version_id=version_id, inputs=inputs or {})
    streamed = [e async for e in runtime.stream(spec, inputs or {}, run_id=run.id)]
    return run.id, streamed


def _gap_free(stored: list[RunEvent]) -> None:
    assert [e.seq for e in stored] == list(range(1, len(stored) + 1))


async def test_a_registered_run_completes_in_the_service_database(
    runtime: WorkflowRuntime, alice: UUID,
) -> None:
    spec = example("hello")
    run_id, streamed = await _start(runtime, alice, spec, {"name": "ada lovelace"})
    run = await runs.get(alice, run_id)
    assert run.status == "completed"
    assert run.outputs == (await runtime.result(run_id)).outputs
    assert run.outputs is not None
    assert "Ada Lovelace" in str(run.outputs)
    assert run.started_at is not None
    assert run.finished_at is not None
    assert run.duration_ms is not None
    assert (await Run.get(id=run_id)).spec is None  # the version holds it
    stored = await events.list(alice, run_id)
    _gap_free(stored)
    assert [e.model_dump(mode="json") for e in stored] == \
        [e.model_dump(mode="json") for e in streamed]  # what was streamed is what is kept
    assert run.last_seq == stored[-1].seq
    assert stored[0].type == "run.started"
    assert stored[-1].type == "run.completed"
    assert await runtime.events(run_id, after_seq=2) == stored[2:]

    log = await steps.list(alice, run_id)
    by_node = {s.node_id: s for s in log}
    assert set(by_node) == {"tidy", "count_letters", "long_name", "grand", "short", "reply"}
    assert by_node["count_letters"].node_type == "tool"
    assert by_node["tidy"].status == "completed"
    assert by_node["tidy"].duration_ms is not None
    skipped = [s for s in log if s.status == "skipped"]
    assert len(skipped) == 1
    assert skipped[0].node_type == "transform"  # typed from the spec: it never started
    assert skipped[0].reason == "branch_not_taken"


async def test_pauses_fill_the_approvals_inbox_and_resumes_settle_it(
    runtime: WorkflowRuntime, alice: UUID,
) -> None:
    people = {role: await users.create_user(unique(role)) for role in
              ("lee", "lou", "lin", "fay", "fox", "stranger")}
    name = {role: user.name for role, (user, _) in people.items()}
    uid = {role: user.id for role, (user, _) in people.items()}
    spec = copy.deepcopy(example("dual_signoff"))
    for node in spec["nodes"]:
        if node["id"] == "legal":
            node["approvers"] = [name["lee"], name["lou"], name["lin"]]
        if node["id"] == "finance":
            node["approvers"] = [name["fay"], name["fox"]]
    run_id, _ = await _start(runtime, alice, spec, {"vendor": "Acme", "amount": 12000})
    assert (await runs.get(alice, run_id)).status == "paused"

    inbox = await approvals.list_pending(alice, "whoever")  # the owner sees both
    assert {a.node_path for a in inbox} == {"legal", "finance"}
    legal = next(a for a in inbox if a.node_path == "legal")
    assert legal.question.startswith("Legal review: Contract with Acme")
    assert (legal.min_approvals, legal.approvers) == (2, [name["lee"], name["lou"], name["lin"]])
    finance = next(a for a in inbox if a.node_path == "finance")
    assert finance.due_at is not None
    assert [a.node_path for a in await approvals.list_pending(uid["lee"], name["lee"])] == \
        ["legal"]
    assert [a.node_path for a in await approvals.list_pending(uid["fay"], name["fay"])] == \
        ["finance"]
    assert await approvals.list_pending(uid["stranger"], name["stranger"]) == []
    with pytest.raises(NotFoundError):
        await approvals.get(uid["stranger"], name["stranger"], legal.id)
    assert (await approvals.get(uid["lee"], name["lee"], legal.id)).id == legal.id

    # one of two legal approvals: still pending, under a new interrupt, with the response
    await runtime.resume(run_id, {"by": name["lee"], "decision": "approve", "comment": "ok"},
                         interrupt_id=legal.interrupt_id)
    legal_now = await approvals.get(alice, "whoever", legal.id)
    assert legal_now.status == "pending"
    assert legal_now.interrupt_id != legal.interrupt_id
    assert [(r.by, r.user_id, r.decision, r.comment) for r in legal_now.responses] == \
        [(name["lee"], uid["lee"], "approve", "ok")]

    # a refused response changes nothing
    before = await events.list(alice, run_id)
    with pytest.raises(InvalidResponseError):
        await runtime.resume(run_id, {"by": name["lee"], "decision": "approve"},
                             interrupt_id=legal_now.interrupt_id)
    assert await events.list(alice, run_id) == before
    assert await approvals.get(alice, "whoever", legal.id) == legal_now

    await runtime.resume(run_id, {"by": name["fay"], "decision": "approve"},
                         interrupt_id=finance.interrupt_id)
    finance_now = await approvals.get(uid["fay"], name["fay"], finance.id)
    assert (finance_now.status, finance_now.decision) == ("decided", "approved")
    assert finance_now.decided_at is not None
    assert await approvals.list_pending(uid["fay"], name["fay"]) == []

    result = await runtime.resume(run_id, {"by": name["lin"], "decision": "approve"},
                                  interrupt_id=legal_now.interrupt_id)
    assert result.status == "completed"
    assert result.outputs is not None
    assert result.outputs["outcome"] == "signed"
    done = await approvals.get(uid["lin"], name["lin"], legal.id)
    assert (done.status, done.decision) == ("decided", "approved")
    assert [r.by for r in done.responses] == [name["lee"], name["lin"]]
    assert await approvals.list_pending(alice, "whoever") == []
    assert [a.id for a in await approvals.list(alice, "whoever", status="decided",
                                               run_id=run_id)] != []

    stored = await events.list(alice, run_id)
    _gap_free(stored)
    assert [e.type for e in stored].count("run.resumed") == 3
    run = await runs.get(alice, run_id)
    assert (run.status, run.interrupts, run.last_seq) == ("completed", [], stored[-1].seq)
    legal_step = next(s for s in await steps.list(alice, run_id, node_id="legal"))
    assert (legal_step.status, legal_step.node_type, legal_step.ports) == \
        ("completed", "approval", ["approved"])


async def test_cancelling_a_paused_run_cancels_its_approvals(
    runtime: WorkflowRuntime, alice: UUID,
) -> None:
    spec = {"spec_version": "1", "name": "ask",
            "nodes": [{"id": "ask", "type": "approval", "question": "Go?"}], "edges": []}
    run_id, _ = await _start(runtime, alice, spec)
    [pending] = await approvals.list(alice, "x", run_id=run_id)
    assert pending.status == "pending"
    await runtime.cancel(run_id)
    cancelled = await approvals.get(alice, "x", pending.id)
    assert (cancelled.status, cancelled.decision) == ("cancelled", None)
    assert (await runs.get(alice, run_id)).status == "cancelled"
    _gap_free(await events.list(alice, run_id))


async def test_another_process_resuming_the_run_keeps_the_inbox_in_step(
    runtime: WorkflowRuntime, checkpointer_url: str, alice: UUID,
) -> None:
    spec = {"spec_version": "1", "name": "ask-twice",
            "nodes": [{"id": "one", "type": "approval", "question": "1?"},
                      {"id": "two", "type": "approval", "question": "2?"}],
            "edges": [{"from": "one", "port": "approved", "to": "two"}]}
    run_id, _ = await _start(runtime, alice, spec)
    async with open_checkpointer(checkpointer_url) as saver:  # a second process's runtime
        other = WorkflowRuntime(checkpointer=saver, store=TortoiseRunStore())
        await other.resume(run_id, {"by": "x", "decision": "approve"})
        asked = {a.node_path: a for a in await approvals.list(alice, "x", status=None,
                                                              run_id=run_id)}
        assert (asked["one"].status, asked["one"].decision) == ("decided", "approved")
        assert asked["two"].status == "pending"
        third = WorkflowRuntime(checkpointer=saver, store=TortoiseRunStore())
        await third.cancel(run_id)
    assert (await approvals.get(alice, "x", asked["two"].id)).status == "cancelled"


async def test_cancelling_through_the_repository_closes_pending_approvals(
    runtime: WorkflowRuntime, alice: UUID,
) -> None:
    spec = {"spec_version": "1", "name": "ask",
            "nodes": [{"id": "ask", "type": "approval", "question": "Go?"}], "edges": []}
    run_id, _ = await _start(runtime, alice, spec)
    await runs.transition(alice, run_id, "cancelled")
    assert await approvals.list_pending(alice, "x") == []


async def test_an_approval_inside_a_loop_asks_again_on_each_pass(
    runtime: WorkflowRuntime, alice: UUID,
) -> None:
    spec = {
        "spec_version": "1", "name": "review-loop",
        "nodes": [
            {"id": "draft", "type": "transform", "value": "v1"},
            {"id": "ask", "type": "approval", "question": "Good enough?"},
            {"id": "check", "type": "condition", "if": "{{ nodes.ask.decision == 'approved' }}"},
            {"id": "done", "type": "transform", "value": "shipped"},
        ],
        "edges": [{"from": "draft", "to": "ask"},
                  {"from": "ask", "port": "approved", "to": "check"},
                  {"from": "ask", "port": "rejected", "to": "check"},
                  {"from": "check", "port": "false", "to": "ask"},
                  {"from": "check", "port": "true", "to": "done"}],
        "outputs": {"result": "{{ nodes.done }}"},
    }
    run_id, _ = await _start(runtime, alice, spec)
    await runtime.resume(run_id, {"by": "rev", "decision": "reject", "comment": "again"})
    result = await runtime.resume(run_id, {"by": "rev", "decision": "approve"})
    assert result.outputs == {"result": "shipped"}
    asked = sorted(await approvals.list(alice, "x", status=None, run_id=run_id),
                   key=lambda a: a.created_at)
    assert [(a.status, a.decision) for a in asked] == [("decided", "rejected"),
                                                      ("decided", "approved")]
    visits = [(s.visit, s.status) for s in await steps.list(alice, run_id, node_id="ask")]
    assert visits == [(1, "completed"), (2, "completed")]


async def test_secrets_from_the_database_stay_out_of_what_is_stored(
    runtime: WorkflowRuntime, alice: UUID, backend: str,
) -> None:
    plaintext = "sk-db-secret-" + unique("v")
    await SECRETS.put(alice, "api_key", plaintext)
    spec = {"spec_version": "1", "name": "uses-secret",
            "nodes": [{"id": "call", "type": "tool", "tool": "text.join",
                       "args": {"items": ["Bearer ", "{{ secrets.api_key }}"]}}],
            "edges": [], "outputs": {"auth": "{{ nodes.call }}"}}
    run_id, _ = await _start(runtime, alice, spec)
    run = await runs.get(alice, run_id)
    assert run.status == "completed"
    assert run.outputs is not None
    assert run.outputs == {"auth": "Bearer ***"}  # read from the database, then redacted
    conn = Tortoise.get_connection(backend)
    for table in ("runs", "run_events", "run_steps", "secrets"):
        _, rows = await conn.execute_query(f"SELECT * FROM {table}")
        assert plaintext not in str([dict(r) for r in rows]), table


async def test_a_fork_belongs_to_the_parents_owner(
    runtime: WorkflowRuntime, alice: UUID, bob: UUID,
) -> None:
    spec = {"spec_version": "1", "name": "two",
            "nodes": [{"id": "a", "type": "tool", "tool": "math.add", "args": {"a": 0, "b": 1}},
                      {"id": "b", "type": "transform", "value": 2}],
            "edges": [{"from": "a", "to": "b"}], "outputs": {"b": "{{ nodes.b }}"}}
    run_id, _ = await _start(runtime, alice, spec)
    history = await runtime.history(run_id)
    after_a = next(h for h in history if h["completed_nodes"] == ["a"])
    forked = await runtime.fork(run_id, after_a["checkpoint_id"])
    assert forked.status == "completed"
    child = await runs.get(alice, forked.run_id)
    parent = await runs.get(alice, run_id)
    assert (child.parent_run_id, child.forked_from) == (run_id, after_a["checkpoint_id"])
    assert (child.version_id, child.workflow_id) == (parent.version_id, parent.workflow_id)
    assert (await Run.get(id=forked.run_id)).spec is None
    with pytest.raises(NotFoundError):
        await runs.get(bob, forked.run_id)
    _gap_free(await events.list(alice, forked.run_id))


async def test_unregistered_runs_are_refused_unless_a_default_owner_is_set(
    db: str, checkpointer_url: str, alice: UUID,
) -> None:
    spec = transform_spec()
    async with open_checkpointer(checkpointer_url) as saver:
        strict = WorkflowRuntime(checkpointer=saver, store=TortoiseRunStore())
        with pytest.raises(RunNotFoundError, match="not registered"):
            await strict.start(spec)
        embedded = WorkflowRuntime(checkpointer=saver,
                                   store=TortoiseRunStore(default_owner_id=alice))
        result = await embedded.start(spec)
    adopted = await runs.get(alice, result.run_id)
    assert (adopted.status, adopted.source, adopted.outputs) == \
        ("completed", "manual", {"text": "hi"})
    assert await runs.spec(alice, result.run_id) == spec


async def test_a_run_starts_once_and_a_cancelled_queued_run_not_at_all(
    runtime: WorkflowRuntime, alice: UUID,
) -> None:
    spec = transform_spec()
    run_id, _ = await _start(runtime, alice, spec)
    with pytest.raises(InvalidTransitionError):
        await runtime.start(spec, run_id=run_id)
    _, version_id = await _saved(alice, transform_spec(text="later"))
    queued, _ = await runs.create(alice, version_id=version_id)
    await runs.transition(alice, queued.id, "cancelled")
    with pytest.raises(InvalidTransitionError):
        await runtime.start(transform_spec(text="later"), run_id=queued.id)
    assert (await runs.get(alice, queued.id)).status == "cancelled"


async def test_due_timers_are_found_across_owners_and_fired(
    runtime: WorkflowRuntime, alice: UUID, bob: UUID,
) -> None:
    spec = {"spec_version": "1", "name": "nap",
            "nodes": [{"id": "nap", "type": "wait", "duration": "PT1M"}], "edges": []}
    mine, _ = await _start(runtime, alice, spec)
    theirs, _ = await _start(runtime, bob, spec)
    due = {run_id for run_id, _ in await runtime.due_interrupts(
        datetime.now(UTC) + timedelta(minutes=2))}
    assert {mine, theirs} <= due
    assert await runtime.fire_due(datetime.now(UTC) + timedelta(minutes=2), run_id=mine) == [mine]
    assert (await runs.get(alice, mine)).status == "completed"
    assert (await runs.get(bob, theirs)).status == "paused"


async def test_a_run_that_runs_something_else_than_its_version_keeps_that_spec(
    runtime: WorkflowRuntime, alice: UUID,
) -> None:
    _, version_id = await _saved(alice, transform_spec(text="saved"))
    run, _ = await runs.create(alice, version_id=version_id)
    other = transform_spec(text="edited")
    await runtime.start(other, run_id=run.id)
    assert await runs.spec(alice, run.id) == other
    assert (await runs.get(alice, run.id)).outputs == {"text": "edited"}


async def test_run_limits_used_survive_in_the_service_database(
    runtime: WorkflowRuntime, alice: UUID
) -> None:
    """steps_used and active_ms persist, so a loop pausing on every pass still meets its
    max_steps after resumes read back from the database."""
    spec = {"spec_version": "1", "name": "limits", "limits": {"max_steps": 12},
            "nodes": [{"id": "a", "type": "transform", "value": 0},
                      {"id": "b", "type": "transform",
                       "value": "{{ (nodes.b | default(0)) + 1 }}"},
                      {"id": "ask", "type": "approval", "question": "again?"},
                      {"id": "c", "type": "condition", "if": "{{ true }}"},
                      {"id": "out", "type": "transform", "value": 1}],
            "edges": [{"from": "a", "to": "b"}, {"from": "b", "to": "ask"},
                      {"from": "ask", "port": "approved", "to": "c"},
                      {"from": "ask", "port": "rejected", "to": "c"},
                      {"from": "c", "port": "true", "to": "b"},
                      {"from": "c", "port": "false", "to": "out"}]}
    run_id, _ = await _start(runtime, alice, spec)
    stored = await runs.get(alice, run_id)
    assert stored.status == "paused"
    row = await Run.get(id=run_id)
    assert row.steps_used > 0 and row.active_ms > 0
    result = await runtime.result(run_id)
    for _ in range(20):
        if result.status != "paused":
            break
        result = await runtime.resume(run_id, {"by": "u", "decision": "approve"})
    assert result.status == "failed"
    assert result.error is not None and result.error["code"] == "run_limit_exceeded"


async def test_two_processes_answering_one_run_at_once_cannot_both_drive_it(
    runtime: WorkflowRuntime, checkpointer_url: str, alice: UUID,
) -> None:
    """Each runtime's lock covers its own process only: the resume's claim (a
    compare-and-set from paused to running) is what lets exactly one answer drive the run.
    The other is told to try again, and its answer then counts: no response is lost."""
    spec = {"spec_version": "1", "name": "two-approvers",
            "nodes": [{"id": "ask", "type": "approval", "question": "Ship?",
                       "approvers": ["ann", "ben"], "min_approvals": 2},
                      {"id": "done", "type": "transform", "value": "{{ nodes.ask.decision }}"}],
            "edges": [{"from": "ask", "port": "approved", "to": "done"}],
            "outputs": {"decision": "{{ nodes.done | default('none') }}",
                        "n": "{{ nodes.ask.responses | length }}"}}
    run_id, _ = await _start(runtime, alice, spec)
    async with open_checkpointer(checkpointer_url) as one, \
            open_checkpointer(checkpointer_url) as two:
        first = WorkflowRuntime(checkpointer=one, store=TortoiseRunStore())
        second = WorkflowRuntime(checkpointer=two, store=TortoiseRunStore())
        answers = await asyncio.gather(
            first.resume(run_id, {"by": "ann", "decision": "approve"}),
            second.resume(run_id, {"by": "ben", "decision": "approve"}),
            return_exceptions=True)
        refused = [a for a in answers if isinstance(a, BaseException)]
        assert len(refused) == 1 and isinstance(refused[0], RunStateError), answers
        assert "no longer paused" in str(refused[0]) or "not paused" in str(refused[0])
        winner = next(a for a in answers if not isinstance(a, BaseException))
        assert winner.status == "paused"  # one approval of two
        loser = second if isinstance(answers[1], BaseException) else first
        who = "ben" if loser is second else "ann"
        done = await loser.resume(run_id, {"by": who, "decision": "approve"})
    assert done.status == "completed", done.error
    assert done.outputs == {"decision": "approved", "n": 2}


async def test_a_claim_fails_when_the_run_moved_meanwhile(db: str, alice: UUID) -> None:
    store = TortoiseRunStore()
    _, version_id = await _saved(alice, transform_spec())
    run, _ = await runs.create(alice, version_id=version_id, inputs={})
    record = (await store.get(run.id))
    assert record is not None and record.status == "queued"
    record.status = "running"
    assert await store.claim(record, "paused") is False  # it is queued, not paused
    assert (await Run.get(id=run.id)).status == "queued"
    assert await store.claim(record, "queued") is True
    assert (await Run.get(id=run.id)).status == "running"
