"""Runs as the caller sees them: create (idempotently), read, list, change status.

``check_transition`` is the one place a status change is judged, against
``workflow_compiler.runtime.records.TRANSITIONS``; the run store uses it too. Changes are
compare-and-set on the current status, so two writers cannot both move a run.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any
from uuid import UUID

from tortoise.exceptions import IntegrityError
from tortoise.expressions import Q

from shared.database.entities import Page, RunInfo, VersionDetail
from shared.database.errors import (
    IdempotencyConflictError,
    InvalidArgumentError,
    InvalidTransitionError,
    NotFoundError,
)
from shared.database.models import Run, Version, Workflow
from shared.database.models.runs import RUN_ID_LENGTH, RUN_SOURCES, RUN_STATUSES
from shared.database.repositories._common import (
    as_uuid,
    check_choice,
    check_limit,
    decode_cursor,
    encode_cursor,
    in_utc,
    text_key,
    utcnow,
)
from shared.database.repositories.approvals import ApprovalsRepository
from workflow_compiler.runtime.records import TERMINAL_STATUSES, TRANSITIONS
from workflow_compiler.validation import spec_hash

#: a run id in a cursor: what the id column holds (ids are generated as 32 hex digits,
#: but a runtime embedding the store may choose its own)
RUN_KEY = text_key(RUN_ID_LENGTH)


def check_transition(run_id: str, current: str, target: str) -> None:
    """Raise ``InvalidTransitionError`` unless ``TRANSITIONS`` allows current -> target."""
    if target not in TRANSITIONS.get(current, frozenset()):
        raise InvalidTransitionError(run_id, current, target)


def allowed_sources(target: str) -> tuple[str, ...]:
    """Statuses a run may have for a write setting ``target``: those ``TRANSITIONS`` lets
    reach it, and ``target`` itself (a save that does not change the status)."""
    return (target, *sorted(s for s, nexts in TRANSITIONS.items() if target in nexts))


def run_info(run: Run) -> RunInfo:
    return RunInfo.model_validate(run)


class RunsRepository:
    async def create(
        self, owner_id: UUID, *, version_id: UUID | str | None = None,
        spec: dict[str, Any] | None = None, workflow_id: UUID | str | None = None,
        inputs: dict[str, Any] | None = None, source: str = "api",
        idempotency_key: str | None = None, parent_run_id: str | None = None,
        version: VersionDetail | None = None, started: bool = False,
    ) -> tuple[RunInfo, bool]:
        """(run, created): a queued run of a saved version, or of ``spec`` (an ad-hoc run,
        optionally linked to ``workflow_id``, e.g. a test run of a draft).

        ``version``: the version itself, when the caller just read it with this owner's
        scope (``VersionsRepository.resolve``), instead of ``version_id``: one query less.

        With ``idempotency_key``, a repeated request returns the run the first one made
        (created False); the same key with a different workflow, version, spec or inputs
        raises ``IdempotencyConflictError``. The runtime then starts it with this run id.

        ``started``: the caller starts the run at once (a sync run), so it is stored as
        ``running`` from the start instead of ``queued`` and then moved (one write less).
        """
        check_choice(source, RUN_SOURCES, "source")
        inputs = dict(inputs or {})
        if idempotency_key is not None and not 1 <= len(idempotency_key) <= 255:
            raise InvalidArgumentError("an idempotency key has 1 to 255 characters",
                                       field="idempotency_key")
        if version is not None:
            fields = _version_fields(version)
        else:
            fields = await self._target(owner_id, version_id, spec, workflow_id)
        if parent_run_id is not None:
            if not await Run.filter(id=parent_run_id, owner_id=owner_id).exists():
                raise NotFoundError("run", parent_run_id)
            fields["parent_run_id"] = parent_run_id
        if idempotency_key is not None:
            existing = await Run.get_or_none(owner_id=owner_id, idempotency_key=idempotency_key)
            if existing is not None:
                return _same_request(existing, fields, inputs), False
        now = utcnow()
        row: dict[str, Any] = {
            "id": uuid.uuid4().hex, "owner_id": owner_id, "parent_run_id": None,
            "forked_from": None, **fields, "status": "running" if started else "queued",
            "source": source, "inputs": inputs, "outputs": None, "error": None,
            "interrupts": [], "usage": {}, "attempt": 1, "idempotency_key": idempotency_key,
            "last_seq": 0, "created_at": now, "started_at": now if started else None,
            "finished_at": None, "updated_at": now, "steps_used": 0, "active_ms": 0.0}
        try:
            await _insert(row)
        except IntegrityError:
            if idempotency_key is None:
                raise
            existing = await Run.get(owner_id=owner_id, idempotency_key=idempotency_key)
            return _same_request(existing, fields, inputs), False
        return RunInfo.model_validate(row), True

    async def get(self, owner_id: UUID, run_id: str) -> RunInfo:
        return run_info(await owned_run(owner_id, run_id))

    async def by_idempotency_key(self, owner_id: UUID, key: str) -> RunInfo | None:
        """The run an earlier request with this key made, if any."""
        run = await Run.get_or_none(owner_id=owner_id, idempotency_key=key)
        return run_info(run) if run is not None else None

    async def spec(self, owner_id: UUID, run_id: str) -> dict[str, Any]:
        """The spec the run executes (its own copy, or its version's)."""
        run = await owned_run(owner_id, run_id)
        if run.spec is not None:
            return dict(run.spec)
        version = await Version.get(id=run.version_id)
        return dict(version.spec)

    async def list(
        self, owner_id: UUID, *, workflow_id: UUID | str | None = None,
        status: str | None = None, source: str | None = None,
        created_after: datetime | None = None, created_before: datetime | None = None,
        limit: int = 50, cursor: str | None = None,
    ) -> Page[RunInfo]:
        """Newest first; ``cursor`` continues after the last page's ``next_cursor``."""
        check_limit(limit)
        check_choice(status, RUN_STATUSES, "status")
        check_choice(source, RUN_SOURCES, "source")
        query = Run.filter(owner_id=owner_id)
        if workflow_id is not None:
            query = query.filter(workflow_id=as_uuid(workflow_id, "workflow"))
        if status is not None:
            query = query.filter(status=status)
        if source is not None:
            query = query.filter(source=source)
        if created_after is not None:
            query = query.filter(created_at__gte=in_utc(created_after))
        if created_before is not None:
            query = query.filter(created_at__lt=in_utc(created_before))
        if cursor is not None:
            moment, key = decode_cursor(cursor, RUN_KEY)
            query = query.filter(Q(created_at__lt=moment) | Q(created_at=moment, id__lt=key))
        rows = await query.order_by("-created_at", "-id").limit(limit + 1)
        more = len(rows) > limit
        rows = rows[:limit]
        return Page(items=[run_info(r) for r in rows],
                    next_cursor=encode_cursor(rows[-1].created_at, rows[-1].id) if more else None)

    async def transition(
        self, owner_id: UUID, run_id: str, target: str, *,
        error: dict[str, Any] | None = None, outputs: dict[str, Any] | None = None,
    ) -> RunInfo:
        """Move a run to ``target`` if ``TRANSITIONS`` allows it from its current status
        (e.g. cancelling a queued run, or a worker taking it: queued -> running).

        This changes the record only: a run the runtime is driving or has paused is
        cancelled with ``WorkflowRuntime.cancel``, which also stops it and writes its
        ``run.cancelled`` event."""
        check_choice(target, RUN_STATUSES, "status")
        run = await owned_run(owner_id, run_id)
        check_transition(run.id, run.status, target)
        now = utcnow()
        changes: dict[str, Any] = {"status": target, "updated_at": now}
        if target == "running" and run.started_at is None:
            changes["started_at"] = now
        if target in TERMINAL_STATUSES:
            changes["finished_at"] = now
            changes["interrupts"] = []
        if error is not None:
            changes["error"] = error
        if outputs is not None:
            changes["outputs"] = outputs
        moved = await Run.filter(id=run.id, owner_id=owner_id, status=run.status).update(**changes)
        if moved == 0:  # someone else moved it first: judge against what it is now
            current = await owned_run(owner_id, run_id)
            raise InvalidTransitionError(run.id, current.status, target)
        if target in TERMINAL_STATUSES:  # an ended run waits for nobody
            await ApprovalsRepository().settle_run(run.id, target, [])
        return await self.get(owner_id, run_id)

    @staticmethod
    async def _target(
        owner_id: UUID, version_id: UUID | str | None, spec: dict[str, Any] | None,
        workflow_id: UUID | str | None,
    ) -> dict[str, Any]:
        if (version_id is None) == (spec is None):
            raise InvalidArgumentError("a run needs either a saved version or a spec",
                                       field="version_id")
        if version_id is not None:
            version = await Version.get_or_none(id=as_uuid(version_id, "version"),
                                                owner_id=owner_id)
            if version is None:
                raise NotFoundError("version", version_id)
            if workflow_id is not None and as_uuid(workflow_id, "workflow") != version.workflow_id:
                raise NotFoundError("version", version_id)
            return _version_fields(version)
        assert spec is not None
        if not isinstance(spec, dict):
            raise InvalidArgumentError("a spec is a JSON object", field="spec")
        fields: dict[str, Any] = {"version_id": None, "workflow_id": None,
                                  "spec_hash": spec_hash(spec), "spec": spec,
                                  "workflow_name": _spec_name(spec)}
        if workflow_id is not None:
            wid = as_uuid(workflow_id, "workflow")
            if not await Workflow.filter(id=wid, owner_id=owner_id).exists():
                raise NotFoundError("workflow", workflow_id)
            fields["workflow_id"] = wid
        return fields


_COLUMNS = ("id", "owner_id", "workflow_id", "version_id", "parent_run_id", "forked_from",
            "workflow_name", "spec_hash", "spec", "status", "source", "inputs", "outputs",
            "error", "interrupts", "usage", "attempt", "idempotency_key", "last_seq",
            "created_at", "started_at", "finished_at", "updated_at", "steps_used", "active_ms")
#: registering a run, the statement behind every run, as fixed SQL (Tortoise's model
#: machinery cost more than the insert; see drive_writes): values converted by the fields
_INSERT = {
    dialect: f"INSERT INTO runs ({', '.join(_COLUMNS)}) VALUES ({marks})"  # noqa: S608 - constant columns
    for dialect, marks in (("postgres", ", ".join(f"${i}" for i in range(1, len(_COLUMNS) + 1))),
                           ("sqlite", ", ".join("?" * len(_COLUMNS))))}


async def _insert(row: dict[str, Any]) -> None:
    db = Run._meta.db
    fields = Run._meta.fields_map
    await db.execute_query(_INSERT[db.capabilities.dialect],
                           [fields[c].to_db_value(row[c], Run) for c in _COLUMNS])


async def owned_run(owner_id: UUID, run_id: str) -> Run:
    run = await Run.get_or_none(id=str(run_id), owner_id=owner_id)
    if run is None:
        raise NotFoundError("run", run_id)
    return run


def _version_fields(version: Version | VersionDetail) -> dict[str, Any]:
    return {"version_id": version.id, "workflow_id": version.workflow_id,
            "spec_hash": version.spec_hash, "spec": None,
            "workflow_name": _spec_name(version.spec)}


def _spec_name(spec: dict[str, Any]) -> str:
    name = spec.get("name")
    return name[:255] if isinstance(name, str) and name else "workflow"


def _same_request(run: Run, fields: dict[str, Any], inputs: dict[str, Any]) -> RunInfo:
    same = (run.version_id == fields["version_id"] and run.workflow_id == fields["workflow_id"]
            and run.spec_hash == fields["spec_hash"] and run.inputs == inputs)
    if not same:
        raise IdempotencyConflictError(
            f"idempotency key {run.idempotency_key!r} was already used for a different "
            f"request (run {run.id})", details={"run_id": run.id})
    return run_info(run)
