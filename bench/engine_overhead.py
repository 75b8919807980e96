"""Engine overhead: graphwright against hand-written LangGraph on the same topology.

For chains and fan-outs of N transform nodes (``const`` values, or ``template`` values
reading their predecessor), three contestants run interleaved (ABC, BCA, CAB, ...), each
repetition on a fresh checkpointer of the case's kind:

* ``baseline``: the hand-written ``StateGraph`` of ``bench/baseline.py``;
* ``compiled``: the graph graphwright compiled, driven directly with ``ainvoke`` and the
  ``RunContext`` the runtime builds (lowering overhead only);
* ``runtime``: ``WorkflowRuntime.start`` with a ``MemoryRunStore``, the path users take
  (adds input checks, the spec-hash cache lookup, run records, events, outputs).

Checkpointer kinds: ``none`` (the runtime always has one, so its row uses an in-memory
saver with ``durability="exit"``, one checkpoint when the run ends: the least a user can
pay; the case also times the baseline on an in-memory saver), ``memory``
(``InMemorySaver``) and ``sqlite`` (``AsyncSqliteSaver`` on a temp file). Compiling and
binding a checkpointer happen before the clock starts, for both sides.

    .venv/bin/python bench/engine_overhead.py             # full run, writes results JSON
    .venv/bin/python bench/engine_overhead.py --quick     # N=10, one repetition
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import math
import os
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: make ``bench`` importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import baseline
from bench._common import (
    RESULTS,
    SHAPES,
    TARGET_RATIO,
    VARIANTS,
    code_snapshot,
    command,
    default_sqlite_dir,
    expected_last,
    filesystem,
    machine,
    make_spec,
    paired_ratios,
    parse_ints,
    parse_names,
    rotate,
    summarize,
    write_json,
)

CHECKPOINTERS = ("none", "memory", "sqlite")
CONTESTANTS = ("baseline", "compiled", "runtime", "baseline_memory")


def contestants_for(checkpointer: str) -> tuple[str, ...]:
    """Who runs in a case. Without a checkpointer the runtime still uses an in-memory one,
    so the case also times the baseline on one, for a like-for-like runtime ratio."""
    if checkpointer == "none":
        return CONTESTANTS
    return CONTESTANTS[:3]


def comparisons_for(checkpointer: str) -> list[tuple[str, str]]:
    """(candidate, reference) pairs reported for a case."""
    pairs = [("compiled", "baseline"), ("runtime", "baseline")]
    if checkpointer == "none":
        pairs.append(("runtime", "baseline_memory"))
    return pairs


Sample = tuple[float, float]  # (wall seconds, CPU seconds of this process)


class Clock:
    """Wall time (what users wait) and this process's CPU time (less sensitive to the
    other work on a shared machine; includes aiosqlite's thread)."""

    __slots__ = ("cpu", "wall")

    #: set by ``bench/profile_engine.py``: profiles exactly what the clock measures
    profiler: Any = None

    def __init__(self) -> None:
        if Clock.profiler is not None:
            Clock.profiler.enable()
        self.cpu = time.process_time()
        self.wall = time.perf_counter()

    def stop(self) -> Sample:
        sample = time.perf_counter() - self.wall, time.process_time() - self.cpu
        if Clock.profiler is not None:
            Clock.profiler.disable()
        return sample


class WrongResultError(AssertionError):
    """A contestant computed something else than the others: the timing would be void."""


@contextlib.asynccontextmanager
async def open_saver(kind: str, tmpdir: Path) -> Any:
    """A fresh checkpointer of ``kind`` (None for ``none``); a SQLite file is deleted after."""
    if kind == "none":
        yield None
        return
    if kind == "memory":
        from langgraph.checkpoint.memory import InMemorySaver

        yield InMemorySaver()
        return
    from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver

    path = tmpdir / f"{uuid.uuid4().hex}.sqlite"
    try:
        async with AsyncSqliteSaver.from_conn_string(str(path)) as saver:
            await saver.setup()
            yield saver
    finally:
        for suffix in ("", "-wal", "-shm", "-journal"):
            with contextlib.suppress(FileNotFoundError):
                os.unlink(f"{path}{suffix}")


class Case:
    """One (shape, variant, N, checkpointer) cell and its three contestants."""

    def __init__(self, shape: str, variant: str, n: int, checkpointer: str, tmpdir: Path) -> None:
        from workflow_compiler.compiler.cache import WorkflowCompiler
        from workflow_compiler.services import RuntimeServices

        self.shape, self.variant, self.n, self.checkpointer = shape, variant, n, checkpointer
        self.tmpdir = tmpdir
        self.spec = make_spec(shape, variant, n)
        self.max_steps = int(self.spec["limits"]["max_steps"])
        self.last = f"n{n - 1}" if shape == "chain" else "join"
        self.expected = expected_last(shape, variant, n)
        self.compiler = WorkflowCompiler()
        self.compiled = self.compiler.compile(self.spec)
        self.services = RuntimeServices()
        self.builder = baseline.build(shape, variant, n)

    def kind_for(self, contestant: str) -> str:
        if contestant == "baseline_memory":
            return "memory"
        if contestant == "runtime" and self.checkpointer == "none":
            return "memory"  # the runtime always checkpoints; in memory is its minimum
        return self.checkpointer

    def config(self, thread_id: str) -> dict[str, Any]:
        return {"configurable": {"thread_id": thread_id}, "recursion_limit": self.max_steps}

    def check(self, contestant: str, value: Any) -> None:
        if value != self.expected:
            raise WrongResultError(
                f"{contestant} {self.shape}/{self.variant}/N={self.n}: last node's i is "
                f"{value!r}, expected {self.expected!r}")

    async def time_once(self, contestant: str) -> Sample:
        """One timed run on a fresh checkpointer; setup and checks are outside the clock."""
        async with open_saver(self.kind_for(contestant), self.tmpdir) as saver:
            try:
                if contestant in ("baseline", "baseline_memory"):
                    return await self._baseline(saver)
                if contestant == "compiled":
                    return await self._compiled(saver)
                return await self._runtime(saver)
            finally:
                # with_checkpointer keeps one bound graph per saver for the process's life;
                # drop ours so repetitions do not pile up graphs and closed savers
                if saver is not None:
                    self.compiled._bound.pop(id(saver), None)

    async def _baseline(self, saver: Any) -> Sample:
        graph = baseline.compile_graph(self.builder, saver)
        config = self.config(uuid.uuid4().hex)
        gc.collect()
        clock = Clock()
        out = await graph.ainvoke(baseline.graph_input(), config)
        elapsed = clock.stop()
        self.check("baseline", out["nodes"][self.last]["i"])
        return elapsed

    async def _compiled(self, saver: Any) -> Sample:
        from workflow_compiler.compiler.context import RunContext
        from workflow_compiler.runtime.runtime import utcnow

        graph = self.compiled.with_checkpointer(saver)
        run_id = uuid.uuid4().hex
        config = self.config(run_id)
        gc.collect()
        clock = Clock()
        context = RunContext(run_id=run_id, services=self.services, compiler=self.compiler)
        graph_input = {"inputs": {}, "run": {"id": run_id, "started_at": utcnow()}, "path": ""}
        out = await graph.ainvoke(graph_input, config, context=context)
        elapsed = clock.stop()
        self.check("compiled", out["nodes"][self.last]["i"])
        return elapsed

    async def _runtime(self, saver: Any) -> Sample:
        from workflow_compiler.runtime import WorkflowRuntime
        from workflow_compiler.runtime.store import MemoryRunStore

        # without a checkpointer to match, the runtime checkpoints as little as it can
        durability = "exit" if self.checkpointer == "none" else None
        runtime = WorkflowRuntime(checkpointer=saver, store=MemoryRunStore(),
                                  services=self.services, compiler=self.compiler,
                                  durability=durability)
        # bind what the runtime binds (checkpointer and LangGraph store) before the clock
        self.compiled.with_checkpointer(runtime.checkpointer, runtime.memory_store)
        bound = bound_graphs(self.compiled)
        gc.collect()
        clock = Clock()
        result = await runtime.start(self.spec, {})
        elapsed = clock.stop()
        if bound_graphs(self.compiled) != bound:
            raise WrongResultError("the runtime compiled a graph while the clock ran: bind "
                                   "what it binds before starting the clock")
        if result.status != "completed":
            raise WrongResultError(f"runtime run ended {result.status}: {result.error}")
        self.check("runtime", (result.outputs or {}).get("last"))
        if saver is None:
            self.compiled._bound.pop(id(runtime.checkpointer), None)
        return elapsed

    def time_cache_hit(self, reps: int) -> dict[str, Any]:
        """``compiler.compile`` of an already compiled spec: paid by every ``start``."""
        samples = []
        for _ in range(reps):
            started = time.perf_counter()
            self.compiler.compile(self.spec)
            samples.append(time.perf_counter() - started)
        return summarize(samples)


def bound_graphs(compiled: Any) -> int:
    """How many checkpointer-bound graphs ``compiled`` holds: must not change on the clock."""
    return sum(len(v) if isinstance(v, dict) else 1 for v in compiled._bound.values())


def choose_reps(warm: list[float], budget: float, min_reps: int, max_reps: int) -> int:
    """Enough repetitions to spend about ``budget`` seconds per contestant."""
    slowest = max(warm) if warm else 1.0
    return max(min_reps, min(max_reps, math.ceil(budget / max(slowest, 1e-6))))


async def measure(case: Case, args: argparse.Namespace) -> dict[str, Any]:
    names = list(contestants_for(case.checkpointer))
    wall: dict[str, list[float]] = {c: [] for c in names}
    cpu: dict[str, list[float]] = {c: [] for c in names}
    # The warm-up round also proves all contestants compute the same thing. When a run
    # takes seconds, one-time costs are noise next to it: the round then counts as rep 0.
    warm = {c: await case.time_once(c) for c in names}
    slowest = max(w for w, _ in warm.values())
    kept = slowest >= args.keep_warmup
    if kept:
        for c, (w, u) in warm.items():
            wall[c].append(w)
            cpu[c].append(u)
    reps = args.reps or choose_reps([slowest], args.budget, args.min_reps, args.max_reps)
    for rep in range(1 if kept else 0, reps):
        for contestant in rotate(names, rep):
            w, u = await case.time_once(contestant)
            wall[contestant].append(w)
            cpu[contestant].append(u)
    nodes = case.n if case.shape == "chain" else case.n + 2
    result: dict[str, Any] = {
        "shape": case.shape, "variant": case.variant, "n": case.n, "nodes": nodes,
        "checkpointer": case.checkpointer, "reps": reps, "warmup_kept_as_rep": kept,
        "warmup_seconds": {c: w for c, (w, _) in warm.items()},
        "contestants": {
            c: {"checkpointer": case.kind_for(c), "seconds": summarize(wall[c]),
                "cpu_seconds": summarize(cpu[c]), "samples": wall[c], "cpu_samples": cpu[c]}
            for c in names
        },
        "comparisons": [],
    }
    for candidate, reference in comparisons_for(case.checkpointer):
        cand, ref = result["contestants"][candidate], result["contestants"][reference]
        ratios = summarize(paired_ratios(wall[candidate], wall[reference]))
        result["comparisons"].append({
            "path": candidate, "against": reference,
            "gw_checkpointer": cand["checkpointer"], "baseline_checkpointer": ref["checkpointer"],
            "ratio_of_medians": cand["seconds"]["median"] / ref["seconds"]["median"],
            "paired_ratio": ratios,
            "cpu_paired_ratio": summarize(paired_ratios(cpu[candidate], cpu[reference])),
            "overhead_us_per_node":
                (cand["seconds"]["median"] - ref["seconds"]["median"]) / nodes * 1e6,
            "meets_target": ratios["median"] <= TARGET_RATIO,
        })
    return result


def rows(cases: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per comparison, the shape ``bench/report.py`` prints."""
    out = []
    for case in cases:
        for comp in case["comparisons"]:
            cand = case["contestants"][comp["path"]]
            ref = case["contestants"][comp["against"]]
            out.append({
                "shape": case["shape"], "variant": case["variant"], "n": case["n"],
                "checkpointer": case["checkpointer"], "path": comp["path"],
                "gw_checkpointer": comp["gw_checkpointer"],
                "baseline_checkpointer": comp["baseline_checkpointer"],
                "reps": case["reps"],
                "graphwright_median_s": cand["seconds"]["median"],
                "graphwright_iqr_pct": cand["seconds"]["iqr_pct"],
                "baseline_median_s": ref["seconds"]["median"],
                "baseline_iqr_pct": ref["seconds"]["iqr_pct"],
                "ratio": comp["ratio_of_medians"],
                "paired_ratio_median": comp["paired_ratio"]["median"],
                "paired_ratio_q1": comp["paired_ratio"]["q1"],
                "paired_ratio_q3": comp["paired_ratio"]["q3"],
                "cpu_ratio_median": comp["cpu_paired_ratio"]["median"],
                "overhead_us_per_node": comp["overhead_us_per_node"],
                "target": TARGET_RATIO,
                "meets_target": comp["meets_target"],
            })
    return out


async def run(args: argparse.Namespace) -> dict[str, Any]:
    load_before = os.getloadavg()
    code = code_snapshot()
    started = time.perf_counter()
    cases: list[dict[str, Any]] = []
    cache_hits: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="gw-bench-", dir=args.sqlite_dir) as tmp:
        for n in args.sizes:
            for shape in args.shapes:
                for variant in args.variants:
                    for index, kind in enumerate(args.checkpointers):
                        case = Case(shape, variant, n, kind, Path(tmp))
                        if index == 0:
                            cache_hits.append({
                                "shape": shape, "variant": variant, "n": n,
                                "seconds": case.time_cache_hit(max(1, min(args.max_reps, 9))),
                            })
                        result = await measure(case, args)
                        cases.append(result)
                        if not args.silent:
                            print(_progress(result), file=sys.stderr, flush=True)
    return {
        "benchmark": "engine_overhead",
        "command": command(__file__, args.argv),
        "machine": machine(load_before, code),
        "config": {
            "sizes": args.sizes, "shapes": args.shapes, "variants": args.variants,
            "checkpointers": args.checkpointers, "reps": args.reps, "budget_s": args.budget,
            "min_reps": args.min_reps, "max_reps": args.max_reps,
            "keep_warmup_s": args.keep_warmup,
            "sqlite_dir": str(args.sqlite_dir or tempfile.gettempdir()),
            "sqlite_filesystem": filesystem(str(args.sqlite_dir or tempfile.gettempdir())),
            "contestants": {k: list(contestants_for(k)) for k in args.checkpointers},
            "order": "rotated per repetition (ABC, BCA, CAB)",
            "fresh_checkpointer": "per repetition and contestant",
        },
        "target_ratio": TARGET_RATIO,
        "wall_seconds": round(time.perf_counter() - started, 1),
        "rows": rows(cases),
        "cases": cases,
        "compile_cache_hit": cache_hits,
    }


def _progress(case: dict[str, Any]) -> str:
    parts = [f"{case['shape']:<6} {case['variant']:<8} N={case['n']:<5} "
             f"cp={case['checkpointer']:<6} reps={case['reps']:<3}"]
    parts += [f"{name}={c['seconds']['median'] * 1e3:.1f}ms"
              for name, c in case["contestants"].items()]
    parts += [f"{comp['path']}/{comp['against']} x{comp['paired_ratio']['median']:.2f}"
              f" (cpu x{comp['cpu_paired_ratio']['median']:.2f})"
              for comp in case["comparisons"]]
    return "  ".join(parts)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=parse_ints, default=[10, 100, 1000],
                        help="comma-separated N (default 10,100,1000)")
    parser.add_argument("--shapes", type=lambda s: parse_names(s, SHAPES), default=list(SHAPES))
    parser.add_argument("--variants", type=lambda s: parse_names(s, VARIANTS),
                        default=list(VARIANTS))
    parser.add_argument("--checkpointers", type=lambda s: parse_names(s, CHECKPOINTERS),
                        default=["none", "sqlite"],
                        help="none,memory,sqlite (default none,sqlite; 'none' also times "
                             "the runtime and the baseline on an in-memory saver)")
    parser.add_argument("--reps", type=int, default=0,
                        help="fixed repetitions per contestant (default: from --budget)")
    parser.add_argument("--budget", type=float, default=1.0,
                        help="seconds to spend per contestant and case (default 1)")
    parser.add_argument("--min-reps", type=int, default=5)
    parser.add_argument("--max-reps", type=int, default=25)
    parser.add_argument("--keep-warmup", type=float, default=2.0,
                        help="a warm-up round slower than this (s) counts as a repetition")
    parser.add_argument("--sqlite-dir", type=Path, default=default_sqlite_dir(),
                        help="where SQLite files go (default /dev/shm when it exists: "
                             "fsync waits, equal for all, only add noise; give a disk "
                             "directory to include them)")
    parser.add_argument("--quick", action="store_true",
                        help="N=10, one repetition: checks the benchmark works")
    parser.add_argument("--out", type=Path, default=RESULTS / "engine_overhead.json")
    parser.add_argument("--silent", action="store_true", help="no progress lines")
    args = parser.parse_args(argv)
    args.argv = argv
    if args.quick:
        args.sizes, args.reps, args.min_reps, args.max_reps = [10], 1, 1, 1
        args.keep_warmup = 0.0
    return args


def main(argv: list[str] | None = None) -> dict[str, Any]:
    args = parse_args(argv)
    payload = asyncio.run(run(args))
    write_json(args.out, payload)
    if not args.silent:
        print(f"wrote {args.out} in {payload['wall_seconds']} s", file=sys.stderr)
    return payload


if __name__ == "__main__":
    main()
