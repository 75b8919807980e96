"""The benchmarks keep working: each runs in its tiniest configuration (N=10, one
repetition) and writes well-formed results. No timing is asserted here on purpose: the
performance targets live in ``bench/`` and its recorded results, never in tests."""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench import (  # noqa: E402
    compile_time,
    engine_overhead,
    profile_engine,
    report,
    runtime_breakdown,
)

MACHINE_KEYS = {"platform", "python", "cpu_model", "cores", "memory", "langgraph", "date",
                "load_note"}


def _positive(value: Any) -> bool:
    return isinstance(value, float | int) and math.isfinite(value) and value > 0


def _check_common(payload: dict[str, Any], name: str) -> None:
    assert payload["benchmark"] == name
    assert set(payload["machine"]) >= MACHINE_KEYS
    assert "bench/" in payload["command"]


def test_engine_overhead_quick(tmp_path: Path) -> None:
    out = tmp_path / "engine_overhead.json"
    engine_overhead.main(["--quick", "--silent", "--checkpointers", "none,memory,sqlite",
                          "--sqlite-dir", str(tmp_path), "--out", str(out)])
    payload = json.loads(out.read_text())
    _check_common(payload, "engine_overhead")
    cases = payload["cases"]
    # 2 shapes x 2 value variants x 3 checkpointers, N=10 only
    assert {(c["shape"], c["variant"], c["checkpointer"]) for c in cases} == {
        (s, v, k) for s in ("chain", "fanout") for v in ("const", "template")
        for k in ("none", "memory", "sqlite")}
    for case in cases:
        assert case["n"] == 10
        assert case["reps"] == 1
        for contestant in case["contestants"].values():
            assert len(contestant["samples"]) == 1
            assert _positive(contestant["samples"][0])
    assert len(payload["rows"]) == sum(len(c["comparisons"]) for c in cases)
    for row in payload["rows"]:
        assert _positive(row["graphwright_median_s"])
        assert _positive(row["baseline_median_s"])
        assert _positive(row["paired_ratio_median"])
        assert isinstance(row["meets_target"], bool)
    assert len(payload["compile_cache_hit"]) == 4
    assert not list(tmp_path.glob("gw-bench-*")), "temporary SQLite files were left behind"


def test_compile_time_quick(tmp_path: Path) -> None:
    out = tmp_path / "compile_time.json"
    compile_time.main(["--quick", "--silent", "--out", str(out)])
    payload = json.loads(out.read_text())
    _check_common(payload, "compile_time")
    assert len(payload["rows"]) == 4
    for case in payload["cases"]:
        assert case["reps"] == 1
        assert _positive(case["full"]["seconds"]["median"])
        assert set(case["phases"]) == {*compile_time.PHASES, "total"}
        assert _positive(case["baseline_langgraph"]["seconds"]["median"])
    assert payload["growth"] == []  # one size only


def test_report_renders_recorded_results(tmp_path: Path) -> None:
    engine_overhead.main(["--quick", "--silent", "--shapes", "chain", "--variants", "const",
                          "--checkpointers", "none", "--out",
                          str(tmp_path / "engine_overhead.json")])
    compile_time.main(["--quick", "--silent", "--shapes", "chain", "--variants", "const",
                       "--out", str(tmp_path / "compile_time.json")])
    text = report.render(tmp_path)
    assert "### Engine overhead" in text
    assert "### Compile time" in text
    assert text.count("\n| chain | const | 10 |") == 3 + 1 + 1  # 3 rows, 1 cache hit, 1 compile
    assert report.render(tmp_path / "missing") == "_No results recorded yet._"


@pytest.mark.parametrize("contestant", ["compiled", "runtime"])
def test_profile_quick(tmp_path: Path, contestant: str) -> None:
    written = profile_engine.main(["--n", "10", "--checkpointers", "none",
                                   "--contestants", contestant, "--top", "5",
                                   "--out-dir", str(tmp_path)])
    assert [p.name for p in written] == [f"chain-const-10-none-{contestant}.txt"]
    assert "by cumulative time" in written[0].read_text()


def test_runtime_breakdown_quick(tmp_path: Path) -> None:
    out = tmp_path / "runtime_breakdown.json"
    runtime_breakdown.main(["--sizes", "10", "--reps", "1", "--shapes", "chain",
                            "--out", str(out)])
    payload = json.loads(out.read_text())
    _check_common(payload, "runtime_breakdown")
    (case,) = payload["cases"]
    assert set(case["layers"]) == set(runtime_breakdown.LAYERS)
    assert all(_positive(layer["seconds"]["median"]) for layer in case["layers"].values())
    assert "### Runtime breakdown" in report.breakdown_section(payload)
