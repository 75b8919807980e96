"""The AI examples (``provider_*.json``, ``agent_*.json``) run end to end through the real
provider SDKs, pointed at the local wire servers of ``tests/fakes`` through the specs' own
``base_url`` input: exactly what a user does with a local OpenAI-compatible server, and
what the specs do against the real APIs when ``base_url`` is left out.

The network guard (``no_real_providers``, autouse here) fails any test that tries to reach
a real host, and the provider keys are the guard's test values.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from fakes import AnthropicServer, GeminiServer, OpenAIServer, structured, text, tool_calls
from fakes.pytest_plugin import TEST_ENV, no_real_providers

from workflow_compiler.compiler.cache import WorkflowCompiler
from workflow_compiler.nodes.base import ValidationContext
from workflow_compiler.runtime import RunEvent, RunResult, WorkflowRuntime
from workflow_compiler.runtime.checkpointers import open_checkpointer
from workflow_compiler.runtime.stores import open_store
from workflow_compiler.services import RuntimeServices

__all__ = ["no_real_providers"]  # imported to make it autouse for this module

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def load(name: str) -> dict[str, Any]:
    spec: dict[str, Any] = json.loads((EXAMPLES / f"{name}.json").read_text(encoding="utf-8"))
    return spec


@pytest.fixture
async def ai_runtime(checkpointer_url: str) -> AsyncIterator[WorkflowRuntime]:
    """Checkpoints and conversation memory in one place (one SQLite file, one Postgres
    database, or memory), with the built-in tools only, as the CLI runs them."""
    services = RuntimeServices()
    context = ValidationContext(tool_names=services.tools.names())
    async with open_checkpointer(checkpointer_url) as saver, \
            open_store(checkpointer_url) as store:
        yield WorkflowRuntime(checkpointer=saver, memory_store=store, services=services,
                              compiler=WorkflowCompiler(context=context))


async def run(runtime: WorkflowRuntime, name: str, inputs: dict[str, Any]
              ) -> tuple[RunResult, list[RunEvent]]:
    events = [e async for e in runtime.stream(load(name), inputs)]
    result = await runtime.result(events[0].run_id)
    assert result.status == "completed", result.error
    return result, events


def tokens(events: list[RunEvent], node_id: str) -> str:
    return "".join(e.data["text"] for e in events
                   if e.type == "llm.token" and e.node_id == node_id)


@pytest.fixture
def openai_server() -> Any:
    with OpenAIServer(api_key=TEST_ENV["OPENAI_API_KEY"]) as server:
        yield server
    assert not server.errors


@pytest.fixture
def anthropic_server() -> Any:
    with AnthropicServer(api_key=TEST_ENV["ANTHROPIC_API_KEY"]) as server:
        yield server
    assert not server.errors


@pytest.fixture
def gemini_server() -> Any:
    with GeminiServer(api_key=TEST_ENV["GOOGLE_API_KEY"]) as server:
        yield server
    assert not server.errors


# --------------------------------------------------------------------------- providers


async def test_provider_openai(ai_runtime: WorkflowRuntime, openai_server: OpenAIServer) -> None:
    openai_server.script(text("Graphwright compiles JSON workflows into LangGraph graphs."))
    result, events = await run(ai_runtime, "provider_openai", {
        "text": "graphwright compiles JSON workflow specs into LangGraph state graphs ...",
        "base_url": f"{openai_server.url}/v1"})
    summary = "Graphwright compiles JSON workflows into LangGraph graphs."
    assert result.outputs == {"summary": summary}
    assert tokens(events, "summarize") == summary  # streamed, token by token
    (body,) = openai_server.bodies("/chat/completions")
    assert body["model"] == "gpt-4o-mini"
    assert body["stream"] is True
    assert body["temperature"] == 0.2
    assert [m["role"] for m in body["messages"]] == ["system", "user"]
    assert body["messages"][1]["content"].startswith("Summarise this text:\n\ngraphwright")


@pytest.mark.parametrize(("judgement", "follow_up"), [
    ({"sentiment": "negative", "reasons": ["arrived late", "lid broken"]},
     "Open a follow-up ticket: arrived late; lid broken"),
    ({"sentiment": "positive", "reasons": ["keeps tea hot"]}, None),
])
async def test_provider_anthropic(
    ai_runtime: WorkflowRuntime, anthropic_server: AnthropicServer,
    judgement: dict[str, Any], follow_up: str | None,
) -> None:
    anthropic_server.script(structured(judgement))
    result, _ = await run(ai_runtime, "provider_anthropic", {
        "review": "The mug arrived late and the lid was broken.",
        "base_url": anthropic_server.url})
    assert result.outputs == {**judgement, "follow_up": follow_up}
    (body,) = anthropic_server.bodies("/v1/messages")
    assert body["model"] == "claude-haiku-4-5"
    assert "sentiment" in json.dumps(body)  # the schema went to the model
    assert body["messages"][0]["role"] == "user"


async def test_provider_gemini(ai_runtime: WorkflowRuntime, gemini_server: GeminiServer) -> None:
    gemini_server.script(text("Bonjour tout le monde"))
    result, events = await run(ai_runtime, "provider_gemini", {
        "text": "Hello everyone", "language": "French", "base_url": gemini_server.url})
    assert result.outputs == {"translation": "Bonjour tout le monde", "language": "French"}
    assert tokens(events, "translate") == "Bonjour tout le monde"
    (request,) = [r for r in gemini_server.requests if "gemini-3.5-flash" in r.path]
    assert request.json["contents"][-1]["parts"][0]["text"] == (
        "Translate into French:\n\nHello everyone")


# --------------------------------------------------------------------------- the agent


async def test_agent_with_tools_and_memory(
    ai_runtime: WorkflowRuntime, openai_server: OpenAIServer
) -> None:
    base_url = f"{openai_server.url}/v1"
    ada, bob = (f"{name}-{uuid.uuid4().hex[:8]}" for name in ("ada", "bob"))  # fresh memories
    openai_server.script(
        # parallel calls: a registry tool and the ai_tool-connected node
        tool_calls(("math_evaluate", {"expression": "3 * 19.99"}),
                   ("round_money", {"value": 12.345})),
        text("Three mugs cost 59.97; the lid is 12.35."),
        text("You asked about three mugs."),
    )
    first, events = await run(ai_runtime, "agent_with_tools_and_memory", {
        "user": ada, "message": "What do 3 mugs at 19.99 cost? And round 12.345.",
        "base_url": base_url})
    assert first.outputs == {"reply": "Three mugs cost 59.97; the lid is 12.35.", "turns": 6}
    tool_outputs = sorted(str(e.data["output"]) for e in events
                          if e.type == "node.completed" and "tool_call" in e.data)
    assert tool_outputs == ["12.35", "59.97"]
    _, after_tools = openai_server.bodies("/chat/completions")
    assert sorted(m["content"] for m in after_tools["messages"] if m["role"] == "tool") == [
        "12.35", "59.97"]

    second, _ = await run(ai_runtime, "agent_with_tools_and_memory", {
        "user": ada, "message": "What did I ask?", "base_url": base_url})
    assert second.outputs == {"reply": "You asked about three mugs.", "turns": 8}
    *_, resent = openai_server.bodies("/chat/completions")
    assert [m["role"] for m in resent["messages"]] == [
        "system", "user", "assistant", "tool", "tool", "assistant", "user"]
    assert resent["messages"][1]["content"].startswith("What do 3 mugs")
    assert resent["messages"][-1]["content"] == "What did I ask?"

    # another user starts from nothing
    await run(ai_runtime, "agent_with_tools_and_memory", {
        "user": bob, "message": "Hi", "base_url": base_url})
    *_, fresh = openai_server.bodies("/chat/completions")
    assert [m["role"] for m in fresh["messages"]] == ["system", "user"]


def test_the_cli_remembers_across_runs(tmp_path: Path, openai_server: OpenAIServer) -> None:
    """The README's commands: two ``graphwright run`` processes, one conversation (memory
    lives in the CLI's SQLite file beside the checkpoints)."""
    from cli.cli_harness import Cli, json_lines

    cli = Cli(home=tmp_path / "home", workdir=tmp_path)
    example = str(EXAMPLES / "agent_with_tools_and_memory.json")
    base_url = f"base_url={openai_server.url}/v1"  # the key: OPENAI_API_KEY, as exported
    openai_server.script(text("Noted, Ada."), text("You are Ada."))
    for message, reply in (("I am Ada", "Noted, Ada."), ("Who am I?", "You are Ada.")):
        result = cli("run", example, "-i", "user=ada", "-i", f"message={message}",
                     "-i", base_url, "--json")
        assert result.returncode == 0, result.stderr
        assert json_lines(result.stdout)[-1]["data"]["outputs"]["reply"] == reply
    *_, last = openai_server.bodies("/chat/completions")
    assert [(m["role"], m["content"]) for m in last["messages"][1:]] == [
        ("user", "I am Ada"), ("assistant", "Noted, Ada."), ("user", "Who am I?")]
    assert TEST_ENV["OPENAI_API_KEY"] not in (tmp_path / "home").joinpath(
        "graphwright.db").read_bytes().decode("latin-1")
