"""Where the runtime's time goes beyond the compiled graph: one layer added at a time.

On the same compiled graph and the same kind of checkpointer (fresh per run), interleaved:

* ``ainvoke``: the compiled graph, as ``engine_overhead``'s ``compiled`` contestant;
* ``astream``: ``astream(stream_mode="custom")``, events discarded: LangGraph's custom
  stream (every event crosses ``call_soon_threadsafe`` and a stream queue);
* ``astream_subgraphs``: the same with ``subgraphs=True``, exactly as ``_drive`` calls it;
* ``runtime``: ``WorkflowRuntime.start``: adds validation on the cache lookup, run
  records, ``RunEvent`` objects, the final ``aget_state`` and the outputs.

Also timed alone: ``compiler.compile`` on a cached spec (validates, then hits the cache)
and ``spec_hash`` (what a lookup keyed on the raw spec's hash would cost instead).

    .venv/bin/python bench/runtime_breakdown.py                    # chain + fan-out, N=100, 1000
    .venv/bin/python bench/runtime_breakdown.py --sizes 10 --reps 60
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import sys
import tempfile
import time
import uuid
from itertools import product
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._common import (
    RESULTS,
    SHAPES,
    VARIANTS,
    code_snapshot,
    command,
    default_sqlite_dir,
    machine,
    parse_ints,
    parse_names,
    rotate,
    summarize,
    write_json,
)
from bench.engine_overhead import CHECKPOINTERS, Case, bound_graphs, open_saver

LAYERS = ("ainvoke", "astream", "astream_subgraphs", "runtime")


async def time_layer(case: Case, layer: str, kind: str) -> float:
    from workflow_compiler.compiler.context import RunContext
    from workflow_compiler.runtime import WorkflowRuntime
    from workflow_compiler.runtime.runtime import utcnow
    from workflow_compiler.runtime.store import MemoryRunStore

    async with open_saver(kind, case.tmpdir) as saver:
        try:
            if layer == "runtime":
                runtime = WorkflowRuntime(checkpointer=saver, store=MemoryRunStore(),
                                          services=case.services, compiler=case.compiler)
                case.compiled.with_checkpointer(runtime.checkpointer, runtime.memory_store)
                bound = bound_graphs(case.compiled)
                gc.collect()
                started = time.perf_counter()
                result = await runtime.start(case.spec, {})
                elapsed = time.perf_counter() - started
                assert result.status == "completed", result.error
                assert bound_graphs(case.compiled) == bound, "runtime compiled on the clock"
                case.compiled._bound.pop(id(runtime.checkpointer), None)
                return elapsed
            graph = case.compiled.with_checkpointer(saver)
            run_id = uuid.uuid4().hex
            config = case.config(run_id)
            gc.collect()
            started = time.perf_counter()
            context = RunContext(run_id=run_id, services=case.services, compiler=case.compiler)
            graph_input = {"inputs": {}, "run": {"id": run_id, "started_at": utcnow()},
                           "path": ""}
            if layer == "ainvoke":
                await graph.ainvoke(graph_input, config, context=context)
            else:
                async for _ in graph.astream(graph_input, config, context=context,
                                             stream_mode="custom",
                                             subgraphs=layer == "astream_subgraphs"):
                    pass
            return time.perf_counter() - started
        finally:
            if saver is not None:
                case.compiled._bound.pop(id(saver), None)


def time_lookups(case: Case, reps: int) -> dict[str, Any]:
    from workflow_compiler.validation import spec_hash

    hit, hashed = [], []
    for _ in range(reps):
        started = time.perf_counter()
        case.compiler.compile(case.spec)
        hit.append(time.perf_counter() - started)
        started = time.perf_counter()
        spec_hash(case.spec)
        hashed.append(time.perf_counter() - started)
    return {"compile_cache_hit": summarize(hit), "spec_hash": summarize(hashed)}


async def run(args: argparse.Namespace) -> dict[str, Any]:
    load_before = os.getloadavg()
    code = code_snapshot()
    started = time.perf_counter()
    results = []
    with tempfile.TemporaryDirectory(prefix="gw-breakdown-", dir=default_sqlite_dir()) as tmp:
        for n, shape, kind in product(args.sizes, args.shapes, args.checkpointers):
            case = Case(shape, args.variant, n, kind, Path(tmp))
            saver_kind = "memory" if kind == "none" else kind
            for layer in LAYERS:  # warm-up
                await time_layer(case, layer, saver_kind)
            samples: dict[str, list[float]] = {layer: [] for layer in LAYERS}
            for rep in range(args.reps):
                for layer in rotate(list(LAYERS), rep):
                    samples[layer].append(await time_layer(case, layer, saver_kind))
            stats = {layer: summarize(v) for layer, v in samples.items()}
            base = stats["ainvoke"]["median"]
            entry = {
                "shape": shape, "variant": args.variant, "n": n,
                "checkpointer": saver_kind, "reps": args.reps,
                "layers": {layer: {"seconds": stats[layer],
                                   "ratio_to_ainvoke": stats[layer]["median"] / base,
                                   "samples": samples[layer]} for layer in LAYERS},
                "lookups": time_lookups(case, max(3, args.reps)),
            }
            results.append(entry)
            lookups = entry["lookups"]
            print(f"{shape:<6} N={n} cp={saver_kind:<6} " + "  ".join(
                f"{layer}={stats[layer]['median'] * 1e3:.1f}ms" for layer in LAYERS)
                + f"  compile(hit)={lookups['compile_cache_hit']['median'] * 1e3:.1f}ms"
                f"  spec_hash={lookups['spec_hash']['median'] * 1e3:.1f}ms",
                file=sys.stderr, flush=True)
    return {
        "benchmark": "runtime_breakdown",
        "command": command(__file__, args.argv),
        "machine": machine(load_before, code),
        "wall_seconds": round(time.perf_counter() - started, 1),
        "cases": results,
    }


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--shapes", type=lambda s: parse_names(s, SHAPES), default=list(SHAPES))
    parser.add_argument("--variant", choices=VARIANTS, default="const")
    parser.add_argument("--sizes", type=parse_ints, default=[100, 1000],
                        help="comma-separated N (default 100,1000)")
    parser.add_argument("--checkpointers", type=lambda s: parse_names(s, CHECKPOINTERS),
                        default=["memory"])
    parser.add_argument("--reps", type=int, default=7)
    parser.add_argument("--out", type=Path, default=RESULTS / "runtime_breakdown.json")
    args = parser.parse_args(argv)
    args.argv = argv
    payload = asyncio.run(run(args))
    write_json(args.out, payload)
    return payload


if __name__ == "__main__":
    main()
