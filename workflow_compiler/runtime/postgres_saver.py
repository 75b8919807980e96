"""``BatchedPostgresSaver``: LangGraph's Postgres saver with its writes committed in groups.

With ``async`` durability a three-step run makes five writes (three checkpoints, two sets of
task writes). ``AsyncPostgresSaver`` gives each its own pooled connection, pipeline and
commit, and on Postgres that fixed cost per write, not the rows, was what separated the
default durability from ``exit``: 32 concurrent sync runs did about half as many runs per
second. Here every write still goes through LangGraph's own ``aput``/``aput_writes`` (its
row layout, serialisation and SQL are unchanged), but the statements they issue are
recorded instead of executed, queued, and written by one flusher: all that queued while
the previous group was in flight go out in one transaction over one pipeline. Under load
a group holds many runs' writes; alone, a write waits for nothing but its own round trip.

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
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from contextvars import ContextVar
from typing import Any

from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import ChannelVersions, Checkpoint, CheckpointMetadata
from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver
from psycopg_pool import AsyncConnectionPool

#: one statement: (query, parameters, executemany?)
Statement = tuple[str, Any, bool]

#: the statements a write would run; set only while our aput/aput_writes call the parent's
_RECORDING: ContextVar[_Recorder | None] = ContextVar("graphwright_checkpoint_recording",
                                                      default=None)


class _Recorder:
    """Takes the place of the cursor the parent's write methods execute on."""

    def __init__(self) -> None:
        self.statements: list[Statement] = []

    async def execute(self, query: str, params: Any = None) -> None:
        self.statements.append((query, params, False))

    async def executemany(self, query: str, params_seq: Any) -> None:
        self.statements.append((query, list(params_seq), True))


class BatchedPostgresSaver(AsyncPostgresSaver):
    #: groups of writes (one per aput/aput_writes call) per transaction, at most
    BATCH_MAX = 256

    def __init__(self, pool: AsyncConnectionPool[Any], *,
                 concurrency: int) -> None:
        super().__init__(pool)
        self.lock = asyncio.Semaphore(max(1, concurrency))  # type: ignore[assignment]
        self._pool = pool
        self._queue: list[tuple[list[Statement], asyncio.Future[None]]] = []
        self._flusher: asyncio.Task[None] | None = None

    @asynccontextmanager
    async def _cursor(self, *, pipeline: bool = False) -> AsyncIterator[Any]:
        recorder = _RECORDING.get()
        if recorder is not None:
            yield recorder
            return
        async with super()._cursor(pipeline=pipeline) as cursor:
            yield cursor

    async def aput(self, config: RunnableConfig, checkpoint: Checkpoint,
                   metadata: CheckpointMetadata, new_versions: ChannelVersions,
                   ) -> RunnableConfig:
        recorder = _Recorder()
        token = _RECORDING.set(recorder)
        try:
            saved = await super().aput(config, checkpoint, metadata, new_versions)
        finally:
            _RECORDING.reset(token)
        await self._commit(recorder.statements)
        return saved

    async def aput_writes(self, config: RunnableConfig, writes: Sequence[tuple[str, Any]],
                          task_id: str, task_path: str = "") -> None:
        recorder = _Recorder()
        token = _RECORDING.set(recorder)
        try:
            await super().aput_writes(config, writes, task_id, task_path)
        finally:
            _RECORDING.reset(token)
        await self._commit(recorder.statements)

    async def drain(self) -> None:
        """Wait until every queued write is committed (before the pool closes)."""
        while self._flusher is not None and not self._flusher.done():
            await asyncio.wait([self._flusher])

    # -- the flusher ------------------------------------------------------------------------

    async def _commit(self, statements: list[Statement]) -> None:
        if not statements:
            return
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._queue.append((statements, done))
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.create_task(self._flush(), name="checkpoint-flusher")
        await done

    async def _flush(self) -> None:
        while self._queue:
            batch = self._queue[:self.BATCH_MAX]
            del self._queue[:self.BATCH_MAX]
            try:
                await self._write(batch)
            except BaseException as exc:  # cancelled (the loop is closing): nobody hangs
                for _, done in batch + self._queue:
                    _settle(done, exc)
                self._queue.clear()
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
