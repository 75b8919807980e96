"""Versions: immutable snapshots of a workflow's spec, the things runs execute.

Unlike drafts, a version must compile: the spec (given, or the draft's) goes through the
runtime's compiler first and an invalid one is refused with the compiler's errors. The
repository deduplicates by spec hash, so saving a spec the workflow already has returns
that version (``created`` False; the API answers 200 instead of 201).
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from pydantic import Field

from api.services.bodies import RequestBody
from api.services.specs import compile_or_raise
from shared.database.entities import Page, VersionDetail, VersionInfo
from shared.database.errors import InvalidArgumentError
from shared.database.repositories import DraftsRepository, VersionsRepository
from workflow_compiler.runtime.runtime import WorkflowRuntime


class VersionCreate(RequestBody):
    spec: dict[str, Any] | None = Field(
        default=None, description="the spec to snapshot; omitted: the workflow's draft")
    note: str = Field(default="", max_length=2000, description="what changed, for people")


class VersionsService:
    def __init__(self, runtime: WorkflowRuntime) -> None:
        self.runtime = runtime
        self.versions = VersionsRepository()
        self.drafts = DraftsRepository()

    async def create(self, owner_id: UUID, workflow_id: str, body: VersionCreate
                     ) -> tuple[VersionDetail, bool]:
        spec = body.spec
        if spec is None:
            draft = await self.drafts.get(owner_id, workflow_id)  # 404 if not the caller's
            if draft.spec is None:
                raise InvalidArgumentError("the workflow's draft is empty: give a spec",
                                           field="spec")
            spec = draft.spec
        else:
            await self.drafts.get(owner_id, workflow_id)  # 404 before judging the spec
        compile_or_raise(self.runtime, spec)
        return await self.versions.create(owner_id, workflow_id, spec, note=body.note)

    async def list(self, owner_id: UUID, workflow_id: str, status: str | None
                   ) -> Page[VersionInfo]:
        return Page(items=await self.versions.list(owner_id, workflow_id, status=status))

    async def get(self, owner_id: UUID, workflow_id: str, number: int) -> VersionDetail:
        return await self.versions.get(owner_id, workflow_id, number)

    async def publish(self, owner_id: UUID, workflow_id: str, number: int) -> VersionDetail:
        return await self.versions.publish(owner_id, workflow_id, number)

    async def archive(self, owner_id: UUID, workflow_id: str, number: int) -> VersionDetail:
        return await self.versions.archive(owner_id, workflow_id, number)
