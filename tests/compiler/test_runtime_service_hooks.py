"""What the runtime offers a service: ``enqueue`` (``run.queued``) then ``start`` with the
numbering continued, ``checkpoint`` (one checkpoint with its values), the ``durability``
knob, and concurrent ``start`` calls each returning their own run."""

from __future__ import annotations

import asyncio

import pytest
from helpers.specs import spec, t

from workflow_compiler.errors import RunNotFoundError, RunStateError
from workflow_compiler.runtime import RunRecord, WorkflowRuntime

CHAIN = spec([t("a", 1), t("b", "{{ nodes.a + 1 }}")], [("a", "b")], {"b": "{{ nodes.b }}"})
#: the same shape with a step between its nodes: a tool node is not fused with the transform
#: after it (``compiler.fusion``), so the history has a checkpoint after ``a``
STEPPED = spec([{"id": "a", "type": "tool", "tool": "math.add", "args": {"a": 0, "b": 1}},
                t("b", "{{ nodes.a + 1 }}")], [("a", "b")], {"b": "{{ nodes.b }}"})


async def test_concurrent_starts_return_their_own_results() -> None:
    runtime = WorkflowRuntime()
    results = await asyncio.gather(*[runtime.start(CHAIN) for _ in range(8)])
    assert len({r.run_id for r in results}) == 8
    assert all(r.status == "completed" and r.outputs == {"b": 2} for r in results)


async def test_enqueue_then_start_continues_the_numbering() -> None:
    runtime = WorkflowRuntime()
    seen: list[str] = []
    runtime.subscribe(lambda e: seen.append(e.type))
    await runtime.store.create(RunRecord(run_id="r1", workflow="shape", spec_hash="x",
                                         status="queued", created_at="2026-01-01T00:00:00+00:00"),
                               CHAIN)
    queued = await runtime.enqueue("r1", {"mode": "async"})
    assert (queued.seq, queued.type, queued.data) == (1, "run.queued", {"mode": "async"})
    result = await runtime.start(CHAIN, run_id="r1", last_seq=queued.seq)
    assert result.status == "completed"
    events = await runtime.events("r1")
    assert [e.seq for e in events] == list(range(1, len(events) + 1))
    assert [e.type for e in events][:2] == seen[:2] == ["run.queued", "run.started"]
    with pytest.raises(RunStateError, match="not queued"):
        await runtime.enqueue("r1")


async def test_checkpoint_and_durability() -> None:
    every = WorkflowRuntime()
    run = await every.start(STEPPED)
    history = await every.history(run.run_id)
    after_a = next(h for h in history if h["completed_nodes"] == ["a"])
    one = await every.checkpoint(run.run_id, after_a["checkpoint_id"])
    assert one["values"]["nodes"] == {"a": 1}
    assert one["next"] == after_a["next"]
    with pytest.raises(RunNotFoundError):
        await every.checkpoint(run.run_id, "nope")

    at_exit = WorkflowRuntime(durability="exit")
    quick = await at_exit.start(STEPPED)
    assert quick.outputs == {"b": 2}
    assert len(await at_exit.history(quick.run_id)) < len(history)


async def test_a_chain_of_transforms_is_one_step_of_the_history() -> None:
    """Two transforms in a row run as one LangGraph node: one checkpoint for both (there
    is nothing to resume or fork from between two pure nodes), every event as before."""
    runtime = WorkflowRuntime()
    fused = await runtime.start(CHAIN)
    stepped = await runtime.start(STEPPED)

    assert fused.outputs == stepped.outputs == {"b": 2}
    fused_history = await runtime.history(fused.run_id)
    assert len(fused_history) == len(await runtime.history(stepped.run_id)) - 1
    assert [h["completed_nodes"] for h in fused_history] == [["a", "b"], [], []]
    assert [h["next"] for h in fused_history] == [[], ["a"], ["__start__"]]  # the head
    assert [(e.type, e.node_id) for e in await runtime.events(fused.run_id)] == [
        ("run.started", None), ("node.started", "a"), ("node.completed", "a"),
        ("node.started", "b"), ("node.completed", "b"), ("run.completed", None)]


async def test_processes_opening_a_fresh_postgres_database_at_once(postgres_url: str) -> None:
    """Several server workers set LangGraph's tables up at the same moment: serialised by
    an advisory lock, none fails (duplicate types, or a deadlock with the concurrent index
    build)."""
    import uuid
    from contextlib import AsyncExitStack

    import psycopg

    from workflow_compiler.runtime.checkpointers import open_checkpointer
    from workflow_compiler.runtime.stores import open_store

    prefix, _, _ = postgres_url.rpartition("/")
    name = f"gw_setup_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = f"{prefix}/{name}"

    async def worker() -> None:
        async with AsyncExitStack() as stack:
            await stack.enter_async_context(open_checkpointer(url))
            await stack.enter_async_context(open_store(url))

    try:
        await asyncio.gather(*[worker() for _ in range(4)])
    finally:
        with psycopg.connect(postgres_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
