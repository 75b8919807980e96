"""An llm node that fails, or fails for a while, through the real SDKs and the providers'
local wire servers: what it reports and what the run counts.

* Tokens are paid for whether or not the node succeeds: ``node.failed`` and
  ``node.retrying`` carry the usage of the attempt they end, and the run's totals add
  them, without counting twice a call handed back after a pause.
* ``max_iterations`` exceeded fails the node with ``max_iterations_exceeded`` after
  exactly that many model calls, each visible in the events.
* Tool-call arguments the model sends as broken JSON are not run; the model is told.
* A 429's ``Retry-After`` is waited for before the retry (capped), not just the policy's
  backoff.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any

import pytest
from fakes import (
    OpenAIServer,
    ToolCall,
    Usage,
    rate_limited,
    server_error,
    structured,
    text,
    tool_calls,
)
from fixtures_llm import KEY_SECRET, PROVIDERS, Case, dumped, of_type, provider_case

CATEGORY = {"type": "object", "required": ["category"], "additionalProperties": False,
            "properties": {"category": {"enum": ["refund", "other"]}}}


@pytest.fixture(params=PROVIDERS)
def case(request: pytest.FixtureRequest) -> Iterator[Case]:
    with provider_case(str(request.param)) as provider:
        yield provider


@pytest.fixture
def openai() -> Iterator[Case]:
    with provider_case("openai") as provider:
        yield provider


def _usage(input_tokens: int, output_tokens: int, calls: int) -> dict[str, int]:
    return {"input_tokens": input_tokens, "output_tokens": output_tokens,
            "total_tokens": input_tokens + output_tokens, "model_calls": calls}


async def _run_usage(case: Case, run_id: str) -> dict[str, int]:
    return (await case.runtime.get_run(run_id)).usage


# -- usage of failed nodes --------------------------------------------------------------------


async def test_structured_output_invalid_twice_reports_and_counts_both_calls(
        case: Case) -> None:
    case.server.script(structured({"category": "maybe"}, usage=Usage(9, 3)),
                       structured({"kind": "refund"}, usage=Usage(14, 4)))

    result, events = await case.run(case.spec(case.llm(output_schema=CATEGORY)))

    assert result.status == "failed"
    assert result.error is not None
    assert result.error["code"] == "invalid_model_output"
    [failed] = of_type(events, "node.failed", "agent")
    assert failed.data["usage"] == _usage(23, 7, 2)
    assert "usage" not in failed.data["error"].get("details", {})  # once, beside the error
    assert await _run_usage(case, result.run_id) == _usage(23, 7, 2)


async def test_max_iterations_exceeded_fails_after_that_many_calls(case: Case) -> None:
    case.server.script(tool_calls(("weather_now", {"city": "Paris"}), usage=Usage(10, 2)),
                       tool_calls(("weather_now", {"city": "Rome"}), usage=Usage(20, 2)),
                       text("never asked for"))

    result, events = await case.run(case.spec(case.llm(tools=["weather.now"],
                                                       max_iterations=2)))

    assert result.status == "failed"
    assert result.error is not None
    assert result.error["code"] == "max_iterations_exceeded"
    assert "max_iterations" in result.error["message"]
    assert len(case.generation_requests()) == 2
    assert case.server.model.remaining == 1
    done = {e.node_id: e.data for e in of_type(events, "node.completed")}
    assert done["agent.tools.weather_now[1]"]["tool_call"]["args"] == {"city": "Paris"}
    assert done["agent.tools.weather_now[2]"]["tool_call"]["args"] == {"city": "Rome"}
    assert "agent" not in done
    [failed] = of_type(events, "node.failed", "agent")
    assert failed.data["error"]["code"] == "max_iterations_exceeded"
    assert failed.data["usage"] == _usage(30, 4, 2)
    assert await _run_usage(case, result.run_id) == _usage(30, 4, 2)


async def test_every_attempt_of_a_retried_node_counts(case: Case) -> None:
    case.server.script(tool_calls(("weather_now", {"city": "Paris"}), usage=Usage(10, 2)),
                       server_error(500),  # attempt 1 ends here, after one paid call
                       tool_calls(("weather_now", {"city": "Paris"}), usage=Usage(7, 1)),
                       text("Sunny.", usage=Usage(5, 1)))

    result, events = await case.run(case.spec(case.llm(tools=["weather.now"])))

    assert result.status == "completed", result.error
    [retrying] = of_type(events, "node.retrying", "agent")
    assert retrying.data["usage"] == _usage(10, 2, 1)
    [completed] = of_type(events, "node.completed", "agent")
    assert completed.data["usage"] == _usage(12, 2, 2)
    assert await _run_usage(case, result.run_id) == _usage(22, 4, 3)


async def test_a_call_made_before_a_pause_counts_once_across_a_retry(case: Case) -> None:
    case.server.script(tool_calls(("weather_now", {"city": "Paris"}), usage=Usage(10, 2)),
                       server_error(500), text("Sunny.", usage=Usage(5, 1)))
    spec = case.spec(case.llm(tools=["weather.now"], require_approval=["weather.now"]))

    paused, first = await case.run(spec)
    assert paused.status == "paused", paused.error
    assert of_type(first, "node.failed") == []  # the pause itself reports nothing
    done, events = await case.resume(paused.run_id, {"by": "a", "decision": "approve"})

    assert done.status == "completed", done.error
    # The first attempt after the resume is handed the call made before the pause and
    # reports it; the retry then calls the model afresh (LangGraph hands saved calls back
    # to the first attempt after a resume only) and reports what it spent.
    [retrying] = of_type(events, "node.retrying", "agent")
    assert retrying.data["usage"] == _usage(10, 2, 1)
    [completed] = of_type(events, "node.completed", "agent")
    assert completed.data["usage"] == _usage(5, 1, 1)
    assert await _run_usage(case, done.run_id) == _usage(15, 3, 2)
    assert len(case.generation_requests()) == 3


async def test_a_rate_limit_on_the_first_call_costs_nothing(case: Case) -> None:
    case.server.script(rate_limited(retry_after=0), rate_limited(retry_after=0))

    result, events = await case.run(case.spec(case.llm(retry={"max_attempts": 2,
                                                              "initial_interval": 0})))

    assert result.status == "failed"
    assert [e.data["usage"] for e in of_type(events, "node.retrying", "agent")] == [
        _usage(0, 0, 0)]
    [failed] = of_type(events, "node.failed", "agent")
    assert failed.data["usage"] == _usage(0, 0, 0)
    assert failed.data["error"]["details"]["retry_after"] == "0"


# -- broken tool-call arguments -------------------------------------------------------------


@pytest.mark.parametrize("responses_api", [False, True], ids=["chat", "responses"])
async def test_unparsable_tool_arguments_go_back_to_the_model(
        openai: Case, responses_api: bool) -> None:
    openai.server.script(
        tool_calls(ToolCall("weather_now", {}, raw_arguments='{"city": Paris}'),
                   ("weather_now", {"city": "Rome"})),
        text("Rome is sunny; which city was the other?"))
    options = {"api_key_secret": KEY_SECRET, "use_responses_api": responses_api}

    result, events = await openai.run(openai.spec(openai.llm(
        tools=["weather.now"], provider_options=options)))

    assert result.status == "completed", result.error
    done = {e.node_id: e.data for e in of_type(events, "node.completed")}
    assert [d["tool_call"]["args"] for d in done.values() if "tool_call" in d] == [
        {"city": "Rome"}]
    [failed] = of_type(events, "node.failed")
    assert failed.node_id == "agent.tools.weather_now[2]"
    assert failed.data["handled"] is True
    assert failed.data["error"]["code"] == "invalid_tool_args"
    assert failed.data["tool_call"]["args"] == '{"city": Paris}'
    second = dumped(_requests(openai.server)[1].json)
    assert "not valid JSON" in second
    assert "sunny" in second  # the good call's result went back beside it


def _requests(server: Any) -> list[Any]:
    assert isinstance(server, OpenAIServer)
    return [r for r in server.requests if r.path.endswith(("/chat/completions", "/responses"))]


# -- Retry-After --------------------------------------------------------------------------------


async def test_a_rate_limited_call_is_retried_no_sooner_than_retry_after(case: Case) -> None:
    case.server.script(rate_limited(retry_after=1), text("after the wait"))

    # The node's policy alone would retry after 0.01 s.
    result, events = await case.run(case.spec(case.llm()))

    assert result.status == "completed", result.error
    [retrying] = of_type(events, "node.retrying", "agent")
    assert retrying.data["error"]["code"] == "llm_rate_limited"
    first, second = case.generation_requests()
    assert second.received_at - first.received_at >= 0.9  # generous: a bound, not a benchmark


@pytest.mark.parametrize("bound", [{"retry": {"max_attempts": 2, "initial_interval": 0.01,
                                             "max_interval": 0.2, "jitter": False}},
                                   {"timeout": 1}], ids=["max_interval", "timeout"])
async def test_a_long_retry_after_is_capped(openai: Case, bound: dict[str, Any]) -> None:
    openai.server.script(rate_limited(retry_after=3600), text("soon enough"))

    async with asyncio.timeout(60):  # uncapped, it would sleep for an hour
        result, _ = await openai.run(openai.spec(openai.llm(**bound)))

    assert result.status == "completed", result.error
    first, second = openai.generation_requests()
    assert second.received_at - first.received_at < 30


def test_retry_after_values() -> None:
    from workflow_compiler.llm.errors import retry_after_seconds

    assert retry_after_seconds("7") == 7.0
    assert retry_after_seconds(" 1.5 ") == 1.5
    assert retry_after_seconds("7s") == 7.0  # Gemini's RetryInfo.retryDelay
    assert retry_after_seconds("-3") == 0.0
    assert retry_after_seconds("soon") is None
    assert retry_after_seconds("nan") is None
    ahead = format_datetime(datetime.now(UTC) + timedelta(seconds=30), usegmt=True)
    seconds = retry_after_seconds(ahead)
    assert seconds is not None and 25 <= seconds <= 30
    assert retry_after_seconds("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0  # already past


def test_gemini_retry_delay_in_the_error_body_is_read() -> None:
    """The real Gemini API sends no Retry-After header: the delay is in the body."""
    from google.genai import errors as genai_errors

    from workflow_compiler.llm.errors import model_error
    from workflow_compiler.providers import get_provider

    body = {"error": {"code": 429, "message": "Resource exhausted", "status":
                      "RESOURCE_EXHAUSTED", "details": [
                          {"@type": "type.googleapis.com/google.rpc.RetryInfo",
                           "retryDelay": "12s"}]}}
    provider = get_provider("gemini")
    assert provider is not None

    error = model_error(genai_errors.ClientError(429, body), provider)

    assert error.code == "llm_rate_limited"
    assert (error.details["retry_after"], error.details["retry_after_s"]) == ("12s", 12.0)


def test_the_extra_wait_tops_up_the_policy_backoff() -> None:
    from workflow_compiler.compiler.retry_after import extra_wait
    from workflow_compiler.spec.models import RetryPolicy

    policy = RetryPolicy(initial_interval=0.5, backoff=2, max_interval=10)
    asked = {"retry_after_s": 3.0}
    assert extra_wait(policy, 1, asked, None) == 2.5  # LangGraph sleeps the other 0.5
    assert extra_wait(policy, 3, asked, None) == 1.0  # its backoff is 2 s by then
    assert extra_wait(policy, 1, {"retry_after_s": 60}, None) == 9.5  # max_interval
    assert extra_wait(policy, 1, asked, remaining=1.5) == 1.0  # the attempt's timeout
    assert extra_wait(policy, 1, asked, remaining=-1) == 0.0
    assert extra_wait(policy, 1, {}, None) == 0.0
    assert extra_wait(policy, 1, {"retry_after_s": True}, None) == 0.0
