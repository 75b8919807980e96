"""The steps log counts what every attempt of an llm node spent, not only the last one:
a real WorkflowRuntime persisting into the service database through TortoiseRunStore (on
SQLite and Postgres), its llm node talking to the local OpenAI wire server, which fails a
call after one that was paid for.

Both ways steps are written are covered: a drive from the start (``plan_steps``, the
single-statement writer) and drives after a pause, whose events close a step stored
earlier (``apply_events`` on the stored row).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any
from uuid import UUID

import pytest
from fakes import OpenAIServer, Usage, server_error, text, tool_calls
from fakes.pytest_plugin import no_real_providers
from helpers.db_objects import unique

from shared.database.entities import StepInfo
from shared.database.repositories import (
    EventsRepository,
    RunsRepository,
    StepsRepository,
    VersionsRepository,
    WorkflowsRepository,
)
from shared.database.run_store import TortoiseRunStore
from workflow_compiler.compiler.cache import WorkflowCompiler
from workflow_compiler.nodes.base import ValidationContext
from workflow_compiler.runtime import WorkflowRuntime
from workflow_compiler.runtime.checkpointers import open_checkpointer
from workflow_compiler.services import DictSecrets, HttpPolicy, RuntimeServices
from workflow_compiler.tools.registry import Tool, default_tool_registry

__all__ = ["no_real_providers"]  # imported to register it: autouse for this module

API_KEY = "sk-gw-test-step-usage-key"
KEY_SECRET = "llm_key"
ATTEMPT_EVENTS = ("node.retrying", "node.failed", "node.completed")

runs = RunsRepository()
steps = StepsRepository()
events = EventsRepository()


def _weather(city: str) -> dict[str, Any]:
    return {"city": city, "sky": "sunny"}


WEATHER = Tool("weather.now", "Current weather for a city.", _weather, args_schema={
    "type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"],
    "additionalProperties": False})


@pytest.fixture
def openai() -> Iterator[OpenAIServer]:
    with OpenAIServer(api_key=API_KEY) as server:
        yield server
    assert not server.errors, f"the fake OpenAI server failed: {server.errors!r}"


@pytest.fixture
async def runtime(db: str, checkpointer_url: str) -> AsyncIterator[WorkflowRuntime]:
    tools = default_tool_registry()
    tools.register(WEATHER)
    services = RuntimeServices(tools=tools, secrets=DictSecrets({KEY_SECRET: API_KEY}),
                               http=HttpPolicy(allow_hosts=("127.0.0.1",)))
    compiler = WorkflowCompiler(context=ValidationContext(tool_names=tools.names()))
    async with open_checkpointer(checkpointer_url) as saver:
        yield WorkflowRuntime(checkpointer=saver, store=TortoiseRunStore(), services=services,
                              compiler=compiler)


def _spec(server: OpenAIServer, max_attempts: int = 3, **config: Any) -> dict[str, Any]:
    return {"spec_version": "1", "name": "step-usage", "edges": [],
            "outputs": {"text": "{{ nodes.agent.text }}"},
            "nodes": [{
                "id": "agent", "type": "llm", "provider": "openai", "model": "gpt-4o-mini",
                "base_url": f"{server.url}/v1", "prompt": "What is the weather in Paris?",
                "tools": ["weather.now"], "provider_options": {"api_key_secret": KEY_SECRET},
                "retry": {"max_attempts": max_attempts, "initial_interval": 0.01,
                          "jitter": False},
                **config}]}


def _usage(input_tokens: int, output_tokens: int, calls: int) -> dict[str, int]:
    return {"input_tokens": input_tokens, "output_tokens": output_tokens,
            "total_tokens": input_tokens + output_tokens, "model_calls": calls}


async def _register(owner: UUID, spec: dict[str, Any]) -> str:
    """The service's way: a saved version and a queued run the runtime then drives."""
    workflow = await WorkflowsRepository().create(owner, unique("wf"), spec=spec)
    version, _ = await VersionsRepository().create(owner, workflow.id)
    run, _ = await runs.create(owner, version_id=version.id, inputs={})
    return run.id


async def _agent_step(owner: UUID, run_id: str) -> StepInfo:
    [step] = await steps.list(owner, run_id, node_id="agent")
    return step


async def _attempts_usage(owner: UUID, run_id: str) -> list[dict[str, int]]:
    """The usage each attempt of the agent reported, from the stored events."""
    return [e.data["usage"] for e in await events.list(owner, run_id, limit=1000)
            if e.node_id == "agent" and e.type in ATTEMPT_EVENTS and "usage" in e.data]


async def test_a_retried_step_counts_the_failed_attempts_usage(
        runtime: WorkflowRuntime, openai: OpenAIServer, alice: UUID) -> None:
    openai.script(tool_calls(("weather_now", {"city": "Paris"}), usage=Usage(10, 2)),
                  server_error(500),  # attempt 1 ends here, after one paid call
                  tool_calls(("weather_now", {"city": "Paris"}), usage=Usage(7, 1)),
                  text("Sunny.", usage=Usage(5, 1)))
    spec = _spec(openai)
    run_id = await _register(alice, spec)

    [e async for e in runtime.stream(spec, {}, run_id=run_id)]

    assert (await runs.get(alice, run_id)).status == "completed"
    assert await _attempts_usage(alice, run_id) == [_usage(10, 2, 1), _usage(12, 2, 2)]
    step = await _agent_step(alice, run_id)
    assert (step.status, step.attempt) == ("completed", 2)
    assert step.usage == _usage(22, 4, 3)
    assert step.usage == (await runs.get(alice, run_id)).usage  # the run counts the same
    tool_steps = [s for s in await steps.list(alice, run_id) if s.node_id != "agent"]
    assert len(tool_steps) == 2
    assert all(s.usage is None for s in tool_steps)  # no attempt of theirs reported any


async def test_a_step_that_fails_after_retrying_counts_every_attempt(
        runtime: WorkflowRuntime, openai: OpenAIServer, alice: UUID) -> None:
    openai.script(tool_calls(("weather_now", {"city": "Paris"}), usage=Usage(10, 2)),
                  server_error(500),
                  tool_calls(("weather_now", {"city": "Rome"}), usage=Usage(7, 1)),
                  server_error(503))
    spec = _spec(openai, max_attempts=2)
    run_id = await _register(alice, spec)

    [e async for e in runtime.stream(spec, {}, run_id=run_id)]

    assert (await runs.get(alice, run_id)).status == "failed"
    assert await _attempts_usage(alice, run_id) == [_usage(10, 2, 1), _usage(7, 1, 1)]
    step = await _agent_step(alice, run_id)
    assert (step.status, step.attempt) == ("failed", 2)
    assert step.error is not None
    assert step.error["code"] == "llm_server_error"
    assert step.usage == _usage(17, 3, 2)


async def test_usage_reported_before_a_pause_is_kept_and_added_to_after_it(
        runtime: WorkflowRuntime, openai: OpenAIServer, alice: UUID) -> None:
    """Every weather call waits for an approval, so the step stays open over two pauses:
    its retried attempt is reported in the second drive, its last in the third, which
    adds to the usage the second stored."""
    openai.script(tool_calls(("weather_now", {"city": "Paris"}), usage=Usage(10, 2)),
                  server_error(500),
                  tool_calls(("weather_now", {"city": "Paris"}), usage=Usage(7, 1)),
                  text("Sunny.", usage=Usage(5, 1)))
    spec = _spec(openai, require_approval=["weather.now"])
    run_id = await _register(alice, spec)

    [e async for e in runtime.stream(spec, {}, run_id=run_id)]
    assert (await runs.get(alice, run_id)).status == "paused"
    assert (await _agent_step(alice, run_id)).usage is None  # nothing reported yet

    await runtime.resume(run_id, {"by": "a", "decision": "approve"})  # retried, paused again
    assert (await runs.get(alice, run_id)).status == "paused"
    step = await _agent_step(alice, run_id)
    assert (step.status, step.attempt) == ("running", 2)
    assert step.usage == _usage(10, 2, 1)  # stored while the step is still open

    await runtime.resume(run_id, {"by": "a", "decision": "approve"})

    assert (await runs.get(alice, run_id)).status == "completed"
    assert await _attempts_usage(alice, run_id) == [_usage(10, 2, 1), _usage(12, 2, 2)]
    step = await _agent_step(alice, run_id)
    assert (step.status, step.attempt) == ("completed", 2)
    assert step.usage == _usage(22, 4, 3)
    assert step.usage == (await runs.get(alice, run_id)).usage
