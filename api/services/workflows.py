"""Workflows and their drafts: the editable side of a workflow.

A draft may hold an invalid spec (it is work in progress), so saving one never fails
validation; its view carries the compiler's errors instead, which is what an editor shows
beside the text. Concurrent editors are kept apart by the draft's revision: a save names
the revision it started from and a stale one is refused (409 ``stale_revision``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from pydantic import BaseModel, Field

from api.services.bodies import RequestBody
from api.services.specs import SpecError, spec_errors
from shared.database.entities import DraftInfo, Page, WorkflowInfo
from shared.database.errors import NotFoundError
from shared.database.repositories import DraftsRepository, WorkflowsRepository
from shared.database.repositories._common import NAME_PATTERN, WORKFLOW_NAME_PATTERN, check_name
from shared.database.repositories.workflows import DEFAULT_NAMESPACE
from workflow_compiler.runtime.runtime import WorkflowRuntime


class WorkflowCreate(RequestBody):
    name: str = Field(min_length=1, max_length=128,
                      description="unique within the namespace; letters, digits, ' _.-'")
    namespace: str = Field(default=DEFAULT_NAMESPACE, min_length=1, max_length=64)
    description: str = Field(default="", max_length=10_000)
    spec: dict[str, Any] | None = Field(
        default=None, description="the first draft (revision 1); omitted: an empty draft")


class WorkflowUpdate(RequestBody):
    """Only the fields given change."""

    name: str | None = Field(default=None, min_length=1, max_length=128)
    namespace: str | None = Field(default=None, min_length=1, max_length=64)
    description: str | None = Field(default=None, max_length=10_000)


class DraftView(BaseModel):
    workflow_id: UUID
    spec: dict[str, Any] | None
    revision: int = Field(description="send as expected_revision with the next save")
    updated_at: datetime
    valid: bool | None = Field(description="whether the spec would compile; null when empty")
    errors: list[SpecError] = Field(default_factory=list)


class DraftSave(RequestBody):
    spec: dict[str, Any]
    expected_revision: int = Field(ge=0, description="the revision this edit started from")


class WorkflowsService:
    def __init__(self, runtime: WorkflowRuntime) -> None:
        self.runtime = runtime
        self.workflows = WorkflowsRepository()
        self.drafts = DraftsRepository()

    async def create(self, owner_id: UUID, body: WorkflowCreate) -> WorkflowInfo:
        return await self.workflows.create(owner_id, body.name, namespace=body.namespace,
                                           description=body.description, spec=body.spec)

    async def list(self, owner_id: UUID, *, namespace: str | None, limit: int,
                   cursor: str | None) -> Page[WorkflowInfo]:
        if namespace is not None:
            check_name(namespace, "namespace")
        return await self.workflows.list(owner_id, namespace=namespace, limit=limit,
                                         cursor=cursor)

    async def get(self, owner_id: UUID, workflow_id: str) -> WorkflowInfo:
        return await self.workflows.get(owner_id, workflow_id)

    async def get_by_name(self, owner_id: UUID, namespace: str, name: str) -> WorkflowInfo:
        if not (NAME_PATTERN.fullmatch(namespace) and WORKFLOW_NAME_PATTERN.fullmatch(name)):
            raise NotFoundError("workflow", f"{namespace}/{name}")  # could not exist
        return await self.workflows.get_by_name(owner_id, namespace, name)

    async def update(self, owner_id: UUID, workflow_id: str, body: WorkflowUpdate
                     ) -> WorkflowInfo:
        return await self.workflows.update(owner_id, workflow_id, name=body.name,
                                           namespace=body.namespace,
                                           description=body.description)

    async def delete(self, owner_id: UUID, workflow_id: str) -> None:
        await self.workflows.delete(owner_id, workflow_id)

    async def draft(self, owner_id: UUID, workflow_id: str) -> DraftView:
        return self._view(await self.drafts.get(owner_id, workflow_id))

    async def save_draft(self, owner_id: UUID, workflow_id: str, body: DraftSave) -> DraftView:
        saved = await self.drafts.put(owner_id, workflow_id, body.spec,
                                      expected_revision=body.expected_revision)
        await self.workflows.touch(saved.workflow_id, saved.updated_at)
        return self._view(saved)

    def _view(self, draft: DraftInfo) -> DraftView:
        errors = spec_errors(self.runtime, draft.spec) if draft.spec is not None else []
        return DraftView(workflow_id=draft.workflow_id, spec=draft.spec,
                         revision=draft.revision, updated_at=draft.updated_at,
                         valid=None if draft.spec is None else not errors, errors=errors)
