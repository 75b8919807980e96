"""Ctrl-C while a run is moving cancels it (exit 4) and leaves a complete event log."""

from __future__ import annotations

import json
import signal
import subprocess

from cli_harness import GRAPHWRIGHT, Cli, json_lines

LOOP = {
    "spec_version": "1", "name": "spin", "limits": {"max_steps": 1_000_000},
    "nodes": [
        {"id": "start", "type": "transform", "value": 0},
        {"id": "inc", "type": "transform", "value": "{{ (nodes.inc | default(0)) + 1 }}"},
        {"id": "more", "type": "condition", "if": "{{ nodes.inc < 1000000 }}"},
        {"id": "done", "type": "transform", "value": "{{ nodes.inc }}"},
    ],
    "edges": [{"from": "start", "to": "inc"}, {"from": "inc", "to": "more"},
              {"from": "more", "port": "true", "to": "inc"},
              {"from": "more", "port": "false", "to": "done"}],
}


def _default_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)  # undo an inherited "ignore"


def test_ctrl_c_cancels_the_run(cli: Cli) -> None:
    spec = cli.spec("spin", LOOP)
    proc = subprocess.Popen([str(GRAPHWRIGHT), "run", str(spec), "--json"], env=cli.env,
                            cwd=cli.workdir, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, preexec_fn=_default_sigint)
    try:
        assert proc.stdout is not None
        lines = [proc.stdout.readline() for _ in range(300)]  # past the first event flush
        assert all(lines), proc.communicate(timeout=60)[1]
        first = [json.loads(line) for line in lines]
        proc.send_signal(signal.SIGINT)
        rest, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
        proc.wait()
    assert proc.returncode == 4, err
    assert "Traceback" not in err
    assert "cancelled" in err
    run_id = first[0]["run_id"]
    shown = json.loads(cli("show", run_id).stdout)
    assert shown["status"] == "cancelled"
    stored = json_lines(cli("events", run_id).stdout)
    assert [e["seq"] for e in stored] == list(range(1, len(stored) + 1))
    assert stored[0]["type"] == "run.started"
    assert stored[-1]["type"] == "run.cancelled"
    assert len(stored) >= len(first) + len(json_lines(rest)) - 1
