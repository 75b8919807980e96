"""``BatchedPostgresSaver`` against a real Postgres: concurrent writes are committed in
shared transactions, what lands is what LangGraph's own saver writes and reads, and one
bad write fails only its own caller."""

from __future__ import annotations

import asyncio
import copy
import uuid
from typing import Any

import psycopg
import pytest
from helpers.specs import spec, t
from langgraph.checkpoint.base import BaseCheckpointSaver, empty_checkpoint
from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver
from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer

from workflow_compiler.runtime import WorkflowRuntime
from workflow_compiler.runtime.checkpointers import open_checkpointer
from workflow_compiler.runtime.postgres_saver import BatchedPostgresSaver

pytestmark = pytest.mark.usefixtures("postgres_url")


def config(thread: str) -> dict[str, Any]:
    return {"configurable": {"thread_id": thread, "checkpoint_ns": ""}}


async def put(saver: BaseCheckpointSaver[Any], thread: str, value: Any) -> dict[str, Any]:
    checkpoint = empty_checkpoint()
    checkpoint["channel_values"] = {"state": value, "plain": 7}
    checkpoint["channel_versions"] = {"state": 1, "plain": 1}
    saved = await saver.aput(config(thread), checkpoint, {"source": "loop", "step": 0},  # type: ignore[arg-type]
                             {"state": 1, "plain": 1})
    await saver.aput_writes(saved, [("state", {"w": thread}), ("other", [1, 2])], "task-1")
    return dict(saved)


def transactions(url: str, threads: list[str]) -> int:
    """Distinct inserting transactions (``xmin``) of these threads' checkpoint rows."""
    with psycopg.connect(url) as conn:
        row = conn.execute("SELECT count(DISTINCT xmin::text) FROM checkpoints "
                           "WHERE thread_id = ANY(%s)", (threads,)).fetchone()
    assert row is not None
    return int(row[0])


async def test_concurrent_writes_share_transactions_and_all_land(postgres_url: str) -> None:
    threads = [f"batch-{uuid.uuid4().hex[:8]}-{i}" for i in range(120)]
    async with open_checkpointer(postgres_url, pool_max=4) as saver:
        assert isinstance(saver, BatchedPostgresSaver)
        await asyncio.gather(*[put(saver, thread, {"n": i, "blob": "x" * i})
                               for i, thread in enumerate(threads)])
    # read back by LangGraph's own saver: the rows are the ones it would have written
    async with AsyncPostgresSaver.from_conn_string(postgres_url) as plain:
        for i, thread in enumerate(threads):
            got = await plain.aget_tuple(config(thread))  # type: ignore[arg-type]
            assert got is not None
            assert got.checkpoint["channel_values"] == {"state": {"n": i, "blob": "x" * i},
                                                        "plain": 7}
            assert [(channel, value) for _, channel, value in got.pending_writes or []] == [
                ("state", {"w": thread}), ("other", [1, 2])]
    grouped = transactions(postgres_url, threads)
    assert grouped < len(threads) // 4, grouped  # committed in groups, not one by one

    # LangGraph's own saver, for contrast: one transaction per checkpoint
    alone = [f"plain-{uuid.uuid4().hex[:8]}-{i}" for i in range(20)]
    async with AsyncPostgresSaver.from_conn_string(postgres_url) as plain:
        await asyncio.gather(*[put(plain, thread, {"n": 1}) for thread in alone])
    assert transactions(postgres_url, alone) == len(alone)


async def test_a_bad_write_fails_only_its_caller(postgres_url: str) -> None:
    good = [f"good-{uuid.uuid4().hex[:8]}-{i}" for i in range(6)]
    async with open_checkpointer(postgres_url, pool_max=2) as saver:
        # every write queued behind a held connection goes out as one group
        lock = saver.lock  # type: ignore[attr-defined]
        await lock.acquire()
        await lock.acquire()
        first = asyncio.create_task(put(saver, good[0], 0))
        rest = [asyncio.create_task(put(saver, thread, 1)) for thread in good[1:3]]
        bad = asyncio.create_task(put(saver, "bad\x00thread", 1))  # Postgres text has no NUL
        rest += [asyncio.create_task(put(saver, thread, 1)) for thread in good[3:]]
        await asyncio.sleep(0.2)
        lock.release()
        lock.release()
        await asyncio.gather(first, *rest)
        with pytest.raises(psycopg.DataError, match="NUL"):
            await bad
        for thread in good:
            assert await saver.aget_tuple(config(thread)) is not None  # type: ignore[arg-type]


async def test_a_run_checkpoints_as_with_langgraphs_saver(postgres_url: str) -> None:
    """Every step's checkpoint and pending writes, with async durability, match those of
    the same run on LangGraph's own saver."""
    workflow = spec([t("a", {"n": 1}), t("b", "{{ nodes.a.n + 1 }}"),
                     t("c", "{{ nodes.b * 10 }}", retry={"max_attempts": 2})],
                    [("a", "b"), ("b", "c")], outputs={"c": "{{ nodes.c }}"})

    async def history(saver: BaseCheckpointSaver[Any]) -> list[Any]:
        runtime = WorkflowRuntime(checkpointer=saver, durability="async")
        record = await runtime.start(workflow, {})
        assert record.status == "completed" and record.outputs == {"c": 20}
        found = [item async for item in saver.alist(config(record.run_id))]  # type: ignore[arg-type]
        return [(item.metadata.get("step"), _without_run(item.checkpoint["channel_values"]),
                 sorted((channel, repr(_without_run(value)))
                        for _, channel, value in item.pending_writes or [] if channel != "run"))
                for item in found]

    async with open_checkpointer(postgres_url) as batched:
        ours = await history(batched)
    async with AsyncPostgresSaver.from_conn_string(postgres_url) as plain:
        theirs = await history(plain)
    assert len(ours) >= 3
    assert ours == theirs


def _without_run(value: Any) -> Any:
    """The "run" entries hold the run's id and start time: all else must be equal."""
    if isinstance(value, dict):
        return {k: _without_run(v) for k, v in value.items() if k != "run"}
    return value


async def test_a_clone_with_another_allowlist_writes_through_the_same_flusher(
        postgres_url: str) -> None:
    """LangGraph may clone a saver (``with_allowlist``) with another serialiser: the clone
    serialises with its own, and its writes land, grouped, beside the original's."""
    async with open_checkpointer(postgres_url, pool_max=2) as saver:
        # what BaseCheckpointSaver.with_allowlist does when the allowlist changes
        clone = copy.copy(saver)
        clone.serde = JsonPlusSerializer()
        threads = [f"clone-{uuid.uuid4().hex[:8]}-{i}" for i in range(10)]
        await asyncio.gather(*[put(clone if i % 2 else saver, thread, {"i": i})
                               for i, thread in enumerate(threads)])
        for i, thread in enumerate(threads):
            got = await saver.aget_tuple(config(thread))  # type: ignore[arg-type]
            assert got is not None and got.checkpoint["channel_values"]["state"] == {"i": i}
    assert transactions(postgres_url, threads) < len(threads)  # grouped across the two
