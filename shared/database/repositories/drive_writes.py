"""The end of a drive as one write: the run's new state, its events and its steps.

Every drive of the runtime ends with the same three writes (``TortoiseRunStore.commit``).
Built by Tortoise's query builder they cost more CPU than the run they record (a 3-node
run: about 4 ms of 10), so this module holds them as fixed SQL per dialect, with values
converted by the models' own fields (stored exactly as Tortoise stores them, read back by
the ORM everywhere else). On Postgres the three are one statement (data-modifying CTEs):
one round trip, atomic without a transaction, and the events and steps are written only
if the run's compare-and-set on its status succeeded. On SQLite they are three statements
in the caller's transaction.

Only self-contained batches come here (``steps.plan_steps``: every step the batch closes
it opened); a batch closing steps stored earlier (a resume) takes the ORM path.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient

from shared.database.models import Run, RunEventRow, RunStep
from shared.database.repositories._common import parse_ts
from shared.database.repositories.steps import StepDraft
from workflow_compiler.runtime.events import RunEvent

_RUN_COLUMNS = ("status", "outputs", "error", "interrupts", "usage", "last_seq",
                "started_at", "finished_at", "updated_at", "steps_used", "active_ms")
_EVENT_COLUMNS = ("seq", "type", "node_id", "ts", "data")
_STEP_COLUMNS = ("node_id", "node_type", "status", "attempt", "visit", "started_at",
                 "finished_at", "duration_ms", "ports", "error", "output_summary", "usage",
                 "reason")
_PG_TYPES = {"status": "varchar", "outputs": "jsonb", "error": "jsonb", "interrupts": "jsonb",
             "usage": "jsonb", "last_seq": "int", "started_at": "timestamptz",
             "finished_at": "timestamptz", "updated_at": "timestamptz", "seq": "int",
             "steps_used": "int", "active_ms": "float8",
             "type": "varchar", "node_id": "varchar", "ts": "timestamptz", "data": "jsonb",
             "node_type": "varchar", "attempt": "int", "visit": "int",
             "duration_ms": "float8", "ports": "jsonb", "output_summary": "jsonb",
             "reason": "varchar"}


def _postgres_commit() -> str:
    n = len(_RUN_COLUMNS)
    sets = ", ".join(f"{c} = ${i}::{_PG_TYPES[c]}" for i, c in enumerate(_RUN_COLUMNS, 1))
    first_event = n + 3
    first_step = first_event + len(_EVENT_COLUMNS)

    def arrays(columns: Sequence[str], start: int) -> str:
        return ", ".join(f"${start + i}::{_PG_TYPES[c]}[]" for i, c in enumerate(columns))

    return (
        f"WITH moved AS (UPDATE runs SET {sets} "  # noqa: S608 - constant column names, values bound
        f"WHERE id = ${n + 1} AND status = ANY(${n + 2}::varchar[]) RETURNING id), "
        f"events AS (INSERT INTO run_events (run_id, {', '.join(_EVENT_COLUMNS)}) "
        f"SELECT moved.id, {', '.join('e.' + c for c in _EVENT_COLUMNS)} FROM moved, "
        f"unnest({arrays(_EVENT_COLUMNS, first_event)}) "
        f"WITH ORDINALITY AS e({', '.join(_EVENT_COLUMNS)}, n) "
        "ON CONFLICT (run_id, seq) DO NOTHING), "
        f"steps AS (INSERT INTO run_steps (run_id, {', '.join(_STEP_COLUMNS)}) "
        f"SELECT moved.id, {', '.join('s.' + c for c in _STEP_COLUMNS)} FROM moved, "
        f"unnest({arrays(_STEP_COLUMNS, first_step)}) WITH ORDINALITY "
        f"AS s({', '.join(_STEP_COLUMNS)}, n) ORDER BY s.n) "
        "SELECT count(*) AS moved FROM moved"
    )


POSTGRES_COMMIT = _postgres_commit()
SQLITE_EVENTS = (f"INSERT OR IGNORE INTO run_events (run_id, {', '.join(_EVENT_COLUMNS)}) "  # noqa: S608 - constant column names, values bound
                 f"VALUES ({', '.join('?' * (len(_EVENT_COLUMNS) + 1))})")
SQLITE_STEPS = (f"INSERT INTO run_steps (run_id, {', '.join(_STEP_COLUMNS)}) "  # noqa: S608 - constant column names, values bound
                f"VALUES ({', '.join('?' * (len(_STEP_COLUMNS) + 1))})")


def _sqlite_update(statuses: int) -> str:
    sets = ", ".join(f"{c} = ?" for c in _RUN_COLUMNS)
    return f"UPDATE runs SET {sets} WHERE id = ? AND status IN ({', '.join('?' * statuses)})"  # noqa: S608 - constant column names, values bound


def _converter(model: Any, column: str) -> Any:
    field = model._meta.fields_map[column]
    return lambda value: field.to_db_value(value, model)


_RUN = {c: _converter(Run, c) for c in _RUN_COLUMNS}
_EVENT = {c: _converter(RunEventRow, c) for c in _EVENT_COLUMNS}
_STEP = {c: _converter(RunStep, c) for c in _STEP_COLUMNS}


class DriveWrites:
    """Writes of the run store only (not scoped: the runtime acts on runs it drives)."""

    async def commit(self, db: BaseDBAsyncClient, run_id: str, run: dict[str, Any],
                     statuses: Sequence[str], events: Sequence[RunEvent],
                     steps: Sequence[StepDraft]) -> bool:
        """Set the run's columns if its status is one of ``statuses``, and only then add
        ``events`` and ``steps``; False if the run was not in such a status (or gone).
        On SQLite, call inside a transaction."""
        values = [_RUN[c](run[c]) for c in _RUN_COLUMNS]
        event_rows = [[_EVENT[c](v) for c, v in zip(_EVENT_COLUMNS, _event_values(e),
                                                       strict=True)] for e in events]
        step_rows = [[_STEP[c](getattr(s, c)) for c in _STEP_COLUMNS] for s in steps]
        if db.capabilities.dialect == "postgres":
            columns = [list(col) for col in zip(*event_rows, strict=True)] if event_rows \
                else [[] for _ in _EVENT_COLUMNS]
            step_columns = [list(col) for col in zip(*step_rows, strict=True)] if step_rows \
                else [[] for _ in _STEP_COLUMNS]
            _, rows = await db.execute_query(
                POSTGRES_COMMIT, [*values, run_id, list(statuses), *columns, *step_columns])
            return bool(rows and rows[0]["moved"])
        moved, _ = await db.execute_query(_sqlite_update(len(statuses)),
                                          [*values, run_id, *statuses])
        if not moved:
            return False
        if event_rows:
            await db.execute_many(SQLITE_EVENTS, [[run_id, *row] for row in event_rows])
        if step_rows:
            await db.execute_many(SQLITE_STEPS, [[run_id, *row] for row in step_rows])
        return True


def _event_values(event: RunEvent) -> tuple[int, str, str | None, datetime | None, Any]:
    return (event.seq, event.type, event.node_id[:512] if event.node_id else None,
            parse_ts(event.ts), event.data)
