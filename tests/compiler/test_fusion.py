"""Chains of ``transform`` nodes run as one LangGraph node (``compiler.fusion``).

What a run reports must not depend on it: every spec here runs on a compiler that fuses
and on one that does not, and the outputs, statuses and events (each node's, with its
data) must be the same. A checkpoint saved between two members of a chain (by a graph
that ran them one by one) must still resume on the fused graph.
"""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

import pytest
from helpers.specs import spec, t
from langgraph.checkpoint.memory import InMemorySaver

from workflow_compiler.compiler.cache import WorkflowCompiler
from workflow_compiler.compiler.context import RunContext
from workflow_compiler.compiler.fusion import fused_chains
from workflow_compiler.runtime import RunEvent, WorkflowRuntime
from workflow_compiler.services import RuntimeServices


def cond(node_id: str, expr: str) -> dict[str, Any]:
    return {"id": node_id, "type": "condition", "if": expr}


def tool(node_id: str, text: str) -> dict[str, Any]:
    return {"id": node_id, "type": "tool", "tool": "text.upper", "args": {"text": text}}


LINEAR = spec([t("a", "{{ inputs.x }}"), t("b", "{{ nodes.a ~ 'b' }}"),
               t("c", {"v": "{{ nodes.b ~ 'c' }}"}), t("d", "{{ nodes.c.v | upper }}")],
              [("a", "b"), ("b", "c"), ("c", "d")], {"d": "{{ nodes.d }}"},
              inputs={"type": "object", "properties": {"x": {"type": "string"}}})
BRANCHES = spec(
    [t("start", "{{ inputs.x }}"), cond("check", "{{ nodes.start == 'go' }}"),
     t("yes1", "y1"), t("yes2", "{{ nodes.yes1 }}!"), t("no1", "n1"), t("no2", "{{ nodes.no1 }}?"),
     t("after", "{{ nodes.yes2 | default('-') }}/{{ nodes.no2 | default('-') }}", join="any")],
    [("start", "check"), ("check", "yes1", "true"), ("yes1", "yes2"),
     ("check", "no1", "false"), ("no1", "no2"), ("yes2", "after"), ("no2", "after")],
    {"after": "{{ nodes.after }}"},
    inputs={"type": "object", "properties": {"x": {"type": "string"}}})
MIXED = spec(
    [t("a", "{{ inputs.x }}"), t("b", "{{ nodes.a }}b"), tool("shout", "{{ nodes.b }}"),
     t("c", "{{ nodes.shout }}c"), t("d", "{{ nodes.c }}d"),
     t("p", "p"), t("q", "{{ nodes.p }}q"), t("join", "{{ nodes.d }}+{{ nodes.q }}")],
    [("a", "b"), ("b", "shout"), ("shout", "c"), ("c", "d"), ("d", "join"),
     ("a", "p"), ("p", "q"), ("q", "join")],
    {"join": "{{ nodes.join }}"},
    inputs={"type": "object", "properties": {"x": {"type": "string"}}})
FAILING = spec(
    [t("a", 1), t("b", "{{ nodes.a.missing.deeper }}", on_error="continue"),
     t("c", "{{ nodes.b.error.code }}"), t("d", "{{ nodes.c }}!", when="{{ false }}"),
     t("e", "{{ nodes.d | default('skipped') }}")],
    [("a", "b"), ("b", "c"), ("c", "d"), ("d", "e")], {"e": "{{ nodes.e }}", "c": "{{ nodes.c }}"})
LOOPED = spec(
    [t("init", 0), t("count", {"n": "{{ (nodes.count.n | default(0)) + 1 }}"}),
     t("twice", "{{ nodes.count.n * 2 }}"), cond("more", "{{ nodes.count.n < 3 }}"),
     t("done", "{{ nodes.twice }}"), t("end", "{{ nodes.done }}.")],
    [("init", "count"), ("count", "twice"), ("twice", "more"), ("more", "count", "true"),
     ("more", "done", "false"), ("done", "end")],
    {"end": "{{ nodes.end }}"})
MAPPED = spec(
    [t("items", [1, 2, 3]),
     {"id": "each", "type": "map", "items": "{{ nodes.items }}", "body": {
         "nodes": [t("x", "{{ item * 10 }}"), t("y", "{{ nodes.x + index }}")],
         "edges": [{"from": "x", "to": "y"}], "output": "{{ nodes.y }}"}},
     t("sum", "{{ nodes.each | sum }}"), t("out", "{{ nodes.sum }}!")],
    [("items", "each"), ("each", "sum"), ("sum", "out")], {"out": "{{ nodes.out }}"})
CASES: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {
    "linear": (LINEAR, {"x": "a"}),
    "branch-taken": (BRANCHES, {"x": "go"}),
    "branch-not-taken": (BRANCHES, {"x": "stop"}),
    "mixed": (MIXED, {"x": "a"}),
    "failing": (FAILING, {}),
    "looped": (LOOPED, {}),
    "mapped": (MAPPED, {}),
}


def _seen(events: list[RunEvent]) -> Counter[str]:
    """Each event as what it says (no times, no sequence numbers, no run id)."""
    def said(e: RunEvent) -> str:
        data = {k: v for k, v in e.data.items() if k not in ("duration_ms", "outputs")}
        return json.dumps([e.type, e.node_id, data], sort_keys=True, default=str)
    return Counter(said(e) for e in events)


def _runtime(fuse: bool) -> WorkflowRuntime:
    return WorkflowRuntime(compiler=WorkflowCompiler(fuse=fuse))


@pytest.mark.parametrize("name", list(CASES))
async def test_a_fused_run_reports_what_an_unfused_one_does(name: str) -> None:
    raw, inputs = CASES[name]
    runs = {}
    ends: dict[bool, dict[str, Any]] = {}
    for fuse in (True, False):
        runtime = _runtime(fuse)
        result = await runtime.start(raw, inputs)
        runs[fuse] = (result, await runtime.events(result.run_id))
        [last, *_] = await runtime.history(result.run_id)
        values = (await runtime.checkpoint(result.run_id, last["checkpoint_id"]))["values"]
        ends[fuse] = {k: v for k, v in values.items() if k != "run"}  # its id and time

    (fused, fused_events), (plain, plain_events) = runs[True], runs[False]
    assert fused.status == plain.status == "completed", (fused.error, plain.error)
    assert fused.outputs == plain.outputs
    assert _seen(fused_events) == _seen(plain_events)
    assert ends[True] == ends[False]  # the state the run ends with, every channel
    for node in {e.node_id for e in plain_events if e.node_id}:  # each node's own order
        assert [e.type for e in fused_events if e.node_id == node] == \
            [e.type for e in plain_events if e.node_id == node], node


def test_which_chains_are_fused() -> None:
    compiler = WorkflowCompiler()

    def chains(raw: dict[str, Any]) -> list[tuple[str, ...]]:
        return fused_chains(compiler.compile(raw).plan)

    assert chains(LINEAR) == [("a", "b", "c", "d")]
    assert chains(BRANCHES) == [("yes1", "yes2"), ("no1", "no2")]  # not across the join
    assert sorted(chains(MIXED)) == [("c", "d"), ("p", "q")]  # a has two successors
    assert chains(LOOPED) == [("done", "end")]  # loop members never
    retried = spec([t("a", 1, retry={"max_attempts": 2}), t("b", 2), t("c", 3)],
                   [("a", "b"), ("b", "c")])
    assert chains(retried) == [("b", "c")]  # LangGraph retries a whole node


def test_the_members_after_the_head_stay_in_the_graph() -> None:
    compiled = WorkflowCompiler().compile(LINEAR)
    assert set(compiled.graph.nodes) == {"__start__", "a", "b", "c", "d"}


async def test_the_history_has_one_checkpoint_for_the_chain() -> None:
    fused, plain = _runtime(True), _runtime(False)
    runs = [await rt.start(LINEAR, {"x": "a"}) for rt in (fused, plain)]
    fused_history = await fused.history(runs[0].run_id)
    plain_history = await plain.history(runs[1].run_id)
    assert len(plain_history) - len(fused_history) == 3  # b, c, d ran in a's superstep


async def test_a_checkpoint_between_chain_members_resumes_on_the_fused_graph() -> None:
    """A run checkpointed between ``b`` and ``c`` by a graph running them one by one (an
    earlier version) finishes on the fused graph: the members are still nodes."""
    saver = InMemorySaver()
    unfused = WorkflowCompiler(fuse=False).compile(LINEAR)
    fused = WorkflowCompiler().compile(LINEAR)
    assert fused_chains(fused.plan) == [("a", "b", "c", "d")]
    config: Any = {"configurable": {"thread_id": "legacy"}}
    compiler = WorkflowCompiler()
    context = RunContext(run_id="legacy", services=RuntimeServices(), compiler=compiler)
    graph_input = {"inputs": {"x": "a"}, "run": {"id": "legacy"}, "path": ""}

    stopped = await unfused.with_checkpointer(saver).ainvoke(
        graph_input, config, context=context, interrupt_after=["b"])
    assert set(stopped["nodes"]) == {"a", "b"}
    assert (await unfused.with_checkpointer(saver).aget_state(config)).next == ("c",)
    done = await fused.with_checkpointer(saver).ainvoke(None, config, context=context)

    assert fused.evaluate_outputs(done) == {"d": "ABC"}
    assert set(done["nodes"]) == {"a", "b", "c", "d"}
