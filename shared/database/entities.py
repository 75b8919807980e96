"""What repositories return: frozen pydantic models, never ORM objects.

Callers (routers, services, the worker) get plain values they cannot save by accident,
and the API can use these directly as response models.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Generic, TypeVar
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from workflow_compiler.runtime.records import PendingInterrupt, RunStatus

T = TypeVar("T")


class Entity(BaseModel):
    model_config = ConfigDict(frozen=True, from_attributes=True)


class Page(Entity, Generic[T]):
    items: list[T]
    next_cursor: str | None = Field(
        default=None, description="pass as cursor for the next page; null on the last page")


class UserInfo(Entity):
    id: UUID
    name: str
    display_name: str
    email: str | None
    is_active: bool
    created_at: datetime


class ApiKeyInfo(Entity):
    id: UUID
    name: str
    prefix: str = Field(description="the key starts with gw_<prefix>_; shown to tell keys apart")
    created_at: datetime
    last_used_at: datetime | None
    expires_at: datetime | None
    revoked_at: datetime | None


class NamespaceInfo(Entity):
    id: UUID
    name: str
    created_at: datetime


class WorkflowInfo(Entity):
    id: UUID
    namespace: str
    name: str
    description: str
    created_at: datetime
    updated_at: datetime


class DraftInfo(Entity):
    workflow_id: UUID
    spec: dict[str, Any] | None
    revision: int
    updated_at: datetime


class VersionInfo(Entity):
    id: UUID
    workflow_id: UUID
    number: int
    spec_hash: str
    status: str
    note: str
    created_at: datetime
    published_at: datetime | None
    archived_at: datetime | None


class VersionDetail(VersionInfo):
    spec: dict[str, Any]


class RunInfo(Entity):
    id: str
    workflow_id: UUID | None
    version_id: UUID | None
    workflow_name: str
    spec_hash: str
    status: RunStatus
    source: str
    inputs: dict[str, Any]
    outputs: dict[str, Any] | None
    error: dict[str, Any] | None
    interrupts: list[PendingInterrupt]
    usage: dict[str, int]
    attempt: int
    idempotency_key: str | None
    parent_run_id: str | None
    forked_from: str | None
    last_seq: int
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None

    @property
    def duration_ms(self) -> float | None:
        if self.started_at is None or self.finished_at is None:
            return None
        return (self.finished_at - self.started_at).total_seconds() * 1000


class StepInfo(Entity):
    id: int
    run_id: str
    node_id: str
    node_type: str | None
    status: str
    attempt: int
    visit: int
    started_at: datetime
    finished_at: datetime | None
    duration_ms: float | None
    ports: list[str] | None
    error: dict[str, Any] | None
    output_summary: Any
    usage: dict[str, Any] | None
    reason: str | None


class ApprovalResponseInfo(Entity):
    by: str
    user_id: UUID | None
    decision: str
    comment: str | None
    data: Any
    responded_at: datetime


class ApprovalInfo(Entity):
    id: UUID
    owner_id: UUID
    run_id: str
    node_path: str
    interrupt_id: str
    status: str
    question: str
    options: list[str]
    approvers: list[str]
    min_approvals: int
    max_rejections: int
    due_at: datetime | None
    decision: str | None
    created_at: datetime
    decided_at: datetime | None
    responses: list[ApprovalResponseInfo] = Field(default_factory=list)


class FileInfo(Entity):
    id: UUID
    name: str
    content_type: str
    size: int
    sha256: str
    storage_path: str
    created_at: datetime


class SecretInfo(Entity):
    """A secret as anyone may see it: its name and dates, never its value."""

    name: str
    created_at: datetime
    updated_at: datetime
