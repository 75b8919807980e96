"""Where run records and their events live. In memory for tests and benchmarks, a SQLite
file for the CLI; the service brings its own store behind the same protocol."""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any, Protocol

import aiosqlite

from workflow_compiler.runtime.events import RunEvent
from workflow_compiler.runtime.records import RunRecord


class RunStore(Protocol):
    async def create(self, record: RunRecord, spec: dict[str, Any]) -> None: ...
    async def get(self, run_id: str) -> RunRecord | None: ...
    async def spec(self, run_id: str) -> dict[str, Any] | None: ...
    async def save(self, record: RunRecord) -> None: ...
    async def append_events(self, events: Iterable[RunEvent]) -> None: ...
    async def commit(self, record: RunRecord, events: Iterable[RunEvent]) -> None:
        """``append_events(events)`` then ``save(record)``, atomically where the store can:
        how the runtime ends every drive, so a run's outcome and the events that led to
        it land together (and cost one write, not several)."""
        ...
    async def claim(self, record: RunRecord, expected: str) -> bool:
        """Save ``record`` only if the stored run's status is still ``expected`` (a
        compare-and-set); False, saving nothing, when someone moved it meanwhile."""
        ...
    async def events(self, run_id: str, after_seq: int = 0) -> list[RunEvent]: ...
    async def list(self, status: str | None = None, limit: int = 100) -> list[RunRecord]: ...
    async def close(self) -> None: ...


class MemoryRunStore:
    def __init__(self) -> None:
        self._runs: dict[str, RunRecord] = {}
        self._specs: dict[str, dict[str, Any]] = {}
        self._events: dict[str, list[RunEvent]] = {}

    async def create(self, record: RunRecord, spec: dict[str, Any]) -> None:
        self._runs[record.run_id] = _detached(record)
        self._specs[record.run_id] = spec
        self._events.setdefault(record.run_id, [])  # keeps a run.queued recorded before

    async def get(self, run_id: str) -> RunRecord | None:
        record = self._runs.get(run_id)
        return _detached(record) if record else None

    async def spec(self, run_id: str) -> dict[str, Any] | None:
        return self._specs.get(run_id)

    async def save(self, record: RunRecord) -> None:
        self._runs[record.run_id] = _detached(record)

    async def append_events(self, events: Iterable[RunEvent]) -> None:
        for event in events:
            self._events.setdefault(event.run_id, []).append(event)

    async def commit(self, record: RunRecord, events: Iterable[RunEvent]) -> None:
        await self.append_events(events)
        await self.save(record)

    async def claim(self, record: RunRecord, expected: str) -> bool:
        stored = self._runs.get(record.run_id)
        if stored is None or stored.status != expected:
            return False
        await self.save(record)
        return True

    async def events(self, run_id: str, after_seq: int = 0) -> list[RunEvent]:
        return [e for e in self._events.get(run_id, []) if e.seq > after_seq]

    async def list(self, status: str | None = None, limit: int = 100) -> list[RunRecord]:
        runs = [r for r in self._runs.values() if status is None or r.status == status]
        runs.sort(key=lambda r: r.created_at, reverse=True)
        return [_detached(r) for r in runs[:limit]]

    async def close(self) -> None:
        return None


def _detached(record: RunRecord) -> RunRecord:
    """A copy the caller may change without changing the stored record. The runtime
    replaces fields and grows ``usage`` and ``interrupts`` in place, but never mutates
    inputs, outputs or errors inside, so only those two containers are copied: a deep
    copy per save was a tenth of a short run's cost."""
    return record.model_copy(update={"usage": dict(record.usage),
                                     "interrupts": list(record.interrupts)})


_SCHEMA = """
CREATE TABLE IF NOT EXISTS gw_runs (
    run_id TEXT PRIMARY KEY, status TEXT NOT NULL, created_at TEXT NOT NULL,
    record TEXT NOT NULL, spec TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS gw_runs_status ON gw_runs(status, created_at);
CREATE TABLE IF NOT EXISTS gw_run_events (
    run_id TEXT NOT NULL, seq INTEGER NOT NULL, event TEXT NOT NULL,
    PRIMARY KEY (run_id, seq)
);
"""


class SqliteRunStore:
    """Runs and events in the same SQLite file as the checkpoints (separate tables)."""

    def __init__(self, connection: aiosqlite.Connection) -> None:
        self._db = connection

    @classmethod
    async def open(cls, path: Path | str) -> SqliteRunStore:
        connection = await aiosqlite.connect(str(path))
        await connection.execute("PRAGMA journal_mode=WAL")
        await connection.execute("PRAGMA busy_timeout=5000")
        await connection.executescript(_SCHEMA)
        await connection.commit()
        return cls(connection)

    async def create(self, record: RunRecord, spec: dict[str, Any]) -> None:
        await self._db.execute(
            "INSERT INTO gw_runs(run_id, status, created_at, record, spec) VALUES (?,?,?,?,?)",
            (record.run_id, record.status, record.created_at, record.model_dump_json(),
             json.dumps(spec)),
        )
        await self._db.commit()

    async def get(self, run_id: str) -> RunRecord | None:
        async with self._db.execute("SELECT record FROM gw_runs WHERE run_id=?", (run_id,)) as cur:
            row = await cur.fetchone()
        return RunRecord.model_validate_json(row[0]) if row else None

    async def spec(self, run_id: str) -> dict[str, Any] | None:
        async with self._db.execute("SELECT spec FROM gw_runs WHERE run_id=?", (run_id,)) as cur:
            row = await cur.fetchone()
        return json.loads(row[0]) if row else None

    async def save(self, record: RunRecord) -> None:
        await self._update(record)
        await self._db.commit()

    async def append_events(self, events: Iterable[RunEvent]) -> None:
        if await self._insert_events(events):
            await self._db.commit()

    async def commit(self, record: RunRecord, events: Iterable[RunEvent]) -> None:
        await self._insert_events(events)
        await self._update(record)
        await self._db.commit()

    async def _update(self, record: RunRecord) -> None:
        await self._db.execute(
            "UPDATE gw_runs SET status=?, record=? WHERE run_id=?",
            (record.status, record.model_dump_json(), record.run_id),
        )

    async def claim(self, record: RunRecord, expected: str) -> bool:
        cursor = await self._db.execute(
            "UPDATE gw_runs SET status=?, record=? WHERE run_id=? AND status=?",
            (record.status, record.model_dump_json(), record.run_id, expected),
        )
        await self._db.commit()
        return cursor.rowcount == 1

    async def _insert_events(self, events: Iterable[RunEvent]) -> bool:
        rows = [(e.run_id, e.seq, e.model_dump_json()) for e in events]
        if rows:
            await self._db.executemany(
                "INSERT OR REPLACE INTO gw_run_events(run_id, seq, event) VALUES (?,?,?)", rows
            )
        return bool(rows)

    async def events(self, run_id: str, after_seq: int = 0) -> list[RunEvent]:
        async with self._db.execute(
            "SELECT event FROM gw_run_events WHERE run_id=? AND seq>? ORDER BY seq",
            (run_id, after_seq),
        ) as cur:
            rows = await cur.fetchall()
        return [RunEvent.model_validate_json(r[0]) for r in rows]

    async def list(self, status: str | None = None, limit: int = 100) -> list[RunRecord]:
        query = "SELECT record FROM gw_runs"
        params: tuple[Any, ...] = ()
        if status is not None:
            query += " WHERE status=?"
            params = (status,)
        query += " ORDER BY created_at DESC LIMIT ?"
        async with self._db.execute(query, (*params, limit)) as cur:
            rows = await cur.fetchall()
        return [RunRecord.model_validate_json(r[0]) for r in rows]

    async def close(self) -> None:
        await self._db.close()
