"""``require_approval`` stops a tool call whichever spelling names the tool.

Validation accepts a registry tool by its registry name (``math.sum``) or by the name the
model sees (``math_sum``); a list holding the registry name once let the model's
``math_sum`` call run unapproved. Each case runs the real SDK against the provider's local
wire server: the run must pause before the tool runs, then run it when approved and tell
the model it was refused when rejected.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fakes import Usage, hang, server_error, text, tool_calls
from fixtures_llm import PROVIDERS, Case, dumped, of_type, provider_case

from workflow_compiler.llm.tool_adapters import needs_approval
from workflow_compiler.validation import check_spec

SPELLINGS = ["math.sum", "math_sum"]
CALL = "agent.tools.math_sum[1]"


@pytest.fixture(params=PROVIDERS)
def case(request: pytest.FixtureRequest) -> Iterator[Case]:
    with provider_case(str(request.param)) as provider:
        yield provider


def _spec(case: Case, listed: str) -> dict[str, object]:
    return case.spec(case.llm(prompt="Add 2 and 3", tools=["math.sum"],
                              require_approval=[listed], approvers=["alice"]))


@pytest.mark.parametrize("listed", SPELLINGS)
async def test_either_spelling_pauses_then_an_approval_runs_the_call(
        case: Case, listed: str) -> None:
    case.server.script(tool_calls(("math_sum", {"numbers": [2, 3]})), text("It is 5."))

    paused, first = await case.run(_spec(case, listed))

    assert paused.status == "paused", paused.error
    [pending] = paused.interrupts
    assert pending.payload["tool_call"]["name"] == "math_sum"
    assert of_type(first, "node.started", CALL) == []  # nothing ran before the answer
    done, second = await case.resume(paused.run_id, {"by": "alice", "decision": "approve"})

    assert done.status == "completed", done.error
    [completed] = of_type(second, "node.completed", CALL)
    assert completed.data["output"] == 5
    assert completed.data["tool_call"]["args"] == {"numbers": [2, 3]}
    assert len(case.generation_requests()) == 2


@pytest.mark.parametrize("listed", SPELLINGS)
async def test_either_spelling_pauses_then_a_rejection_refuses_the_call(
        case: Case, listed: str) -> None:
    case.server.script(tool_calls(("math_sum", {"numbers": [2, 3]})), text("Refused."))

    paused, _ = await case.run(_spec(case, listed))
    assert paused.status == "paused", paused.error
    done, events = await case.resume(paused.run_id, {"by": "alice", "decision": "reject"})

    assert done.status == "completed", done.error
    assert of_type(events, "node.started", CALL) == []
    [skipped] = of_type(events, "node.skipped", CALL)
    assert skipped.data["reason"] == "approval_rejected"
    assert "The user refused this call." in dumped(case.generation_requests()[1].json)


def test_validation_accepts_exactly_the_names_that_pause() -> None:
    """The runtime's check and validation's agree: whatever passes validation pauses."""
    def spec(listed: str) -> dict[str, object]:
        return {"spec_version": "1", "name": "n", "nodes": [
            {"id": "agent", "type": "llm", "provider": "fake", "model": "m", "prompt": "p",
             "tools": ["math.sum"], "require_approval": [listed]},
            {"id": "lookup", "type": "tool", "tool": "math.add", "args": {"a": 1}}],
            "edges": [{"from": "lookup", "to": "agent", "kind": "ai_tool"}]}

    for listed, tool in [("math.sum", "math_sum"), ("math_sum", "math_sum"),
                         ("lookup", "lookup")]:
        assert check_spec(spec(listed)) == [], listed
        assert needs_approval(tool, [listed])
    for listed in ("math.add", "math_mean", "agent"):
        assert [i.code for i in check_spec(spec(listed))] == ["unknown_tool"], listed
        assert not needs_approval("math_sum", [listed]) and not needs_approval("lookup", [listed])


async def test_a_retry_after_an_approval_asks_again_for_its_own_calls(case: Case) -> None:
    """A retried attempt calls the model afresh; an answer given about the call of the
    attempt before must not let the new call (other arguments) run."""
    case.server.script(tool_calls(("weather_now", {"city": "Paris"})), server_error(500),
                       tool_calls(("weather_now", {"city": "Oslo"})), text("Both sunny."))
    spec = case.spec(case.llm(tools=["weather.now"], require_approval=["weather.now"]))

    paused, _ = await case.run(spec)
    assert paused.interrupts[0].payload["tool_call"]["args"] == {"city": "Paris"}
    again, second = await case.resume(paused.run_id, {"by": "a", "decision": "approve"})

    assert again.status == "paused", again.error  # not run on the Paris approval
    assert again.interrupts[0].payload["tool_call"]["args"] == {"city": "Oslo"}
    assert len(of_type(second, "node.retrying", "agent")) == 1
    ran = [e.data["tool_call"]["args"] for e in of_type(second, "node.started")
           if "tool_call" in e.data]
    assert ran == [{"city": "Paris"}]
    done, third = await case.resume(paused.run_id, {"by": "a", "decision": "reject"})

    assert done.status == "completed", done.error
    assert [e.data["tool_call"]["args"] for e in of_type(third, "node.started")
            if "tool_call" in e.data] == []
    assert [e.data["tool_call"]["args"] for e in of_type(third, "node.skipped")] == [
        {"city": "Oslo"}]
    # The resumed node replays the first attempt up to its failure, then the retry: the
    # last call continues the retry's conversation, not the first attempt's.
    requests = case.generation_requests()
    assert len(requests) == 4
    assert "Oslo" in dumped(requests[-1].json)
    assert _mentions(requests[-1], "Paris") == _mentions(requests[0], "Paris")  # the prompt
    assert "The user refused this call." in dumped(requests[-1].json)


async def test_a_timed_out_attempt_after_an_approval_replays_in_order(case: Case) -> None:
    """An attempt cut short by the node's timeout is saved as a failure where it stopped,
    so the next resume replays it, then the retry, without calling the model again."""
    case.server.script(tool_calls(("weather_now", {"city": "Paris"})), hang(3),
                       tool_calls(("weather_now", {"city": "Oslo"})), text("Both sunny."))
    spec = case.spec(case.llm(tools=["weather.now"], require_approval=["weather.now"],
                              timeout=1, retry={"max_attempts": 2, "initial_interval": 0.01}))

    paused, _ = await case.run(spec)
    again, second = await case.resume(paused.run_id, {"by": "a", "decision": "approve"})

    assert again.status == "paused", again.error
    assert again.interrupts[0].payload["tool_call"]["args"] == {"city": "Oslo"}
    [retrying] = of_type(second, "node.retrying", "agent")
    assert retrying.data["error"]["code"] == "node_timeout"
    done, third = await case.resume(paused.run_id, {"by": "a", "decision": "approve"})

    assert done.status == "completed", done.error
    assert of_type(third, "node.retrying") == []  # reported once, when it happened
    ran = [e.data["tool_call"]["args"] for e in of_type(third, "node.started")
           if "tool_call" in e.data]
    assert ran == [{"city": "Oslo"}]
    requests = case.generation_requests()
    assert len(requests) == 4
    assert _mentions(requests[-1], "Paris") == _mentions(requests[0], "Paris")
    assert _mentions(requests[-1], "Oslo") >= 2  # the call and its result
    assert done.outputs is not None


async def test_a_timed_out_attempt_reports_what_it_spent(case: Case) -> None:
    case.server.script(tool_calls(("weather_now", {"city": "Paris"}), usage=Usage(10, 2)),
                       hang(3))
    spec = case.spec(case.llm(tools=["weather.now"], timeout=1, retry={"max_attempts": 1}))

    result, events = await case.run(spec)

    assert result.status == "failed"
    assert result.error is not None and result.error["code"] == "node_timeout"
    [failed] = of_type(events, "node.failed", "agent")
    assert failed.data["usage"] == {"input_tokens": 10, "output_tokens": 2,
                                    "total_tokens": 12, "model_calls": 1}
    assert (await case.runtime.get_run(result.run_id)).usage["input_tokens"] == 10


def _mentions(request: Any, word: str) -> int:
    return dumped(request.json).count(word)
