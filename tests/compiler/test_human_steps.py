"""Approvals, inputs, waits and signals: interrupts, checked responses, due times."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from helpers.specs import run_collect, spec, t

from workflow_compiler.errors import InvalidResponseError, RunStateError
from workflow_compiler.runtime import WorkflowRuntime


def approval(**extra: Any) -> dict[str, Any]:
    return {"id": "ask", "type": "approval", "question": "Refund {{ inputs.amount }}?", **extra}


def decided(ports: tuple[str, ...] = ("approved", "rejected")) -> tuple[list[dict[str, Any]],
                                                                        list[tuple[str, ...]]]:
    nodes = [approval(approvers=["alice", "bob", "carol"], min_approvals=2, max_rejections=2),
             t("done", {"decision": "{{ nodes.ask.decision }}",
                        "who": "{{ nodes.ask.responses | map(attribute='by') | list }}"})]
    return nodes, [("ask", "done", p) for p in ports]


async def test_responses_accumulate_until_threshold(runtime: WorkflowRuntime) -> None:
    nodes, edges = decided()
    s = spec(nodes, edges, {"done": "{{ nodes.done }}"})
    paused, _ = await run_collect(runtime, s, {"amount": 250})
    assert paused.status == "paused"
    (pending,) = paused.interrupts
    assert pending.kind == "approval" and pending.payload["question"] == "Refund 250?"
    first = await runtime.resume(paused.run_id, {"by": "alice", "decision": "approve"})
    assert first.status == "paused"
    assert [r["by"] for r in first.interrupts[0].payload["responses"]] == ["alice"]
    done = await runtime.resume(paused.run_id, {"by": "bob", "decision": "approve",
                                                "comment": "fine"})
    assert done.status == "completed", done.error
    assert done.outputs == {"done": {"decision": "approved", "who": ["alice", "bob"]}}


async def test_rejections_decide_at_max_rejections(runtime: WorkflowRuntime) -> None:
    nodes, edges = decided()
    s = spec(nodes, edges, {"done": "{{ nodes.done.decision }}"})
    paused, _ = await run_collect(runtime, s, {"amount": 1})
    await runtime.resume(paused.run_id, {"by": "alice", "decision": "reject"})
    await runtime.resume(paused.run_id, {"by": "bob", "decision": "approve"})
    done = await runtime.resume(paused.run_id, {"by": "carol", "decision": "reject"})
    assert done.outputs == {"done": "rejected"}


@pytest.mark.parametrize("response,reason", [
    ({"by": "mallory", "decision": "approve"}, "not an approver"),
    ({"by": "alice", "decision": "maybe"}, "is not one of"),
    ({"decision": "approve"}, "needs 'by'"),
    ("yes", "is an object"),
])
async def test_refused_responses_leave_the_run_paused(
    runtime: WorkflowRuntime, response: Any, reason: str
) -> None:
    nodes, edges = decided()
    paused, _ = await run_collect(runtime, spec(nodes, edges), {"amount": 1})
    before = await runtime.state(paused.run_id)
    with pytest.raises(InvalidResponseError, match=reason):
        await runtime.resume(paused.run_id, response)
    after = await runtime.state(paused.run_id)
    assert after["checkpoint_id"] == before["checkpoint_id"]
    assert (await runtime.result(paused.run_id)).status == "paused"


async def test_second_response_from_same_person_is_refused(runtime: WorkflowRuntime) -> None:
    nodes, edges = decided()
    paused, _ = await run_collect(runtime, spec(nodes, edges), {"amount": 1})
    await runtime.resume(paused.run_id, {"by": "alice", "decision": "approve"})
    with pytest.raises(InvalidResponseError, match="already responded"):
        await runtime.resume(paused.run_id, {"by": "alice", "decision": "approve"})


async def test_custom_option_routes_to_its_port(runtime: WorkflowRuntime) -> None:
    s = spec([approval(options=["escalate"]), t("esc", "escalated"), t("ok", "approved")],
             [("ask", "esc", "escalate"), ("ask", "ok", "approved")],
             {"esc": "{{ nodes.esc | default(none) }}", "ok": "{{ nodes.ok | default(none) }}"})
    paused, _ = await run_collect(runtime, s, {"amount": 1})
    done = await runtime.resume(paused.run_id, {"by": "dan", "decision": "escalate"})
    assert done.outputs == {"esc": "escalated", "ok": None}


async def test_parallel_approvals_answered_by_interrupt_id(runtime: WorkflowRuntime) -> None:
    s = spec([t("a", 1),
              {"id": "legal", "type": "approval", "question": "legal?"},
              {"id": "finance", "type": "approval", "question": "finance?"},
              t("j", {"l": "{{ nodes.legal.decision }}", "f": "{{ nodes.finance.decision }}"})],
             [("a", "legal"), ("a", "finance"), ("legal", "j", "approved"),
              ("legal", "j", "rejected"), ("finance", "j", "approved"),
              ("finance", "j", "rejected")],
             {"j": "{{ nodes.j }}"})
    paused, _ = await run_collect(runtime, s)
    assert sorted(i.node_id for i in paused.interrupts) == ["finance", "legal"]
    with pytest.raises(InvalidResponseError, match="several interrupts"):
        await runtime.resume(paused.run_id, {"by": "x", "decision": "approve"})
    by_node = {i.node_id: i.id for i in paused.interrupts}
    mid = await runtime.resume(paused.run_id, {"by": "x", "decision": "reject"},
                               interrupt_id=by_node["finance"])
    assert [i.node_id for i in mid.interrupts] == ["legal"]
    done = await runtime.resume(paused.run_id, {"by": "y", "decision": "approve"},
                                interrupt_id=by_node["legal"])
    assert done.outputs == {"j": {"l": "approved", "f": "rejected"}}


async def test_approval_timeout_per_on_timeout(runtime: WorkflowRuntime) -> None:
    s = spec([approval(timeout="PT1H", on_timeout="route"), t("late", "timed out")],
             [("ask", "late", "timeout")], {"late": "{{ nodes.late | default(none) }}"})
    paused, _ = await run_collect(runtime, s, {"amount": 1})
    assert paused.interrupts[0].due_at is not None
    assert await runtime.fire_due(datetime.now(UTC)) == []
    fired = await runtime.fire_due(datetime.now(UTC) + timedelta(hours=2))
    assert fired == [paused.run_id]
    done = await runtime.result(paused.run_id)
    assert done.status == "completed" and done.outputs == {"late": "timed out"}


async def test_input_is_validated_against_schema(runtime: WorkflowRuntime) -> None:
    schema = {"type": "object", "required": ["size"],
              "properties": {"size": {"type": "integer", "minimum": 1}}}
    s = spec([{"id": "form", "type": "input", "prompt": "How many?", "schema": schema},
              t("use", "{{ nodes.form.size * 2 }}")],
             [("form", "use")], {"double": "{{ nodes.use }}"})
    paused, _ = await run_collect(runtime, s)
    assert paused.interrupts[0].payload["prompt"] == "How many?"
    with pytest.raises(InvalidResponseError, match="minimum"):
        await runtime.resume(paused.run_id, {"size": 0})
    assert (await runtime.result(paused.run_id)).status == "paused"
    done = await runtime.resume(paused.run_id, {"size": 21})
    assert done.outputs == {"double": 42}


async def test_wait_reports_due_time_and_fires(runtime: WorkflowRuntime) -> None:
    s = spec([{"id": "nap", "type": "wait", "duration": "PT10M"}, t("after", "awake")],
             [("nap", "after")], {"after": "{{ nodes.after }}"})
    paused, _ = await run_collect(runtime, s)
    (pending,) = paused.interrupts
    due = datetime.fromisoformat(pending.due_at or "")
    assert timedelta(minutes=9) < due - datetime.now(UTC) <= timedelta(minutes=10)
    assert await runtime.fire_due() == []
    assert await runtime.fire_due(due + timedelta(seconds=1)) == [paused.run_id]
    assert (await runtime.result(paused.run_id)).outputs == {"after": "awake"}


async def test_wait_until_past_completes_immediately(runtime: WorkflowRuntime) -> None:
    s = spec([{"id": "nap", "type": "wait", "until": "2020-01-01T00:00:00Z"}], [])
    result, _ = await run_collect(runtime, s)
    assert result.status == "completed"


async def test_signal_resumes_by_name(runtime: WorkflowRuntime) -> None:
    s = spec([{"id": "hook", "type": "signal", "signal": "payment.received", "timeout": "P1D"},
              t("paid", "{{ nodes.hook.data.amount }}"), t("late", "no payment")],
             [("hook", "paid"), ("hook", "late", "timeout")],
             {"paid": "{{ nodes.paid | default(none) }}"})
    paused, _ = await run_collect(runtime, s)
    with pytest.raises(RunStateError, match="no node waiting"):
        await runtime.signal(paused.run_id, "other")
    done = await runtime.signal(paused.run_id, "payment.received", {"amount": 12})
    assert done.outputs == {"paid": 12}


async def test_resume_of_a_completed_run_is_refused(runtime: WorkflowRuntime) -> None:
    result, _ = await run_collect(runtime, spec([t("a", 1)], []))
    with pytest.raises(RunStateError, match="completed, not paused"):
        await runtime.resume(result.run_id, {"by": "a", "decision": "approve"})


async def test_approval_in_map_items_pauses_each_item(runtime: WorkflowRuntime) -> None:
    s = spec([{"id": "m", "type": "map", "items": "{{ ['a', 'b'] }}",
               "body": {"nodes": [{"id": "ok", "type": "approval", "question": "{{ item }}?"}],
                        "output": "{{ item }}:{{ nodes.ok.decision }}"}}],
             [], {"m": "{{ nodes.m }}"})
    paused, _ = await run_collect(runtime, s)
    assert sorted(i.payload["question"] for i in paused.interrupts) == ["a?", "b?"]
    assert sorted(i.node_id for i in paused.interrupts) == ["m[0].ok", "m[1].ok"]
    by_q = {i.payload["question"]: i.id for i in paused.interrupts}
    await runtime.resume(paused.run_id, {"by": "u", "decision": "reject"}, interrupt_id=by_q["b?"])
    done = await runtime.resume(paused.run_id, {"by": "u", "decision": "approve"},
                                interrupt_id=by_q["a?"])
    assert done.outputs == {"m": ["a:approved", "b:rejected"]}


async def test_concurrent_answers_are_serialised(runtime: WorkflowRuntime) -> None:
    import asyncio

    nodes, edges = decided()
    s = spec(nodes, edges, {"done": "{{ nodes.done }}"})
    paused, _ = await run_collect(runtime, s, {"amount": 1})
    first, second = await asyncio.gather(
        runtime.resume(paused.run_id, {"by": "alice", "decision": "approve"}),
        runtime.resume(paused.run_id, {"by": "bob", "decision": "approve"}),
    )
    assert {first.status, second.status} == {"paused", "completed"}
    done = await runtime.result(paused.run_id)
    assert done.outputs == {"done": {"decision": "approved", "who": ["alice", "bob"]}}


async def test_due_interrupts_are_reported_before_firing(runtime: WorkflowRuntime) -> None:
    s = spec([{"id": "nap", "type": "wait", "duration": "PT5M"}], [])
    paused, _ = await run_collect(runtime, s)
    later = datetime.now(UTC) + timedelta(minutes=6)
    assert await runtime.due_interrupts() == []
    due = await runtime.due_interrupts(later)
    assert [(run_id, i.node_id, i.kind) for run_id, i in due] == [(paused.run_id, "nap", "wait")]


# --- the recorded time of a response is the server's ---------------------------------------


async def test_a_responder_cannot_choose_the_recorded_time(runtime: WorkflowRuntime) -> None:
    nodes, edges = decided()
    s = spec(nodes, edges, {"ask": "{{ nodes.ask }}"})
    paused, _ = await run_collect(runtime, s, {"amount": 1})
    before = await runtime.state(paused.run_id)
    with pytest.raises(InvalidResponseError, match="'at' is recorded by the server"):
        await runtime.resume(paused.run_id, {"by": "alice", "decision": "approve",
                                             "at": "2001-01-01T00:00:00+00:00"})
    assert (await runtime.state(paused.run_id))["checkpoint_id"] == before["checkpoint_id"]
    sent = datetime.now(UTC)
    first = await runtime.resume(paused.run_id, {"by": "alice", "decision": "approve"})
    done = await runtime.resume(paused.run_id, {"by": "bob", "decision": "approve"})
    assert first.status == "paused" and done.status == "completed", done.error
    assert done.outputs is not None
    stamps = [datetime.fromisoformat(r["at"]) for r in done.outputs["ask"]["responses"]]
    assert all(sent - timedelta(seconds=1) <= at <= datetime.now(UTC) for at in stamps)


# --- approval timeouts: every on_timeout -------------------------------------------------


def timing_out(on_timeout: str) -> dict[str, Any]:
    return spec([approval(timeout="PT1H", on_timeout=on_timeout, approvers=["alice", "bob"],
                          min_approvals=2),
                 t("yes", "approved"), t("no", "rejected")],
                [("ask", "yes", "approved"), ("ask", "no", "rejected")],
                {"ask": "{{ nodes.ask }}", "yes": "{{ nodes.yes | default(none) }}",
                 "no": "{{ nodes.no | default(none) }}"})


@pytest.mark.parametrize(("on_timeout", "decision", "port"), [
    ("approve", "approved", "yes"), ("reject", "rejected", "no")])
async def test_approval_timeout_decides_per_on_timeout(
    runtime: WorkflowRuntime, on_timeout: str, decision: str, port: str
) -> None:
    paused, _ = await run_collect(runtime, timing_out(on_timeout), {"amount": 1})
    await runtime.resume(paused.run_id, {"by": "alice", "decision": "approve"})
    assert await runtime.fire_due(datetime.now(UTC)) == []
    assert await runtime.fire_due(datetime.now(UTC) + timedelta(hours=2)) == [paused.run_id]
    done = await runtime.result(paused.run_id)
    assert done.status == "completed", done.error
    assert done.outputs is not None
    assert done.outputs["ask"]["decision"] == decision
    assert done.outputs["ask"]["timed_out"] is True
    assert [r["by"] for r in done.outputs["ask"]["responses"]] == ["alice"]
    other = "no" if port == "yes" else "yes"
    assert (done.outputs[port], done.outputs[other]) == (decision, None)


async def test_approval_timeout_fails_the_run_with_on_timeout_fail(
    runtime: WorkflowRuntime,
) -> None:
    paused, _ = await run_collect(runtime, timing_out("fail"), {"amount": 1})
    assert await runtime.fire_due(datetime.now(UTC) + timedelta(hours=2)) == [paused.run_id]
    done = await runtime.result(paused.run_id)
    assert done.status == "failed"
    assert done.error is not None and done.error["code"] == "approval_timeout"


# --- waits: the fired output reports the pause's due time -----------------------------------


class SteppedClock:
    """The services' clock, moved by the test: a timer fires after "real" time passed."""

    def __init__(self, start: datetime) -> None:
        self.moment = start

    def now(self) -> datetime:
        return self.moment


@pytest.mark.parametrize(("config", "due"), [
    ({"duration": "PT10M"}, "2030-01-01T00:11:00+00:00"),
    ({"until": "2030-01-01T00:30:00Z"}, "2030-01-01T00:30:00+00:00"),
    ({"until": "{{ inputs.at }}"}, "2030-01-01T00:30:00+00:00"),
    ({"cron": "*/5 * * * *"}, "2030-01-01T00:05:00+00:00"),
])
async def test_a_fired_wait_reports_the_due_time_it_paused_for(
    runtime: WorkflowRuntime, config: dict[str, Any], due: str
) -> None:
    clock = SteppedClock(datetime(2030, 1, 1, 0, 1, tzinfo=UTC))
    runtime.services.clock = clock
    s = spec([{"id": "nap", "type": "wait", **config}, t("after", "awake")],
             [("nap", "after")], {"nap": "{{ nodes.nap }}", "after": "{{ nodes.after }}"})
    paused, _ = await run_collect(runtime, s, {"at": "2030-01-01T00:30:00Z"})
    (pending,) = paused.interrupts
    assert (pending.kind, pending.due_at) == ("wait", due)
    fire_at = datetime.fromisoformat(due) + timedelta(minutes=1)
    clock.moment = fire_at  # the node runs again on resume, later than it paused
    assert await runtime.fire_due(fire_at - timedelta(minutes=2)) == []
    assert await runtime.fire_due(fire_at) == [paused.run_id]
    done = await runtime.result(paused.run_id)
    assert done.status == "completed", done.error
    assert done.outputs is not None
    assert done.outputs["after"] == "awake"
    assert done.outputs["nap"]["due_at"] == due
    assert done.outputs["nap"]["fired_at"] is not None


async def test_a_wait_answered_by_resume_reports_the_pause_due_time(
    runtime: WorkflowRuntime,
) -> None:
    clock = SteppedClock(datetime(2030, 1, 1, 0, 1, tzinfo=UTC))
    runtime.services.clock = clock
    s = spec([{"id": "nap", "type": "wait", "cron": "0 12 * * *"}], [],
             {"nap": "{{ nodes.nap }}"})
    paused, _ = await run_collect(runtime, s)
    assert paused.interrupts[0].due_at == "2030-01-01T12:00:00+00:00"
    clock.moment = datetime(2030, 1, 2, 13, 0, tzinfo=UTC)
    done = await runtime.resume(paused.run_id, None)
    assert done.outputs is not None
    assert done.outputs["nap"]["due_at"] == "2030-01-01T12:00:00+00:00"


async def test_wait_until_in_the_future_pauses_until_then(runtime: WorkflowRuntime) -> None:
    until = (datetime.now(UTC) + timedelta(days=3)).replace(microsecond=0)
    s = spec([{"id": "nap", "type": "wait", "until": until.isoformat()}, t("after", "awake")],
             [("nap", "after")], {"after": "{{ nodes.after }}"})
    paused, _ = await run_collect(runtime, s)
    assert paused.status == "paused"
    assert datetime.fromisoformat(paused.interrupts[0].due_at or "") == until
    assert await runtime.fire_due(until - timedelta(seconds=1)) == []
    assert await runtime.fire_due(until) == [paused.run_id]
    assert (await runtime.result(paused.run_id)).outputs == {"after": "awake"}


def test_an_invalid_cron_is_refused_by_validation() -> None:
    from workflow_compiler.validation import check_spec

    found = check_spec(spec([{"id": "nap", "type": "wait", "cron": "every day at noon"}], []))
    assert [(i.code, i.path, i.node_id) for i in found] == [
        ("invalid_cron", "/nodes/0/cron", "nap")]
    assert found[0].hint is not None and "five fields" in found[0].hint


async def test_notify_channels_reach_the_pause_payload_as_written(
    runtime: WorkflowRuntime,
) -> None:
    channels = [{"channel": "webhook", "url": "https://hooks.example.com/approvals"},
                {"channel": "email", "to": ["ops@example.com"]}]
    paused, _ = await run_collect(runtime, spec([approval(notify=channels)], []),
                                  {"amount": 1})
    assert paused.interrupts[0].payload["notify"] == channels
