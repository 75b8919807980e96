"""``bench/llm_overhead.py`` keeps working: three repetitions against the local OpenAI wire
server, well-formed results. No timing is asserted (targets live in ``bench/``)."""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench import llm_overhead  # noqa: E402


def test_llm_overhead_quick(tmp_path: Path) -> None:
    out = tmp_path / "llm_overhead.json"
    llm_overhead.main(["--quick", "--silent", "--chain", "2", "--out", str(out)])
    payload = json.loads(out.read_text())
    assert payload["benchmark"] == "llm_overhead"
    assert {"platform", "python", "cpu_model", "cores", "date", "load_note"} <= set(
        payload["machine"])
    assert "bench/llm_overhead.py" in payload["command"]
    assert set(payload["contestants"]) == set(llm_overhead.CONTESTANTS)
    for contestant in payload["contestants"].values():
        assert len(contestant["samples"]) == 3
        assert all(math.isfinite(s) and s > 0 for s in contestant["samples"])
    targeted = [r for r in payload["rows"] if r["target_ratio"] is not None]
    assert {(r["candidate"], r["reference"]) for r in targeted} == {
        ("node", "direct"), ("chain", "direct_chain")}
    assert all(isinstance(r["meets_target"], bool) for r in targeted)
    # each repetition made one call per contestant, two per chain contestant
    assert payload["config"]["requests_served"] == (1 + 3) * (len(llm_overhead.CONTESTANTS) + 2)
