"""The persisted run event stream: gap-free ``seq`` per run, the SSE ``id``.

Appending is the run store's job (the runtime numbers events); an event already stored
under the same (run, seq) is kept, so replaying a batch is harmless. Reads are scoped.
"""

from __future__ import annotations

import builtins
import contextlib
from collections.abc import Iterable
from uuid import UUID

from tortoise.backends.base.client import TransactionalDBClient
from tortoise.exceptions import IntegrityError

from shared.database.models import RunEventRow
from shared.database.repositories._common import check_limit, iso, parse_ts
from shared.database.repositories.runs import owned_run
from workflow_compiler.runtime.events import RunEvent


def to_event(row: RunEventRow) -> RunEvent:
    return RunEvent.model_construct(seq=row.seq, run_id=row.run_id, type=row.type,  # type: ignore[arg-type]
                                    node_id=row.node_id, ts=iso(row.ts) or "", data=row.data)


class EventsRepository:
    async def list(
        self, owner_id: UUID, run_id: str, *, after_seq: int = 0, limit: int | None = None,
    ) -> builtins.list[RunEvent]:
        """Events after ``after_seq`` (the SSE Last-Event-ID), in order."""
        await owned_run(owner_id, run_id)
        return await self.after(run_id, after_seq, limit=limit)

    # -- runtime side (the run store) -------------------------------------------------

    async def after(self, run_id: str, after_seq: int = 0, *, limit: int | None = None
                    ) -> builtins.list[RunEvent]:
        query = RunEventRow.filter(run_id=run_id, seq__gt=after_seq).order_by("seq")
        if limit is not None:
            query = query.limit(check_limit(limit, high=10_000))
        return [to_event(row) for row in await query]

    async def append(self, run_id: str, events: Iterable[RunEvent]) -> None:
        rows = [RunEventRow(run_id=run_id, seq=e.seq, type=e.type, node_id=e.node_id,
                            ts=parse_ts(e.ts), data=e.data) for e in events]
        if len(rows) == 1 and not isinstance(RunEventRow._meta.db, TransactionalDBClient):
            # asyncpg's executemany opens a transaction of its own (3 round trips); a lone
            # event (a run's last one, usually) is one plain INSERT
            with contextlib.suppress(IntegrityError):  # already stored under this seq
                await rows[0].save()
        elif rows:
            await RunEventRow.bulk_create(rows, ignore_conflicts=True)

    async def last_seq(self, run_id: str) -> int:
        row = await RunEventRow.filter(run_id=run_id).order_by("-seq").first()
        return row.seq if row is not None else 0
