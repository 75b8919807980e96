"""Conversation memory replayed through every provider's real SDK.

The store keeps a portable conversation (``{role, content, tool_calls?, tool_call_id?}``);
each run turns it back into LangChain messages that langchain-openai, langchain-anthropic
and langchain-google-genai put on the wire in their provider's own shape. The local wire
servers (``tests/fakes``) refuse what the real APIs refuse: OpenAI tool messages that
answer no call, Anthropic ``tool_use`` blocks not answered by ``tool_result`` blocks at
the start of the next user message, Gemini function call turns that do not follow a user
or function response turn, function response turns whose part count differs from their
call turn's, and histories that open with a model turn. A second run that completes has
therefore sent a valid replay; these tests also read what it sent.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from fakes import text, tool_calls
from fixtures_llm import PROVIDERS, Case, provider_case
from langgraph.store.base import BaseStore

from workflow_compiler.llm.memory import read_conversation
from workflow_compiler.runtime import WorkflowRuntime
from workflow_compiler.runtime.stores import open_store

SYSTEM = "You are a support agent."
QUESTION = "Weather in Paris and Oslo?"
ANSWER = "Sunny in both."


@pytest.fixture(params=PROVIDERS)
def case(request: pytest.FixtureRequest) -> Iterator[Case]:
    with provider_case(str(request.param)) as provider:
        yield provider


@pytest.fixture(params=["memory", "sqlite", "postgres"])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[BaseStore]:
    url = {"memory": "memory", "sqlite": str(tmp_path / "memory.sqlite")}.get(
        str(request.param)) or str(request.getfixturevalue("postgres_url"))
    async with open_store(url) as opened:
        yield opened


def runtime_with(case: Case, store: BaseStore) -> WorkflowRuntime:
    base = case.runtime
    return WorkflowRuntime(memory_store=store, services=base.services, compiler=base.compiler)


def chat_spec(case: Case, name: str, *, window: int = 20, tools: list[str] | None = None
              ) -> dict[str, Any]:
    node = case.llm("chat", system_prompt=SYSTEM, prompt="{{ inputs.message }}",
                    memory={"key": "{{ inputs.user }}", "window": window})
    if tools:
        node["tools"] = tools
    spec = case.spec(node, outputs={"reply": "{{ nodes.chat.text }}"})
    spec["name"] = name
    return spec


async def chat(case: Case, spec: dict[str, Any], message: str, *, user: str = "ada",
               runtime: WorkflowRuntime | None = None) -> str:
    result = await (runtime or case.runtime).start(spec, {"user": user, "message": message})
    assert result.status == "completed", result.error
    return str((result.outputs or {})["reply"])


# -- what each provider was sent, as (kind, value) steps ------------------------------


def _result_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, list):  # content blocks
        return "".join(b.get("text", "") for b in value if isinstance(b, dict))
    return json.dumps(value, sort_keys=True)


def _openai(body: dict[str, Any]) -> tuple[str | None, list[tuple[str, Any]]]:
    system, steps = None, []
    for m in body["messages"]:
        if m["role"] == "system":
            system = m["content"]
        elif m["role"] == "tool":
            steps.append(("result", (m["tool_call_id"], _result_text(m["content"]))))
        else:
            if m.get("content"):
                steps.append((m["role"], _result_text(m["content"])))
            steps.extend(("call", (c["id"], c["function"]["name"]))
                         for c in m.get("tool_calls") or [])
    return system, steps


def _anthropic(body: dict[str, Any]) -> tuple[str | None, list[tuple[str, Any]]]:
    system = body.get("system")
    steps: list[tuple[str, Any]] = []
    for m in body["messages"]:
        blocks = m["content"] if isinstance(m["content"], list) else [
            {"type": "text", "text": m["content"]}]
        for b in blocks:
            if b["type"] == "text" and b["text"]:
                steps.append((m["role"], b["text"]))
            elif b["type"] == "tool_use":
                steps.append(("call", (b["id"], b["name"])))
            elif b["type"] == "tool_result":
                steps.append(("result", (b["tool_use_id"], _result_text(b["content"]))))
    return _result_text(system) if system is not None else None, steps


def _gemini(body: dict[str, Any]) -> tuple[str | None, list[tuple[str, Any]]]:
    instruction = body.get("systemInstruction") or body.get("system_instruction")
    system = _result_text((instruction or {}).get("parts")) if instruction else None
    steps: list[tuple[str, Any]] = []
    for content in body["contents"]:
        role = "assistant" if content.get("role") == "model" else "user"
        for part in content.get("parts") or []:
            if part.get("text"):
                steps.append((role, part["text"]))
            elif "functionCall" in part:  # Gemini pairs by name and position, not ids
                steps.append(("call", (None, part["functionCall"]["name"])))
            elif "functionResponse" in part:
                response = part["functionResponse"]
                steps.append(("result", (None, _result_text(response.get("response")))))
    return system, steps


def sent(case: Case, index: int = -1) -> tuple[str | None, list[tuple[str, Any]]]:
    """(system prompt, steps) of one generation request the provider's server received."""
    body = case.generation_requests()[index].json
    return {"openai": _openai, "anthropic": _anthropic, "gemini": _gemini}[case.name](body)


def kinds(steps: list[tuple[str, Any]]) -> list[str]:
    return [kind if kind in ("call", "result") else f"{kind}:{value}" for kind, value in steps]


# -- tests ------------------------------------------------------------------------------


async def test_a_second_run_with_the_same_key_sees_the_first_conversation(
    case: Case, request: pytest.FixtureRequest
) -> None:
    spec = chat_spec(case, f"mem-{request.node.callspec.id}")
    case.server.script(text("Hello Ada!"), text("You are Ada."))

    assert await chat(case, spec, "My name is Ada.") == "Hello Ada!"
    assert await chat(case, spec, "Who am I?") == "You are Ada."
    assert await chat(case, spec, "Hi, I am new.", user="bob") == "echo: Hi, I am new."

    system, first = sent(case, 0)
    assert system == SYSTEM
    assert first == [("user", "My name is Ada.")]
    system, second = sent(case, 1)
    assert system == SYSTEM  # the system prompt is sent, never remembered
    assert second == [("user", "My name is Ada."), ("assistant", "Hello Ada!"),
                      ("user", "Who am I?")]
    assert sent(case, 2)[1] == [("user", "Hi, I am new.")]  # another key, its own history


async def test_the_window_limits_what_is_replayed(case: Case, request: pytest.FixtureRequest
                                                  ) -> None:
    spec = chat_spec(case, f"mem-{request.node.callspec.id}", window=2)
    for n in (1, 2, 3):
        await chat(case, spec, f"q{n}")

    assert sent(case)[1] == [("user", "q2"), ("assistant", "echo: q2"), ("user", "q3")]


async def test_tool_turns_are_replayed_as_valid_call_and_result_pairs(
    case: Case, store: BaseStore, request: pytest.FixtureRequest
) -> None:
    name = f"mem-{request.node.callspec.id}"
    spec = chat_spec(case, name, tools=["weather.now"])
    runtime = runtime_with(case, store)
    case.server.script(
        tool_calls(("weather_now", {"city": "Paris"}), ("weather_now", {"city": "Oslo"})),
        text(ANSWER), text("You asked about Paris and Oslo."))

    assert await chat(case, spec, QUESTION, runtime=runtime) == ANSWER
    assert await chat(case, spec, "What did I ask?", runtime=runtime) == (
        "You asked about Paris and Oslo.")

    stored = await read_conversation(store, name, "ada")
    assert [m["role"] for m in stored] == ["user", "assistant", "tool", "tool", "assistant",
                                           "user", "assistant"]
    _system, replay = sent(case)
    assert kinds(replay) == [f"user:{QUESTION}", "call", "call", "result", "result",
                             f"assistant:{ANSWER}", "user:What did I ask?"]
    calls = [value for kind, value in replay if kind == "call"]
    results = [value for kind, value in replay if kind == "result"]
    assert [c[1] for c in calls] == ["weather_now", "weather_now"]
    assert "Paris" in results[0][1] and "Oslo" in results[1][1]
    if case.name != "gemini":  # ids pair each result with its call
        assert [r[0] for r in results] == [c[0] for c in calls]
        assert all(c[0] for c in calls)
    # the replay is what the first run sent on its second call, plus its answer
    _system, loop_call = sent(case, 1)
    assert replay[:len(loop_call)] == loop_call


async def test_a_window_cut_inside_a_tool_turn_never_replays_half_of_it(
    case: Case, request: pytest.FixtureRequest
) -> None:
    # after two runs the last 4 messages are the call turn, its two results and the
    # answer: no user turn among them, so nothing is replayed rather than a turn without
    # its question (Gemini refuses a history opening with a model turn)
    spec = chat_spec(case, f"mem-{request.node.callspec.id}", window=4, tools=["weather.now"])
    case.server.script(
        text("a1"),
        tool_calls(("weather_now", {"city": "Paris"}), ("weather_now", {"city": "Oslo"})),
        text(ANSWER))
    await chat(case, spec, "q1")
    await chat(case, spec, QUESTION)
    await chat(case, spec, "And tomorrow?")

    assert sent(case)[1] == [("user", "And tomorrow?")]


async def test_a_window_holding_the_whole_tool_turn_replays_it(
    case: Case, request: pytest.FixtureRequest
) -> None:
    spec = chat_spec(case, f"mem-{request.node.callspec.id}", window=5, tools=["weather.now"])
    case.server.script(
        text("a1"),
        tool_calls(("weather_now", {"city": "Paris"}), ("weather_now", {"city": "Oslo"})),
        text(ANSWER))
    await chat(case, spec, "q1")
    await chat(case, spec, QUESTION)
    await chat(case, spec, "And tomorrow?")

    assert kinds(sent(case)[1]) == [f"user:{QUESTION}", "call", "call", "result", "result",
                                    f"assistant:{ANSWER}", "user:And tomorrow?"]
