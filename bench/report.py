"""Markdown tables from the recorded results (``bench/results/*.json``).

    .venv/bin/python bench/report.py                  # print the tables
    .venv/bin/python bench/report.py --update-readme  # refresh bench/README.md's results

Files that are missing are skipped, so the report works after running either benchmark.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._common import RESULTS, ROOT

README = ROOT / "bench" / "README.md"
START, END = "<!-- results:start -->", "<!-- results:end -->"


def _ms(seconds: float) -> str:
    ms = seconds * 1e3
    if ms >= 1000:
        return f"{ms:,.0f}"
    if ms >= 100:
        return f"{ms:.0f}"
    return f"{ms:.1f}" if ms >= 10 else f"{ms:.2f}"


def _mark(ok: bool | None) -> str:
    return "" if ok is None else ("yes" if ok else "**no**")


def _table(header: list[str], body: list[list[str]], text_columns: int = 3) -> str:
    """A markdown table; the first ``text_columns`` are left-aligned, numbers right."""
    align = ["---" if i < text_columns else "--:" for i in range(len(header))]
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(align) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in body]
    return "\n".join(lines)


def machine_line(payload: dict[str, Any]) -> str:
    m = payload["machine"]
    return (f"{m['date']}, {m['cpu_model']}, {m['cores']} cores, {m['memory']}, "
            f"{m['python']}, langgraph {m['langgraph']}, {m['platform']}; "
            f"load average {m['loadavg_before'][0]} before / {m['loadavg_after'][0]} after "
            f"(shared machine); git {m['git']['head']} + "
            f"{m['git']['uncommitted_paths']} uncommitted paths, workflow_compiler sources "
            f"{m.get('workflow_compiler_sha256', '?')}")


def engine_section(payload: dict[str, Any]) -> str:
    target = payload["target_ratio"]
    body = []
    for r in payload["rows"]:
        cp = r["gw_checkpointer"] if r["gw_checkpointer"] == r["baseline_checkpointer"] \
            else f"{r['gw_checkpointer']} vs {r['baseline_checkpointer']}"
        body.append([
            r["shape"], r["variant"], str(r["n"]), cp, r["path"],
            _ms(r["graphwright_median_s"]), _ms(r["baseline_median_s"]),
            f"{r['ratio']:.2f}",
            f"{r['paired_ratio_median']:.2f} [{r['paired_ratio_q1']:.2f}-"
            f"{r['paired_ratio_q3']:.2f}]",
            f"{r['cpu_ratio_median']:.2f}",
            f"{r['overhead_us_per_node']:+.0f}",
            str(r["reps"]), _mark(r["meets_target"]),
        ])
    header = ["shape", "values", "N", "checkpointer", "graphwright path",
              "graphwright ms", "baseline ms", "ratio", "paired ratio [IQR]", "CPU ratio",
              "extra us/node", "reps", f"<= {target}"]
    hits = payload.get("compile_cache_hit", [])
    hit_body = [[h["shape"], h["variant"], str(h["n"]), _ms(h["seconds"]["median"])]
                for h in hits]
    text = [
        "### Engine overhead (`bench/engine_overhead.py`)",
        "",
        f"Machine: {machine_line(payload)}.",
        "",
        f"Command: `{payload['command']}` ({payload['wall_seconds']} s). SQLite files in "
        f"`{payload['config'].get('sqlite_dir')}` "
        f"({payload['config'].get('sqlite_filesystem', 'unknown')}).",
        "",
        "Medians of wall time per run. *ratio* = graphwright median / baseline median; "
        "*paired ratio* = median (and quartiles) of the per-repetition ratios of runs made "
        "back to back, the figure the target applies to; *CPU ratio* = the same on process "
        "CPU time (SQLite's fsync waits excluded). `compiled` drives the compiled graph "
        "directly; `runtime` is `WorkflowRuntime.start` with a `MemoryRunStore`; "
        "`memory vs none` compares the runtime (which always checkpoints) with a "
        "checkpoint-free baseline.",
        "",
        _table(header, body, text_columns=5),
    ]
    if hit_body:
        text += ["", "Cost of `WorkflowCompiler.compile` on an already compiled spec "
                 "(a cache hit: what every `WorkflowRuntime.start` pays to find its "
                 "compiled graph):", "",
                 _table(["shape", "values", "N", "median ms"], hit_body)]
    return "\n".join(text)


def compile_section(payload: dict[str, Any]) -> str:
    body = [[
        r["shape"], r["variant"], str(r["n"]), _ms(r["full_median_s"]),
        f"{r['full_iqr_pct']:.0f}%", f"{r['per_node_us']:.0f}",
        _ms(r["validate_median_s"]), _ms(r["plan_median_s"]), _ms(r["lower_median_s"]),
        _ms(r["langgraph_compile_median_s"]), _ms(r["baseline_langgraph_median_s"]),
        f"{r['ratio_to_baseline']:.1f}", str(r["reps"]), _mark(r.get("meets_target")),
    ] for r in payload["rows"]]
    header = ["shape", "values", "N", "compile ms", "IQR", "us/node", "validate ms",
              "plan ms", "lower ms", "LangGraph compile ms", "hand-written build+compile ms",
              "ratio", "reps", f"< {payload['target']['seconds']} s at N=1000"]
    growth = [[g["shape"], g["variant"], f"{g['from_n']} -> {g['to_n']}", f"{g['full']:.1f}",
               *(f"{g[p]:.1f}" if g.get(p) else "" for p in
                 ("validate", "plan", "lower", "langgraph_compile")),
               f"{g['baseline_langgraph']:.1f}"]
              for g in payload["growth"]]
    return "\n".join([
        "### Compile time (`bench/compile_time.py`)",
        "",
        f"Machine: {machine_line(payload)}.",
        "",
        f"Command: `{payload['command']}` ({payload['wall_seconds']} s).",
        "",
        "Cold `WorkflowCompiler().compile(raw)` (fresh compiler, expression caches "
        "cleared), median; the phases are timed in separate runs of the same steps, so "
        "they do not add up to the total exactly. *ratio* = graphwright compile / "
        "building and compiling the hand-written `StateGraph`.",
        "",
        _table(header, body),
        "",
        "Growth, time(10x nodes) / time(x nodes): about 10 is linear, 100 quadratic.",
        "",
        _table(["shape", "values", "nodes", "compile", "validate", "plan", "lower",
                "LangGraph compile", "hand-written"], growth),
    ])


def breakdown_section(payload: dict[str, Any]) -> str:
    layers = ("ainvoke", "astream", "astream_subgraphs", "runtime")
    body = []
    for case in payload["cases"]:
        base = case["layers"]["ainvoke"]["seconds"]["median"]
        row = [case["shape"], case["variant"], str(case["n"]), case["checkpointer"]]
        for layer in layers:
            median = case["layers"][layer]["seconds"]["median"]
            row.append(f"{_ms(median)} (x{median / base:.2f})")
        row += [_ms(case["lookups"]["compile_cache_hit"]["median"]),
                _ms(case["lookups"]["spec_hash"]["median"]), str(case["reps"])]
        body.append(row)
    header = ["shape", "values", "N", "checkpointer", "ainvoke ms", "+ custom stream ms",
              "+ subgraphs=True ms", "runtime.start ms", "compile (cache hit) ms",
              "spec_hash ms", "reps"]
    return "\n".join([
        "### Runtime breakdown (`bench/runtime_breakdown.py`)",
        "",
        f"Machine: {machine_line(payload)}.",
        "",
        f"Command: `{payload['command']}` ({payload['wall_seconds']} s).",
        "",
        "The same compiled graph with one layer of the runtime added at a time (medians, "
        "ratio to `ainvoke`); `compile (cache hit)` is what `start` pays to find the "
        "compiled spec, `spec_hash` what hashing alone would cost.",
        "",
        _table(header, body, text_columns=4),
    ])


def render(results: Path = RESULTS) -> str:
    parts = []
    for name, section in (("engine_overhead.json", engine_section),
                          ("runtime_breakdown.json", breakdown_section),
                          ("compile_time.json", compile_section)):
        path = results / name
        if path.exists():
            parts.append(section(json.loads(path.read_text())))
    return "\n\n".join(parts) if parts else "_No results recorded yet._"


def update_readme(text: str, readme: Path = README) -> None:
    current = readme.read_text()
    if START not in current or END not in current:
        raise SystemExit(f"{readme} lacks the {START} / {END} markers")
    head, rest = current.split(START, 1)
    _, tail = rest.split(END, 1)
    readme.write_text(f"{head}{START}\n{text}\n{END}{tail}")


def main(argv: list[str] | None = None) -> str:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--results", type=Path, default=RESULTS)
    parser.add_argument("--update-readme", action="store_true")
    args = parser.parse_args(argv)
    text = render(args.results)
    if args.update_readme:
        update_readme(text)
    else:
        print(text)
    return text


if __name__ == "__main__":
    main()
