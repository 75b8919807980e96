"""The fake servers refuse the conversations the real APIs refuse, so a replay (memory, the
agent loop) that passes against them is one the providers accept. Rules and wording:

* Gemini: "Please ensure that function call turn comes immediately after a user turn or
  after a function response turn.", "Please ensure that the number of function response
  parts is equal to the number of function call parts of the function call turn." (both
  400 INVALID_ARGUMENT, as reported in google-gemini/gemini-cli#26486 and #3814), and a
  history opening with a model turn ("Please ensure that multiturn requests alternate
  between user and model.", NousResearch/hermes-agent#55427);
* Anthropic: ``tool_result`` blocks answer the previous message's ``tool_use`` blocks and
  come first in the user message, text after them (the API reports results placed after
  other content as missing: shareAI-lab/learn-claude-code#210).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from fakes import GeminiServer
from fakes.anthropic_server import conversation_error as anthropic_error
from fakes.gemini_server import ALTERNATE, CALL_AFTER_USER, RESPONSES_MATCH_CALLS
from fakes.gemini_server import conversation_error as gemini_error
from langchain_core.exceptions import ModelInvalidRequestError
from langchain_core.messages import AIMessage, HumanMessage, ToolMessage


def user(text: str = "hi") -> dict[str, Any]:
    return {"role": "user", "parts": [{"text": text}]}


def model(text: str = "ok") -> dict[str, Any]:
    return {"role": "model", "parts": [{"text": text}]}


def calls(*names: str) -> dict[str, Any]:
    return {"role": "model", "parts": [{"functionCall": {"name": n, "args": {}}} for n in names]}


def responses(*names: str) -> dict[str, Any]:
    return {"role": "user", "parts": [{"functionResponse": {"name": n, "response": {}}}
                                      for n in names]}


@pytest.mark.parametrize(("contents", "problem"), [
    ([user(), model(), user()], None),
    ([user(), calls("a", "b"), responses("a", "b"), model(), user()], None),
    ([user(), calls("a"), responses("a"), calls("b"), responses("b"), model()], None),
    ([model(), user()], ALTERNATE),
    ([calls("a"), responses("a"), user()], ALTERNATE),
    ([user(), model("let me see"), calls("a"), responses("a")], CALL_AFTER_USER),
    ([user(), calls("a", "b"), responses("a"), model()], RESPONSES_MATCH_CALLS),
    ([user(), calls("a"), user("never mind")], RESPONSES_MATCH_CALLS),
    ([user(), responses("a")], RESPONSES_MATCH_CALLS),
])
def test_gemini_function_call_order_rules(contents: list[dict[str, Any]],
                                          problem: str | None) -> None:
    assert gemini_error(contents) == problem


def tool_use(*ids: str) -> dict[str, Any]:
    return {"role": "assistant", "content": [
        {"type": "tool_use", "id": i, "name": "t", "input": {}} for i in ids]}


def result(call_id: str) -> dict[str, Any]:
    return {"type": "tool_result", "tool_use_id": call_id, "content": "r"}


TEXT = {"type": "text", "text": "and now?"}


@pytest.mark.parametrize(("messages", "says"), [
    ([{"role": "user", "content": "q"}, tool_use("a", "b"),
      {"role": "user", "content": [result("a"), result("b"), TEXT]}], None),
    ([{"role": "user", "content": "q"}, tool_use("a"),
      {"role": "user", "content": [TEXT, result("a")]}], "without `tool_result` blocks"),
    ([{"role": "user", "content": "q"}, tool_use("a"),
      {"role": "user", "content": [result("a"), TEXT, result("zz")]}], "unexpected"),
    ([{"role": "user", "content": "q"}, tool_use("a"), {"role": "user", "content": "x"}],
     "without `tool_result` blocks"),
])
def test_anthropic_tool_results_come_first_and_answer_every_call(
        messages: list[dict[str, Any]], says: str | None) -> None:
    problem = anthropic_error(messages)
    if says is None:
        assert problem is None
    else:
        assert problem is not None and says in problem


async def test_the_real_sdk_sees_gemini_refuse_a_history_opening_with_a_model_turn(
        gemini_server: GeminiServer, gemini_chat: Callable[..., Any]) -> None:
    history = [AIMessage("", tool_calls=[{"name": "get_weather", "args": {"city": "Oslo"},
                                          "id": "c1", "type": "tool_call"}]),
               ToolMessage("sunny", tool_call_id="c1", name="get_weather"),
               HumanMessage("Thanks!")]

    with pytest.raises(ModelInvalidRequestError, match="alternate between user and model"):
        await gemini_chat().ainvoke(history)
    assert gemini_server.model.served == []
