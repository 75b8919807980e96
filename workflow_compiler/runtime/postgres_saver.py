"""``BatchedPostgresSaver``: LangGraph's Postgres saver with its writes committed in groups.

With ``async`` durability a three-step run makes five writes (three checkpoints, two sets of
task writes). ``AsyncPostgresSaver`` gives each its own pooled connection, pipeline and
commit, and hands each one's serialisation to a worker thread (``asyncio.to_thread``); on
Postgres those fixed costs per write, not the rows, were what separated the default
durability from ``exit``: 32 concurrent sync runs did about half as many runs per second,
and the thread hops alone cost a fifth of the service path's throughput on two cores.

Here a write's rows are made by LangGraph's own code, its *sync* ``PostgresSaver.put`` /
``put_writes`` (the same row layout, serialisation and SQL as the async saver), run in the
calling task on a cursor that records the statements instead of executing them. They are
queued, and one flusher writes all that queued while the previous group was in flight in
one transaction over one pipeline. Under load a group holds many runs' writes; alone, a
write waits for nothing but its own round trip.

Each caller still returns only once its statements are committed, so what LangGraph
relies on (a checkpoint put has landed when its future resolves, and one thread's puts
land in order) holds as before. The statements are upserts, so when a group fails, each
write of it is retried in a transaction of its own and the error reaches only the caller
whose write failed.

Reads, deletes and pruning go straight to the pool, as in the parent class. Its instance
lock, which would serialise every statement of the process (langgraph issue 7259), is a
semaphore as wide as the pool.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import ChannelVersions, Checkpoint, CheckpointMetadata
from langgraph.checkpoint.postgres import PostgresSaver
from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver
from langgraph.checkpoint.serde.base import SerializerProtocol
from psycopg_pool import AsyncConnectionPool

#: one statement: (query, parameters, executemany?)
Statement = tuple[str, Any, bool]


class _Recorder:
    """Takes the place of the cursor the sync saver's write methods execute on."""

    def __init__(self) -> None:
        self.statements: list[Statement] = []

    def execute(self, query: str, params: Any = None) -> None:
        self.statements.append((query, params, False))

    def executemany(self, query: str, params_seq: Any) -> None:
        self.statements.append((query, list(params_seq), True))


class _Statements(PostgresSaver):
    """LangGraph's sync saver, never connected: its writes become statements, in the
    calling thread, with no database and no thread hop."""

    def __init__(self, serde: SerializerProtocol) -> None:
        super().__init__(conn=None, serde=serde)  # type: ignore[arg-type]
        self._recorder: _Recorder | None = None

    @contextmanager
    def _cursor(self, *, pipeline: bool = False) -> Iterator[Any]:
        assert self._recorder is not None, "only while recording"
        yield self._recorder

    def of_put(self, config: RunnableConfig, checkpoint: Checkpoint,
               metadata: CheckpointMetadata, new_versions: ChannelVersions,
               ) -> tuple[RunnableConfig, list[Statement]]:
        self._recorder = recorder = _Recorder()
        try:
            return self.put(config, checkpoint, metadata, new_versions), recorder.statements
        finally:
            self._recorder = None

    def of_put_writes(self, config: RunnableConfig, writes: Sequence[tuple[str, Any]],
                      task_id: str, task_path: str) -> list[Statement]:
        self._recorder = recorder = _Recorder()
        try:
            self.put_writes(config, writes, task_id, task_path)
            return recorder.statements
        finally:
            self._recorder = None


@dataclass(slots=True)
class _Queue:
    """Writes waiting for the flusher; shared by a saver and its ``with_allowlist`` clones,
    so they have one flusher between them."""

    pending: list[tuple[list[Statement], asyncio.Future[None]]] = field(default_factory=list)
    flusher: asyncio.Task[None] | None = None


class BatchedPostgresSaver(AsyncPostgresSaver):
    #: groups of writes (one per aput/aput_writes call) per transaction, at most
    BATCH_MAX = 256

    def __init__(self, pool: AsyncConnectionPool[Any], *,
                 concurrency: int) -> None:
        super().__init__(pool)
        self.lock = asyncio.Semaphore(max(1, concurrency))  # type: ignore[assignment]
        self._pool = pool
        self._queue = _Queue()
        self._statements = _Statements(self.serde)

    def _builder(self) -> _Statements:
        """The statement builder with this saver's serialiser (a ``with_allowlist`` clone
        has another)."""
        if self._statements.serde is not self.serde:
            self._statements = _Statements(self.serde)
        return self._statements

    async def aput(self, config: RunnableConfig, checkpoint: Checkpoint,
                   metadata: CheckpointMetadata, new_versions: ChannelVersions,
                   ) -> RunnableConfig:
        saved, statements = self._builder().of_put(config, checkpoint, metadata, new_versions)
        await self._commit(statements)
        return saved

    async def aput_writes(self, config: RunnableConfig, writes: Sequence[tuple[str, Any]],
                          task_id: str, task_path: str = "") -> None:
        await self._commit(self._builder().of_put_writes(config, writes, task_id, task_path))

    async def drain(self) -> None:
        """Wait until every queued write is committed (before the pool closes)."""
        while self._queue.flusher is not None and not self._queue.flusher.done():
            await asyncio.wait([self._queue.flusher])

    # -- the flusher ------------------------------------------------------------------------

    async def _commit(self, statements: list[Statement]) -> None:
        if not statements:
            return
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        queue = self._queue
        queue.pending.append((statements, done))
        if queue.flusher is None or queue.flusher.done():
            queue.flusher = asyncio.create_task(self._flush(), name="checkpoint-flusher")
        await done

    async def _flush(self) -> None:
        pending = self._queue.pending
        while pending:
            batch = pending[:self.BATCH_MAX]
            del pending[:self.BATCH_MAX]
            try:
                await self._write(batch)
            except BaseException as exc:  # cancelled (the loop is closing): nobody hangs
                for _, done in batch + pending:
                    _settle(done, exc)
                pending.clear()
                raise

    async def _write(self, batch: list[tuple[list[Statement], asyncio.Future[None]]]) -> None:
        try:
            await self._run([statements for statements, _ in batch])
        except Exception:
            for statements, done in batch:
                try:
                    await self._run([statements])
                except Exception as exc:
                    _settle(done, exc)
                else:
                    _settle(done, None)
            return
        for _, done in batch:
            _settle(done, None)

    async def _run(self, groups: list[list[Statement]]) -> None:
        async with self.lock, self._pool.connection() as conn, conn.pipeline(), \
                conn.transaction(), conn.cursor(binary=True) as cursor:
            for statements in groups:
                for query, params, many in statements:
                    if many:
                        await cursor.executemany(query, params)
                    else:
                        await cursor.execute(query, params)


def _settle(done: asyncio.Future[None], error: BaseException | None) -> None:
    if done.done():  # its caller was cancelled; the write landed (or failed) all the same
        return
    if error is None:
        done.set_result(None)
    else:
        done.set_exception(error)
