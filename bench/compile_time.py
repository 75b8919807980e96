"""Compile time: validate + lower + compile a spec, cold, for 10 to 10,000 nodes.

Each repetition runs, interleaved (rotated order):

* ``full``: ``WorkflowCompiler().compile(raw)`` on a fresh compiler (no spec-hash hit);
* ``phases``: the same steps timed one by one: ``validate_spec``, ``build_plan``,
  ``lower`` (the ``StateGraph`` builder), ``builder.compile`` (LangGraph), and the outputs
  template;
* ``baseline``: building and compiling the hand-written ``StateGraph`` of
  ``bench/baseline.py`` for the same topology: the part LangGraph itself costs.

The expression engine's process-wide template caches are cleared before every ``full``
and ``phases`` run, so nothing is reused between repetitions.

    .venv/bin/python bench/compile_time.py                 # full run, writes results JSON
    .venv/bin/python bench/compile_time.py --quick         # N=10, one repetition
"""

from __future__ import annotations

import argparse
import gc
import math
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: make ``bench`` importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import baseline
from bench._common import (
    RESULTS,
    SHAPES,
    VARIANTS,
    code_snapshot,
    command,
    machine,
    make_spec,
    parse_ints,
    parse_names,
    rotate,
    summarize,
    write_json,
)

TARGET_1000_S = 0.5
PHASES = ("validate", "plan", "lower", "langgraph_compile", "outputs")
RUNS = ("full", "phases", "baseline")


def clear_expression_caches() -> None:
    """Forget every compiled template, so a repetition compiles from scratch."""
    from workflow_compiler.expressions import template, values

    for module in (template, values):
        for obj in vars(module).values():
            clear = getattr(obj, "cache_clear", None)
            if callable(clear) and hasattr(obj, "cache_info"):
                clear()


def time_full(raw: dict[str, Any]) -> float:
    from workflow_compiler.compiler.cache import WorkflowCompiler

    clear_expression_caches()
    gc.collect()
    started = time.perf_counter()
    compiled = WorkflowCompiler().compile(raw)
    elapsed = time.perf_counter() - started
    assert len(compiled.plan.nodes) == len(raw["nodes"])
    return elapsed


def time_phases(raw: dict[str, Any]) -> dict[str, float]:
    """``WorkflowCompiler.compile``'s steps, one clock each (mirrors ``cache._build``)."""
    from workflow_compiler.compiler.cache import WorkflowCompiler
    from workflow_compiler.compiler.lowering import lower
    from workflow_compiler.compiler.plan import build_plan
    from workflow_compiler.expressions import compile_value
    from workflow_compiler.validation import validate_spec

    compiler = WorkflowCompiler()
    clear_expression_caches()
    gc.collect()
    times: dict[str, float] = {}

    def clock(name: str, step: Callable[[], Any]) -> Any:
        started = time.perf_counter()
        result = step()
        times[name] = time.perf_counter() - started
        return result

    validated = clock("validate", lambda: validate_spec(raw))
    plan = clock("plan", lambda: build_plan(validated.spec, validated.topology))
    builder = clock("lower", lambda: lower(plan, lambda node: compiler._compile_body(
        validated.spec, node, validated.spec_hash)))
    clock("langgraph_compile", lambda: builder.compile(name=validated.spec.name))
    clock("outputs", lambda: compile_value(validated.spec.outputs))
    times["total"] = sum(times[p] for p in PHASES)
    return times


def time_baseline(shape: str, variant: str, n: int) -> float:
    gc.collect()
    started = time.perf_counter()
    baseline.build(shape, variant, n).compile()
    return time.perf_counter() - started


def measure(shape: str, variant: str, n: int, args: argparse.Namespace) -> dict[str, Any]:
    raw = make_spec(shape, variant, n)
    first = time_full(raw)  # warm-up (imports, executor registry); sizes the repetitions
    reps = args.reps or max(args.min_reps,
                            min(args.max_reps, math.ceil(args.budget / max(first, 1e-6))))
    # a warm-up of seconds has no one-time cost worth discarding: it counts as a full run
    kept = first >= args.keep_warmup
    full: list[float] = [first] if kept else []
    base: list[float] = []
    phases: dict[str, list[float]] = {p: [] for p in (*PHASES, "total")}
    for rep in range(reps):
        for run in rotate(list(RUNS), rep):
            if run == "full" and kept and rep == 0:
                continue
            if run == "full":
                full.append(time_full(raw))
            elif run == "baseline":
                base.append(time_baseline(shape, variant, n))
            else:
                for name, value in time_phases(raw).items():
                    phases[name].append(value)
    full_stats = summarize(full)
    nodes = len(raw["nodes"])
    phase_medians = {p: summarize(v)["median"] for p, v in phases.items()}
    return {
        "shape": shape, "variant": variant, "n": n, "nodes": nodes, "reps": reps,
        "warmup_seconds": first, "warmup_kept_as_rep": kept,
        "full": {"seconds": full_stats, "samples": full},
        "per_node_us": full_stats["median"] / nodes * 1e6,
        "phases": {p: {"seconds": summarize(v), "share": phase_medians[p]
                       / phase_medians["total"] if phase_medians["total"] else 0.0}
                   for p, v in phases.items()},
        "baseline_langgraph": {"seconds": summarize(base), "samples": base},
        "ratio_to_baseline": full_stats["median"] / summarize(base)["median"],
    }


def growth(cases: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """time(10x nodes) / time(x): near 10 means linear, near 100 quadratic."""
    by_key = {(c["shape"], c["variant"], c["n"]): c for c in cases}
    out = []
    for (shape, variant, n), case in sorted(by_key.items()):
        bigger = by_key.get((shape, variant, n * 10))
        if bigger is None:
            continue
        entry = {"shape": shape, "variant": variant, "from_n": n, "to_n": n * 10,
                 "full": bigger["full"]["seconds"]["median"] / case["full"]["seconds"]["median"],
                 "baseline_langgraph":
                     bigger["baseline_langgraph"]["seconds"]["median"]
                     / case["baseline_langgraph"]["seconds"]["median"]}
        for phase in PHASES:
            small = case["phases"][phase]["seconds"]["median"]
            big = bigger["phases"][phase]["seconds"]["median"]
            entry[phase] = big / small if small > 0 else None
        out.append(entry)
    return out


def rows(cases: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for case in cases:
        row = {
            "shape": case["shape"], "variant": case["variant"], "n": case["n"],
            "nodes": case["nodes"], "reps": case["reps"],
            "full_median_s": case["full"]["seconds"]["median"],
            "full_iqr_pct": case["full"]["seconds"]["iqr_pct"],
            "per_node_us": case["per_node_us"],
            "baseline_langgraph_median_s": case["baseline_langgraph"]["seconds"]["median"],
            "ratio_to_baseline": case["ratio_to_baseline"],
        }
        for phase in PHASES:
            row[f"{phase}_median_s"] = case["phases"][phase]["seconds"]["median"]
        if case["n"] == 1000:
            row["target_s"] = TARGET_1000_S
            row["meets_target"] = case["full"]["seconds"]["median"] < TARGET_1000_S
        out.append(row)
    return out


def run(args: argparse.Namespace) -> dict[str, Any]:
    load_before = os.getloadavg()
    code = code_snapshot()
    started = time.perf_counter()
    cases = []
    for n in args.sizes:
        for shape in args.shapes:
            for variant in args.variants:
                case = measure(shape, variant, n, args)
                cases.append(case)
                if not args.silent:
                    phases = " ".join(f"{p}={case['phases'][p]['seconds']['median'] * 1e3:.1f}"
                                      for p in PHASES)
                    only = case["baseline_langgraph"]["seconds"]["median"]
                    print(f"{shape:<6} {variant:<8} N={n:<6} reps={case['reps']:<3} "
                          f"full={case['full']['seconds']['median'] * 1e3:9.1f}ms "
                          f"({case['per_node_us']:.0f} us/node)  [{phases}] ms  "
                          f"langgraph-only={only * 1e3:.1f}ms", file=sys.stderr, flush=True)
    return {
        "benchmark": "compile_time",
        "command": command(__file__, args.argv),
        "machine": machine(load_before, code),
        "config": {"sizes": args.sizes, "shapes": args.shapes, "variants": args.variants,
                   "reps": args.reps, "budget_s": args.budget, "min_reps": args.min_reps,
                   "max_reps": args.max_reps, "keep_warmup_s": args.keep_warmup,
                   "runs": list(RUNS),
                   "order": "rotated per repetition", "caches": "expression caches cleared "
                   "before every full/phases run; fresh WorkflowCompiler each time"},
        "target": {"n": 1000, "seconds": TARGET_1000_S},
        "wall_seconds": round(time.perf_counter() - started, 1),
        "rows": rows(cases),
        "growth": growth(cases),
        "cases": cases,
    }


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=parse_ints, default=[10, 100, 1000, 10000],
                        help="comma-separated N (default 10,100,1000,10000)")
    parser.add_argument("--shapes", type=lambda s: parse_names(s, SHAPES), default=list(SHAPES))
    parser.add_argument("--variants", type=lambda s: parse_names(s, VARIANTS),
                        default=list(VARIANTS))
    parser.add_argument("--reps", type=int, default=0,
                        help="fixed repetitions (default: from --budget)")
    parser.add_argument("--budget", type=float, default=1.0,
                        help="seconds to spend per run kind and case (default 1)")
    parser.add_argument("--min-reps", type=int, default=3)
    parser.add_argument("--max-reps", type=int, default=21)
    parser.add_argument("--keep-warmup", type=float, default=2.0,
                        help="a warm-up slower than this (s) counts as a full run")
    parser.add_argument("--quick", action="store_true",
                        help="N=10, one repetition: checks the benchmark works")
    parser.add_argument("--out", type=Path, default=RESULTS / "compile_time.json")
    parser.add_argument("--silent", action="store_true", help="no progress lines")
    args = parser.parse_args(argv)
    args.argv = argv
    if args.quick:
        args.sizes, args.reps = [10], 1
    return args


def main(argv: list[str] | None = None) -> dict[str, Any]:
    args = parse_args(argv)
    payload = run(args)
    write_json(args.out, payload)
    if not args.silent:
        print(f"wrote {args.out} in {payload['wall_seconds']} s", file=sys.stderr)
    return payload


if __name__ == "__main__":
    main()
