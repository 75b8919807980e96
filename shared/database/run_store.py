"""``TortoiseRunStore``: the runtime's ``RunStore`` in the service database.

The runtime keeps its run records and events here instead of its own SQLite file, so the
API, the worker and the CLI-style runtime calls all see one history. Beyond the protocol,
the store keeps what the service derives from the runtime in step, in the same
transaction as the events that caused it: the steps log (from node events) and the
approvals inbox (from pauses and approval nodes' completions).

Ownership: a run belongs to a user. The service registers a run first
(``RunsRepository.create``, status ``queued``) and then starts the runtime with that run
id; ``create`` then moves the row to ``running`` (a transition ``TRANSITIONS`` allows).
A run the runtime starts on its own is adopted: a fork takes its parent's owner, anything
else the store's ``default_owner_id`` (an embedded, single-user setup), or is refused.

The store itself is not scoped: the runtime is trusted code acting on run ids the caller
was already allowed to use (the API checks ownership through the repositories first).
"""

from __future__ import annotations

import builtins
from collections import OrderedDict
from collections.abc import Iterable
from typing import Any
from uuid import UUID

from tortoise.transactions import in_transaction

from shared.database.entities import RunInfo
from shared.database.errors import InvalidTransitionError
from shared.database.models import Run, Version
from shared.database.repositories._common import iso, parse_ts, utcnow
from shared.database.repositories.approvals import ApprovalsRepository, decides_approvals
from shared.database.repositories.drive_writes import DriveWrites
from shared.database.repositories.events import EventsRepository
from shared.database.repositories.runs import allowed_sources, check_transition
from shared.database.repositories.steps import NODE_EVENTS, StepsRepository, plan_steps
from workflow_compiler.errors import RunNotFoundError
from workflow_compiler.runtime.events import RunEvent
from workflow_compiler.runtime.records import TERMINAL_STATUSES, RunRecord

#: how many runs' node-type maps to keep (used to type skipped nodes in the steps log)
NODE_TYPE_CACHE = 1024


class TortoiseRunStore:
    def __init__(self, *, default_owner_id: UUID | None = None) -> None:
        self.default_owner_id = default_owner_id
        self._events = EventsRepository()
        self._steps = StepsRepository()
        self._approvals = ApprovalsRepository()
        self._drive_writes = DriveWrites()
        self._node_types: OrderedDict[str, dict[str, str]] = OrderedDict()
        self._owners: OrderedDict[str, UUID] = OrderedDict()
        # run id -> whether it may have pending approvals, for runs whose every save this
        # store has seen since it created or loaded them; unknown runs are looked up
        self._may_have_approvals: OrderedDict[str, bool] = OrderedDict()
        # run id -> the row ``create`` would read, for runs the service just registered
        self._registered: OrderedDict[str, dict[str, Any]] = OrderedDict()

    def registered(self, run: RunInfo, owner_id: UUID) -> None:
        """The service registered ``run`` (``RunsRepository.create``) and is about to start
        it: ``create`` then trusts this instead of reading the row back (one query less per
        run). Only a hint: the start is still a compare-and-set on the status, so a run
        changed meanwhile (cancelled while queued) is refused exactly as without it."""
        self._remember(self._registered, run.id, {
            "status": run.status, "owner_id": owner_id, "version_id": run.version_id,
            "version__spec_hash": run.spec_hash if run.version_id is not None else None,
            "spec_hash": run.spec_hash, "inputs": run.inputs})

    # -- RunStore protocol ----------------------------------------------------------------

    async def create(self, record: RunRecord, spec: dict[str, Any]) -> None:
        hint = self._registered.pop(record.run_id, None)
        rows = [hint] if hint is not None else await Run.filter(id=record.run_id).values(
            "status", "owner_id", "version_id", "version__spec_hash")
        if not rows:
            await self._adopt(record, spec)
        else:
            await self._start_registered(rows[0], record, spec)
        self._remember_types(record.run_id, spec)
        self._remember(self._may_have_approvals, record.run_id, False)

    async def get(self, run_id: str) -> RunRecord | None:
        run = await Run.get_or_none(id=run_id)
        if run is None:
            return None
        record = _record(run)
        self._remember(self._owners, run.id, run.owner_id)
        self._remember(self._may_have_approvals, run.id,
                       any(i.kind == "approval" for i in record.interrupts))
        return record

    async def spec(self, run_id: str) -> dict[str, Any] | None:
        rows = await Run.filter(id=run_id).values("spec", "version_id")
        if not rows:
            return None
        if rows[0]["spec"] is not None:
            return dict(rows[0]["spec"])
        specs = await Version.filter(id=rows[0]["version_id"]).values_list("spec", flat=True)
        return dict(specs[0]) if specs else None

    async def save(self, record: RunRecord) -> None:
        await self._update(record)
        # The approvals follow the record; if this fails, the next save of the run (or the
        # next pause) brings them in line again.
        await self._sync_approvals(record)

    async def commit(self, record: RunRecord, events: Iterable[RunEvent]) -> None:
        """The end of a drive: the record and its events (with the steps and approvals
        they imply) in one transaction. The record goes first: if the run was moved
        elsewhere meanwhile (cancelled by another process), nothing of this drive lands."""
        batch = builtins.list(events)
        types = await self._types(record.run_id) \
            if any(e.type in NODE_EVENTS for e in batch) else None
        steps = plan_steps(record.run_id, batch, types) if types is not None else []
        if steps is None or (types is not None and decides_approvals(batch)):
            async with in_transaction():  # steps opened earlier, or approvals: the ORM way
                await self._update(record)
                await self._write_events(record.run_id, batch, types)
        else:  # the common case (a drive from the start): fixed SQL, one round trip
            statuses = allowed_sources(record.status)
            if Run._meta.db.capabilities.dialect == "postgres":
                moved = await self._drive_writes.commit(
                    Run._meta.db, record.run_id, _changes(record), statuses, batch, steps)
            else:
                async with in_transaction() as connection:
                    moved = await self._drive_writes.commit(
                        connection, record.run_id, _changes(record), statuses, batch, steps)
            if not moved:
                await self._refuse(record)
        await self._sync_approvals(record)

    async def claim(self, record: RunRecord, expected: str) -> bool:
        """Compare-and-set on the status the caller read (a resume claiming a paused
        run): another API or worker process that claimed it first wins."""
        moved = await Run.filter(id=record.run_id, status=expected).update(**_changes(record))
        if moved:
            await self._sync_approvals(record)
        return bool(moved)

    async def _update(self, record: RunRecord) -> None:
        saved = await Run.filter(id=record.run_id, status__in=allowed_sources(record.status)
                                 ).update(**_changes(record))
        if saved == 0:
            await self._refuse(record)

    @staticmethod
    async def _refuse(record: RunRecord) -> None:
        """A write of ``record`` matched no row: say why (gone, or moved meanwhile)."""
        current = await Run.get_or_none(id=record.run_id).only("id", "status")
        if current is None:
            raise RunNotFoundError(f"no run with id {record.run_id!r}")
        raise InvalidTransitionError(record.run_id, current.status, record.status)

    async def append_events(self, events: Iterable[RunEvent]) -> None:
        """Store events; node events also update the steps log and approvals, in the same
        transaction."""
        by_run: dict[str, builtins.list[RunEvent]] = {}
        for event in events:
            by_run.setdefault(event.run_id, []).append(event)
        for run_id, batch in by_run.items():
            if not any(e.type in NODE_EVENTS for e in batch):
                await self._events.append(run_id, batch)  # one statement: no transaction
                continue
            types = await self._types(run_id)
            async with in_transaction():
                await self._write_events(run_id, batch, types)

    async def _write_events(self, run_id: str, batch: builtins.list[RunEvent],
                            types: dict[str, str] | None) -> None:
        """Events, and with node events (``types`` given) the steps and approvals they
        decide; inside the caller's transaction."""
        if not batch:
            return
        await self._events.append(run_id, batch)
        if types is not None:
            await self._steps.apply_events(run_id, batch, types)
            await self._approvals.decide_from_events(run_id, batch)

    async def events(self, run_id: str, after_seq: int = 0) -> builtins.list[RunEvent]:
        return await self._events.after(run_id, after_seq)

    async def list(self, status: str | None = None, limit: int = 100
                   ) -> builtins.list[RunRecord]:
        """Every owner's runs, newest first: the runtime's sweeps (due timers, retention)."""
        query = Run.all() if status is None else Run.filter(status=status)
        return [_record(r) for r in await query.order_by("-created_at", "-id").limit(limit)]

    async def close(self) -> None:
        """Nothing to release: the connection belongs to ``init_db`` / ``close_db``."""

    # -- internals --------------------------------------------------------------------------

    async def _start_registered(self, run: dict[str, Any], record: RunRecord,
                                spec: dict[str, Any]) -> None:
        run_id, status = record.run_id, str(run["status"])
        if status != record.status:
            check_transition(run_id, status, record.status)
        elif _as_registered(run, record):
            # registered as running a moment ago (``RunsRepository.create(started=True)``)
            # with exactly what the runtime starts: the row already says it all
            self._remember(self._owners, run_id, UUID(str(run["owner_id"])))
            return
        changes: dict[str, Any] = {
            "status": record.status, "workflow_name": record.workflow[:255],
            "spec_hash": record.spec_hash, "inputs": record.inputs, "interrupts": [],
            "last_seq": record.last_seq, "started_at": parse_ts(record.started_at),
            "updated_at": utcnow(),
        }
        if record.parent_run_id is not None:
            changes["parent_run_id"] = record.parent_run_id
        if record.forked_from is not None:
            changes["forked_from"] = record.forked_from
        if run["version_id"] is not None and run["version__spec_hash"] != record.spec_hash:
            changes["spec"] = spec  # the runtime runs something other than the version
        moved = await Run.filter(id=run_id, status=status).update(**changes)
        if moved == 0:
            current = await Run.get(id=run_id).only("id", "status")
            raise InvalidTransitionError(run_id, current.status, record.status)
        self._remember(self._owners, run_id, UUID(str(run["owner_id"])))

    async def _adopt(self, record: RunRecord, spec: dict[str, Any]) -> None:
        fields: dict[str, Any] = {"spec": spec, "source": "manual"}
        parent = None
        if record.parent_run_id is not None:
            parent = await Run.get_or_none(id=record.parent_run_id)
        if parent is not None:
            fields.update(owner_id=parent.owner_id, workflow_id=parent.workflow_id,
                          source=parent.source, parent_run_id=parent.id)
            if parent.spec is None and await _version_has(parent.version_id, record.spec_hash):
                fields.update(version_id=parent.version_id, spec=None)
        elif self.default_owner_id is not None:
            fields["owner_id"] = self.default_owner_id
        else:
            raise RunNotFoundError(
                f"run {record.run_id!r} is not registered: create it with "
                "RunsRepository.create (or give the store a default_owner_id)")
        await Run.create(
            id=record.run_id, workflow_name=record.workflow[:255], spec_hash=record.spec_hash,
            status=record.status, inputs=record.inputs, outputs=record.outputs,
            error=record.error, usage=dict(record.usage), last_seq=record.last_seq,
            steps_used=record.steps_used, active_ms=record.active_ms,
            interrupts=[i.model_dump(mode="json") for i in record.interrupts],
            forked_from=record.forked_from, created_at=parse_ts(record.created_at) or utcnow(),
            started_at=parse_ts(record.started_at), finished_at=parse_ts(record.finished_at),
            **fields)
        self._remember(self._owners, record.run_id, fields["owner_id"])

    async def _sync_approvals(self, record: RunRecord) -> None:
        """Open/refresh the approvals the run waits on; settle those it no longer does."""
        if record.status in ("running", "queued"):
            return  # mid-drive: the interrupts were just consumed, the outcome comes later
        run_id = record.run_id
        waiting = [i for i in record.interrupts if i.kind == "approval"]
        if waiting:
            owner = await self._owner(run_id)
            async with in_transaction():
                for interrupt in waiting:
                    await self._approvals.open(owner, run_id, interrupt)
        if waiting or self._may_have_approvals.get(run_id, True):
            await self._approvals.settle_run(run_id, record.status,
                                             [i.node_id for i in waiting])
        if record.status in TERMINAL_STATUSES:
            self._may_have_approvals.pop(run_id, None)
        else:
            self._remember(self._may_have_approvals, run_id, bool(waiting))

    async def _owner(self, run_id: str) -> UUID:
        owner = self._owners.get(run_id)
        if owner is None:
            owners = await Run.filter(id=run_id).values_list("owner_id", flat=True)
            if not owners:
                raise RunNotFoundError(f"no run with id {run_id!r}")
            owner = UUID(str(owners[0]))
            self._remember(self._owners, run_id, owner)
        return owner

    async def _types(self, run_id: str) -> dict[str, str]:
        types = self._node_types.get(run_id)
        if types is None:
            spec = await self.spec(run_id)
            types = self._remember_types(run_id, spec or {})
        return types

    def _remember_types(self, run_id: str, spec: dict[str, Any]) -> dict[str, str]:
        types: dict[str, str] = {}
        _collect_node_types(spec, types)
        self._remember(self._node_types, run_id, types)
        return types

    @staticmethod
    def _remember(cache: OrderedDict[str, Any], key: str, value: Any) -> None:
        cache[key] = value
        cache.move_to_end(key)
        while len(cache) > NODE_TYPE_CACHE:
            cache.popitem(last=False)


def _changes(record: RunRecord) -> dict[str, Any]:
    """The run's columns a drive changes."""
    return {
        "status": record.status, "outputs": record.outputs, "error": record.error,
        "interrupts": [i.model_dump(mode="json") for i in record.interrupts],
        "usage": dict(record.usage), "last_seq": record.last_seq,
        "started_at": parse_ts(record.started_at), "finished_at": parse_ts(record.finished_at),
        "updated_at": utcnow(), "steps_used": record.steps_used, "active_ms": record.active_ms,
    }


def _as_registered(run: dict[str, Any], record: RunRecord) -> bool:
    """Whether a run the service registered as ``running`` needs no update to start:
    same spec, same inputs, nothing recorded yet, not a fork."""
    return (run.get("spec_hash") == record.spec_hash and run.get("inputs") == record.inputs
            and record.last_seq == 0 and record.parent_run_id is None
            and record.forked_from is None)


def _record(run: Run) -> RunRecord:
    return RunRecord(
        run_id=run.id, workflow=run.workflow_name, spec_hash=run.spec_hash, status=run.status,
        inputs=run.inputs or {}, outputs=run.outputs, error=run.error,
        interrupts=run.interrupts or [], created_at=iso(run.created_at) or "",
        started_at=iso(run.started_at), finished_at=iso(run.finished_at),
        parent_run_id=run.parent_run_id, forked_from=run.forked_from, last_seq=run.last_seq,
        usage=run.usage or {}, steps_used=run.steps_used, active_ms=run.active_ms,
    )


async def _version_has(version_id: UUID | None, digest: str) -> bool:
    if version_id is None:
        return False
    return await Version.filter(id=version_id, spec_hash=digest).exists()


def _collect_node_types(spec: Any, into: dict[str, str]) -> None:
    """Node id -> type for every node of the spec, nested bodies and inline specs too."""
    if not isinstance(spec, dict):
        return
    for node in spec.get("nodes") or []:
        if isinstance(node, dict) and isinstance(node.get("id"), str):
            into.setdefault(node["id"], str(node.get("type")))
            for nested in ("body", "spec"):
                _collect_node_types(node.get(nested), into)
