"""In-process execution of runs, until the workers take it over (issue 4: "mode=async may
run in-process").

Every drive of the runtime (a start, a resume, a signal, a fork) runs in a task of its
own, even for a sync request that waits for it: a client that disconnects then cancels
its request, not the run (a drive cancelled from outside would be left ``running``).
The tasks are held in a set (asyncio keeps only weak references to tasks) and, on
shutdown, given ``SHUTDOWN_GRACE_SECONDS`` to finish; those still going are cancelled
through ``WorkflowRuntime.cancel``, so they end ``cancelled`` with their
``run.cancelled`` event instead of staying ``running`` forever.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Coroutine
from typing import Any, TypeVar
from uuid import UUID

from api.run_owner import acting_for
from workflow_compiler.errors import GraphwrightError
from workflow_compiler.runtime.runtime import WorkflowRuntime

log = logging.getLogger("graphwright.api.runs")
T = TypeVar("T")

SHUTDOWN_GRACE_SECONDS = 5.0


class RunTasks:
    def __init__(self, runtime: WorkflowRuntime) -> None:
        self.runtime = runtime
        self._tasks: dict[asyncio.Task[Any], str] = {}

    def __len__(self) -> int:
        return len(self._tasks)

    def spawn(self, owner_id: UUID, run_id: str, work: Coroutine[Any, Any, T]
              ) -> asyncio.Task[T]:
        """Run ``work`` (a runtime call driving ``run_id``) as ``owner_id``, in the
        background; its failure is logged, never lost."""
        task = asyncio.create_task(_as_owner(owner_id, work), name=f"graphwright-run-{run_id}")
        self._tasks[task] = run_id
        task.add_done_callback(self._done)
        return task

    async def run(self, owner_id: UUID, run_id: str, work: Coroutine[Any, Any, T]) -> T:
        """``spawn`` and wait for the result; cancelling the caller leaves the run going."""
        return await asyncio.shield(self.spawn(owner_id, run_id, work))

    def _done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.pop(task, None)
        if task.cancelled():
            return
        error = task.exception()
        if isinstance(error, GraphwrightError):
            log.info("background run %s: %s", task.get_name(), error.message)
        elif error is not None:
            log.error("background run %s failed", task.get_name(), exc_info=error)

    async def shutdown(self, grace: float = SHUTDOWN_GRACE_SECONDS) -> None:
        if not self._tasks:
            return
        _, pending = await asyncio.wait(list(self._tasks), timeout=grace)
        for task in pending:
            run_id = self._tasks.get(task)
            if run_id is not None:
                with contextlib.suppress(Exception):
                    await self.runtime.cancel(run_id)
            if not task.done():
                task.cancel()
        if pending:
            await asyncio.wait(pending, timeout=grace)
            log.warning("shutdown cancelled %d in-process run(s)", len(pending))


async def _as_owner(owner_id: UUID, work: Coroutine[Any, Any, T]) -> T:
    with acting_for(owner_id):
        return await work
