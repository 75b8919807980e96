"""``Steps`` in a real LangGraph graph: a resumed node replays each attempt where it ended.

The agent loop's steps are LangGraph tasks, handed back by call order on a replay. An
attempt that ended between steps (an error outside any call, retried by the node's
policy) leaves no failure in that order; the marker its retry saved first must end the
replayed attempt at the same place, or the retry's saved calls would be handed to the
calls the first attempt never made.
"""

from __future__ import annotations

from typing import Any, TypedDict

from langgraph.checkpoint.memory import InMemorySaver
from langgraph.graph import END, START, StateGraph
from langgraph.runtime import Runtime
from langgraph.types import Command, RetryPolicy, interrupt

from workflow_compiler.errors import REPLAYED, NodeExecutionError
from workflow_compiler.llm.steps import Steps


class State(TypedDict, total=False):
    out: list[str]


class RetryError(Exception):
    """What the node raises for the policy to run it again."""


def _graph(ran: list[str], transient: list[bool], replays: list[bool]) -> Any:
    memos: dict[str, dict[str, Any]] = {}  # what RunContext.task_memos is in a run

    async def node(state: State, runtime: Runtime[None]) -> dict[str, Any]:
        attempt = runtime.execution_info.node_attempt if runtime.execution_info else 1
        memo = memos.setdefault(runtime.execution_info.task_id
                                if runtime.execution_info else "", {})
        if attempt == 1:
            memo.clear()  # a new drive: its first attempt starts the count
        steps = Steps(durable=True, attempt=attempt, memo=memo)

        async def call(name: str) -> str:
            async def step() -> dict[str, Any]:
                ran.append(name)
                return {"name": name}
            return str((await steps.run(step))["name"])

        try:
            await steps.begin()
            if attempt == 1:
                out = [await call("a")]
                interrupt("first")
                out.append(await call("b"))
                if transient:  # fails once, between steps: nothing saved says so
                    transient.pop()
                    raise RetryError()
                out.append(await call("d"))
            else:
                out = [await call("c")]
                interrupt("ignored")  # the first attempt's answer comes back first
                interrupt("second")
                out.append(await call("e"))
        except NodeExecutionError as exc:
            replays.append(bool(exc.details.get(REPLAYED)))
            raise RetryError() from exc
        return {"out": out}

    builder = StateGraph(State)
    builder.add_node("n", node, retry_policy=RetryPolicy(
        initial_interval=0.001, jitter=False, retry_on=lambda e: isinstance(e, RetryError)))
    builder.add_edge(START, "n")
    builder.add_edge("n", END)
    return builder.compile(checkpointer=InMemorySaver())


async def test_a_replay_ends_an_attempt_where_its_retry_began() -> None:
    ran: list[str] = []
    replays: list[bool] = []
    graph = _graph(ran, transient=[True], replays=replays)
    config: Any = {"configurable": {"thread_id": "t"}}

    await graph.ainvoke({}, config)
    assert ran == ["a"]
    await graph.ainvoke(Command(resume="yes"), config)  # b, then the retry pauses again
    assert ran == ["a", "b", "c"]
    result = await graph.ainvoke(Command(resume="yes again"), config)

    assert ran == ["a", "b", "c", "e"]  # nothing twice, and "d" was never called
    assert result["out"] == ["c", "e"]
    assert replays == [True]  # the first attempt's end, met again while replaying
