"""What the runtime stores and returns about runs."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

RunStatus = Literal["queued", "running", "paused", "completed", "failed", "cancelled"]
TERMINAL_STATUSES = frozenset({"completed", "failed", "cancelled"})

#: The one place the allowed status transitions are written down.
TRANSITIONS: dict[str, frozenset[str]] = {
    "queued": frozenset({"running", "cancelled", "failed"}),
    "running": frozenset({"paused", "completed", "failed", "cancelled"}),
    "paused": frozenset({"running", "cancelled", "failed"}),
    "completed": frozenset(),
    "failed": frozenset(),
    "cancelled": frozenset(),
}


class PendingInterrupt(BaseModel):
    id: str = Field(description="answer it by this id")
    node_id: str
    kind: Literal["approval", "input", "wait", "signal"] | str
    payload: dict[str, Any]
    due_at: str | None = None


class RunRecord(BaseModel):
    run_id: str
    workflow: str
    spec_hash: str
    status: RunStatus
    inputs: dict[str, Any] = Field(default_factory=dict)
    outputs: dict[str, Any] | None = None
    error: dict[str, Any] | None = None
    interrupts: list[PendingInterrupt] = Field(default_factory=list)
    created_at: str
    started_at: str | None = None
    finished_at: str | None = None
    parent_run_id: str | None = None
    forked_from: str | None = None
    last_seq: int = 0
    #: token usage summed over the run's node.completed events (llm nodes), e.g.
    #: {"input_tokens": 120, "output_tokens": 40, "total_tokens": 160, "model_calls": 2}
    usage: dict[str, int] = Field(default_factory=dict)
    #: what the run has used of its spec's ``limits`` over all its drives so far (a run
    #: paused and resumed is still one run): LangGraph supersteps (the thread's step at
    #: the last pause) and milliseconds of running, waits excluded
    steps_used: int = 0
    active_ms: float = 0.0


class RunResult(BaseModel):
    run_id: str
    status: RunStatus
    outputs: dict[str, Any] | None = None
    error: dict[str, Any] | None = None
    interrupts: list[PendingInterrupt] = Field(default_factory=list)
