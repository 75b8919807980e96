"""Staged checkpoints (``durability="exit"`` with ``Retention(mode="none")``): a new run's
checkpoints stay in memory unless it pauses or fails, on SQLite and Postgres.

Every pause is resumed by a *second* runtime over the same durable saver and run store,
as another process would: it only finds what the first one copied out of memory.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from helpers.specs import spec, t
from helpers.tools import Calls
from langgraph.checkpoint.base import BaseCheckpointSaver

from workflow_compiler.compiler.cache import WorkflowCompiler
from workflow_compiler.nodes.base import ValidationContext
from workflow_compiler.runtime import WorkflowRuntime
from workflow_compiler.runtime.checkpointers import open_checkpointer
from workflow_compiler.runtime.retention import Retention
from workflow_compiler.runtime.staging import StagedSaver
from workflow_compiler.runtime.store import MemoryRunStore
from workflow_compiler.services import DictResolver, RuntimeServices

CHILD = {"spec_version": "1", "name": "child",
         "nodes": [{"id": "size", "type": "input",
                    "schema": {"type": "object", "required": ["n"],
                               "properties": {"n": {"type": "integer"}}}},
                   {"id": "done", "type": "tool", "tool": "test.count",
                    "args": {"name": "child-{{ inputs.tag }}"}}],
         "edges": [{"from": "size", "to": "done"}],
         "inputs": {"type": "object", "properties": {"tag": {"type": "string"}}},
         "outputs": {"n": "{{ nodes.size.n }}"}}


@pytest.fixture(params=["sqlite", "postgres"])
async def durable(request: pytest.FixtureRequest, tmp_path: Any
                  ) -> AsyncIterator[BaseCheckpointSaver[Any]]:
    url = str(tmp_path / "checkpoints.sqlite") if request.param == "sqlite" \
        else str(request.getfixturevalue("postgres_url"))
    async with open_checkpointer(url) as saver:
        yield saver


def make_runtime(durable: BaseCheckpointSaver[Any], store: MemoryRunStore, calls: Calls
                 ) -> WorkflowRuntime:
    services = RuntimeServices(tools=calls.tools(), resolver=DictResolver({"child": CHILD}))
    compiler = WorkflowCompiler(context=ValidationContext(tool_names=services.tools.names()))
    return WorkflowRuntime(checkpointer=durable, store=store, services=services,
                           compiler=compiler, durability="exit",
                           retention=Retention(mode="none"))


async def stored(saver: BaseCheckpointSaver[Any], run_id: str) -> int:
    return len([c async for c in saver.alist({"configurable": {"thread_id": run_id}})])


def staged_memory_is_empty(runtime: WorkflowRuntime) -> bool:
    saver = runtime.checkpointer
    assert isinstance(saver, StagedSaver)
    return not saver.memory.storage and not saver.memory.writes and not saver._staged


async def test_a_completed_run_leaves_no_checkpoint(
    durable: BaseCheckpointSaver[Any], calls: Calls
) -> None:
    runtime = make_runtime(durable, MemoryRunStore(), calls)
    s = spec([t("a", 1), t("b", "{{ nodes.a + 1 }}")], [("a", "b")], {"b": "{{ nodes.b }}"})
    result = await runtime.start(s, {})
    assert result.status == "completed" and result.outputs == {"b": 2}
    assert await stored(durable, result.run_id) == 0
    assert staged_memory_is_empty(runtime)
    events = await runtime.events(result.run_id)
    assert [e.type for e in events][-1] == "run.completed"  # the history is in the events


async def test_a_pause_in_a_parallel_branch_is_durable_and_resumes_elsewhere(
    durable: BaseCheckpointSaver[Any], calls: Calls
) -> None:
    store = MemoryRunStore()
    first = make_runtime(durable, store, calls)
    s = spec(
        [t("a", 1),
         {"id": "ask", "type": "approval", "question": "ok?", "approvers": ["alice"]},
         {"id": "work", "type": "tool", "tool": "test.count", "args": {"name": "work"}},
         t("j", {"decision": "{{ nodes.ask.decision }}", "count": "{{ nodes.work.count }}"})],
        [("a", "ask"), ("a", "work"), ("ask", "j", "approved"), ("ask", "j", "rejected"),
         ("work", "j")],
        {"j": "{{ nodes.j }}"},
    )
    paused = await first.start(s, {})
    assert paused.status == "paused"
    assert calls.counts["work"] == 1
    assert await stored(durable, paused.run_id) >= 1
    assert staged_memory_is_empty(first)

    second = make_runtime(durable, store, calls)
    done = await second.resume(paused.run_id, {"by": "alice", "decision": "approve"})
    assert done.status == "completed", done.error
    assert done.outputs == {"j": {"decision": "approved", "count": 1}}
    assert calls.counts["work"] == 1  # the finished parallel task came back from its write
    assert await stored(durable, paused.run_id) == 0  # completed: retention none


async def test_pauses_inside_map_items_and_subworkflows_survive_the_copy(
    durable: BaseCheckpointSaver[Any], calls: Calls
) -> None:
    store = MemoryRunStore()
    s = spec([{"id": "m", "type": "map", "items": "{{ ['x', 'y'] }}",
               "body": {"nodes": [
                   {"id": "before", "type": "tool", "tool": "test.count",
                    "args": {"name": "before-{{ item }}"}},
                   {"id": "sub", "type": "subworkflow", "workflow": "child",
                    "inputs": {"tag": "{{ item }}"}}],
                   "edges": [{"from": "before", "to": "sub"}],
                   "output": "{{ item }}={{ nodes.sub.n }}"}}],
             [], {"m": "{{ nodes.m }}"})
    paused = await make_runtime(durable, store, calls).start(s, {})
    assert paused.status == "paused", paused.error
    assert sorted(i.node_id for i in paused.interrupts) == ["m[0].sub/size", "m[1].sub/size"]
    by_node = {i.node_id: i.id for i in paused.interrupts}

    half = await make_runtime(durable, store, calls).resume(
        paused.run_id, {"n": 2}, interrupt_id=by_node["m[1].sub/size"])
    assert half.status == "paused", half.error
    done = await make_runtime(durable, store, calls).resume(
        paused.run_id, {"n": 1}, interrupt_id=half.interrupts[0].id)
    assert done.status == "completed", done.error
    assert done.outputs == {"m": ["x=1", "y=2"]}
    assert calls.counts == {"before-x": 1, "before-y": 1, "child-x": 1, "child-y": 1}


async def test_a_failed_run_keeps_its_checkpoint_to_fork_from(
    durable: BaseCheckpointSaver[Any], calls: Calls
) -> None:
    runtime = make_runtime(durable, MemoryRunStore(), calls)
    s = spec([t("a", 1),
              {"id": "boom", "type": "tool", "tool": "test.flaky",
               "args": {"name": "boom", "failures": 5, "retryable": False}}],
             [("a", "boom")])
    failed = await runtime.start(s, {})
    assert failed.status == "failed"
    assert await stored(durable, failed.run_id) >= 1
    assert staged_memory_is_empty(runtime)
    history = await runtime.history(failed.run_id)
    assert history and "a" in history[0]["completed_nodes"]
