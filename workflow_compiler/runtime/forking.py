"""Forking: copy one checkpoint into a new thread and run on from there.

LangGraph's own "replay from a checkpoint" branches within the same thread, which would
change what the original run reports as its latest state; a fork must leave it alone.
Pending writes are deliberately not copied: they hold the results the original run
computed *after* that checkpoint, and a fork exists to compute them again.
"""

from __future__ import annotations

from typing import Any

from langgraph.checkpoint.base import BaseCheckpointSaver

from workflow_compiler.errors import RunNotFoundError


async def copy_checkpoint(
    saver: BaseCheckpointSaver[Any], run_id: str, checkpoint_id: str, new_thread: str
) -> None:
    source = await saver.aget_tuple({"configurable": {
        "thread_id": run_id, "checkpoint_ns": "", "checkpoint_id": checkpoint_id}})
    if source is None:
        raise RunNotFoundError(f"run {run_id} has no checkpoint {checkpoint_id!r}")
    checkpoint = source.checkpoint
    await saver.aput(
        {"configurable": {"thread_id": new_thread, "checkpoint_ns": ""}},
        checkpoint,
        {**source.metadata, "source": "fork"},  # type: ignore[typeddict-item,unused-ignore]
        dict(checkpoint["channel_versions"]),
    )
