"""Memory-store factory: where llm nodes keep conversation memory (LangGraph ``BaseStore``).

It mirrors ``checkpointers.open_checkpointer`` and takes the same URLs: ``memory``
(``InMemoryStore``, gone with the process), a SQLite path (``AsyncSqliteStore``; it may be
the checkpoint file itself: the store has tables of its own) or ``postgresql://...``
(``AsyncPostgresStore``). The store is handed to ``WorkflowRuntime(memory_store=...)``,
which compiles it into the graph so nodes read it as LangGraph's ``runtime.store``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from langgraph.store.base import BaseStore
from langgraph.store.memory import InMemoryStore

from workflow_compiler.runtime.checkpointers import describe, setup_lock, sqlite_path


@asynccontextmanager
async def open_store(url: str) -> AsyncIterator[BaseStore]:
    """``memory``, ``postgresql://...``, or a SQLite path (``sqlite:///path`` or plain).

    Tables are created (migrated) on open, so a fresh database works at once.
    """
    kind = describe(url)
    if kind == "memory":
        yield InMemoryStore()
        return
    if kind == "postgres":
        from langgraph.store.postgres.aio import AsyncPostgresStore

        async with AsyncPostgresStore.from_conn_string(url) as pg_store:
            async with setup_lock(pg_store.conn):
                await pg_store.setup()
            yield pg_store
        return
    from langgraph.store.sqlite.aio import AsyncSqliteStore

    path = sqlite_path(url)
    path.parent.mkdir(parents=True, exist_ok=True)
    async with AsyncSqliteStore.from_conn_string(str(path)) as sqlite_store:
        await sqlite_store.setup()
        yield sqlite_store
