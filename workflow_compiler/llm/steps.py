"""Model and tool calls that are not repeated when a paused llm node resumes.

A node that pauses (a tool call waiting for approval, a subworkflow tool waiting for a
person) runs again from its start on resume; that is how LangGraph's ``interrupt()``
works. Its model and tool calls therefore run as LangGraph tasks (``langgraph.func.task``
called from inside the node): a finished task's result is saved with the checkpoint and,
on the replay, handed back instead of calling again, matched by call order. Each task
also gets a checkpoint namespace of its own, which a subworkflow run as a tool needs.

Nodes that cannot pause call directly: no checkpoint writes per call.

A step returns a JSON-ready dict. A failed model call is returned, not raised, marked with
``FAILED``; the node raises it and its retry policy runs the node again. On a replay, a
failure that is handed back (the step did not run now) is skipped, because the retry
that followed it originally is the next saved step.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, cast

from langgraph.func import task

StepResult = dict[str, Any]
StepFn = Callable[[], Awaitable[StepResult]]
FAILED = "failed"


async def _run_step(step: StepFn) -> StepResult:
    return await step()


_durable_step: Any = task(name="graphwright_llm_step")(cast(Any, _run_step))


class Steps:
    def __init__(self, durable: bool) -> None:
        self.durable = durable

    async def run(self, step: StepFn) -> StepResult:
        if not self.durable:
            return await step()
        while True:
            ran = False

            async def body() -> StepResult:
                nonlocal ran
                ran = True
                return await step()

            result = cast(StepResult, await _durable_step(body))
            if result.get(FAILED) and not ran:
                continue
            return result
