"""Model and tool calls that are not repeated when a paused llm node resumes.

A node that pauses (a tool call waiting for approval, a subworkflow tool waiting for a
person) runs again from its start on resume; that is how LangGraph's ``interrupt()``
works. Its model and tool calls therefore run as LangGraph tasks (``langgraph.func.task``
called from inside the node): a finished task's result is saved with the checkpoint and,
on the replay, handed back instead of calling again, matched by call order. Each task
also gets a checkpoint namespace of its own, which a subworkflow run as a tool needs.

Nodes that cannot pause call directly: no checkpoint writes per call.

A step returns a JSON-ready dict. A failed call is returned, not raised, marked with
``FAILED``; the node raises it and its retry policy runs the node again. The attempt's
deadline (the node's ``timeout``) is kept inside each step, so a call cut short is saved
as a failure like any other instead of leaving a hole in the saved order.

The replay has to end each attempt where the original ended, or the saved results of the
retry that followed would be handed to the wrong calls (the first call of a retry taken as
the reply in the middle of the earlier conversation). So:

* a failure handed back (the step did not run now) is raised again, marked ``REPLAYED``,
  and the runner retries it without reporting it a second time;
* every attempt after the first begins with a marker step (``begin``); a marker handed
  back where a call was expected means the original attempt ended there without a saved
  failure (an error between steps), so the replay ends the attempt there too.

LangGraph keeps counting tasks across a node's retries, so the saved order covers every
attempt; its count of ``interrupt()`` answers restarts on each retry (see ``AgentRun``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, cast

from langgraph.func import task

from workflow_compiler.errors import REPLAYED, NodeExecutionError

StepResult = dict[str, Any]
StepFn = Callable[[], Awaitable[StepResult]]
FAILED = "failed"
ATTEMPT = "graphwright_attempt"


async def _run_step(step: StepFn) -> StepResult:
    return await step()


_durable_step: Any = task(name="graphwright_llm_step")(cast(Any, _run_step))


def failure(error: NodeExecutionError) -> StepResult:
    """``error`` as a step's result (JSON-ready, so it is saved and handed back)."""
    return {FAILED: True, "code": error.code, "message": error.message,
            "retryable": error.retryable, "details": dict(error.details)}


def task_memo(runtime: Any) -> dict[str, Any]:
    """What an attempt of a node leaves for the node's next attempt in this drive (LangGraph
    keeps no state across a node's retries): kept on the run's context under the node's
    task; a throwaway outside a graph."""
    context = getattr(runtime, "context", None)
    info = getattr(runtime, "execution_info", None)
    memos = getattr(context, "task_memos", None)
    if not isinstance(memos, dict) or info is None:
        return {}
    memo: dict[str, Any] = memos.setdefault(f"{info.checkpoint_ns}|{info.task_id}", {})
    return memo


class Steps:
    def __init__(self, durable: bool, *, attempt: int = 1, deadline: float | None = None,
                 on_deadline: Callable[[], NodeExecutionError] | None = None,
                 memo: dict[str, Any] | None = None) -> None:
        self.durable = durable
        self.attempt = attempt
        self.deadline = deadline
        self.on_deadline = on_deadline
        self.memo = memo if memo is not None else {}

    async def begin(self) -> None:
        """Mark where this attempt starts in the saved order (retries of pausable nodes)."""
        if not self.durable or self.attempt == 1:
            return
        attempt = self.attempt
        if self.memo.pop(ATTEMPT, None) == attempt:
            return  # the attempt before met this marker while replaying (``run``)

        async def marker() -> StepResult:
            return {ATTEMPT: attempt}

        result = cast(StepResult, await _durable_step(marker))
        if result.get(ATTEMPT) != attempt:
            raise NodeExecutionError(
                "the saved calls of this node do not match its attempts (saved by another "
                "version?); the node cannot be resumed safely", code="llm_replay_mismatch")

    async def run(self, step: StepFn) -> StepResult:
        if not self.durable:
            return await self._bounded(step)
        ran = False

        async def body() -> StepResult:
            nonlocal ran
            ran = True
            return await self._bounded(step)

        result = cast(StepResult, await _durable_step(body))
        if ATTEMPT in result:  # the original attempt ended before this call
            self.memo[ATTEMPT] = result[ATTEMPT]
            raise NodeExecutionError(
                "this attempt ended here before the pause", code="attempt_replayed",
                retryable=True, details={REPLAYED: True})
        if result.get(FAILED) and not ran:
            return {**result, "details": {**dict(result.get("details") or {}), REPLAYED: True}}
        return result

    async def _bounded(self, step: StepFn) -> StepResult:
        if self.deadline is None or self.on_deadline is None:
            return await step()
        bound = asyncio.timeout_at(self.deadline)
        try:
            async with bound:
                return await step()
        except TimeoutError:
            if not bound.expired():
                raise
            return failure(self.on_deadline())
