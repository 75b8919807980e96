"""Chat messages in and out of the llm node.

In: ``system_prompt``, then ``messages`` (a list of ``{role, content, tool_calls?,
tool_call_id?, name?}`` dicts, or an expression yielding one), then ``prompt`` as the last
user message. Roles: ``system`` (or ``developer``), ``user`` (``human``), ``assistant``
(``ai``), ``tool``. Out: the same dict shape, so a node's ``messages`` output can be fed
to the next node's ``messages`` input unchanged.
"""

from __future__ import annotations

import json
from typing import Any

from langchain_core.messages import (
    AIMessage,
    BaseMessage,
    HumanMessage,
    SystemMessage,
    ToolMessage,
)

from workflow_compiler.errors import NodeExecutionError
from workflow_compiler.nodes.base import NodeContext
from workflow_compiler.spec.models import LlmNode

_ROLES = {"system": "system", "developer": "system", "user": "user", "human": "user",
          "assistant": "assistant", "ai": "assistant", "tool": "tool"}


def _invalid(index: int, problem: str) -> NodeExecutionError:
    return NodeExecutionError(f"messages[{index}] {problem}", code="invalid_messages")


def _content(item: dict[str, Any], index: int) -> str | list[Any]:
    content = item.get("content", "")
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list) and all(isinstance(b, str | dict) for b in content):
        return content  # content blocks (text, images) as the provider accepts them
    if isinstance(content, dict | int | float | bool):
        return json.dumps(content, ensure_ascii=False)
    raise _invalid(index, "has a 'content' that is neither text nor a list of content blocks")


def _tool_calls(item: dict[str, Any], index: int) -> list[dict[str, Any]]:
    calls = item.get("tool_calls") or []
    if not isinstance(calls, list):
        raise _invalid(index, "has 'tool_calls' that is not a list")
    parsed = []
    for n, call in enumerate(calls):
        if not isinstance(call, dict) or not isinstance(call.get("name"), str):
            raise _invalid(index, f"tool_calls[{n}] needs a 'name'")
        args = call.get("args", {})
        if isinstance(args, str):
            try:
                args = json.loads(args)
            except ValueError:
                raise _invalid(index, f"tool_calls[{n}].args is not JSON") from None
        if not isinstance(args, dict):
            raise _invalid(index, f"tool_calls[{n}].args must be an object")
        parsed.append({"name": call["name"], "args": args, "id": str(call.get("id") or f"call_{n}"),
                       "type": "tool_call"})
    return parsed


def to_message(item: Any, index: int) -> BaseMessage:
    """One ``{role, content, ...}`` dict as a LangChain message."""
    if isinstance(item, BaseMessage):
        return item
    if not isinstance(item, dict):
        raise _invalid(index, f"is a {type(item).__name__}, not an object {{role, content}}")
    role = _ROLES.get(str(item.get("role", "")).lower())
    if role is None:
        raise _invalid(index, f"has role {item.get('role')!r}; use system, user, assistant "
                       "or tool")
    content = _content(item, index)
    if role == "system":
        return SystemMessage(content=content)
    if role == "user":
        return HumanMessage(content=content)
    if role == "assistant":
        return AIMessage(content=content, tool_calls=_tool_calls(item, index))
    call_id = item.get("tool_call_id")
    if not isinstance(call_id, str) or not call_id:
        raise _invalid(index, "is a tool result without 'tool_call_id'")
    name = item.get("name")
    return ToolMessage(content=content, tool_call_id=call_id,
                       name=name if isinstance(name, str) else None)


def to_dict(message: BaseMessage) -> dict[str, Any]:
    """A message as the node outputs it: ``{role, content, tool_calls?, tool_call_id?}``."""
    if isinstance(message, AIMessage):
        out: dict[str, Any] = {"role": "assistant", "content": message.text}
        if message.tool_calls:
            out["tool_calls"] = [{"id": c.get("id"), "name": c["name"], "args": c["args"]}
                                 for c in message.tool_calls]
        return out
    if isinstance(message, ToolMessage):
        out = {"role": "tool", "content": message.text, "tool_call_id": message.tool_call_id}
        if message.name:
            out["name"] = message.name
        return out
    role = "system" if isinstance(message, SystemMessage) else "user"
    return {"role": role, "content": message.content}


def build_input(ctx: NodeContext, node: LlmNode) -> tuple[list[BaseMessage], list[BaseMessage]]:
    """(system messages, this call's input messages), templates rendered."""
    system: list[BaseMessage] = []
    if node.system_prompt:
        system.append(SystemMessage(content=_as_text(ctx.render(node.system_prompt))))
    turn: list[BaseMessage] = []
    if node.messages is not None:
        given = ctx.render(node.messages)
        if not isinstance(given, list):
            raise NodeExecutionError(
                f"'messages' must evaluate to a list of messages, not {type(given).__name__}",
                code="invalid_messages")
        turn.extend(to_message(item, i) for i, item in enumerate(given))
    if node.prompt:
        turn.append(HumanMessage(content=_as_text(ctx.render(node.prompt))))
    # system messages given in ``messages`` go first: providers want them there
    system.extend(m for m in turn if isinstance(m, SystemMessage))
    turn = [m for m in turn if not isinstance(m, SystemMessage)]
    if not turn:
        raise NodeExecutionError("the node has no user message to send (empty 'messages' and "
                                 "no 'prompt')", code="invalid_messages")
    return system, turn


def _as_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, default=str)
