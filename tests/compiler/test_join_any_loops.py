"""`join: "any"` inside loops, and branches of very different lengths into it.

A pass of a loop ends only when every node of its body has fired for that pass, live or
dead. A `join: "any"` fires once per pass at the first live arrival and absorbs the later
arrivals of the same pass; none of them may land in the next pass. Slowness here is
structural (a chain of nodes, so more supersteps), which is what lets one branch lag behind
another: a superstep waits for all its tasks, so a sleeping node would not.

Each body node records the pass it ran in (``nodes.<header>.n``), so a node of pass k that
ran after the header's pass k+1 shows up as a wrong pass number; events are also cut at
every firing of the loop header, and each piece must hold one firing of every body node.
"""

from __future__ import annotations

import itertools
import random
from collections import Counter
from typing import Any

import pytest
from helpers.specs import fired, run_collect, spec, t
from helpers.tools import Calls

from workflow_compiler.runtime import RunEvent, WorkflowRuntime

FIRES = ("node.completed", "node.skipped")
LENGTHS = [1, 2, 5, 9]


def count(node_id: str, name: str, value: Any = None, **extra: Any) -> dict[str, Any]:
    args: dict[str, Any] = {"name": name}
    if value is not None:
        args["value"] = value
    return {"id": node_id, "type": "tool", "tool": "test.count", "args": args, **extra}


def cond(node_id: str, expr: str) -> dict[str, Any]:
    return {"id": node_id, "type": "condition", "if": expr}


def counter(node_id: str, **extra: Any) -> dict[str, Any]:
    return t(node_id, {"n": f"{{{{ (nodes.{node_id}.n | default(0)) + 1 }}}}"}, **extra)


def chain(prefix: str, length: int, value: Any, *, steps: bool = False
          ) -> tuple[list[dict[str, Any]], list[tuple[str, ...]]]:
    """``prefix1 -> ... -> prefix<length>``, each node outputting ``value``. Outside loops
    a chain of transforms runs in one superstep (``compiler.fusion``); ``steps`` makes it
    tool nodes (a text ``value``, lower-cased), one superstep each: a slow branch."""
    ids = [f"{prefix}{i}" for i in range(1, length + 1)]
    nodes = [{"id": i, "type": "tool", "tool": "text.lower", "args": {"text": value}}
             if steps else t(i, value) for i in ids]
    return nodes, list(itertools.pairwise(ids))


def outputs_of(events: list[RunEvent], node_id: str) -> list[Any]:
    return [e.data["output"] for e in events
            if e.type == "node.completed" and e.node_id == node_id]


def per_pass(events: list[RunEvent], header: str, body: list[str]) -> list[Counter[str]]:
    """Firings (completed or skipped) of ``body`` nodes between two firings of ``header``.
    The last piece runs to the end of the run."""
    pieces: list[Counter[str]] = []
    members = set(body)
    for e in events:
        if e.type not in FIRES:
            continue
        if e.node_id == header:
            pieces.append(Counter())
        elif e.node_id in members and pieces:
            pieces[-1][e.node_id] += 1
    return pieces


def once_each(body: list[str]) -> Counter[str]:
    return Counter({n: 1 for n in body})


# --------------------------------------------------------------------------- one loop


def single_loop(slow: int) -> dict[str, Any]:
    """head -> fast -> j(any); head -> s1 -> ... -> s<slow> -> j; j -> after -> more?"""
    chain_nodes, chain_edges = chain("s", slow, "{{ nodes.head.n }}")
    last = f"s{slow}"
    return spec(
        [t("init", 0), counter("head"), t("fast", "{{ nodes.head.n }}"), *chain_nodes,
         t("j", {"pass": "{{ nodes.head.n }}", "fast": "{{ nodes.fast | default(none) }}",
                 "slow": f"{{{{ nodes.{last} | default(none) }}}}"}, join="any"),
         count("after", "after", "{{ nodes.j.pass }}"),
         cond("more", "{{ nodes.head.n < inputs.passes }}"),
         t("done", {"j": "{{ nodes.j }}", "slow": f"{{{{ nodes.{last} | default(none) }}}}"})],
        [("init", "head"), ("head", "fast"), ("head", "s1"), *chain_edges,
         ("fast", "j"), (last, "j"), ("j", "after"), ("after", "more"),
         ("more", "head", "true"), ("more", "done", "false")],
        {"done": "{{ nodes.done | default(none) }}"},
    )


@pytest.mark.parametrize("slow", LENGTHS)
async def test_join_any_in_a_loop_fires_once_per_pass_and_the_pass_waits_for_the_slow_branch(
    runtime: WorkflowRuntime, calls: Calls, slow: int
) -> None:
    passes = 3
    result, events = await run_collect(runtime, single_loop(slow), {"passes": passes})
    assert result.status == "completed", result.error
    # the join fires at the fast arrival; the slow branch has run by then only when it is
    # as short as the fast one (both arrive in the same superstep)
    seen_slow = [k if slow == 1 else (k - 1 or None) for k in range(1, passes + 1)]
    assert outputs_of(events, "j") == [
        {"pass": k, "fast": k, "slow": s} for k, s in zip(range(1, passes + 1), seen_slow,
                                                           strict=True)]
    for i in range(1, slow + 1):  # every slow node ran in its own pass
        assert outputs_of(events, f"s{i}") == [1, 2, 3], f"s{i}"
    body = ["fast", *(f"s{i}" for i in range(1, slow + 1)), "j", "after", "more"]
    assert per_pass(events, "head", body) == [once_each(body)] * passes
    assert calls.counts == {"after": passes}
    assert fired(events, "done") == 1
    assert result.outputs == {"done": {"j": {"pass": 3, "fast": 3, "slow": seen_slow[-1]},
                                       "slow": 3}}


@pytest.mark.parametrize("slow", LENGTHS)
async def test_join_any_that_is_the_last_node_of_the_pass(
    runtime: WorkflowRuntime, calls: Calls, slow: int
) -> None:
    """The join is a sink of the body (its one edge goes back to the header), so the
    latch hears from it as soon as it fires; the exit is a condition beside it."""
    chain_nodes, chain_edges = chain("s", slow, "{{ nodes.head.n }}")
    last = f"s{slow}"
    s = spec(
        [t("init", 0), counter("head"), cond("stop", "{{ nodes.head.n > 3 }}"),
         count("fast", "fast", "{{ nodes.head.n }}"), *chain_nodes,
         count("j", "j", "{{ nodes.head.n }}", join="any"),
         t("done", "{{ nodes.head.n }}")],
        [("init", "head"), ("head", "stop"), ("stop", "done", "true"),
         ("stop", "fast", "false"), ("stop", "s1", "false"), *chain_edges,
         ("fast", "j"), (last, "j"), ("j", "head")],
        {"done": "{{ nodes.done }}", "slow": f"{{{{ nodes.{last} | default(none) }}}}"},
    )
    result, events = await run_collect(runtime, s)
    assert result.status == "completed", result.error
    assert result.outputs == {"done": 4, "slow": 3}
    assert [o["value"] for o in outputs_of(events, "j")] == [1, 2, 3]
    assert calls.counts == {"fast": 3, "j": 3}
    body = ["stop", "fast", *(f"s{i}" for i in range(1, slow + 1)), "j"]
    assert per_pass(events, "head", body) == [once_each(body)] * 4
    assert fired(events, "j", "node.skipped") == 1  # the last pass leaves at once


# --------------------------------------------------------------------------- a dead branch


@pytest.mark.parametrize("slow", LENGTHS)
@pytest.mark.parametrize("dead", ["fast", "slow"])
async def test_join_any_in_a_loop_with_a_branch_dead_on_some_passes(
    runtime: WorkflowRuntime, calls: Calls, slow: int, dead: str
) -> None:
    """Odd passes take both branches; even passes leave one of them dead. A dead fast
    branch makes the join wait for the slow one; a dead slow branch is skipped node by
    node, and the pass still waits for the news to reach the join."""
    chain_nodes, chain_edges = chain("s", slow, "{{ nodes.head.n }}")
    last = f"s{slow}"
    gated = "fast" if dead == "fast" else "s1"
    other = "s1" if dead == "fast" else "fast"
    s = spec(
        [t("init", 0), counter("head"), cond("odd", "{{ nodes.head.n % 2 == 1 }}"),
         t("fast", "{{ nodes.head.n }}"), *chain_nodes,
         count("j", "j", "{{ nodes.head.n }}", join="any"),
         cond("more", "{{ nodes.head.n < 4 }}"), t("done", "{{ nodes.j.value }}")],
        [("init", "head"), ("head", "odd"), ("odd", gated, "true"), ("head", other),
         *chain_edges, ("fast", "j"), (last, "j"), ("j", "more"),
         ("more", "head", "true"), ("more", "done", "false")],
        {"done": "{{ nodes.done | default(none) }}"},
    )
    result, events = await run_collect(runtime, s)
    assert result.status == "completed", result.error
    assert result.outputs == {"done": 4}
    assert [o["value"] for o in outputs_of(events, "j")] == [1, 2, 3, 4]
    assert calls.counts == {"j": 4}
    assert fired(events, "j", "node.skipped") == 0
    body = ["odd", "fast", *(f"s{i}" for i in range(1, slow + 1)), "j", "more"]
    assert per_pass(events, "head", body) == [once_each(body)] * 4
    skipped = [n for n in body if fired(events, n, "node.skipped")]
    assert skipped == (["fast"] if dead == "fast" else [f"s{i}" for i in range(1, slow + 1)])
    for n in skipped:
        assert fired(events, n, "node.skipped") == 2 and fired(events, n) == 2


@pytest.mark.parametrize("slow", [1, 5])
async def test_join_any_in_a_loop_with_every_branch_dead_fires_dead_once_per_pass(
    runtime: WorkflowRuntime, calls: Calls, slow: int
) -> None:
    chain_nodes, chain_edges = chain("s", slow, "{{ nodes.head.n }}")
    s = spec(
        [t("init", 0), counter("head"), cond("live", "{{ nodes.head.n == 2 }}"),
         t("fast", 1), *chain_nodes, count("j", "j", "{{ nodes.head.n }}", join="any"),
         cond("more", "{{ nodes.head.n < 3 }}"), t("done", "{{ nodes.head.n }}")],
        [("init", "head"), ("head", "live"), ("live", "fast", "true"), ("live", "s1", "true"),
         *chain_edges, ("fast", "j"), (f"s{slow}", "j"), ("head", "more"), ("j", "more"),
         ("more", "head", "true"), ("more", "done", "false")],
        {"done": "{{ nodes.done | default(none) }}"},
    )
    result, events = await run_collect(runtime, s)
    assert result.status == "completed", result.error
    assert result.outputs == {"done": 3}
    assert calls.counts == {"j": 1}
    assert fired(events, "j", "node.skipped") == 2
    body = ["live", "fast", *(f"s{i}" for i in range(1, slow + 1)), "j", "more"]
    assert per_pass(events, "head", body) == [once_each(body)] * 3


# --------------------------------------------------------------------------- nested loops


@pytest.mark.parametrize("slow", LENGTHS)
async def test_join_any_at_both_levels_of_a_nested_loop(
    runtime: WorkflowRuntime, calls: Calls, slow: int
) -> None:
    """outer: round -> fast_o -> jo(any) <- [inner loop]; inner: step -> fast_i -> ji(any)
    <- s1..s<slow>, ji -> again? The inner loop is the outer join's slow branch."""
    chain_nodes, chain_edges = chain("s", slow, "{{ [nodes.round.n, nodes.step.n] }}")
    s = spec(
        [t("init", 0), counter("round"), t("fast_o", "{{ nodes.round.n }}"),
         counter("step"), t("fast_i", "{{ nodes.step.n }}"), *chain_nodes,
         count("ji", "ji", "{{ [nodes.round.n, nodes.step.n] }}", join="any"),
         cond("again", "{{ nodes.step.n < inputs.inner }}"),
         count("jo", "jo", "{{ nodes.round.n }}", join="any"),
         cond("more", "{{ nodes.round.n < inputs.outer }}"),
         t("done", {"jo": "{{ nodes.jo.value }}",
                    "ji": "{{ nodes.ji.value | default(none) }}"})],
        [("init", "round"), ("round", "fast_o"), ("fast_o", "jo"), ("round", "step"),
         ("step", "fast_i"), ("fast_i", "ji"), ("step", "s1"), *chain_edges,
         (f"s{slow}", "ji"), ("ji", "again"), ("again", "step", "true"),
         ("again", "jo", "false"), ("jo", "more"), ("more", "round", "true"),
         ("more", "done", "false")],
        {"done": "{{ nodes.done | default(none) }}"},
    )
    outer, inner = 2, 3
    result, events = await run_collect(runtime, s, {"outer": outer, "inner": inner})
    assert result.status == "completed", result.error
    assert result.outputs == {"done": {"jo": 2, "ji": [2, 3]}}
    pairs = [[r, k] for r in range(1, outer + 1) for k in range(1, inner + 1)]
    assert [o["value"] for o in outputs_of(events, "ji")] == pairs
    assert [o["value"] for o in outputs_of(events, "jo")] == [1, 2]
    for i in range(1, slow + 1):
        assert outputs_of(events, f"s{i}") == pairs, f"s{i}"
    assert calls.counts == {"ji": outer * inner, "jo": outer}
    inner_body = ["fast_i", *(f"s{i}" for i in range(1, slow + 1)), "ji", "again"]
    outer_body = ["fast_o", "step", *inner_body, "jo", "more"]
    expected = Counter({n: inner if n in inner_body or n == "step" else 1
                        for n in outer_body})
    assert per_pass(events, "round", outer_body) == [expected] * outer
    assert per_pass(events, "step", inner_body) == [once_each(inner_body)] * (outer * inner)


@pytest.mark.parametrize("inner", [1, 3])
@pytest.mark.parametrize("slow", [1, 2, 4, 5, 6, 9, 12])
async def test_nested_loop_header_with_join_any_entries(
    runtime: WorkflowRuntime, calls: Calls, slow: int, inner: int
) -> None:
    """The inner loop's header joins a fast and a slow entry with `join: any`: the inner
    loop starts at the fast one, and the outer pass still waits for the slow one (which
    may arrive while the inner loop is running, even in the superstep of a next pass)."""
    chain_nodes, chain_edges = chain("s", slow, "{{ nodes.round.n }}")
    s = spec(
        [t("init", 0), counter("round"), t("fast", "{{ nodes.round.n }}"), *chain_nodes,
         counter("step", join="any"), count("work", "work", "{{ nodes.step.n }}"),
         cond("again", "{{ nodes.step.n < inputs.inner }}"),
         t("tally", "{{ [nodes.round.n, nodes.step.n] }}"),
         cond("more", "{{ nodes.round.n < 3 }}"), t("done", "{{ nodes.tally }}")],
        [("init", "round"), ("round", "fast"), ("round", "s1"), *chain_edges,
         ("fast", "step"), (f"s{slow}", "step"), ("step", "work"), ("work", "again"),
         ("again", "step", "true"), ("again", "tally", "false"), ("tally", "more"),
         ("more", "round", "true"), ("more", "done", "false")],
        {"done": "{{ nodes.done | default(none) }}"},
    )
    result, events = await run_collect(runtime, s, {"inner": inner})
    assert result.status == "completed", result.error
    assert result.outputs == {"done": [3, inner]}
    assert outputs_of(events, "tally") == [[1, inner], [2, inner], [3, inner]]
    for i in range(1, slow + 1):
        assert outputs_of(events, f"s{i}") == [1, 2, 3], f"s{i}"
    assert calls.counts == {"work": 3 * inner}
    body = ["fast", *(f"s{i}" for i in range(1, slow + 1)), "step", "work", "again",
            "tally", "more"]
    expected = Counter({n: inner if n in ("step", "work", "again") else 1 for n in body})
    assert per_pass(events, "round", body) == [expected] * 3


# --------------------------------------------------------------------------- no loop


@pytest.mark.parametrize("slow", [2, 9])
async def test_join_any_outside_loops_outputs_wait_for_the_slow_branch(
    runtime: WorkflowRuntime, calls: Calls, slow: int
) -> None:
    """Outside loops the join still does not wait, but the run does: the outputs are
    evaluated once every node has fired, so they see the slow branch's result."""
    chain_nodes, chain_edges = chain("s", slow, "slow", steps=True)
    last = f"s{slow}"
    s = spec(
        [t("init", 0), t("fast", "fast"), *chain_nodes,
         count("j", "j", f"{{{{ nodes.{last} | default('not yet') }}}}", join="any"),
         t("after", "{{ nodes.j.value }}")],
        [("init", "fast"), ("init", "s1"), *chain_edges, ("fast", "j"), (last, "j"),
         ("j", "after")],
        {"after": "{{ nodes.after }}", "slow": f"{{{{ nodes.{last} }}}}"},
    )
    result, events = await run_collect(runtime, s)
    assert result.status == "completed", result.error
    assert result.outputs == {"after": "not yet", "slow": "slow"}
    assert calls.counts == {"j": 1}
    order = [e.node_id for e in events if e.type == "node.completed"]
    assert order.index("j") < order.index(last)
    assert events[-1].type == "run.completed"


# --------------------------------------------------------------------------- random shapes


class Shapes:
    """Random loops (up to three levels) whose passes fork into branches of random
    lengths, some gated by conditions that leave them dead on some passes, some holding a
    nested loop (entered through a second, slower chain too, by a ``join: any`` header),
    joined with ``join: any`` (mostly) or ``all``."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.nodes: list[dict[str, Any]] = [t("init", 0)]
        self.edges: list[tuple[str, ...]] = []
        self.members: dict[str, list[str]] = {}  # header -> nodes of its own level
        self.inner: dict[str, list[str]] = {}  # header -> headers of loops nested in it
        self.ids = itertools.count(1)

    def new(self, prefix: str) -> str:
        return f"{prefix}{next(self.ids)}"

    def build(self) -> dict[str, Any]:
        end = self.loop(("init", "out"), [])
        self.nodes.append(t("done", "end"))
        self.edges.append((end[0], "done", end[1]))
        return spec(self.nodes, self.edges, {"done": "{{ nodes.done | default(none) }}"})

    def passes(self, headers: list[str]) -> str:
        return "{{ [" + ", ".join(f"nodes.{h}.n" for h in headers) + "] }}"

    def loop(self, entry: tuple[str, str], headers: list[str]) -> tuple[str, str]:
        rng = self.rng
        head = self.new("h")
        if headers:
            self.inner[headers[-1]].append(head)
        self.nodes.append(counter(head))
        self.edges.append((entry[0], head, entry[1]))
        self.members[head], self.inner[head] = [], []
        level = [*headers, head]
        last = (head, "out")
        for _ in range(rng.randint(1, 2)):
            last = self.fork(last, level)
        more = self.new("more")
        self.nodes.append(cond(more, f"{{{{ nodes.{head}.n < {rng.randint(1, 3)} }}}}"))
        self.members[head].append(more)
        self.edges += [(last[0], more, last[1]), (more, head, "true")]
        return (more, "false")

    def fork(self, start: tuple[str, str], level: list[str]) -> tuple[str, str]:
        rng = self.rng
        head = level[-1]
        join = self.new("j")
        ends: list[tuple[str, str]] = []
        for branch in range(rng.randint(2, 3)):
            at = start
            if branch and rng.random() < 0.4:
                gate = self.new("g")
                self.nodes.append(cond(gate, f"{{{{ (nodes.{head}.n + {rng.randint(0, 2)}) "
                                             f"% {rng.randint(2, 3)} == 0 }}}}"))
                self.members[head].append(gate)
                self.edges.append((at[0], gate, at[1]))
                at = (gate, "true")
            if len(level) < 3 and rng.random() < 0.3:
                inner = len(self.nodes)
                ends.append(self.loop(at, level))
                if rng.random() < 0.5:  # a second, slower way in: a join: any header
                    self.nodes[inner]["join"] = "any"
                    chain_end = self.chain(at, level)
                    self.edges.append((chain_end[0], self.nodes[inner]["id"], chain_end[1]))
                continue
            ends.append(self.chain(at, level))
        mode = "any" if rng.random() < 0.75 else "all"
        self.nodes.append(t(join, self.passes(level), join=mode))
        self.members[head].append(join)
        self.edges += [(s, join, p) for s, p in ends]
        return (join, "out")

    def chain(self, at: tuple[str, str], level: list[str]) -> tuple[str, str]:
        for _ in range(self.rng.randint(1, 8)):
            node = self.new("n")
            self.nodes.append(t(node, self.passes(level)))
            self.members[level[-1]].append(node)
            self.edges.append((at[0], node, at[1]))
            at = (node, "out")
        return at

    def check(self, events: list[RunEvent]) -> None:
        """Between two firings of a loop's header, every node of its level fires once and
        every loop nested in it is entered once."""
        for head, members in self.members.items():
            expected = Counter({**{m: 1 for m in members},
                                **{f"enter {h}": 1 for h in self.inner[head]}})
            pieces: list[Counter[str]] = []
            entries = set(self.inner[head])
            for e in events:
                if e.node_id == head and e.type in FIRES:
                    pieces.append(Counter())
                elif not pieces:
                    continue
                elif e.node_id in members and e.type in FIRES:
                    pieces[-1][e.node_id] += 1
                elif e.node_id in entries and (
                        e.type == "node.skipped"
                        or (e.type == "node.started" and e.data["visit"] == 1)):
                    pieces[-1][f"enter {e.node_id}"] += 1
            assert pieces, head
            for i, piece in enumerate(pieces):
                assert piece == expected, (head, i, piece - expected, expected - piece)


@pytest.mark.parametrize("backend", ["memory"], indirect=True)
@pytest.mark.parametrize("seed", range(60))
async def test_random_loops_with_uneven_join_any_branches(
    runtime: WorkflowRuntime, seed: int
) -> None:
    shapes = Shapes(seed)
    s = shapes.build()
    result, events = await run_collect(runtime, s)
    assert result.status == "completed", result.error
    assert result.outputs == {"done": "end"}
    shapes.check(events)


@pytest.mark.parametrize("slow", [1, 10])
async def test_map_node_with_join_any_in_a_loop(
    runtime: WorkflowRuntime, calls: Calls, slow: int
) -> None:
    """A map node can be the `join: any` too: it dispatches at the fast arrival, and the
    pass waits both for its items and for the slow branch."""
    chain_nodes, chain_edges = chain("s", slow, "{{ nodes.head.n }}")
    body = {"nodes": [count("item", "item", "{{ item }}")], "edges": [],
            "output": "{{ nodes.item.value }}"}
    s = spec(
        [t("init", 0), counter("head"), t("fast", "{{ nodes.head.n }}"), *chain_nodes,
         {"id": "m", "type": "map", "items": "{{ [nodes.head.n, nodes.head.n * 10] }}",
          "body": body, "join": "any"},
         cond("more", "{{ nodes.head.n < 3 }}"), t("done", "{{ nodes.m }}")],
        [("init", "head"), ("head", "fast"), ("head", "s1"), *chain_edges,
         ("fast", "m"), (f"s{slow}", "m"), ("m", "more"), ("more", "head", "true"),
         ("more", "done", "false")],
        {"done": "{{ nodes.done | default(none) }}"},
    )
    result, events = await run_collect(runtime, s)
    assert result.status == "completed", result.error
    assert result.outputs == {"done": [3, 30]}
    assert outputs_of(events, "m") == [[1, 10], [2, 20], [3, 30]]
    assert calls.counts == {"item": 6}
    nodes = ["fast", *(f"s{i}" for i in range(1, slow + 1)), "m", "more"]
    assert per_pass(events, "head", nodes) == [once_each(nodes)] * 3


async def test_pause_on_the_slow_branch_holds_the_next_pass(
    runtime: WorkflowRuntime, calls: Calls
) -> None:
    """An approval on the slow branch pauses the run (at the end of the superstep it
    interrupts in); after each answer the pass still ends only once the slow branch has
    reached the join, and resuming runs nothing twice."""
    s = spec(
        [t("init", 0), counter("head"), count("fast", "fast", "{{ nodes.head.n }}"),
         t("s1", "{{ nodes.head.n }}"),
         {"id": "review", "type": "approval", "approvers": ["ed"],
          "question": "pass {{ nodes.head.n }}?"},
         t("s2", "{{ nodes.head.n }}"),
         count("j", "j", "{{ nodes.head.n }}", join="any"),
         cond("more", "{{ nodes.head.n < 3 }}"), t("done", "{{ nodes.head.n }}")],
        [("init", "head"), ("head", "fast"), ("head", "s1"), ("s1", "review"),
         ("review", "s2", "approved"), ("fast", "j"), ("s2", "j"), ("j", "more"),
         ("more", "head", "true"), ("more", "done", "false")],
        {"done": "{{ nodes.done | default(none) }}"},
    )
    paused, _ = await run_collect(runtime, s)
    run_id = paused.run_id
    for k in (1, 2, 3):
        assert paused.status == "paused", paused.error
        (pending,) = paused.interrupts
        assert pending.payload["question"] == f"pass {k}?"
        assert calls.counts == {"fast": k, "j": k}  # nothing of the next pass has run
        paused = await runtime.resume(run_id, {"by": "ed", "decision": "approve"})
    assert paused.status == "completed", paused.error
    assert paused.outputs == {"done": 3}
    events = await runtime.events(run_id)
    assert outputs_of(events, "s2") == [1, 2, 3]
    body = ["fast", "s1", "review", "s2", "j", "more"]
    assert per_pass(events, "head", body) == [once_each(body)] * 3
