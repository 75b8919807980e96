"""The control-flow matrix: every shape on the memory, SQLite and Postgres checkpointers.

Each test asserts outputs, that joins fire exactly once, and what was skipped.
"""

from __future__ import annotations

from helpers.specs import fired, run_collect, spec, t
from helpers.tools import Calls

from workflow_compiler.runtime import WorkflowRuntime


async def test_diamond_runs_branches_in_parallel_and_joins_once(
    runtime: WorkflowRuntime, calls: Calls
) -> None:
    s = spec(
        [t("a", {"x": 1}),
         {"id": "b", "type": "tool", "tool": "test.rendezvous", "args": {"group": "d"}},
         {"id": "c", "type": "tool", "tool": "test.rendezvous", "args": {"group": "d"}},
         t("d", {"sum": "{{ nodes.a.x + 1 }}", "b": "{{ nodes.b.group }}"})],
        [("a", "b"), ("a", "c"), ("b", "d"), ("c", "d")],
        {"sum": "{{ nodes.d.sum }}"},
    )
    result, events = await run_collect(runtime, s)
    assert result.status == "completed", result.error
    assert result.outputs == {"sum": 2}
    assert fired(events, "d") == 1
    assert [e.seq for e in events] == list(range(1, len(events) + 1))
    assert events[0].type == "run.started" and events[-1].type == "run.completed"


async def test_nested_diamonds(runtime: WorkflowRuntime) -> None:
    s = spec(
        [t("a", 1), t("b", 2), t("c", 3), t("b1", 4), t("b2", 5), t("bj", 6), t("j", 7)],
        [("a", "b"), ("a", "c"), ("b", "b1"), ("b", "b2"), ("b1", "bj"), ("b2", "bj"),
         ("bj", "j"), ("c", "j")],
        {"j": "{{ nodes.j }}", "bj": "{{ nodes.bj }}"},
    )
    result, events = await run_collect(runtime, s)
    assert result.outputs == {"j": 7, "bj": 6}
    assert fired(events, "bj") == 1 and fired(events, "j") == 1


async def test_condition_inside_one_parallel_branch(runtime: WorkflowRuntime) -> None:
    s = spec(
        [t("a", 1), t("b", "left"),
         {"id": "c", "type": "condition", "if": "{{ inputs.go }}"},
         t("x", "yes"), t("y", "no"),
         t("j", {"x": "{{ nodes.x | default('skipped') }}",
                 "y": "{{ nodes.y | default('skipped') }}", "b": "{{ nodes.b }}"})],
        [("a", "b"), ("a", "c"), ("c", "x", "true"), ("c", "y", "false"), ("b", "j"),
         ("x", "j"), ("y", "j")],
        {"j": "{{ nodes.j }}"},
    )
    for go, expected in [(True, {"x": "yes", "y": "skipped", "b": "left"}),
                         (False, {"x": "skipped", "y": "no", "b": "left"})]:
        result, events = await run_collect(runtime, s, {"go": go})
        assert result.outputs == {"j": expected}
        assert fired(events, "j") == 1
        skipped = "y" if go else "x"
        assert fired(events, skipped, "node.skipped") == 1


async def test_switch_fan_in(runtime: WorkflowRuntime) -> None:
    s = spec(
        [{"id": "s", "type": "switch", "value": "{{ inputs.kind }}", "cases": ["a", "b", 3]},
         t("ha", "A"), t("hb", "B"), t("h3", "three"), t("hd", "D"),
         t("j", "{{ nodes.ha | default(nodes.hb | default(nodes.h3 | default(nodes.hd "
                "| default('none')))) }}")],
        [("s", "ha", "a"), ("s", "hb", "b"), ("s", "h3", "3"), ("s", "hd", "default"),
         ("ha", "j"), ("hb", "j"), ("h3", "j"), ("hd", "j")],
        {"j": "{{ nodes.j }}", "case": "{{ nodes.s.case }}"},
    )
    for kind, expected in [("a", "A"), ("b", "B"), (3, "three"), ("zzz", "D")]:
        result, events = await run_collect(runtime, s, {"kind": kind})
        assert result.status == "completed", result.error
        assert result.outputs is not None and result.outputs["j"] == expected
        assert fired(events, "j") == 1
        assert sum(1 for e in events if e.type == "node.skipped") == 3


async def test_loop_with_exit(runtime: WorkflowRuntime) -> None:
    s = spec(
        [t("init", {"n": 0}),
         t("body", {"n": "{{ (nodes.body.n | default(nodes.init.n)) + 1 }}"}),
         {"id": "check", "type": "condition", "if": "{{ nodes.body.n < inputs.times }}"},
         t("done", {"n": "{{ nodes.body.n }}"})],
        [("init", "body"), ("body", "check"), ("check", "body", "true"),
         ("check", "done", "false")],
        {"n": "{{ nodes.done.n }}"},
    )
    result, events = await run_collect(runtime, s, {"times": 4})
    assert result.status == "completed", result.error
    assert result.outputs == {"n": 4}
    assert fired(events, "body") == 4
    assert fired(events, "done") == 1


async def test_map_inside_map(runtime: WorkflowRuntime) -> None:
    inner = {"id": "inner", "type": "map", "items": "{{ item }}", "concurrency": 2,
             "body": {"nodes": [t("sq", "{{ item * item }}")]}}
    s = spec(
        [{"id": "outer", "type": "map", "items": "{{ inputs.rows }}",
          "body": {"nodes": [inner]}}],
        [], {"squares": "{{ nodes.outer }}"},
    )
    result, _ = await run_collect(runtime, s, {"rows": [[1, 2], [3], []]})
    assert result.status == "completed", result.error
    assert result.outputs == {"squares": [[1, 4], [9], []]}


async def test_subworkflow_inside_map(runtime: WorkflowRuntime) -> None:
    child = spec([t("double", "{{ inputs.n * 2 }}")], [], {"value": "{{ nodes.double }}"},
                 inputs={"type": "object", "properties": {"n": {"type": "number"}},
                         "required": ["n"]})
    s = spec(
        [{"id": "m", "type": "map", "items": "{{ inputs.values }}",
          "body": {"nodes": [{"id": "call", "type": "subworkflow", "spec": child,
                              "inputs": {"n": "{{ item }}"}}],
                   "output": "{{ nodes.call.value }}"}}],
        [], {"doubled": "{{ nodes.m }}"},
    )
    result, _ = await run_collect(runtime, s, {"values": [1, 2, 3]})
    assert result.status == "completed", result.error
    assert result.outputs == {"doubled": [2, 4, 6]}


async def test_approval_inside_parallel_branch_does_not_repeat_work(
    runtime: WorkflowRuntime, calls: Calls
) -> None:
    s = spec(
        [t("a", 1),
         {"id": "ask", "type": "approval", "question": "ok?", "approvers": ["alice"]},
         {"id": "work", "type": "tool", "tool": "test.count", "args": {"name": "work"}},
         t("j", {"decision": "{{ nodes.ask.decision }}", "count": "{{ nodes.work.count }}"})],
        [("a", "ask"), ("a", "work"), ("ask", "j", "approved"), ("ask", "j", "rejected"),
         ("work", "j")],
        {"j": "{{ nodes.j }}"},
    )
    result, _ = await run_collect(runtime, s)
    assert result.status == "paused"
    assert [i.node_id for i in result.interrupts] == ["ask"]
    assert calls.counts["work"] == 1
    resumed = await runtime.resume(result.run_id, {"by": "alice", "decision": "approve"})
    assert resumed.status == "completed", resumed.error
    assert resumed.outputs == {"j": {"decision": "approved", "count": 1}}
    assert calls.counts["work"] == 1
