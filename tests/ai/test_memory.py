"""Conversation memory of llm nodes, on every store backend (memory, SQLite, Postgres).

Two layers:

* ``workflow_compiler.llm.memory`` against real LangGraph stores, through the same
  ``NodeContext`` and LangGraph ``Runtime`` an executor gets: keys, isolation, windows cut
  at turn boundaries, redaction, durability when the store is reopened, the ``ai_memory``
  source, and the errors a user sees;
* whole runs through ``WorkflowRuntime`` with an ``openai`` llm node pointed at the local
  OpenAI wire server (``tests/fakes``): what the second run sends the model holds the first
  exchange, and so on. The server records every request, which is what these tests read.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from fakes import OpenAIServer, text, tool_calls
from fakes.pytest_plugin import TEST_ENV
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage, ToolMessage
from langgraph.runtime import Runtime
from langgraph.store.base import BaseStore

from workflow_compiler.compiler.cache import WorkflowCompiler
from workflow_compiler.compiler.context import RunContext
from workflow_compiler.errors import NodeExecutionError, SpecValidationError
from workflow_compiler.llm.memory import (
    ITEM_KEY,
    forget_conversation,
    load_memory,
    memory_namespace,
    read_conversation,
    save_memory,
    trim_window,
)
from workflow_compiler.nodes.base import NodeContext, ValidationContext
from workflow_compiler.runtime import WorkflowRuntime
from workflow_compiler.runtime.checkpointers import open_checkpointer
from workflow_compiler.runtime.stores import open_store
from workflow_compiler.services import RuntimeServices
from workflow_compiler.spec.models import LlmNode, TransformNode
from workflow_compiler.validation import validate_spec

SECRET = "sk-test-SECRET-value"  # the ``api_key`` secret of the root conftest's services


@pytest.fixture
def store_url(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> str:
    if backend == "memory":
        return "memory"
    if backend == "sqlite":
        return str(tmp_path / "memory.sqlite")
    return str(request.getfixturevalue("postgres_url"))


@pytest.fixture
def wf() -> str:
    """A workflow name of this test's own: the Postgres database lives for the session."""
    return f"wf-{uuid.uuid4().hex[:10]}"


@pytest.fixture
async def store(store_url: str) -> AsyncIterator[BaseStore]:
    async with open_store(store_url) as opened:
        yield opened


def llm(memory: dict[str, Any] | None = None, **extra: Any) -> LlmNode:
    return LlmNode.model_validate({"id": "chat", "type": "llm", "provider": "fake",
                                   "model": "m", "prompt": "{{ inputs.message }}",
                                   "memory": memory, **extra})


def node_context(
    store: BaseStore | None, node: LlmNode, inputs: dict[str, Any], *,
    workflow: str, secrets: dict[str, str] | None = None,
    config: dict[str, Any] | None = None,
) -> NodeContext:
    """What the runner hands an executor: the LangGraph Runtime (with the store) in config."""
    run = RunContext(run_id="r1", services=RuntimeServices(), compiler=WorkflowCompiler(),
                     secret_values=dict(secrets or {}), workflow=workflow)
    return NodeContext(node=node, run_id="r1", scope={"inputs": inputs, "nodes": {}},
                       services=run.services,
                       config={"runtime": Runtime(context=run, store=store), "state": {},
                               **(config or {})})


def turn(question: str, answer: str) -> list[BaseMessage]:
    return [HumanMessage(question), AIMessage(answer)]


def contents(messages: list[BaseMessage]) -> list[tuple[str, str]]:
    return [(m.type, m.text) for m in messages]


# --------------------------------------------------------------------------- the module


async def test_same_key_shares_history_and_keys_are_isolated(store: BaseStore, wf: str) -> None:
    node = llm({"key": "{{ inputs.user }}"})
    alice = node_context(store, node, {"user": "alice"}, workflow=wf)
    assert await load_memory(alice, node) == []
    await save_memory(alice, node, [SystemMessage("never stored"), *turn("hi", "hello alice")])

    again = node_context(store, node, {"user": "alice"}, workflow=wf)  # another run, same key
    assert contents(await load_memory(again, node)) == [("human", "hi"), ("ai", "hello alice")]
    await save_memory(again, node, turn("and now?", "still here"))
    assert len(await load_memory(again, node)) == 4

    assert await load_memory(node_context(store, node, {"user": "bob"}, workflow=wf), node) == []
    other_workflow = node_context(store, node, {"user": "alice"}, workflow=f"{wf}-other")
    assert await load_memory(other_workflow, node) == []


async def test_messages_are_stored_as_portable_json(store: BaseStore, wf: str) -> None:
    node = llm({"key": "{{ inputs.user }}"})
    ctx = node_context(store, node, {"user": "ada@example.com"}, workflow=wf)  # dots are escaped
    call = {"name": "math_evaluate", "args": {"expression": "6*7"}, "id": "call_1"}
    await save_memory(ctx, node, [
        HumanMessage("what is 6*7?"),
        AIMessage(content=[{"type": "text", "text": "let me check"}], tool_calls=[call]),
        ToolMessage("42", tool_call_id="call_1", name="math_evaluate"),
        AIMessage("42"),
    ])
    item = await store.aget(("graphwright", "memory", wf, "ada@example%2Ecom"), ITEM_KEY)
    assert item is not None
    assert item.value == {"format": 1, "messages": [
        {"role": "user", "content": "what is 6*7?"},
        {"role": "assistant", "content": "let me check",
         "tool_calls": [{"id": "call_1", "name": "math_evaluate",
                         "args": {"expression": "6*7"}}]},
        {"role": "tool", "content": "42", "tool_call_id": "call_1", "name": "math_evaluate"},
        {"role": "assistant", "content": "42"},
    ]}
    loaded = await load_memory(ctx, node)
    assert isinstance(loaded[1], AIMessage)
    assert loaded[1].tool_calls == [{**call, "type": "tool_call"}]
    assert isinstance(loaded[2], ToolMessage)
    assert loaded[2].tool_call_id == "call_1"
    assert await read_conversation(store, wf, "ada@example.com") == item.value["messages"]
    await forget_conversation(store, wf, "ada@example.com")
    assert await load_memory(ctx, node) == []


async def test_window_keeps_the_last_messages_and_opens_on_a_user_turn(
    store: BaseStore, wf: str
) -> None:
    node = llm({"key": "{{ inputs.user }}", "window": 4})
    ctx = node_context(store, node, {"user": "u"}, workflow=wf)
    for n in range(1, 4):
        await save_memory(ctx, node, turn(f"q{n}", f"a{n}"))
    assert contents(await load_memory(ctx, node)) == [
        ("human", "q2"), ("ai", "a2"), ("human", "q3"), ("ai", "a3")]

    # a turn with a tool call: the cut would land on the tool result, so the window moves
    # on to the next user message instead of opening with an orphan result
    await save_memory(ctx, node, [
        HumanMessage("q4"),
        AIMessage("", tool_calls=[{"name": "t", "args": {}, "id": "c4"}]),
        ToolMessage("r4", tool_call_id="c4"),
        AIMessage("a4"),
    ])
    assert contents(await load_memory(ctx, node)) == [
        ("human", "q4"), ("ai", ""), ("tool", "r4"), ("ai", "a4")]
    await save_memory(ctx, node, turn("q5", "a5"))
    assert contents(await load_memory(ctx, node)) == [("human", "q5"), ("ai", "a5")]
    stored = await read_conversation(store, wf, "u")
    assert [m["content"] for m in stored] == ["q5", "a5"]  # trimmed when written, too


def test_trim_window_never_leaves_a_loose_tool_call() -> None:
    call: dict[str, Any] = {"role": "assistant", "content": "",
            "tool_calls": [{"id": "a", "name": "t", "args": {}},
                           {"id": "b", "name": "t", "args": {}}]}
    conversation: list[dict[str, Any]] = [
        {"role": "user", "content": "q"}, call,
        {"role": "tool", "content": "ra", "tool_call_id": "a"},  # b was never answered
        {"role": "tool", "content": "stray", "tool_call_id": "zzz"},
        {"role": "assistant", "content": "done"},
    ]
    assert trim_window(conversation, 10) == [
        {"role": "user", "content": "q"},
        {**call, "tool_calls": [{"id": "a", "name": "t", "args": {}}]},
        {"role": "tool", "content": "ra", "tool_call_id": "a"},
        {"role": "assistant", "content": "done"},
    ]
    # a window holding no user message keeps nothing: a history opening with the model's
    # turn is refused by Gemini (and a tool call must follow a user turn)
    assert trim_window(conversation, 2) == []
    assert trim_window(conversation, 3) == []  # [call, result, answer]: no user turn
    unanswered: list[dict[str, Any]] = [{"role": "user", "content": "q"},
                  {"role": "assistant", "content": "", "tool_calls": [{"id": "x"}]}]
    assert trim_window(unanswered, 10) == [{"role": "user", "content": "q"}]


async def test_secrets_are_redacted_in_stored_memory(store: BaseStore, wf: str) -> None:
    node = llm({"key": "{{ inputs.user }}"})
    ctx = node_context(store, node, {"user": "u"}, secrets={"api_key": SECRET}, workflow=wf)
    await save_memory(ctx, node, [
        HumanMessage(f"my key is {SECRET}"),
        AIMessage("", tool_calls=[{"name": "login", "args": {"token": SECRET}, "id": "c"}]),
        ToolMessage(f"logged in with {SECRET}", tool_call_id="c"),
        AIMessage("done"),
    ])
    stored = await read_conversation(store, wf, "u")
    assert SECRET not in repr(stored)
    assert stored[0]["content"] == "my key is ***"
    assert stored[1]["tool_calls"][0]["args"] == {"token": "***"}
    assert stored[2]["content"] == "logged in with ***"


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
async def test_memory_survives_reopening_the_store(store_url: str, wf: str) -> None:
    node = llm({"key": "{{ inputs.user }}"})
    async with open_store(store_url) as first:
        ctx = node_context(first, node, {"user": "u"}, workflow=wf)
        await save_memory(ctx, node, turn("q1", "a1"))
    async with open_store(store_url) as second:
        ctx = node_context(second, node, {"user": "u"}, workflow=wf)
        assert contents(await load_memory(ctx, node)) == [("human", "q1"), ("ai", "a1")]


async def test_concurrent_writes_to_one_conversation_keep_every_turn(
    store: BaseStore, wf: str
) -> None:
    node = llm({"key": "{{ inputs.user }}", "window": 100})
    await asyncio.gather(*(
        save_memory(node_context(store, node, {"user": "u"}, workflow=wf), node,
                    turn(f"q{n}", f"a{n}"))
        for n in range(8)))
    stored = await read_conversation(store, wf, "u")
    assert sorted(m["content"] for m in stored if m["role"] == "user") == [
        f"q{n}" for n in range(8)]


async def test_ai_memory_source_gives_the_same_memory(store: BaseStore, wf: str) -> None:
    node = llm()
    source = TransformNode.model_validate(
        {"id": "remember", "type": "transform",
         "value": {"key": "ticket-{{ inputs.ticket }}", "window": 2}})
    ctx = node_context(store, node, {"ticket": 7}, config={"memory_source": source}, workflow=wf)
    await save_memory(ctx, node, [*turn("q1", "a1"), *turn("q2", "a2")])
    assert contents(await load_memory(ctx, node)) == [("human", "q2"), ("ai", "a2")]
    assert await read_conversation(store, wf, "ticket-7") != []

    bad = TransformNode.model_validate({"id": "remember", "type": "transform", "value": "x"})
    ctx = node_context(store, node, {}, config={"memory_source": bad}, workflow=wf)
    with pytest.raises(NodeExecutionError) as caught:
        await load_memory(ctx, node)
    assert caught.value.code == "invalid_memory_source"


async def test_without_memory_load_and_save_do_nothing(store: BaseStore, wf: str) -> None:
    node = llm()
    ctx = node_context(store, node, {"user": "u"}, workflow=wf)
    assert await load_memory(ctx, node) == []
    await save_memory(ctx, node, turn("q", "a"))
    assert await store.asearch(memory_namespace(wf, "u")[:3]) == []


@pytest.mark.parametrize("backend", ["memory"])
@pytest.mark.parametrize(("inputs", "says"), [
    ({}, "is empty for this run"),
    ({"user": ""}, "is empty for this run"),
    ({"user": {"id": 1}}, "gave a dict"),
    ({"user": "x" * 600}, "at most 512"),
])
async def test_bad_keys_fail_the_node_clearly(
    store: BaseStore, wf: str, inputs: dict[str, Any], says: str
) -> None:
    node = llm({"key": "{{ inputs.user | default('') }}"})
    with pytest.raises(NodeExecutionError, match=says) as caught:
        await load_memory(node_context(store, node, inputs, workflow=wf), node)
    assert caught.value.code == "invalid_memory_key"


async def test_without_a_store_memory_is_unavailable(wf: str) -> None:
    node = llm({"key": "{{ inputs.user }}"})
    with pytest.raises(NodeExecutionError, match="without a LangGraph store") as caught:
        await load_memory(node_context(None, node, {"user": "u"}, workflow=wf), node)
    assert caught.value.code == "memory_unavailable"


def test_namespace_labels_hold_no_dots() -> None:
    assert memory_namespace("shop.v2", "a.b%c") == (
        "graphwright", "memory", "shop%2Ev2", "a%2Eb%25c")


# --------------------------------------------------------------------------- wiring


async def test_runtime_compiles_its_memory_store_into_the_graph(tmp_path: Path) -> None:
    spec = {"spec_version": "1", "name": "w",
            "nodes": [{"id": "a", "type": "transform", "value": 1}]}
    default = WorkflowRuntime()
    compiled = default.compiler.compile(spec)
    graph = compiled.with_checkpointer(default.checkpointer, default.memory_store)
    assert graph.store is default.memory_store
    assert compiled.with_checkpointer(default.checkpointer, default.memory_store) is graph

    # one SQLite file can hold both the checkpoints and the memory store
    path = str(tmp_path / "graphwright.sqlite")
    async with open_checkpointer(path) as saver, open_store(path) as store:
        runtime = WorkflowRuntime(checkpointer=saver, memory_store=store)
        result = await runtime.start(spec)
        assert result.status == "completed", result.error
        assert compiled.with_checkpointer(saver, store).store is store
        assert compiled.with_checkpointer(saver, store) is not graph
        await store.aput(("graphwright", "probe"), "k", {"v": 1})
        assert (await store.aget(("graphwright", "probe"), "k")) is not None


def ai_memory_spec(source_value: Any, **llm_extra: Any) -> dict[str, Any]:
    return {
        "spec_version": "1", "name": "w",
        "nodes": [
            {"id": "remember", "type": "transform", "value": source_value},
            {"id": "chat", "type": "llm", "provider": "fake", "model": "m",
             "prompt": "{{ inputs.q }}", **llm_extra},
        ],
        "edges": [{"from": "remember", "to": "chat", "kind": "ai_memory"}],
    }


def test_a_well_formed_ai_memory_source_validates() -> None:
    validate_spec(ai_memory_spec({"key": "{{ inputs.user }}", "window": 10}))


@pytest.mark.parametrize(("value", "says"), [
    ("{{ inputs.user }}", "no \"key\""),
    ({"key": "{{ inputs.user }}", "window": 0}, "from 1 to 1000"),
    ({"key": "{{ inputs.user }}", "size": 3}, "not 'size'"),
    ({"key": ""}, "non-empty string"),
])
def test_a_malformed_ai_memory_source_is_reported(value: Any, says: str) -> None:
    with pytest.raises(SpecValidationError) as caught:
        validate_spec(ai_memory_spec(value))
    (issue,) = [i for i in caught.value.issues if i.code == "invalid_ai_edge"]
    assert (issue.path, issue.node_id) == ("/edges/0/from", "remember")
    assert says in issue.message


def test_two_memories_for_one_node_are_reported() -> None:
    twice = ai_memory_spec({"key": "{{ inputs.user }}"})
    twice["nodes"].append({"id": "again", "type": "transform", "value": {"key": "x"}})
    twice["edges"].append({"from": "again", "to": "chat", "kind": "ai_memory"})
    with pytest.raises(SpecValidationError) as caught:
        validate_spec(twice)
    assert [(i.code, i.path) for i in caught.value.issues] == [
        ("invalid_ai_edge", "/edges/1")]


# --------------------------------------------------------------------------- whole runs
# These run the real llm node (provider ``openai`` through langchain-openai) against the
# local OpenAI wire server, and read what it was sent.


def chat_spec(name: str, *, memory: dict[str, Any] | None = None,
              before: list[dict[str, Any]] | None = None,
              extra_edges: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    nodes = [*(before or []),
             {"id": "chat", "type": "llm", "provider": "openai", "model": "gpt-4o-mini",
              "base_url": "{{ inputs.base_url }}",
              "system_prompt": "You are a support agent.",
              "prompt": "{{ inputs.message }}",
              **({"memory": memory} if memory is not None else {})}]
    edges = [{"from": n["id"], "to": "chat"} for n in before or []]
    return {"spec_version": "1", "name": name,
            "inputs": {"type": "object", "required": ["user", "message", "base_url"],
                       "properties": {"user": {"type": "string"},
                                      "message": {"type": "string"},
                                      "base_url": {"type": "string"}}},
            "nodes": nodes, "edges": [*edges, *(extra_edges or [])],
            "outputs": {"reply": "{{ nodes.chat.text }}"}}


MEMORY = {"key": "{{ inputs.user }}", "window": 20}


@pytest.fixture
def openai_env_server() -> Any:
    """The OpenAI wire server, accepting the key the test environment exports."""
    with OpenAIServer(api_key=TEST_ENV["OPENAI_API_KEY"]) as server:
        yield server
    assert not server.errors


@pytest.fixture
async def chat_runtime(
    checkpointer_url: str, store: BaseStore, services: RuntimeServices
) -> AsyncIterator[WorkflowRuntime]:
    context = ValidationContext(tool_names=services.tools.names())
    async with open_checkpointer(checkpointer_url) as saver:
        yield WorkflowRuntime(checkpointer=saver, memory_store=store, services=services,
                              compiler=WorkflowCompiler(context=context))


def sent(server: OpenAIServer) -> list[list[tuple[str, str]]]:
    """(role, content) of the messages of every chat request the server received."""
    return [[(m["role"], m.get("content") or "") for m in body["messages"]]
            for body in server.bodies("/chat/completions")]


async def chat(runtime: WorkflowRuntime, server: OpenAIServer, user: str, message: str,
               spec: dict[str, Any]) -> dict[str, Any]:
    result = await runtime.start(spec,
                                 {"user": user, "message": message,
                                  "base_url": f"{server.url}/v1"})
    assert result.status == "completed", result.error
    return result.outputs or {}


async def test_runs_with_the_same_key_share_history(
    chat_runtime: WorkflowRuntime, openai_env_server: OpenAIServer, wf: str
) -> None:
    server, spec = openai_env_server, chat_spec(wf, memory=MEMORY)
    server.script(text("Hello Ada!"), text("You said hi."))
    assert await chat(chat_runtime, server, "ada", "hi", spec) == {"reply": "Hello Ada!"}
    assert await chat(chat_runtime, server, "ada", "what did I say?", spec) == {
        "reply": "You said hi."}
    first, second = sent(server)
    system = ("system", "You are a support agent.")
    assert first == [system, ("user", "hi")]
    assert second == [system, ("user", "hi"), ("assistant", "Hello Ada!"),
                      ("user", "what did I say?")]


async def test_runs_with_different_keys_are_isolated(
    chat_runtime: WorkflowRuntime, openai_env_server: OpenAIServer, wf: str
) -> None:
    server, spec = openai_env_server, chat_spec(wf, memory=MEMORY)
    await chat(chat_runtime, server, "ada", "I am Ada", spec)
    await chat(chat_runtime, server, "bob", "I am Bob", spec)
    await chat(chat_runtime, server, "bob", "who am I?", spec)
    *_, bob = sent(server)
    assert [c for r, c in bob if r == "user"] == ["I am Bob", "who am I?"]


async def test_window_limits_what_is_resent(
    chat_runtime: WorkflowRuntime, openai_env_server: OpenAIServer, wf: str
) -> None:
    server = openai_env_server
    spec = chat_spec(wf, memory={"key": "{{ inputs.user }}", "window": 2})
    for n in range(1, 4):
        await chat(chat_runtime, server, "ada", f"q{n}", spec)
    *_, last = sent(server)
    assert last[1:] == [("user", "q2"), ("assistant", "echo: q2"), ("user", "q3")]


async def test_secrets_never_reach_the_stored_memory(
    chat_runtime: WorkflowRuntime, openai_env_server: OpenAIServer, store: BaseStore, wf: str
) -> None:
    server = openai_env_server
    # a tool node reads the secret (so the run knows its value); the model then repeats it
    before = [{"id": "login", "type": "tool", "tool": "test.count",
               "args": {"name": "login", "value": "{{ secrets.api_key }}"}}]
    server.script(text(f"Your key is {SECRET}."))
    outputs = await chat(chat_runtime, server, "ada", "what is my key?",
                         chat_spec(wf, memory=MEMORY, before=before))
    assert outputs == {"reply": "Your key is ***."}
    stored = await read_conversation(store, wf, "ada")
    assert stored == [{"role": "user", "content": "what is my key?"},
                      {"role": "assistant", "content": "Your key is ***."}]


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
async def test_memory_survives_a_new_runtime(
    checkpointer_url: str, store_url: str, services: RuntimeServices,
    openai_env_server: OpenAIServer, wf: str,
) -> None:
    server, spec = openai_env_server, chat_spec(wf, memory=MEMORY)
    for message in ("first visit", "second visit"):
        async with open_checkpointer(checkpointer_url) as saver, \
                open_store(store_url) as store:
            runtime = WorkflowRuntime(checkpointer=saver, memory_store=store,
                                      services=services)
            await chat(runtime, server, "ada", message, spec)
    *_, last = sent(server)
    assert last[1:] == [("user", "first visit"), ("assistant", "echo: first visit"),
                        ("user", "second visit")]


async def test_an_ai_memory_edge_gives_the_node_memory(
    chat_runtime: WorkflowRuntime, openai_env_server: OpenAIServer, wf: str
) -> None:
    server = openai_env_server
    spec = chat_spec(wf, extra_edges=[{"from": "remember", "to": "chat", "kind": "ai_memory"}])
    spec["nodes"].append({"id": "remember", "type": "transform",
                          "value": {"key": "{{ inputs.user }}", "window": 10}})
    await chat(chat_runtime, server, "ada", "hi", spec)
    await chat(chat_runtime, server, "ada", "again", spec)
    *_, last = sent(server)
    assert last[1:] == [("user", "hi"), ("assistant", "echo: hi"), ("user", "again")]


async def test_tool_turns_are_remembered_and_resent_whole(
    chat_runtime: WorkflowRuntime, openai_env_server: OpenAIServer, wf: str
) -> None:
    server = openai_env_server
    spec = chat_spec(wf, memory=MEMORY)
    spec["nodes"][-1]["tools"] = ["math.evaluate"]
    server.script(tool_calls(("math_evaluate", {"expression": "6*7"})), text("It is 42."))
    assert await chat(chat_runtime, server, "ada", "6*7?", spec) == {"reply": "It is 42."}
    await chat(chat_runtime, server, "ada", "thanks", spec)
    *_, last = server.bodies("/chat/completions")
    roles = [m["role"] for m in last["messages"]]
    assert roles == ["system", "user", "assistant", "tool", "assistant", "user"]
    assert last["messages"][2]["tool_calls"][0]["id"] == last["messages"][3]["tool_call_id"]


async def test_llm_nodes_in_map_bodies_remember_too(
    chat_runtime: WorkflowRuntime, openai_env_server: OpenAIServer, store: BaseStore, wf: str
) -> None:
    """Child graphs (map bodies, subworkflows) use their parent's store, under the name of
    the workflow the run started."""
    server = openai_env_server
    body_llm = {"id": "chat", "type": "llm", "provider": "openai", "model": "gpt-4o-mini",
                "base_url": "{{ inputs.base_url }}", "prompt": "hello from {{ item }}",
                "memory": {"key": "{{ item }}"}}
    spec = {"spec_version": "1", "name": wf,
            "nodes": [{"id": "each", "type": "map", "items": "{{ inputs.users }}",
                       "body": {"nodes": [body_llm]}}],
            "outputs": {"replies": "{{ nodes.each | map(attribute='text') | list }}"}}
    inputs = {"users": ["ada", "bob"], "base_url": f"{server.url}/v1"}
    for _ in range(2):
        result = await chat_runtime.start(spec, inputs)
        assert result.status == "completed", result.error
    assert result.outputs == {"replies": ["echo: hello from ada", "echo: hello from bob"]}
    for user in ("ada", "bob"):
        assert [m["content"] for m in await read_conversation(store, wf, user)] == [
            f"hello from {user}", f"echo: hello from {user}"] * 2
