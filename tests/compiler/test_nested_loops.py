"""Nested loops (a cycle inside a cycle), end to end on the memory, SQLite and Postgres
checkpointers, and the loop shapes the validator still refuses.

Counts come from the ``test.count`` tool and from events, so each test proves how many
times every node ran; ``visit`` in ``node.started`` proves that a nested loop's passes are
counted per run of it (they restart at every pass of the loop around it).
"""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from helpers.specs import fired, run_collect, spec, t
from helpers.tools import Calls

from workflow_compiler.errors import SpecIssue
from workflow_compiler.runtime import RunEvent, WorkflowRuntime
from workflow_compiler.validation import check_spec, validate_spec


def count(node_id: str, name: str, value: Any = None) -> dict[str, Any]:
    args: dict[str, Any] = {"name": name}
    if value is not None:
        args["value"] = value
    return {"id": node_id, "type": "tool", "tool": "test.count", "args": args}


def cond(node_id: str, expr: str) -> dict[str, Any]:
    return {"id": node_id, "type": "condition", "if": expr}


def counter(node_id: str, **more: Any) -> dict[str, Any]:
    """A loop counter carried in ``nodes.<id>.n``: 1 on the first pass of its loop's run."""
    return t(node_id, {"n": f"{{{{ (nodes.{node_id}.n | default(0)) + 1 }}}}", **more})


def visits(events: list[RunEvent], node_id: str) -> list[int]:
    return [e.data["visit"] for e in events if e.type == "node.started" and e.node_id == node_id]


def outputs_of(events: list[RunEvent], node_id: str) -> list[Any]:
    return [e.data["output"] for e in events
            if e.type == "node.completed" and e.node_id == node_id]


def two_level() -> dict[str, Any]:
    """outer: round -> [inner: work -> step -> again?] -> tally -> more? -> done."""
    return spec(
        [t("init", {"started": True}),
         counter("round"),
         count("work", "inner", "{{ nodes.round.n }}"),
         counter("step", seen="{{ (nodes.step.seen | default([])) + [nodes.work.count] }}"),
         cond("again", "{{ nodes.step.n < inputs.inner }}"),
         t("tally", {"log": "{{ (nodes.tally.log | default([])) "
                            "+ [[nodes.round.n, nodes.step.n, nodes.step.seen]] }}"}),
         cond("more", "{{ nodes.round.n < inputs.outer }}"),
         t("done", {"log": "{{ nodes.tally.log }}", "rounds": "{{ nodes.round.n }}"})],
        [("init", "round"), ("round", "work"), ("work", "step"), ("step", "again"),
         ("again", "work", "true"), ("again", "tally", "false"), ("tally", "more"),
         ("more", "round", "true"), ("more", "done", "false")],
        {"log": "{{ nodes.done.log }}", "rounds": "{{ nodes.done.rounds }}"},
    )


# --------------------------------------------------------------------------- running


async def test_two_levels_inner_loop_runs_afresh_on_every_outer_pass(
    runtime: WorkflowRuntime, calls: Calls
) -> None:
    result, events = await run_collect(runtime, two_level(), {"outer": 2, "inner": 3})
    assert result.status == "completed", result.error
    assert result.outputs == {"log": [[1, 3, [1, 2, 3]], [2, 3, [4, 5, 6]]], "rounds": 2}
    assert calls.counts == {"inner": 6}
    assert (fired(events, "round"), fired(events, "work"), fired(events, "step")) == (2, 6, 6)
    assert (fired(events, "tally"), fired(events, "more"), fired(events, "done")) == (2, 2, 1)
    assert visits(events, "work") == [1, 2, 3, 1, 2, 3]  # per run of the inner loop
    assert visits(events, "round") == [1, 2]
    assert not [e for e in events if e.type == "node.skipped"]


async def test_two_levels_with_other_counts(runtime: WorkflowRuntime, calls: Calls) -> None:
    result, events = await run_collect(runtime, two_level(), {"outer": 3, "inner": 1})
    assert result.status == "completed", result.error
    assert result.outputs == {"log": [[1, 1, [1]], [2, 1, [2]], [3, 1, [3]]], "rounds": 3}
    assert calls.counts == {"inner": 3}
    assert fired(events, "done") == 1


async def test_three_levels(runtime: WorkflowRuntime, calls: Calls) -> None:
    s = spec(
        [t("init", 0),
         counter("o"),
         counter("m"),
         count("leaf", "leaf"),
         counter("i", o="{{ nodes.o.n }}", m="{{ nodes.m.n }}"),
         cond("i_more", "{{ nodes.i.n < 3 }}"),
         cond("m_more", "{{ nodes.m.n < 2 }}"),
         cond("o_more", "{{ nodes.o.n < 2 }}"),
         t("done", {"leaves": "{{ nodes.leaf.count }}", "last": "{{ nodes.i }}"})],
        [("init", "o"), ("o", "m"), ("m", "leaf"), ("leaf", "i"), ("i", "i_more"),
         ("i_more", "leaf", "true"), ("i_more", "m_more", "false"),
         ("m_more", "m", "true"), ("m_more", "o_more", "false"),
         ("o_more", "o", "true"), ("o_more", "done", "false")],
        {"done": "{{ nodes.done }}"},
    )
    result, events = await run_collect(runtime, s)
    assert result.status == "completed", result.error
    assert result.outputs == {"done": {"leaves": 12, "last": {"n": 3, "o": 2, "m": 2}}}
    assert calls.counts == {"leaf": 12}
    assert [(x["o"], x["m"], x["n"]) for x in outputs_of(events, "i")] == [
        (o, m, n) for o in (1, 2) for m in (1, 2) for n in (1, 2, 3)]
    assert (fired(events, "o"), fired(events, "m"), fired(events, "leaf")) == (2, 4, 12)
    assert visits(events, "leaf") == [1, 2, 3] * 4
    assert visits(events, "m") == [1, 2, 1, 2]
    assert fired(events, "done") == 1


async def test_inner_loop_with_a_parallel_diamond_and_a_dead_branch(
    runtime: WorkflowRuntime, calls: Calls
) -> None:
    """Each inner pass forks into two branches that must overlap (rendezvous) and a third
    that only odd passes take; the join fires exactly once per pass, dead branch or not."""
    rendezvous = {"type": "tool", "tool": "test.rendezvous", "args": {"group": "fork"}}
    s = spec(
        [t("init", 0),
         counter("round"),
         counter("fork"),
         {"id": "left", **rendezvous},
         {"id": "right", **rendezvous},
         cond("odd", "{{ nodes.fork.n % 2 == 1 }}"),
         t("extra", "{{ nodes.fork.n }}"),
         count("join", "join", "{{ [nodes.round.n, nodes.fork.n] }}"),
         cond("again", "{{ nodes.fork.n < 2 }}"),
         cond("more", "{{ nodes.round.n < 2 }}"),
         t("done", {"joins": "{{ nodes.join.count }}",
                    "extra": "{{ nodes.extra | default(none) }}"})],
        [("init", "round"), ("round", "fork"), ("fork", "left"), ("fork", "right"),
         ("fork", "odd"), ("odd", "extra", "true"), ("left", "join"), ("right", "join"),
         ("extra", "join"), ("join", "again"), ("again", "fork", "true"),
         ("again", "more", "false"), ("more", "round", "true"), ("more", "done", "false")],
        {"done": "{{ nodes.done | default(none) }}"},  # odd's false port may end the run
    )
    result, events = await run_collect(runtime, s)
    assert result.status == "completed", result.error
    assert result.outputs == {"done": {"joins": 4, "extra": 1}}
    assert [x["value"] for x in outputs_of(events, "join")] == [[1, 1], [1, 2], [2, 1], [2, 2]]
    assert calls.counts == {"join": 4}
    assert (fired(events, "left"), fired(events, "right"), fired(events, "join")) == (4, 4, 4)
    assert fired(events, "extra") == 2 and fired(events, "extra", "node.skipped") == 2


async def test_approval_inside_inner_loop_resumes_without_repeating_work(
    runtime: WorkflowRuntime, calls: Calls
) -> None:
    s = spec(
        [t("init", 0),
         count("chapter", "chapter"),
         count("draft", "draft"),
         {"id": "review", "type": "approval", "approvers": ["ed"],
          "question": "chapter {{ nodes.chapter.count }}, draft {{ nodes.draft.count }}?"},
         cond("more", "{{ nodes.chapter.count < 2 }}"),
         t("done", {"chapters": "{{ nodes.chapter.count }}",
                    "drafts": "{{ nodes.draft.count }}"})],
        [("init", "chapter"), ("chapter", "draft"), ("draft", "review"),
         ("review", "draft", "rejected"), ("review", "more", "approved"),
         ("more", "chapter", "true"), ("more", "done", "false")],
        {"done": "{{ nodes.done }}"},
    )
    paused, _ = await run_collect(runtime, s)
    run_id = paused.run_id
    answers = [("reject", "chapter 1, draft 1?", {"chapter": 1, "draft": 1}),
               ("approve", "chapter 1, draft 2?", {"chapter": 1, "draft": 2}),
               ("reject", "chapter 2, draft 3?", {"chapter": 2, "draft": 3}),
               ("approve", "chapter 2, draft 4?", {"chapter": 2, "draft": 4})]
    for decision, question, counts in answers:
        assert paused.status == "paused", paused.error
        (pending,) = paused.interrupts
        assert (pending.node_id, pending.payload["question"]) == ("review", question)
        assert calls.counts == counts  # nothing before the pause ran again
        paused = await runtime.resume(run_id, {"by": "ed", "decision": decision})
    assert paused.status == "completed", paused.error
    assert paused.outputs == {"done": {"chapters": 2, "drafts": 4}}
    assert calls.counts == {"chapter": 2, "draft": 4}
    events = await runtime.events(run_id)
    assert (fired(events, "chapter"), fired(events, "draft"), fired(events, "review")) == (2, 4, 4)
    assert visits(events, "draft") == [1, 2, 1, 2]
    assert fired(events, "done") == 1


def breaking(abort_at: int) -> tuple[dict[str, Any], dict[str, Any]]:
    s = spec(
        [t("init", 0),
         counter("round"),
         count("work", "work"),
         counter("step"),
         {"id": "decide", "type": "switch", "cases": ["again", "next", "abort"],
          "value": "{{ 'abort' if nodes.work.count >= inputs.abort_at else "
                   "('again' if nodes.step.n < 3 else 'next') }}"},
         t("tally", "{{ (nodes.tally | default(0)) + 1 }}"),
         cond("more", "{{ nodes.round.n < 2 }}"),
         t("finished", "{{ nodes.tally }}"),
         t("stopped", "{{ [nodes.round.n, nodes.step.n] }}")],
        [("init", "round"), ("round", "work"), ("work", "step"), ("step", "decide"),
         ("decide", "work", "again"), ("decide", "tally", "next"),
         ("decide", "stopped", "abort"), ("tally", "more"), ("more", "round", "true"),
         ("more", "finished", "false")],
        {"finished": "{{ nodes.finished | default(none) }}",
         "stopped": "{{ nodes.stopped | default(none) }}"},
    )
    return s, {"abort_at": abort_at}


async def test_exit_straight_out_of_both_loops(runtime: WorkflowRuntime, calls: Calls) -> None:
    result, events = await run_collect(runtime, *breaking(abort_at=5))
    assert result.status == "completed", result.error
    assert result.outputs == {"finished": None, "stopped": [2, 2]}
    assert calls.counts == {"work": 5}
    assert fired(events, "tally") == 1 and fired(events, "tally", "node.skipped") == 1
    assert fired(events, "more") == 1 and fired(events, "more", "node.skipped") == 1
    assert fired(events, "finished", "node.skipped") == 1 and fired(events, "stopped") == 1


async def test_same_spec_without_the_break(runtime: WorkflowRuntime, calls: Calls) -> None:
    result, events = await run_collect(runtime, *breaking(abort_at=99))
    assert result.status == "completed", result.error
    assert result.outputs == {"finished": 2, "stopped": None}
    assert calls.counts == {"work": 6}
    assert fired(events, "stopped", "node.skipped") == 1 and fired(events, "finished") == 1


async def test_continue_the_outer_loop_from_the_inner_loop(
    runtime: WorkflowRuntime, calls: Calls
) -> None:
    """``decide -> round`` closes the outer loop from inside the inner one: round 2 skips
    the rest of its inner loop and the tally."""
    s = spec(
        [t("init", 0),
         counter("round"),
         count("work", "work"),
         counter("step"),
         {"id": "decide", "type": "switch", "cases": ["again", "next", "skip"],
          "value": "{{ 'skip' if nodes.round.n == 2 else "
                   "('again' if nodes.step.n < 2 else 'next') }}"},
         t("tally", "{{ (nodes.tally | default([])) + [nodes.round.n] }}"),
         cond("more", "{{ nodes.round.n < 3 }}"),
         t("done", {"tallied": "{{ nodes.tally }}", "rounds": "{{ nodes.round.n }}"})],
        [("init", "round"), ("round", "work"), ("work", "step"), ("step", "decide"),
         ("decide", "work", "again"), ("decide", "tally", "next"),
         ("decide", "round", "skip"), ("tally", "more"), ("more", "round", "true"),
         ("more", "done", "false")],
        {"done": "{{ nodes.done | default(none) }}"},  # decide's default port may end it
    )
    result, events = await run_collect(runtime, s)
    assert result.status == "completed", result.error
    assert result.outputs == {"done": {"tallied": [1, 3], "rounds": 3}}
    assert calls.counts == {"work": 5}
    assert visits(events, "work") == [1, 2, 1, 1, 2]
    assert fired(events, "tally") == 2 and fired(events, "tally", "node.skipped") == 1
    assert fired(events, "done") == 1


async def test_inner_loop_that_never_ends_is_bounded_by_max_steps(
    runtime: WorkflowRuntime, calls: Calls
) -> None:
    s = spec(
        [t("init", 0), counter("round"), count("work", "work"),
         cond("again", "{{ true }}"), cond("more", "{{ nodes.round.n < 2 }}"), t("done", 1)],
        [("init", "round"), ("round", "work"), ("work", "again"), ("again", "work", "true"),
         ("again", "more", "false"), ("more", "round", "true"), ("more", "done", "false")],
        limits={"max_steps": 40},
    )
    result, _ = await run_collect(runtime, s)
    assert result.status == "failed"
    assert result.error is not None and result.error["code"] == "run_limit_exceeded"
    assert 10 < calls.counts["work"] < 40


async def test_self_loop_nested_in_a_loop(runtime: WorkflowRuntime, calls: Calls) -> None:
    """The smallest inner loop, a condition looping on itself: it goes round once more
    while it has no output of its own, which is so again at every outer pass because
    entering the inner loop forgets the outputs of its previous run."""
    s = spec(
        [t("init", 0), counter("round"),
         cond("poll", "{{ (nodes.poll | default(none)) is none }}"),
         count("after", "after", "{{ nodes.round.n }}"),
         cond("more", "{{ nodes.round.n < 3 }}"), t("done", "{{ nodes.after.count }}")],
        [("init", "round"), ("round", "poll"), ("poll", "poll", "true"),
         ("poll", "after", "false"), ("after", "more"), ("more", "round", "true"),
         ("more", "done", "false")],
        {"done": "{{ nodes.done }}"},
    )
    result, events = await run_collect(runtime, s)
    assert result.status == "completed", result.error
    assert result.outputs == {"done": 3}
    assert [x["result"] for x in outputs_of(events, "poll")] == [True, False] * 3
    assert visits(events, "poll") == [1, 2] * 3
    assert calls.counts == {"after": 3}


async def test_nested_loop_inside_a_map_body(runtime: WorkflowRuntime, calls: Calls) -> None:
    body = {
        "nodes": [count("a", "a"), counter("outer"), counter("inner"),
                  cond("inner_more", "{{ nodes.inner.n < item }}"),
                  cond("outer_more", "{{ nodes.outer.n < 2 }}"), t("end", "{{ item }}")],
        "edges": [{"from": "a", "to": "outer"}, {"from": "outer", "to": "inner"},
                  {"from": "inner", "to": "inner_more"},
                  {"from": "inner_more", "to": "inner", "port": "true"},
                  {"from": "inner_more", "to": "outer_more", "port": "false"},
                  {"from": "outer_more", "to": "outer", "port": "true"},
                  {"from": "outer_more", "to": "end", "port": "false"}],
        "output": "{{ [nodes.outer.n, nodes.inner.n] }}",
    }
    s = spec([{"id": "m", "type": "map", "items": "{{ [1, 3] }}", "body": body}], [],
             {"m": "{{ nodes.m }}"})
    result, events = await run_collect(runtime, s)
    assert result.status == "completed", result.error
    assert result.outputs == {"m": [[2, 1], [2, 3]]}
    assert fired(events, "m[1].inner") == 6 and fired(events, "m[0].inner") == 2


# --------------------------------------------------------------------------- random shapes


@dataclass
class Straight:
    """Nodes that run once per pass of whatever encloses them (one node, or a diamond)."""

    ids: list[str]


@dataclass
class LoopBlock:
    header: str  # a counter: nodes.<header>.n is the pass number within this run
    switch: str  # 'again' | 'next' | 'jump' (break or continue an enclosing loop)
    after: str  # the node after the loop
    passes: int
    level: int
    body: list[Straight | LoopBlock] = field(default_factory=list)
    jump: tuple[str, int, int, int] | None = None  # kind, level, at this pass, at theirs


class ShapeMaker:
    """Random structured programs: sequences of nodes, diamonds and loops up to three
    deep, whose switches may break out of, or continue, any enclosing loop."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.made = 0
        self.nodes: list[dict[str, Any]] = []
        self.edges: list[tuple[str, ...]] = []

    def fresh(self, prefix: str) -> str:
        self.made += 1
        return f"{prefix}{self.made}"

    def sequence(self, loops: list[LoopBlock], size: int
                 ) -> tuple[list[Straight | LoopBlock], str | None, str | None]:
        blocks: list[Straight | LoopBlock] = []
        first = last = None
        for _ in range(size):
            block = self.loop(loops) if len(loops) < 3 and self.rng.random() < 0.45 \
                else self.straight()
            head = block.header if isinstance(block, LoopBlock) else block.ids[0]
            if last is not None:
                self.edges.append((last, head))
            first = first or head
            last = block.after if isinstance(block, LoopBlock) else block.ids[-1]
            blocks.append(block)
        return blocks, first, last

    def straight(self) -> Straight:
        if self.rng.random() < 0.3:
            return Straight([self.add(t(self.fresh("x"), 1))["id"]])
        a, b, c, j = (self.add(t(self.fresh(p), 1))["id"] for p in "abcj")
        self.edges += [(a, b), (a, c), (b, j), (c, j)]
        return Straight([a, b, c, j])

    def add(self, node: dict[str, Any]) -> dict[str, Any]:
        self.nodes.append(node)
        return node

    def loop(self, loops: list[LoopBlock]) -> LoopBlock:
        loop = LoopBlock(self.fresh("h"), self.fresh("s"), self.fresh("after"),
                         self.rng.randint(1, 3), len(loops))
        loop.body, first, last = self.sequence([*loops, loop], self.rng.randint(0, 2))
        self.add(counter(loop.header))
        value = f"'again' if nodes.{loop.header}.n < {loop.passes} else 'next'"
        if loops and self.rng.random() < 0.6:
            level = self.rng.randrange(len(loops))
            kind = self.rng.choice(["break", "continue"])
            loop.jump = (kind, level, self.rng.randint(1, loop.passes),
                         self.rng.randint(1, loops[level].passes))
            value = (f"'jump' if nodes.{loop.header}.n == {loop.jump[2]} and "
                     f"nodes.{loops[level].header}.n == {loop.jump[3]} else ({value})")
            target = loops[level].header if kind == "continue" else loops[level].after
            self.edges.append((loop.switch, target, "jump"))
        self.add({"id": loop.switch, "type": "switch", "value": f"{{{{ {value} }}}}",
                  "cases": ["again", "next", "jump"]})
        self.add(t(loop.after, 1))
        self.edges.append((loop.header, first or loop.switch))
        if last is not None:
            self.edges.append((last, loop.switch))
        self.edges += [(loop.switch, loop.header, "again"), (loop.switch, loop.after, "next")]
        return loop


class Jump(Exception):  # noqa: N818  (control flow of the simulation)
    def __init__(self, kind: str, level: int) -> None:
        super().__init__(kind)
        self.kind, self.level = kind, level


def simulate(blocks: list[Straight | LoopBlock]) -> Counter[str]:
    """What the spec must run, by plain Python loops: node id -> completed count."""
    ran: Counter[str] = Counter()
    n: dict[str, int] = {}
    header_at: dict[int, str] = {}

    def run(block: Straight | LoopBlock) -> None:
        if isinstance(block, Straight):
            ran.update(block.ids)
            return
        header_at[block.level] = block.header
        n[block.header] = 0  # a fresh run of the loop
        try:
            while True:
                n[block.header] += 1
                ran[block.header] += 1
                try:
                    for inner in block.body:
                        run(inner)
                except Jump as jump:
                    if (jump.kind, jump.level) == ("continue", block.level):
                        continue
                    raise
                ran[block.switch] += 1
                if block.jump is not None:
                    kind, level, mine, theirs = block.jump
                    if n[block.header] == mine and n[header_at[level]] == theirs:
                        raise Jump(kind, level)
                if n[block.header] >= block.passes:
                    break
        except Jump as jump:
            if (jump.kind, jump.level) != ("break", block.level):
                raise
        ran[block.after] += 1

    for block in blocks:
        run(block)
    return ran


async def test_random_nested_shapes_run_like_plain_python_loops(runtime: WorkflowRuntime) -> None:
    """Forty random programs (nesting up to three deep, diamonds in bodies, multi-level
    break and continue); every node's completed count must match the simulation."""
    jumped = 0
    for seed in range(40):
        maker = ShapeMaker(seed)
        start = maker.add(t("start", 0))["id"]
        blocks, first, _ = maker.sequence([], maker.rng.randint(1, 3))
        maker.edges.insert(0, (start, first or start))
        s = spec(maker.nodes, maker.edges, limits={"max_steps": 5000})
        result, events = await run_collect(runtime, s)
        assert result.status == "completed", (seed, result.error)
        ran = Counter(e.node_id or "" for e in events if e.type == "node.completed")
        assert ran == simulate(blocks) + Counter({"start": 1}), seed
        jumped += any(e.data.get("port") == ["jump"] for e in events)
    assert jumped >= 5  # the multi-level exits were taken, not only drawn


# --------------------------------------------------------------------------- validation


def problems(raw: dict[str, Any]) -> list[SpecIssue]:
    return check_spec(raw)


def loop_shape(*extra: tuple[str, ...], nodes: tuple[dict[str, Any], ...] = ()
               ) -> dict[str, Any]:
    """round -> [work -> again? -> work] -> more? -> round | done, plus ``extra`` edges."""
    return spec(
        [t("init", 0), counter("round"), counter("work"),
         cond("again", "{{ nodes.work.n < 2 }}"), cond("more", "{{ nodes.round.n < 2 }}"),
         t("done", 1), *nodes],
        [("init", "round"), ("round", "work"), ("work", "again"), ("again", "work", "true"),
         ("again", "more", "false"), ("more", "round", "true"), ("more", "done", "false"),
         *extra],
    )


def test_nested_loops_validate_and_expose_their_nesting() -> None:
    topology = validate_spec(two_level()).topology
    shape = [(loop.header, loop.parent, loop.depth, sorted(loop.members), loop.sinks)
             for loop in topology.loops]
    assert shape == [
        ("round", None, 0, ["again", "more", "round", "step", "tally", "work"], ("more",)),
        ("work", "round", 1, ["again", "step", "work"], ("again",)),
    ]
    assert topology.cyclic_components == [frozenset(shape[0][3])]


def test_a_cycle_entered_twice_inside_a_loop_is_refused() -> None:
    """Irreducible: round leads into the inner cycle at both ``work`` and ``side``."""
    raw = loop_shape(("round", "side"), ("side", "work"), ("again", "side", "true"),
                     nodes=(t("side", 2),))
    found = [i for i in problems(raw) if i.code == "cycle_multiple_entries"]
    assert len(found) == 1, problems(raw)
    issue = found[0]
    assert (issue.path, issue.node_id) == ("/nodes/6", "side")
    assert "inside the loop that starts at 'round'" in issue.message
    assert "again, side, work" in issue.message
    assert issue.hint is not None and "'work'" in issue.hint


def test_an_irreducible_top_level_cycle_is_still_refused() -> None:
    raw = spec([cond("a", "{{ true }}"), t("b", 1), cond("c", "{{ true }}"), t("end", 1)],
               [("a", "b", "true"), ("a", "c", "false"), ("b", "c"), ("c", "b", "true"),
                ("c", "end", "false")])
    (issue,) = [i for i in problems(raw) if i.code == "cycle_multiple_entries"]
    assert (issue.path, issue.node_id) == ("/nodes/2", "c")
    assert "inside the loop" not in issue.message


def test_inner_loop_left_from_a_transform_is_refused() -> None:
    """``work -> more`` would leave the inner loop on every one of its passes."""
    raw = loop_shape(("work", "more"))
    found = [i for i in problems(raw) if i.code == "cycle_exit_not_branch"]
    assert [(i.path, i.node_id) for i in found] == [("/edges/7", "work")]


def test_branches_may_leave_both_loops_or_close_the_outer_one_from_inside() -> None:
    assert problems(breaking(5)[0]) == []
    assert problems(loop_shape(("again", "round", "false"))) == []


def probed(edge: str, value: Any) -> list[str]:
    """Codes for ``loop_shape`` with a node ``probe`` reading ``value`` inserted on the
    edge ``edge`` ("source>target")."""
    source, target = edge.split(">")
    raw = loop_shape(nodes=(t("probe", value),))
    edges = raw["edges"]
    at = next(i for i, e in enumerate(edges) if (e["from"], e["to"]) == (source, target))
    edges.append({"from": "probe", "to": target})
    edges[at] = {**edges[at], "to": "probe"}
    return [i.code for i in problems(raw)]


def test_references_inside_the_inner_loop() -> None:
    assert probed("work>again", "{{ nodes.work.n }}") == []  # earlier in the inner pass
    assert probed("work>again", "{{ nodes.round.n }}") == []  # earlier in the outer pass
    # later in the outer pass: no output on the first pass
    assert probed("work>again", "{{ nodes.more }}") == ["conditional_reference"]
    assert probed("work>again", "{{ nodes.more | default(false) }}") == []
    assert probed("work>again", "{{ nodes.done }}") == ["not_an_ancestor"]
    # later in the inner pass: on the first pass of each inner run it has no output
    assert probed("work>again", "{{ nodes.again.result }}") == ["conditional_reference"]
    assert probed("work>again", "{{ nodes.again.result | default(true) }}") == []


def test_references_around_the_inner_loop() -> None:
    # before the inner loop in the outer pass: the inner loop has not run yet this pass
    assert probed("round>work", "{{ nodes.again }}") == ["conditional_reference"]
    assert probed("round>work", "{{ nodes.again | default(none) }}") == []
    # after the inner loop, inside the outer one: the inner nodes ran on every path here
    assert probed("again>more", "{{ nodes.work.n + nodes.round.n }}") == []
    # after both loops
    assert probed("more>done", "{{ nodes.work.n }}") == []
    # before both loops
    assert probed("init>round", "{{ nodes.work }}") == ["not_an_ancestor"]


def test_deep_nesting_validates_without_recursion() -> None:
    depth = 300
    nodes = [t("init", 0)]
    edges: list[tuple[str, ...]] = [("init", "h0")]
    for level in range(depth):
        nodes += [t(f"h{level}", level), cond(f"c{level}", "{{ true }}")]
        edges.append((f"h{level}", f"h{level + 1}" if level + 1 < depth else f"c{level}"))
        edges.append((f"c{level}", f"h{level}", "true"))
        edges.append((f"c{level}", f"c{level - 1}" if level else "end", "false"))
    nodes.append(t("end", 1))
    result = validate_spec(spec(nodes, edges))
    assert len(result.topology.loops) == depth
    assert result.topology.loops[-1].depth == depth - 1
