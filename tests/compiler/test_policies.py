"""Common node policies: when, join any, retry, timeout, on_error, and run limits."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from helpers.specs import fired, run_collect, spec, t
from helpers.tools import Calls

from workflow_compiler.runtime import WorkflowRuntime

pytestmark = pytest.mark.parametrize("backend", ["memory", "sqlite"], indirect=True)


async def test_when_false_skips_node_but_successors_run(runtime: WorkflowRuntime) -> None:
    s = spec([t("a", 1), t("b", "ran", when="{{ inputs.flag }}"),
              t("c", {"b": "{{ nodes.b }}"})],
             [("a", "b"), ("b", "c")], {"c": "{{ nodes.c }}"})
    result, events = await run_collect(runtime, s, {"flag": False})
    assert result.outputs == {"c": {"b": None}}
    assert [e.data for e in events if e.type == "node.skipped"] == [{"reason": "when"}]
    result, _ = await run_collect(runtime, s, {"flag": True})
    assert result.outputs == {"c": {"b": "ran"}}


async def test_join_any_fires_once_at_first_live_arrival(runtime: WorkflowRuntime) -> None:
    s = spec([t("a", 1),
              {"id": "fast", "type": "transform", "value": "fast"},
              {"id": "slow", "type": "tool", "tool": "test.sleep", "args": {"seconds": 0.05}},
              t("slow2", "slow"),
              {"id": "j", "type": "transform", "join": "any",
               "value": "{{ nodes.fast | default('none') }}"}],
             [("a", "fast"), ("a", "slow"), ("slow", "slow2"), ("fast", "j"), ("slow2", "j")],
             {"j": "{{ nodes.j }}"})
    result, events = await run_collect(runtime, s)
    assert result.outputs == {"j": "fast"}
    assert fired(events, "j") == 1
    started = [e.node_id for e in events if e.type == "node.started"]
    assert started.index("j") < started.index("slow2")  # did not wait for the slow path


async def test_join_any_all_paths_dead_skips(runtime: WorkflowRuntime) -> None:
    s = spec([{"id": "c", "type": "condition", "if": "{{ false }}"}, t("x", 1), t("y", 2),
              {"id": "j", "type": "transform", "join": "any", "value": "j"}, t("after", "end")],
             [("c", "x", "true"), ("c", "y", "true"), ("x", "j"), ("y", "j"), ("j", "after"),
              ("c", "after", "false")],
             {"after": "{{ nodes.after }}", "j": "{{ nodes.j | default('dead') }}"})
    result, events = await run_collect(runtime, s)
    assert result.outputs == {"after": "end", "j": "dead"}
    assert fired(events, "j", "node.skipped") == 1


async def test_retry_then_success_emits_retrying(runtime: WorkflowRuntime, calls: Calls) -> None:
    s = spec([{"id": "f", "type": "tool", "tool": "test.flaky",
               "args": {"name": "f", "failures": 2},
               "retry": {"max_attempts": 3, "initial_interval": 0.01, "jitter": False}}],
             [], {"f": "{{ nodes.f.attempts }}"})
    result, events = await run_collect(runtime, s)
    assert result.status == "completed", result.error
    assert result.outputs == {"f": 3}
    assert [e.data["attempt"] for e in events if e.type == "node.retrying"] == [1, 2]
    assert fired(events, "f", "node.started") == 1


async def test_retries_exhausted_fail_the_run(runtime: WorkflowRuntime, calls: Calls) -> None:
    s = spec([{"id": "f", "type": "tool", "tool": "test.flaky",
               "args": {"name": "g", "failures": 5},
               "retry": {"max_attempts": 2, "initial_interval": 0.01}}], [])
    result, events = await run_collect(runtime, s)
    assert result.status == "failed"
    assert result.error is not None and result.error["code"] == "flaky"
    assert result.error["node_id"] == "f"
    assert calls.counts["g"] == 2
    assert events[-1].type == "run.failed"


async def test_non_retryable_errors_are_not_retried(runtime: WorkflowRuntime, calls: Calls) -> None:
    s = spec([{"id": "f", "type": "tool", "tool": "test.flaky",
               "args": {"name": "h", "failures": 5, "retryable": False},
               "retry": {"max_attempts": 4, "initial_interval": 0.01}}], [])
    result, _ = await run_collect(runtime, s)
    assert result.status == "failed"
    assert calls.counts["h"] == 1


async def test_on_error_route_takes_error_port(runtime: WorkflowRuntime) -> None:
    s = spec([{"id": "f", "type": "tool", "tool": "test.flaky", "on_error": "route",
               "args": {"name": "r", "failures": 1, "retryable": False}},
              t("ok", "fine"), t("handler", {"code": "{{ nodes.f.error.code }}"})],
             [("f", "ok"), ("f", "handler", "error")],
             {"handled": "{{ nodes.handler | default(none) }}",
              "ok": "{{ nodes.ok | default(none) }}"})
    result, events = await run_collect(runtime, s)
    assert result.status == "completed", result.error
    assert result.outputs == {"handled": {"code": "flaky"}, "ok": None}
    failed = [e for e in events if e.type == "node.failed"]
    assert failed and failed[0].data["handled"] is True


async def test_on_error_continue_passes_error_as_output(runtime: WorkflowRuntime) -> None:
    s = spec([{"id": "f", "type": "tool", "tool": "test.flaky", "on_error": "continue",
               "args": {"name": "c", "failures": 1, "retryable": False}},
              t("next", "{{ nodes.f.error.message }}")],
             [("f", "next")], {"msg": "{{ nodes.next }}"})
    result, _ = await run_collect(runtime, s)
    assert result.outputs == {"msg": "c failed (attempt 1)"}


async def test_node_timeout_is_retryable_then_fails(runtime: WorkflowRuntime) -> None:
    s = spec([{"id": "slow", "type": "tool", "tool": "test.sleep", "args": {"seconds": 5},
               "timeout": 0.05, "retry": {"max_attempts": 2, "initial_interval": 0.01}}], [])
    result, events = await run_collect(runtime, s)
    assert result.status == "failed"
    assert result.error is not None and result.error["code"] == "node_timeout"
    assert sum(1 for e in events if e.type == "node.retrying") == 1


async def test_max_steps_bounds_a_runaway_loop(runtime: WorkflowRuntime) -> None:
    s = spec([t("a", 0), t("b", "{{ (nodes.b | default(0)) + 1 }}"),
              {"id": "c", "type": "condition", "if": "{{ true }}"}, t("out", 1)],
             [("a", "b"), ("b", "c"), ("c", "b", "true"), ("c", "out", "false")],
             limits={"max_steps": 30})
    result, _ = await run_collect(runtime, s)
    assert result.status == "failed"
    assert result.error is not None and result.error["code"] == "run_limit_exceeded"
    assert "max_steps=30" in result.error["message"]


async def test_run_timeout_fails_the_run(runtime: WorkflowRuntime) -> None:
    s = spec([{"id": "slow", "type": "tool", "tool": "test.sleep", "args": {"seconds": 5}}], [],
             limits={"timeout": 0.1})
    result, _ = await run_collect(runtime, s)
    assert result.status == "failed"
    assert result.error is not None and result.error["code"] == "run_limit_exceeded"


async def test_secrets_never_reach_outputs_or_events(runtime: WorkflowRuntime) -> None:
    s = spec([{"id": "echo", "type": "tool", "tool": "test.count",
               "args": {"name": "s", "value": "key={{ secrets.api_key }}"}}],
             [], {"value": "{{ nodes.echo.value }}"})
    result, events = await run_collect(runtime, s)
    assert result.status == "completed", result.error
    assert result.outputs == {"value": "key=***"}
    assert "SECRET" not in "".join(e.model_dump_json() for e in events)
    state = await runtime.state(result.run_id)
    assert "SECRET" not in repr(state["values"])


async def test_missing_inputs_are_refused_before_the_run(runtime: WorkflowRuntime) -> None:
    from workflow_compiler.runtime.runtime import InvalidInputsError

    s = spec([t("a", "{{ inputs.name }}")], [],
             inputs={"type": "object", "required": ["name"],
                     "properties": {"name": {"type": "string"}}})
    with pytest.raises(InvalidInputsError, match="name"):
        await runtime.start(s, {})


async def test_map_item_failure_fails_map_with_index(runtime: WorkflowRuntime) -> None:
    s = spec([{"id": "m", "type": "map", "items": "{{ [1, 0, 2] }}", "on_error": "continue",
               "body": {"nodes": [t("inv", "{{ 10 // item }}")]}},
              t("after", "{{ nodes.m.error.code }}")],
             [("m", "after")], {"after": "{{ nodes.after }}"})
    result, _ = await run_collect(runtime, s)
    assert result.status == "completed", result.error
    assert result.outputs == {"after": "map_item_failed"}


async def test_map_respects_concurrency(runtime: WorkflowRuntime, calls: Calls) -> None:
    s = spec([{"id": "m", "type": "map", "items": "{{ range(8) | list }}", "concurrency": 3,
               "body": {"nodes": [{"id": "p", "type": "tool", "tool": "test.probe"}]}}], [],
             {"n": "{{ nodes.m | length }}"})
    result, _ = await run_collect(runtime, s)
    assert result.outputs == {"n": 8}
    assert calls.in_flight["max"] == 3


async def test_fake_llm_script_advances_per_loop_visit(runtime: WorkflowRuntime) -> None:
    s = spec([t("start", 0),
              {"id": "ask", "type": "llm", "provider": "fake", "model": "m", "prompt": "go",
               "provider_options": {"responses": ["first", "second", "third"]}},
              t("tally", "{{ (nodes.tally | default([])) + [nodes.ask.text] }}"),
              {"id": "again", "type": "condition", "if": "{{ nodes.tally | length < 3 }}"},
              t("done", "{{ nodes.tally }}")],
             [("start", "ask"), ("ask", "tally"), ("tally", "again"), ("again", "ask", "true"),
              ("again", "done", "false")],
             {"texts": "{{ nodes.done }}"})
    result, events = await run_collect(runtime, s)
    assert result.outputs == {"texts": ["first", "second", "third"]}
    assert [e.data["visit"] for e in events
            if e.type == "node.started" and e.node_id == "ask"] == [1, 2, 3]


def approval_loop(limits: dict[str, Any]) -> dict[str, Any]:
    """A loop whose every pass waits for an approval: each resume is one more pass."""
    return spec([t("a", 0), t("b", "{{ (nodes.b | default(0)) + 1 }}"),
                 {"id": "ask", "type": "approval", "question": "again?"},
                 {"id": "c", "type": "condition", "if": "{{ nodes.ask.decision == 'approved' }}"},
                 t("out", "{{ nodes.b }}")],
                [("a", "b"), ("b", "ask"), ("ask", "c", "approved"), ("ask", "c", "rejected"),
                 ("c", "b", "true"), ("c", "out", "false")],
                {"passes": "{{ nodes.out }}"}, limits=limits)


async def test_max_steps_bounds_the_run_across_its_resumes(runtime: WorkflowRuntime) -> None:
    result, _ = await run_collect(runtime, approval_loop({"max_steps": 12}))
    resumes = 0
    while result.status == "paused" and resumes < 50:
        result = await runtime.resume(result.run_id, {"by": "u", "decision": "approve"})
        resumes += 1
    assert result.status == "failed", "the budget of 12 steps must end an endless loop"
    assert result.error is not None and result.error["code"] == "run_limit_exceeded"
    assert "over all its drives" in result.error["message"]
    assert 2 <= resumes <= 6  # each pass takes a few supersteps of the 12
    record = await runtime.get_run(result.run_id)
    assert record.steps_used >= 9


async def test_a_run_within_its_step_budget_completes_after_resumes(
    runtime: WorkflowRuntime
) -> None:
    result, _ = await run_collect(runtime, approval_loop({"max_steps": 60}))
    for _ in range(2):
        result = await runtime.resume(result.run_id, {"by": "u", "decision": "approve"})
        assert result.status == "paused"
    done = await runtime.resume(result.run_id, {"by": "u", "decision": "reject"})
    assert done.status == "completed", done.error
    assert done.outputs == {"passes": 3}


async def test_the_run_timeout_counts_running_time_over_drives_not_waits(
    runtime: WorkflowRuntime
) -> None:
    s = spec([{"id": "work", "type": "tool", "tool": "test.sleep", "args": {"seconds": 0.3}},
              {"id": "ask", "type": "approval", "question": "go on?"},
              {"id": "more", "type": "tool", "tool": "test.sleep", "args": {"seconds": 0.3}}],
             [("work", "ask"), ("ask", "more", "approved")], limits={"timeout": 0.5})
    paused, _ = await run_collect(runtime, s)
    assert paused.status == "paused"
    record = await runtime.get_run(paused.run_id)
    assert 300 <= record.active_ms < 500
    await asyncio.sleep(0.3)  # waiting for the approval does not count
    done = await runtime.resume(paused.run_id, {"by": "u", "decision": "approve"})
    assert done.status == "failed"  # 0.3 s + 0.3 s of running exceed 0.5 s
    assert done.error is not None and done.error["code"] == "run_limit_exceeded"
    assert "over all its drives" in done.error["message"]
