"""Drafts: the editable spec of a workflow, saved with optimistic concurrency.

A save names the revision it started from; it succeeds only if that is still the current
revision (one conditional UPDATE, so two editors can never both win), else it raises
``StaleRevisionError`` carrying the current revision (409 over the API).
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from tortoise.expressions import F

from shared.database.entities import DraftInfo
from shared.database.errors import InvalidArgumentError, NotFoundError, StaleRevisionError
from shared.database.models import Draft
from shared.database.repositories._common import as_uuid, utcnow


class DraftsRepository:
    async def get(self, owner_id: UUID, workflow_id: UUID | str) -> DraftInfo:
        draft = await Draft.get_or_none(workflow_id=as_uuid(workflow_id, "workflow"),
                                        owner_id=owner_id)
        if draft is None:
            raise NotFoundError("workflow", workflow_id)
        return DraftInfo.model_validate(draft)

    async def put(
        self, owner_id: UUID, workflow_id: UUID | str, spec: dict[str, Any], *,
        expected_revision: int,
    ) -> DraftInfo:
        if not isinstance(spec, dict):
            raise InvalidArgumentError("a draft spec is a JSON object", field="spec")
        if isinstance(expected_revision, bool) or not isinstance(expected_revision, int):
            raise InvalidArgumentError("expected_revision is an integer",
                                       field="expected_revision")
        wid = as_uuid(workflow_id, "workflow")
        saved = await Draft.filter(
            workflow_id=wid, owner_id=owner_id, revision=expected_revision,
        ).update(spec=spec, revision=F("revision") + 1, updated_at=utcnow())
        if saved == 0:
            current = await self.get(owner_id, wid)  # NotFoundError if not the caller's
            raise StaleRevisionError(expected_revision, current.revision)
        return await self.get(owner_id, wid)
