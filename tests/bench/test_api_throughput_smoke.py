"""``bench/api_throughput.py`` keeps working: a tiny configuration (SQLite, N=1 and 2,
half a second per point) must start the servers, drive them from the load-generating
process and write well-formed results. No figure is asserted: targets live in ``bench/``
and its recorded results, never in tests."""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench import api_throughput  # noqa: E402


def _measured(point: dict[str, Any]) -> None:
    assert point["completed"] > 0
    assert math.isfinite(point["per_second"]) and point["per_second"] > 0
    assert 0 < point["p50_ms"] <= point["p99_ms"]


def test_api_throughput_runs_and_writes_results(tmp_path: Path) -> None:
    out = tmp_path / "api_throughput.json"
    api_throughput.main(["--databases", "sqlite", "--concurrency", "1,2", "--duration", "0.5",
                         "--warmup", "0.2", "--durability", "async,exit", "--silent",
                         "--out", str(out)])
    payload = json.loads(out.read_text())
    assert payload["benchmark"] == "api_throughput"
    assert "bench/api_throughput.py" in payload["command"]
    assert {"cores", "cpu_model", "loadavg_before", "loadavg_after", "lscpu"} <= \
        set(payload["machine"])
    cases = payload["cases"]
    assert [(c["database"], c["concurrency"]) for c in cases] == [("sqlite", 1), ("sqlite", 2)]
    for case in cases:
        assert set(case["api"]) == set(case["in_process"]) == {"async", "exit"}
        for durability in ("async", "exit"):
            _measured(case["api"][durability])
            assert case["api"][durability]["errors"] == 0
            _measured(case["in_process"][durability])
            assert case["ratios"][durability]["api_vs_empty_throughput"] > 0
        _measured(case["empty_endpoint"])
        _measured(case["engine"])
