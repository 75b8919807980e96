"""Request and response bodies of the runs and approvals routes.

They live beside the services (not in the routers) because the services build them, and
the OpenAPI document (``/docs``, schemathesis) reads them from the routes' declarations.
Responses reuse the repositories' entities where those already say what a client sees.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field, computed_field

from api.services.bodies import RequestBody
from shared.database.entities import ApprovalInfo, RunInfo, StepInfo
from workflow_compiler.runtime.records import PendingInterrupt, RunStatus

RunMode = Literal["sync", "async", "stream"]
SSE_MEDIA_TYPE = "text/event-stream"


#: path and query strings: Postgres cannot hold NUL, so it is refused (422) up front
NO_NUL = r"^[^\x00]*$"
#: the largest integer the databases' INTEGER columns hold
MAX_INT = 2**31 - 1


class _Body(RequestBody):
    """Unknown fields and NUL characters are refused (see ``api.services.bodies``)."""


#: what the OpenAPI document says of a run's ``inputs``
INPUTS_DESCRIPTION = (
    "checked against the spec's input schema. A file input (a property declared "
    '"format": "file") takes the id of one of your files (POST /v1/files), or a list of '
    "ids for a list of files; the run sees, and stores, each file's descriptor (id, name, "
    "content_type, size, sha256, path: null). An id that is unknown, malformed or another "
    "user's is a 422 unknown_file and nothing is stored")


class StartRunIn(_Body):
    inputs: dict[str, Any] = Field(default_factory=dict, description=INPUTS_DESCRIPTION)
    version: int | None = Field(default=None, ge=1, le=MAX_INT,
                                description="a version number; default: published, else latest")
    mode: RunMode = Field(default="sync", description=(
        "sync: run inline and return the run; async: return 202 at once, run in the "
        "background; stream: text/event-stream of the run's events while it runs"))
    idempotency_key: str | None = Field(
        default=None, min_length=1, max_length=255,
        description="a repeated request with the same key returns the first run (no second "
        "execution); also accepted as the Idempotency-Key header")


class AdHocRunIn(_Body):
    spec: dict[str, Any] = Field(description="a workflow spec (validated by the compiler)")
    inputs: dict[str, Any] = Field(default_factory=dict, description=INPUTS_DESCRIPTION)
    mode: RunMode = "sync"
    idempotency_key: str | None = Field(default=None, min_length=1, max_length=255)


class ResumeIn(_Body):
    interrupt_id: str | None = Field(
        default=None, max_length=512,
        description="which pending interrupt (its id or node id); needed when several are")
    response: Any = Field(
        default=None, description="approval: {decision, comment?, data?} ('by' is the "
        "caller); input: data matching the node's schema; signal: any JSON")
    mode: RunMode = "sync"


class SignalIn(_Body):
    data: Any = None


class ForkIn(_Body):
    checkpoint_id: str = Field(min_length=1, max_length=128)
    mode: Literal["sync", "async"] = "sync"


class ApprovalResponseIn(_Body):
    decision: str = Field(min_length=1, max_length=64,
                          description="approve, reject, or one of the node's options")
    comment: str | None = Field(default=None, max_length=10_000)
    data: Any = None


class RunOut(RunInfo):
    """A run as the API shows it."""

    @computed_field(description="from start to finish, in milliseconds")  # type: ignore[prop-decorator]
    @property
    def duration_ms(self) -> float | None:
        if self.started_at is None or self.finished_at is None:
            return None
        return (self.finished_at - self.started_at).total_seconds() * 1000


class RunPage(BaseModel):
    items: list[RunOut]
    next_cursor: str | None = Field(
        default=None, description="pass as cursor for the next page; null on the last page")


class RunOutput(BaseModel):
    run_id: str
    status: RunStatus
    outputs: dict[str, Any] | None = None
    error: dict[str, Any] | None = None
    interrupts: list[PendingInterrupt] = Field(default_factory=list)


class StepPage(BaseModel):
    items: list[StepInfo]
    next_after_id: int | None = Field(
        default=None, description="pass as after_id for the next page; null on the last page")


class CheckpointOut(BaseModel):
    checkpoint_id: str
    parent_checkpoint_id: str | None = None
    step: int | None = None
    source: str | None = None
    created_at: datetime | str | None = None
    next: list[str] = Field(default_factory=list, description="nodes that run next")
    completed_nodes: list[str] = Field(default_factory=list)


class CheckpointDetail(CheckpointOut):
    values: dict[str, Any] = Field(default_factory=dict,
                                   description="the run's state saved at this checkpoint")
    interrupts: list[PendingInterrupt] = Field(default_factory=list)


class ApprovalOut(ApprovalInfo):
    """An approval as its owner or one of its approvers sees it."""


SSE_RESPONSE: dict[str, Any] = {
    "description": "the run's events as server-sent events: `event: <type>`, `id: <seq>`, "
    "`data: <JSON RunEvent>`; comment lines (`: keep-alive`) every 15 s",
    "content": {SSE_MEDIA_TYPE: {"schema": {"type": "string"}}},
}
