"""``run`` and the inspection commands: inputs, output modes, exit codes."""

from __future__ import annotations

import json
import re

from cli_harness import Cli, json_lines, no_traceback

ECHO = {
    "spec_version": "1", "name": "echo",
    "inputs": {"type": "object", "required": ["who"],
               "properties": {"who": {"type": "string"}, "n": {"type": "integer"},
                              "opts": {"type": "object"}}},
    "nodes": [
        {"id": "greet", "type": "transform",
         "value": {"text": "hi {{ inputs.who }}", "n": "{{ inputs.n | default(0) }}",
                   "opts": "{{ inputs.opts | default({}) }}"}},
        {"id": "big", "type": "condition", "if": "{{ (inputs.n | default(0)) > 10 }}"},
        {"id": "shout", "type": "transform", "value": "BIG"},
    ],
    "edges": [{"from": "greet", "to": "big"}, {"from": "big", "port": "true", "to": "shout"}],
    "outputs": {"greeting": "{{ nodes.greet }}",
                "shout": "{{ nodes.shout | default(none) }}"},
}


def test_run_with_inputs_prints_outputs(cli: Cli) -> None:
    spec = cli.spec("echo", ECHO)
    result = cli("run", str(spec), "--input", "who=bob", "-i", "n=12", "-i", "opts.deep.x=1",
                 "-i", "opts.flag=true")
    assert result.returncode == 0, result.stderr
    outputs = json.loads(result.stdout[result.stdout.index("\n{") + 1:])
    assert outputs == {"greeting": {"text": "hi bob", "n": 12,
                                    "opts": {"deep": {"x": 1}, "flag": True}},
                       "shout": "BIG"}


def test_inputs_file_then_overrides(cli: Cli) -> None:
    spec = cli.spec("echo", ECHO)
    (cli.workdir / "in.yaml").write_text("who: alice\nn: 3\nopts: {keep: 1}\n")
    result = cli("run", str(spec), "--inputs-file", "in.yaml", "-i", "n=20",
                 "-i", "opts.add=x", "--json")
    assert result.returncode == 0, result.stderr
    completed = json_lines(result.stdout)[-1]
    assert completed["data"]["outputs"]["greeting"] == {
        "text": "hi alice", "n": 20, "opts": {"keep": 1, "add": "x"}}
    (cli.workdir / "in.json").write_text('{"who": "file", "n": 1}')
    number = cli("run", str(spec), "--inputs-file", "in.json", "-i", "who=5")
    assert number.returncode == 2  # 5 parses as JSON: a number, not the string who needs
    quoted = cli("run", str(spec), "--inputs-file", "in.json", "-i", 'who="5"', "--json")
    assert quoted.returncode == 0, quoted.stderr
    assert json_lines(quoted.stdout)[-1]["data"]["outputs"]["greeting"]["text"] == "hi 5"


def test_json_mode_is_only_events(cli: Cli) -> None:
    result = cli("run", str(cli.spec("echo", ECHO)), "-i", "who=x", "--json")
    assert result.returncode == 0, result.stderr
    events = json_lines(result.stdout)  # every line parses
    assert [e["seq"] for e in events] == list(range(1, len(events) + 1))
    assert events[0]["type"] == "run.started"
    assert events[-1]["type"] == "run.completed"
    assert {"seq", "run_id", "type", "node_id", "ts", "data"} <= set(events[-1])
    skipped = [e for e in events if e["type"] == "node.skipped"]
    assert [e["node_id"] for e in skipped] == ["shout"]


def test_plain_lines(cli: Cli) -> None:
    result = cli("run", str(cli.spec("echo", ECHO)), "-i", "who=x")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert re.fullmatch(r"\d\d:\d\d:\d\d run\.started [0-9a-f]{32}", lines[0])
    assert any(re.fullmatch(r"\d\d:\d\d:\d\d node\.completed greet \d+\.\dms", line)
               for line in lines)
    assert any(re.fullmatch(r"\d\d:\d\d:\d\d node\.completed big \d+\.\dms -> false", line)
               for line in lines)
    assert any(line.endswith("node.skipped shout branch_not_taken") for line in lines)
    assert "\x1b[" not in result.stdout  # no escape codes when not a terminal


def test_invalid_inputs_and_spec(cli: Cli) -> None:
    spec = cli.spec("echo", ECHO)
    missing = cli("run", str(spec))
    assert missing.returncode == 2
    assert "invalid_inputs" in missing.stderr
    assert "'who' is a required property" in missing.stderr
    wrong_type = cli("run", str(spec), "-i", "who=x", "-i", "n=abc")
    assert wrong_type.returncode == 2
    assert "/n" in wrong_type.stderr
    bad_assignment = cli("run", str(spec), "-i", "who")
    assert bad_assignment.returncode == 2
    assert "KEY=VALUE" in bad_assignment.stderr
    bad = dict(ECHO, edges=[{"from": "greet", "to": "ghost"}])
    invalid = cli("run", str(cli.spec("bad", bad)), "-i", "who=x", "--json")
    assert invalid.returncode == 2
    assert invalid.stdout == ""
    assert "invalid spec" in invalid.stderr
    assert "ghost" in invalid.stderr
    for result in (missing, wrong_type, bad_assignment, invalid):
        no_traceback(result)


def test_failed_run_exits_1(cli: Cli) -> None:
    spec = cli.spec("fails", {
        "spec_version": "1", "name": "fails",
        "nodes": [{"id": "boom", "type": "transform", "value": "{{ inputs.x.y.z }}"}],
    })
    result = cli("run", str(spec), "--json")
    assert result.returncode == 1
    no_traceback(result)
    last = json_lines(result.stdout)[-1]
    assert last["type"] == "run.failed"
    assert last["data"]["error"]["code"] in result.stderr


def test_inspection_commands(cli: Cli) -> None:
    db = cli.workdir / "elsewhere.db"
    run = cli("run", str(cli.spec("echo", ECHO)), "-i", "who=x", "--json", "--db", str(db))
    assert run.returncode == 0, run.stderr
    run_id = json_lines(run.stdout)[0]["run_id"]
    assert not (cli.home / "graphwright.db").exists()  # everything went to --db
    listed = cli("runs", "--db", str(db))
    assert run_id in listed.stdout
    assert "completed" in listed.stdout
    as_json = json_lines(cli("runs", "--json", "--status", "completed", "--db", str(db)).stdout)
    assert [r["run_id"] for r in as_json] == [run_id]
    assert cli("runs", "--status", "paused", "--db", str(db)).stdout.startswith("no runs")
    shown = json.loads(cli("show", run_id[:8], "--db", str(db)).stdout)
    assert shown["status"] == "completed"
    assert shown["outputs"]["greeting"]["text"] == "hi x"
    events = json_lines(cli("events", run_id, "--after", "2", "--db", str(db)).stdout)
    assert events[0]["seq"] == 3
    assert events[-1]["type"] == "run.completed"
    history = cli("history", run_id, "--json", "--db", str(db))
    assert history.returncode == 0
    assert json_lines(history.stdout)[0]["checkpoint_id"]
    missing = cli("show", "0" * 32, "--db", str(db))
    assert missing.returncode == 2
    assert "run_not_found" in missing.stderr
    again = cli("cancel", run_id, "--db", str(db))
    assert again.returncode == 2
    assert "already completed" in again.stderr
