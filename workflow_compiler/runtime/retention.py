"""Checkpoint retention (DESIGN section 3): keep all, keep the latest after completion,
drop a finished run's checkpoints after a TTL, or keep none once a run completed.

Only Postgres implements LangGraph's ``aprune``; for the other savers "keep latest" is
done generically (read the latest checkpoint, delete the thread, write it back), which is
safe because it runs only on finished runs, when nothing else writes to the thread.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from langgraph.checkpoint.base import BaseCheckpointSaver

#: finished runs whose checkpoints retention "none" keeps: a failed run may be forked
#: (retried) from where it failed; a completed or cancelled one has nothing left to do
KEPT_BY_NONE = frozenset({"failed"})


@dataclass(frozen=True, slots=True)
class Retention:
    """``all``: keep every checkpoint; ``latest``: keep the last one of a finished run;
    ``ttl``: drop a finished run's checkpoints ``ttl`` after it ended; ``none``: a run
    that completes or is cancelled keeps none (its events, steps and outputs remain; a
    paused or failed run keeps its checkpoints)."""

    mode: Literal["all", "latest", "ttl", "none"] = "all"
    ttl: timedelta | None = None  # with mode "ttl": how long a finished run keeps them


async def keep_latest(saver: BaseCheckpointSaver[Any], thread_id: str) -> None:
    try:
        await saver.aprune([thread_id], strategy="keep_latest")
        return
    except NotImplementedError:
        pass
    latest = await saver.aget_tuple({"configurable": {"thread_id": thread_id,
                                                      "checkpoint_ns": ""}})
    if latest is None:
        return
    await saver.adelete_thread(thread_id)
    await saver.aput(
        {"configurable": {"thread_id": thread_id, "checkpoint_ns": ""}},
        latest.checkpoint, latest.metadata, dict(latest.checkpoint["channel_versions"]),
    )


def expired(finished_at: str | None, ttl: timedelta, now: datetime) -> bool:
    return finished_at is not None and datetime.fromisoformat(finished_at) + ttl <= now
