"""Runtime operations: history, fork, cancel, persisted events, compile cache, resolvers."""

from __future__ import annotations

import asyncio

import pytest
from helpers.specs import run_collect, spec, t
from helpers.tools import Calls

from workflow_compiler.errors import RunNotFoundError, RunStateError, SpecValidationError
from workflow_compiler.runtime import WorkflowRuntime
from workflow_compiler.services import DictResolver


async def test_history_and_fork_from_checkpoint(runtime: WorkflowRuntime, calls: Calls) -> None:
    s = spec([{"id": "first", "type": "tool", "tool": "test.count", "args": {"name": "first"}},
              {"id": "second", "type": "tool", "tool": "test.count", "args": {"name": "second"}}],
             [("first", "second")], {"n": "{{ nodes.second.count }}"})
    result, _ = await run_collect(runtime, s)
    assert result.outputs == {"n": 1}
    history = await runtime.history(result.run_id)
    after_first = next(h for h in history if h["completed_nodes"] == ["first"])
    forked = await runtime.fork(result.run_id, after_first["checkpoint_id"])
    assert forked.status == "completed", forked.error
    assert forked.outputs == {"n": 2}
    assert calls.counts == {"first": 1, "second": 2}  # the fork re-ran only `second`
    record = await runtime.get_run(forked.run_id)
    assert record.parent_run_id == result.run_id
    original = await runtime.state(result.run_id)
    assert original["values"]["nodes"]["second"]["count"] == 1  # the original is untouched


async def test_fork_of_unknown_checkpoint_is_refused(runtime: WorkflowRuntime) -> None:
    result, _ = await run_collect(runtime, spec([t("a", 1)], []))
    with pytest.raises(RunNotFoundError):
        await runtime.fork(result.run_id, "1f0-not-a-checkpoint")


async def test_cancel_paused_then_running_runs(runtime: WorkflowRuntime) -> None:
    paused, _ = await run_collect(runtime, spec([{"id": "w", "type": "wait", "duration": "P1D"}],
                                                []))
    cancelled = await runtime.cancel(paused.run_id)
    assert cancelled.status == "cancelled"
    with pytest.raises(RunStateError):
        await runtime.cancel(paused.run_id)

    slow = spec([{"id": "s", "type": "tool", "tool": "test.sleep", "args": {"seconds": 30}}], [])
    started = asyncio.Event()
    run_ids: list[str] = []

    async def drive() -> None:
        async for event in runtime.stream(slow):
            run_ids.append(event.run_id)
            if event.type == "node.started":
                started.set()

    task = asyncio.create_task(drive())
    await asyncio.wait_for(started.wait(), 5)
    result = await runtime.cancel(run_ids[0])
    assert result.status == "cancelled"
    await asyncio.wait_for(task, 5)
    events = await runtime.events(run_ids[0])
    assert events[-1].type == "run.cancelled"


async def test_events_are_persisted_gap_free_across_resume(runtime: WorkflowRuntime) -> None:
    s = spec([{"id": "ask", "type": "approval", "question": "?"}, t("after", 1)],
             [("ask", "after", "approved")])
    paused, live = await run_collect(runtime, s)
    await runtime.resume(paused.run_id, {"by": "a", "decision": "approve"})
    stored = await runtime.events(paused.run_id)
    assert [e.seq for e in stored] == list(range(1, len(stored) + 1))
    assert [e.type for e in stored][: len(live)] == [e.type for e in live]
    types = [e.type for e in stored]
    assert types.count("run.paused") == 1 and "run.resumed" in types
    assert types[-1] == "run.completed"
    assert (await runtime.events(paused.run_id, after_seq=3))[0].seq == 4


async def test_compiled_graphs_are_cached_by_spec_hash(runtime: WorkflowRuntime) -> None:
    s = spec([t("a", 1)], [])
    first = runtime.compiler.compile(s)
    assert runtime.compiler.compile(dict(s)) is first
    assert runtime.compiler.compile({**s, "description": "changed"}) is not first


async def test_invalid_spec_raises_structured_errors(runtime: WorkflowRuntime) -> None:
    with pytest.raises(SpecValidationError) as caught:
        await runtime.start({"spec_version": "1", "name": "bad",
                             "nodes": [{"id": "a", "type": "nope"}]})
    assert caught.value.issues[0].code == "unknown_node_type"


async def test_subworkflow_by_name_through_resolver(runtime: WorkflowRuntime) -> None:
    child = spec([t("greet", "hello {{ inputs.who }}")], [], {"text": "{{ nodes.greet }}"})
    assert isinstance(runtime.services.resolver, DictResolver)
    runtime.services.resolver.workflows["greeter"] = child
    s = spec([{"id": "call", "type": "subworkflow", "workflow": "greeter",
               "inputs": {"who": "{{ inputs.name }}"}}], [], {"text": "{{ nodes.call.text }}"})
    result, events = await run_collect(runtime, s, {"name": "ada"})
    assert result.outputs == {"text": "hello ada"}
    assert "call/greet" in {e.node_id for e in events}
    missing = spec([{"id": "call", "type": "subworkflow", "workflow": "nobody"}], [])
    failed, _ = await run_collect(runtime, missing)
    assert failed.error is not None and failed.error["code"] == "subworkflow_not_found"


async def test_subworkflow_approval_pauses_parent(runtime: WorkflowRuntime, calls: Calls) -> None:
    child = spec([{"id": "before", "type": "tool", "tool": "test.count", "args": {"name": "c"}},
                  {"id": "ok", "type": "approval", "question": "child?"}],
                 [("before", "ok")], {"d": "{{ nodes.ok.decision }}"})
    s = spec([{"id": "sub", "type": "subworkflow", "spec": child}], [],
             {"d": "{{ nodes.sub.d }}"})
    paused, _ = await run_collect(runtime, s)
    assert paused.status == "paused" and paused.interrupts[0].node_id == "sub/ok"
    done = await runtime.resume(paused.run_id, {"by": "a", "decision": "approve"})
    assert done.outputs == {"d": "approved"}
    assert calls.counts["c"] == 1


async def test_retention_keep_latest_and_ttl(checkpointer_url: str, services: object) -> None:
    from datetime import UTC, datetime, timedelta

    from workflow_compiler.runtime.checkpointers import open_checkpointer
    from workflow_compiler.runtime.retention import Retention

    s = spec([t("a", 1), t("b", 2), t("c", 3)], [("a", "b"), ("b", "c")], {"c": "{{ nodes.c }}"})
    async with open_checkpointer(checkpointer_url) as saver:
        latest = WorkflowRuntime(checkpointer=saver, retention=Retention("latest"))
        result = await latest.start(s)
        history = await latest.history(result.run_id)
        assert len(history) == 1 and history[0]["completed_nodes"] == ["a", "b", "c"]
        assert (await latest.state(result.run_id))["values"]["nodes"]["c"] == 3

        ttl = WorkflowRuntime(checkpointer=saver, store=latest.store,
                              retention=Retention("ttl", timedelta(hours=1)))
        kept = await ttl.start(s)
        assert await ttl.purge_expired(datetime.now(UTC)) == []
        purged = await ttl.purge_expired(datetime.now(UTC) + timedelta(hours=2))
        assert kept.run_id in purged
        assert await ttl.history(kept.run_id) == []


async def test_closing_a_stream_midway_then_cancel_keeps_a_gap_free_log(
    runtime: WorkflowRuntime,
) -> None:
    s = spec([t("a", 0), t("b", "{{ (nodes.b | default(0)) + 1 }}"),
              {"id": "c", "type": "condition", "if": "{{ nodes.b < 1000 }}"}, t("out", 1)],
             [("a", "b"), ("b", "c"), ("c", "b", "true"), ("c", "out", "false")],
             limits={"max_steps": 100_000})
    stream = runtime.stream(s, run_id="r-closed")
    for _ in range(300):
        await stream.__anext__()
    await stream.aclose()
    await runtime.cancel("r-closed")
    events = await runtime.events("r-closed")
    assert [e.seq for e in events] == list(range(1, len(events) + 1))
    assert events[0].type == "run.started" and events[-1].type == "run.cancelled"
    assert len(events) == 301


async def test_a_failing_listener_does_not_fail_the_run(runtime: WorkflowRuntime) -> None:
    def explode(event: object) -> None:
        raise RuntimeError("listener bug")

    runtime.subscribe(explode)
    result = await runtime.start(spec([t("a", 1)], [], {"a": "{{ nodes.a }}"}))
    assert result.status == "completed" and result.outputs == {"a": 1}


async def test_resumed_node_is_not_reported_started_twice(runtime: WorkflowRuntime) -> None:
    s = spec([{"id": "ask", "type": "approval", "question": "?", "approvers": ["a", "b"],
               "min_approvals": 2}, t("after", 1)], [("ask", "after", "approved")])
    paused, _ = await run_collect(runtime, s)
    await runtime.resume(paused.run_id, {"by": "a", "decision": "approve"})
    await runtime.resume(paused.run_id, {"by": "b", "decision": "approve"})
    events = await runtime.events(paused.run_id)
    started = [e.node_id for e in events if e.type == "node.started"]
    assert started == ["ask", "after"]


async def test_fire_due_can_be_scoped_to_one_run(runtime: WorkflowRuntime) -> None:
    from datetime import UTC, datetime, timedelta

    s = spec([{"id": "nap", "type": "wait", "duration": "PT1M"}], [])
    one, _ = await run_collect(runtime, s)
    two, _ = await run_collect(runtime, s)
    later = datetime.now(UTC) + timedelta(minutes=2)
    assert await runtime.fire_due(later, run_id=one.run_id) == [one.run_id]
    assert (await runtime.result(two.run_id)).status == "paused"
