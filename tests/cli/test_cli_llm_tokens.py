"""``graphwright run`` shows an llm node's text as it streams, in plain and ``--json`` mode.

The spec runs a ``fake``-provider llm node (deterministic, offline, streamed word by
word) and then a 2 s timer, so the process is certainly still running when the token
lines must already have been printed: reading stdout line by line as it comes proves
the text is shown live, not only at the end. The final text comes once, with
``node.completed``, never again as a token.
"""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass

from cli_harness import GRAPHWRIGHT, Cli

REPLY = "Tokens arrive one by one while the node is still running"
SPEC = {
    "spec_version": "1", "name": "talk",
    "nodes": [
        {"id": "agent", "type": "llm", "provider": "fake", "model": "m", "prompt": "Talk",
         "provider_options": {"responses": [REPLY]}},
        {"id": "nap", "type": "wait", "duration": "PT2S"},
    ],
    "edges": [{"from": "agent", "to": "nap"}],
    "outputs": {"reply": "{{ nodes.agent.text }}"},
}


@dataclass
class Line:
    text: str
    running: bool  # the process had not exited when the line was read


def _run_live(cli: Cli, *args: str) -> tuple[list[Line], int]:
    argv = [str(GRAPHWRIGHT), "run", str(cli.spec("talk", SPEC)), *args]
    with subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                          env=cli.env, cwd=cli.workdir, stdin=subprocess.DEVNULL) as proc:
        assert proc.stdout is not None
        lines = [Line(raw.rstrip("\n"), proc.poll() is None) for raw in proc.stdout]
        _, err = proc.communicate(timeout=60)
    assert "Traceback" not in err, err
    return lines, proc.returncode


def _first(lines: list[str], predicate: str) -> int:
    return next(i for i, line in enumerate(lines) if predicate in line)


def test_plain_mode_prints_token_text_live_then_completes(cli: Cli) -> None:
    lines, code = _run_live(cli)

    assert code == 0, [line.text for line in lines]
    texts = [line.text for line in lines]
    tokens = [(i, line) for i, line in enumerate(lines) if " llm.token agent " in line.text]
    assert tokens, texts
    assert all(line.running for _, line in tokens)  # printed while the run went on
    deltas = [json.loads(line.text.split(" llm.token agent ", 1)[1]) for _, line in tokens]
    assert "".join(deltas) == REPLY
    assert REPLY not in deltas  # deltas only, not the whole reply once more
    completed = _first(texts, "node.completed agent")
    assert tokens[-1][0] < completed
    assert REPLY not in texts[completed]
    assert _first(texts, "node.completed nap") > completed
    assert "\n".join(texts).count(REPLY) == 1  # in the printed outputs only


def test_json_mode_streams_token_events_before_node_completed(cli: Cli) -> None:
    lines, code = _run_live(cli, "--json")

    assert code == 0, [line.text for line in lines]
    events = [(json.loads(line.text), line.running) for line in lines]
    tokens = [(i, e) for i, (e, _) in enumerate(events) if e["type"] == "llm.token"]
    assert tokens
    assert all(events[i][1] for i, _ in tokens)
    assert {e["node_id"] for _, e in tokens} == {"agent"}
    deltas = [e["data"]["text"] for _, e in tokens]
    assert "".join(deltas) == REPLY
    assert REPLY not in deltas
    [(completed, done)] = [(i, e) for i, (e, _) in enumerate(events)
                           if e["type"] == "node.completed" and e["node_id"] == "agent"]
    assert tokens[-1][0] < completed
    assert done["data"]["output"]["text"] == REPLY
    assert events[-1][0]["type"] == "run.completed"
    assert events[-1][0]["data"]["outputs"] == {"reply": REPLY}
