"""Versions: immutable, numbered spec snapshots of a workflow.

* Creating a version of a spec the workflow already has returns that version (dedupe by
  ``spec_hash``, the compiler's canonical hash, so key order does not matter).
* Statuses: ``draft`` (not the live one), ``published`` (at most one per workflow: the one
  runs use), ``archived`` (retired by hand; skipped by the latest-version fallback).
* Publishing a version moves the previously published one back to ``draft``: it was
  superseded, not retired, so it stays a candidate for "latest" and can be published
  again to roll back. Archiving stays a deliberate act. Any version, archived included,
  can be published (that is how one is brought back).
* ``resolve``: an explicit number gives that version whatever its status (so an old run
  can be reproduced); no number gives the published version, else the newest one that is
  not archived.

Creating, publishing and archiving lock the workflow row (``SELECT ... FOR UPDATE`` on
Postgres; SQLite serialises writers anyway), so concurrent calls neither pick the same
number nor publish two versions; a partial unique index backs the latter up.
"""

from __future__ import annotations

import builtins
from typing import Any
from uuid import UUID

from tortoise.transactions import in_transaction

from shared.database.entities import VersionDetail, VersionInfo
from shared.database.errors import InvalidArgumentError, NotFoundError
from shared.database.models import Draft, Version, Workflow
from shared.database.models.versions import VERSION_STATUSES
from shared.database.repositories._common import (
    NAME_PATTERN,
    WORKFLOW_NAME_PATTERN,
    as_uuid,
    check_choice,
    utcnow,
)
from workflow_compiler.spec.models import MAX_VERSION
from workflow_compiler.validation import spec_hash


class VersionsRepository:
    async def create(
        self, owner_id: UUID, workflow_id: UUID | str, spec: dict[str, Any] | None = None,
        *, note: str = "",
    ) -> tuple[VersionDetail, bool]:
        """(version, created): a snapshot of ``spec``, or of the draft when it is None.
        The spec should have passed validation (the service validates before saving)."""
        wid = as_uuid(workflow_id, "workflow")
        async with in_transaction():
            await _lock_workflow(owner_id, wid)
            if spec is None:
                draft = await Draft.get_or_none(workflow_id=wid, owner_id=owner_id)
                if draft is None or draft.spec is None:
                    raise InvalidArgumentError("the workflow's draft is empty: give a spec",
                                               field="spec")
                spec = draft.spec
            if not isinstance(spec, dict):
                raise InvalidArgumentError("a spec is a JSON object", field="spec")
            digest = spec_hash(spec)
            existing = await Version.get_or_none(workflow_id=wid, spec_hash=digest)
            if existing is not None:
                return VersionDetail.model_validate(existing), False
            last = await Version.filter(workflow_id=wid).order_by("-number").first()
            version = await Version.create(
                owner_id=owner_id, workflow_id=wid, number=(last.number + 1) if last else 1,
                spec=spec, spec_hash=digest, note=note)
        return VersionDetail.model_validate(version), True

    async def list(
        self, owner_id: UUID, workflow_id: UUID | str, *, status: str | None = None,
    ) -> builtins.list[VersionInfo]:
        """Newest first, without their specs."""
        check_choice(status, VERSION_STATUSES, "status")
        wid = as_uuid(workflow_id, "workflow")
        if not await Workflow.filter(id=wid, owner_id=owner_id).exists():
            raise NotFoundError("workflow", workflow_id)
        query = Version.filter(workflow_id=wid, owner_id=owner_id)
        if status is not None:
            query = query.filter(status=status)
        rows = await query.order_by("-number").only(*_INFO_FIELDS)
        return [VersionInfo.model_validate(v) for v in rows]

    async def get(self, owner_id: UUID, workflow_id: UUID | str, number: int) -> VersionDetail:
        return VersionDetail.model_validate(await _version(owner_id, workflow_id, number))

    async def get_by_id(self, owner_id: UUID, version_id: UUID | str) -> VersionDetail:
        version = await Version.get_or_none(id=as_uuid(version_id, "version"), owner_id=owner_id)
        if version is None:
            raise NotFoundError("version", version_id)
        return VersionDetail.model_validate(version)

    async def publish(self, owner_id: UUID, workflow_id: UUID | str, number: int
                      ) -> VersionDetail:
        wid = as_uuid(workflow_id, "workflow")
        async with in_transaction():
            await _lock_workflow(owner_id, wid)
            version = await _version(owner_id, wid, number)
            if version.status != "published":
                now = utcnow()
                await Version.filter(workflow_id=wid, status="published").update(status="draft")
                version.status, version.published_at, version.archived_at = "published", now, None
                await version.save(update_fields=["status", "published_at", "archived_at"])
        return VersionDetail.model_validate(version)

    async def archive(self, owner_id: UUID, workflow_id: UUID | str, number: int
                      ) -> VersionDetail:
        """Retire a version; archiving the published one leaves the workflow with none
        (runs then use the newest version that is not archived)."""
        wid = as_uuid(workflow_id, "workflow")
        async with in_transaction():
            await _lock_workflow(owner_id, wid)
            version = await _version(owner_id, wid, number)
            if version.status != "archived":
                version.status, version.archived_at = "archived", utcnow()
                await version.save(update_fields=["status", "archived_at"])
        return VersionDetail.model_validate(version)

    async def resolve(
        self, owner_id: UUID, workflow_id: UUID | str, version: int | None = None,
    ) -> VersionDetail:
        """The version a run uses: ``version`` if given, else published, else latest."""
        if version is not None:
            return await self.get(owner_id, workflow_id, version)
        wid = as_uuid(workflow_id, "workflow")
        chosen = await _published(owner_id, wid)
        if chosen is None:
            chosen = await Version.filter(workflow_id=wid, owner_id=owner_id).exclude(
                status="archived").order_by("-number").first()
        if chosen is None:
            if not await Workflow.filter(id=wid, owner_id=owner_id).exists():
                raise NotFoundError("workflow", workflow_id)
            raise NotFoundError("runnable version of workflow", workflow_id)
        return VersionDetail.model_validate(chosen)

    async def resolve_by_name(
        self, owner_id: UUID, namespace: str, name: str, version: int | None = None,
    ) -> VersionDetail:
        """``resolve`` by namespace and name (a subworkflow's reference). A namespace,
        name or version no workflow can have is not found, before any query: it comes
        from a spec, and a driver would refuse it (a name past its column, a version past
        32 bits on Postgres)."""
        if not (NAME_PATTERN.fullmatch(namespace) and WORKFLOW_NAME_PATTERN.fullmatch(name)):
            raise NotFoundError("workflow", f"{namespace}/{name}")
        if version is not None and not 1 <= version <= MAX_VERSION:
            raise NotFoundError("version", f"{namespace}/{name} #{version}")
        workflow = await Workflow.get_or_none(owner_id=owner_id, namespace__name=namespace,
                                              name=name)
        if workflow is None:
            raise NotFoundError("workflow", f"{namespace}/{name}")
        return await self.resolve(owner_id, workflow.id, version)


#: the published version of a workflow: the query behind every run of a saved workflow,
#: as fixed SQL (Tortoise's query builder cost more than the query; see drive_writes)
_PUBLISHED = {
    "postgres": "SELECT * FROM workflow_versions WHERE workflow_id = $1 AND owner_id = $2 "
                "AND status = 'published' LIMIT 1",
    "sqlite": "SELECT * FROM workflow_versions WHERE workflow_id = ? AND owner_id = ? "
              "AND status = 'published' LIMIT 1",
}


async def _published(owner_id: UUID, workflow_id: UUID) -> Version | None:
    db = Version._meta.db
    key = Version._meta.fields_map["id"]
    _, rows = await db.execute_query(_PUBLISHED[db.capabilities.dialect], [
        key.to_db_value(workflow_id, Version), key.to_db_value(owner_id, Version)])
    return Version._init_from_db(**dict(rows[0])) if rows else None


_INFO_FIELDS = ("id", "workflow_id", "number", "spec_hash", "status", "note", "created_at",
                "published_at", "archived_at")


async def _lock_workflow(owner_id: UUID, workflow_id: UUID) -> None:
    # (values_list() would drop the FOR UPDATE clause; only() keeps it)
    found = await Workflow.filter(id=workflow_id, owner_id=owner_id).select_for_update() \
        .only("id").first()
    if found is None:
        raise NotFoundError("workflow", workflow_id)


async def _version(owner_id: UUID, workflow_id: UUID | str, number: int) -> Version:
    if isinstance(number, bool) or not isinstance(number, int):
        raise NotFoundError("version", number)
    version = await Version.get_or_none(workflow_id=as_uuid(workflow_id, "workflow"),
                                        owner_id=owner_id, number=number)
    if version is None:
        raise NotFoundError("version", f"{workflow_id} #{number}")
    return version
