"""Run events: the one stream for UIs, logs and the CLI (DESIGN section 3)."""

from __future__ import annotations

import json
from typing import Any, Literal

from pydantic import BaseModel, Field

EventType = Literal[
    "run.queued", "run.started", "node.started", "node.completed", "node.skipped",
    "node.retrying", "node.failed", "llm.token", "run.paused", "run.resumed",
    "run.completed", "run.failed", "run.cancelled",
]
EVENT_TYPES: tuple[str, ...] = EventType.__args__  # type: ignore[attr-defined]
TERMINAL_EVENTS = frozenset({"run.completed", "run.failed", "run.cancelled"})


class RunEvent(BaseModel):
    seq: int = Field(description="1-based, gap-free per run; the SSE id")
    run_id: str
    type: EventType
    node_id: str | None = None
    ts: str = Field(description="ISO-8601 UTC timestamp")
    data: dict[str, Any] = Field(default_factory=dict)

    def to_sse(self) -> str:
        payload = json.dumps(self.model_dump(mode="json"), separators=(",", ":"), default=str)
        return f"event: {self.type}\nid: {self.seq}\ndata: {payload}\n\n"
