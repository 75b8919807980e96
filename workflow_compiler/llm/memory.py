"""Conversation memory for ``llm`` nodes, kept in the LangGraph store (``BaseStore``).

A node remembers a conversation when it has a ``memory`` config, or an ``ai_memory`` edge
from a ``transform`` node whose ``value`` is ``{"key": <template>, "window": <int>}`` (the
same two settings, as a node of their own). The key is a template rendered in the llm
node's scope (``"{{ inputs.user }}"``), so each user, ticket or channel gets its own
history.

Where it lives. One store item per conversation: namespace
``("graphwright", "memory", <workflow>, <rendered key>)``, item key ``"conversation"``,
value ``{"format": 1, "messages": [...]}``. ``<workflow>`` is the name of the workflow the
run started (subworkflows and map bodies share their run's), so two workflows never read
each other's conversations, while two llm nodes of one workflow with the same key share
one (give them different keys, ``"triage:{{ inputs.user }}"``, to keep them apart).
Namespace labels cannot hold ``.``, so ``%``, ``.`` and NUL are percent-encoded.

What is kept. Messages as JSON dicts, ``role`` (user, assistant, tool), ``content``
(text), ``tool_calls`` (``[{id, name, args}]``) and ``tool_call_id``: portable across
providers, readable in the database, and free of SDK-specific payloads. System messages
are never stored (the node sends its ``system_prompt`` on every call). Secret values the
run has met are redacted before anything is written. Only the last ``window`` messages are
kept, cut at a turn boundary so the history opens with a user message (never with a tool
result, which no provider accepts without the call before it, nor with an assistant
message: Gemini refuses a history that opens with a model turn, and a function call turn
that does not follow a user turn), and tool calls left without results are dropped, so
the history is always a valid conversation to resend to any provider. A window too small
to hold a user message keeps nothing (give it at least one whole turn).

Writing re-reads the stored conversation and appends, under a per-conversation lock, so
parallel branches and concurrent runs of one process do not lose each other's turns.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from langchain_core.messages import (
    AIMessage,
    BaseMessage,
    HumanMessage,
    SystemMessage,
    ToolMessage,
)

from workflow_compiler.errors import NodeExecutionError
from workflow_compiler.spec.models import LlmNode, MemoryConfig, NodeBase, TransformNode

if TYPE_CHECKING:
    from langgraph.store.base import BaseStore

    from workflow_compiler.nodes.base import NodeContext

__all__ = [
    "ITEM_KEY",
    "MAX_KEY_LENGTH",
    "NAMESPACE_ROOT",
    "MemorySettings",
    "forget_conversation",
    "from_stored",
    "has_memory",
    "load_memory",
    "memory_namespace",
    "memory_source_problem",
    "read_conversation",
    "resolve_memory",
    "save_memory",
    "to_stored",
    "trim_window",
]

NAMESPACE_ROOT = ("graphwright", "memory")
ITEM_KEY = "conversation"
FORMAT = 1
MAX_KEY_LENGTH = 512
#: the config key under which the executor receives the source node of an ``ai_memory`` edge
SOURCE_CONFIG_KEY = "memory_source"


@dataclass(frozen=True, slots=True)
class MemorySettings:
    """One node's memory for one call: which conversation, and how much of it to keep."""

    key: str  # the rendered key
    window: int
    namespace: tuple[str, ...]


# ---------------------------------------------------------------------------- settings


def has_memory(ctx: NodeContext, node: LlmNode) -> bool:
    """Whether the node remembers (a ``memory`` config or an ``ai_memory`` edge)."""
    return node.memory is not None or ctx.config.get(SOURCE_CONFIG_KEY) is not None


def resolve_memory(ctx: NodeContext, node: LlmNode) -> MemorySettings | None:
    """The node's memory settings with the key rendered; None when it has no memory."""
    config = node.memory
    if config is None:
        source = ctx.config.get(SOURCE_CONFIG_KEY)
        if source is None:
            return None
        config = _config_from_source(ctx, source)
    key = _render_key(ctx, config.key)
    context = _run_context(ctx)
    workflow = context.workflow if context is not None else ""
    return MemorySettings(key=key, window=config.window,
                          namespace=memory_namespace(workflow or "workflow", key))


def memory_namespace(workflow: str, key: str) -> tuple[str, ...]:
    """The store namespace of one conversation (labels percent-encoded: no ``.``)."""
    return (*NAMESPACE_ROOT, _label(workflow), _label(key))


def memory_source_problem(source: Mapping[str, Any]) -> str | None:
    """Why a raw node cannot be the source of an ``ai_memory`` edge, or None if it can.

    The validator reports it as ``invalid_ai_edge``; the same rules apply at run time
    (with the key rendered) for sources it could not judge.
    """
    if source.get("type") != "transform":
        return (f"an ai_memory edge must come from a transform node whose value is "
                f'{{"key": ..., "window": ...}}, not from a {source.get("type")} node')
    value = source.get("value")
    if not isinstance(value, Mapping) or "key" not in value:
        return ('the source of an ai_memory edge must be a transform node whose value is '
                '{"key": "<template>", "window": <messages kept>}; its value has no "key"')
    extra = sorted(set(value) - {"key", "window"})
    if extra:
        return (f"an ai_memory source's value holds only 'key' and 'window', not "
                f"{', '.join(repr(k) for k in extra)}")
    if not isinstance(value["key"], str) or not value["key"].strip():
        return "an ai_memory source's 'key' must be a non-empty string (usually a template)"
    window = value.get("window", MemoryConfig.model_fields["window"].default)
    if not isinstance(window, int) or isinstance(window, bool) or not 1 <= window <= 1000:
        return "an ai_memory source's 'window' must be an integer from 1 to 1000"
    return None


def _config_from_source(ctx: NodeContext, source: Any) -> MemoryConfig:
    if not isinstance(source, NodeBase):
        raise NodeExecutionError(
            f"the ai_memory source handed to this node is a {type(source).__name__}, "
            "not a spec node", code="invalid_memory_source")
    raw = source.model_dump(by_alias=True)
    problem = memory_source_problem(raw)
    if problem is not None or not isinstance(source, TransformNode):
        raise NodeExecutionError(problem or "invalid ai_memory source",
                                 code="invalid_memory_source",
                                 details={"source": source.id})
    value = source.value
    return MemoryConfig(key=value["key"], window=value.get("window", 20))


def _render_key(ctx: NodeContext, template: str) -> str:
    rendered = ctx.render(template)
    if isinstance(rendered, bool) or not isinstance(rendered, str | int | float):
        raise NodeExecutionError(
            f"the memory key {template!r} gave a {type(rendered).__name__}; it must give a "
            "string or a number (e.g. '{{ inputs.user }}')", code="invalid_memory_key")
    key = str(rendered)
    if not key.strip():
        raise NodeExecutionError(
            f"the memory key {template!r} is empty for this run; every conversation needs "
            "a key (is the input it reads missing?)", code="invalid_memory_key")
    if len(key) > MAX_KEY_LENGTH:
        raise NodeExecutionError(
            f"the memory key is {len(key)} characters long; at most {MAX_KEY_LENGTH} "
            "(key by an id, not by content)", code="invalid_memory_key")
    return key


def _label(text: str) -> str:
    return text.replace("%", "%25").replace(".", "%2E").replace("\x00", "%00")


# ---------------------------------------------------------------------------- load / save


async def load_memory(ctx: NodeContext, node: LlmNode) -> list[BaseMessage]:
    """The remembered conversation to send before this call's messages ([] without memory).

    Already trimmed to the node's window and well formed; system messages never included.
    """
    settings = resolve_memory(ctx, node)
    if settings is None:
        return []
    store = _store(ctx)
    try:
        item = await store.aget(settings.namespace, ITEM_KEY)
    except Exception as exc:  # any backend failure: a node error, retryable
        raise _store_error("read", exc) from exc
    stored = _messages_of(item.value if item is not None else None)
    return [from_stored(m) for m in trim_window(stored, settings.window)]


async def save_memory(
    ctx: NodeContext, node: LlmNode, new_messages: Sequence[BaseMessage]
) -> None:
    """Append this call's messages (its user turn and what the model and tools produced,
    not the loaded history) to the conversation, trimmed to the window, secrets redacted.

    A no-op without memory. Call it once the node's result is final, so a retried or
    failed attempt does not leave half a turn behind.
    """
    settings = resolve_memory(ctx, node)
    if settings is None:
        return
    fresh = [to_stored(m) for m in new_messages if not isinstance(m, SystemMessage)]
    if not fresh:
        return
    context = _run_context(ctx)
    if context is not None:
        fresh = context.redact(fresh)
    store = _store(ctx)
    async with _lock_for(store, settings.namespace):
        try:
            item = await store.aget(settings.namespace, ITEM_KEY)
            messages = trim_window([*_messages_of(item.value if item else None), *fresh],
                                   settings.window)
            await store.aput(settings.namespace, ITEM_KEY,
                             {"format": FORMAT, "messages": messages}, index=False)
        except Exception as exc:  # as above
            raise _store_error("write", exc) from exc


async def read_conversation(store: BaseStore, workflow: str, key: str) -> list[dict[str, Any]]:
    """A stored conversation as JSON dicts (for inspection, exports, support tools)."""
    item = await store.aget(memory_namespace(workflow, key), ITEM_KEY)
    return _messages_of(item.value if item is not None else None)


async def forget_conversation(store: BaseStore, workflow: str, key: str) -> None:
    """Delete one conversation (a user asking to be forgotten, a reset command)."""
    await store.adelete(memory_namespace(workflow, key), ITEM_KEY)


def _store(ctx: NodeContext) -> BaseStore:
    runtime = ctx.config.get("runtime")
    store = getattr(runtime, "store", None)
    if store is None:
        raise NodeExecutionError(
            "this llm node has memory, but the graph runs without a LangGraph store "
            "(run it through WorkflowRuntime, which provides one)", code="memory_unavailable")
    return store  # type: ignore[no-any-return]


def _run_context(ctx: NodeContext) -> Any:
    """The run's ``RunContext`` (secrets to redact, the workflow's name), if any."""
    from workflow_compiler.compiler.context import RunContext

    context = getattr(ctx.config.get("runtime"), "context", None)
    return context if isinstance(context, RunContext) else None


def _store_error(action: str, exc: Exception) -> NodeExecutionError:
    return NodeExecutionError(
        f"could not {action} the conversation memory: {type(exc).__name__}: {exc}",
        code="memory_unavailable", retryable=True)


_LOCKS: weakref.WeakValueDictionary[tuple[int, tuple[str, ...]], asyncio.Lock] = (
    weakref.WeakValueDictionary())


def _lock_for(store: BaseStore, namespace: tuple[str, ...]) -> asyncio.Lock:
    key = (id(store), namespace)
    lock = _LOCKS.get(key)
    if lock is None:
        lock = asyncio.Lock()
        _LOCKS[key] = lock
    return lock


def _messages_of(value: Any) -> list[dict[str, Any]]:
    if not isinstance(value, Mapping) or not isinstance(value.get("messages"), list):
        return []
    return [m for m in value["messages"] if isinstance(m, dict) and isinstance(m.get("role"), str)]


# ---------------------------------------------------------------------------- format


def to_stored(message: BaseMessage) -> dict[str, Any]:
    """A LangChain message as the JSON dict memory keeps (text content, tool calls)."""
    content = message.text
    if isinstance(message, AIMessage):
        out: dict[str, Any] = {"role": "assistant", "content": content}
        calls = [{"id": c.get("id") or "", "name": c["name"], "args": dict(c["args"])}
                 for c in message.tool_calls]
        if calls:
            out["tool_calls"] = calls
        return out
    if isinstance(message, ToolMessage):
        out = {"role": "tool", "content": content, "tool_call_id": message.tool_call_id}
        if message.name:
            out["name"] = message.name
        if message.status == "error":
            out["status"] = "error"
        return out
    if isinstance(message, SystemMessage):
        return {"role": "system", "content": content}
    return {"role": "user", "content": content}


def from_stored(message: Mapping[str, Any]) -> BaseMessage:
    """The LangChain message for a stored dict."""
    role, content = message.get("role"), str(message.get("content") or "")
    if role == "assistant":
        calls = [{"id": c.get("id", ""), "name": c.get("name", ""), "args": c.get("args") or {},
                  "type": "tool_call"}
                 for c in message.get("tool_calls") or [] if isinstance(c, dict)]
        return AIMessage(content=content, tool_calls=calls)
    if role == "tool":
        return ToolMessage(content=content, tool_call_id=str(message.get("tool_call_id", "")),
                           name=message.get("name"),
                           status="error" if message.get("status") == "error" else "success")
    if role == "system":
        return SystemMessage(content=content)
    return HumanMessage(content=content)


def trim_window(messages: Sequence[Mapping[str, Any]], window: int) -> list[dict[str, Any]]:
    """The last ``window`` messages, opening at a user turn, with every tool call answered.

    A cut may land inside a turn; the window then starts at its next user message, so it
    never opens with a tool result, a tool call or a reply to a question it no longer
    holds. A window holding no user message keeps nothing.
    """
    kept = [dict(m) for m in _well_formed(messages)][-window:] if window > 0 else []
    start = next((i for i, m in enumerate(kept) if m["role"] == "user"), len(kept))
    return _well_formed(kept[start:])


def _well_formed(messages: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Keep tool results only right after the call they answer, and calls only when a
    result follows (an assistant message left with neither text nor calls goes): providers
    refuse a conversation with either loose end.
    """
    out: list[dict[str, Any]] = []
    index = 0
    while index < len(messages):
        message = dict(messages[index])
        index += 1
        if message.get("role") == "tool":
            continue  # answers no call just before it
        if message.get("role") != "assistant" or not message.get("tool_calls"):
            out.append(message)
            continue
        results: dict[str, dict[str, Any]] = {}
        while index < len(messages) and messages[index].get("role") == "tool":
            result = dict(messages[index])
            results.setdefault(str(result.get("tool_call_id")), result)
            index += 1
        calls = [c for c in message["tool_calls"] if str(c.get("id")) in results]
        if calls:
            message["tool_calls"] = calls
            out.append(message)
            out.extend(results[str(c.get("id"))] for c in calls)
        elif message.get("content"):
            message.pop("tool_calls")
            out.append(message)
    return out
