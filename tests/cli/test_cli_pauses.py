"""Paused runs: exit status 3, printed resume commands that work as printed, refused
answers, timers awaited in-process, signals and cancellation."""

from __future__ import annotations

import json
from typing import Any

from cli_harness import Cli, approval_spec, json_lines, no_traceback


def _status(cli: Cli, run_id: str, *extra: str) -> dict[str, Any]:
    shown = cli("show", run_id, *extra)
    assert shown.returncode == 0, shown.stderr
    record: dict[str, Any] = json.loads(shown.stdout)
    return record


def _run_id(output: str) -> str:
    line = next(line for line in output.splitlines() if line.startswith("paused: run "))
    return line.split()[2]


def test_two_approvers_resumed_with_printed_commands(cli: Cli) -> None:
    spec = cli.spec("ship", approval_spec(approvers=["alice", "bob"], min_approvals=2))
    first = cli("run", str(spec))
    assert first.returncode == 3, first.stderr
    run_id = _run_id(first.stdout)
    [command] = cli.printed(first.stdout, "--approve")
    assert command.startswith(f"graphwright resume {run_id} --interrupt ")
    assert "--by alice" in command
    assert "--db" not in command

    second = cli.run_printed(command)
    assert second.returncode == 3, second.stderr  # one approval of two
    [command] = cli.printed(second.stdout, "--approve")
    assert "--by bob" in command  # the approver who has not answered yet

    third = cli.run_printed(command)
    assert third.returncode == 0, third.stderr
    assert json.loads(third.stdout[third.stdout.index("\n{") + 1:]) == {"decision": "approved"}
    record = _status(cli, run_id)
    assert record["status"] == "completed"


def test_refused_approver_keeps_run_paused(cli: Cli) -> None:
    spec = cli.spec("ship", approval_spec(approvers=["alice"]))
    first = cli("run", str(spec), "--json")
    assert first.returncode == 3
    run_id = json_lines(first.stdout)[0]["run_id"]
    assert json_lines(first.stdout)[-1]["type"] == "run.paused"
    assert cli.printed(first.stderr, "--approve")  # --json: hints on stderr only
    refused = cli("resume", run_id, "--approve", "--by", "mallory")
    assert refused.returncode == 2
    no_traceback(refused)
    assert "'mallory' is not an approver" in refused.stderr
    assert _status(cli, run_id)["status"] == "paused"
    rejected = cli("resume", run_id, "--reject", "--by", "alice", "--comment", "not today",
                   "--json")
    assert rejected.returncode == 0, rejected.stderr
    outputs = json_lines(rejected.stdout)[-1]["data"]["outputs"]
    assert outputs == {"decision": "rejected"}


INPUT_SPEC = {
    "spec_version": "1", "name": "ask-count",
    "nodes": [
        {"id": "details", "type": "input", "prompt": "How many?",
         "schema": {"type": "object", "required": ["count"],
                    "properties": {"count": {"type": "integer", "minimum": 1}}}},
        {"id": "double", "type": "transform", "value": "{{ nodes.details.count * 2 }}"},
    ],
    "edges": [{"from": "details", "to": "double"}],
    "outputs": {"doubled": "{{ nodes.double }}"},
}


def test_input_node_refuses_invalid_data(cli: Cli) -> None:
    first = cli("run", str(cli.spec("ask", INPUT_SPEC)))
    assert first.returncode == 3
    run_id = _run_id(first.stdout)
    [command] = cli.printed(first.stdout, "--data")
    assert """--data '{"count": 1}'""" in command  # an example shaped by the schema
    wrong = cli("resume", run_id, "--data", '{"count": 0}')
    assert wrong.returncode == 2
    assert "minimum" in wrong.stderr
    not_json = cli("resume", run_id, "--data", "{count: 3}")
    assert not_json.returncode == 2
    assert "not valid JSON" in not_json.stderr
    assert _status(cli, run_id)["status"] == "paused"
    ok = cli("resume", run_id, "--data", '{"count": 21}', "--json")
    assert ok.returncode == 0, ok.stderr
    assert json_lines(ok.stdout)[-1]["data"]["outputs"] == {"doubled": 42}


def _wait_spec(duration: str) -> dict[str, Any]:
    return {
        "spec_version": "1", "name": "sleepy",
        "nodes": [{"id": "nap", "type": "wait", "duration": duration},
                  {"id": "after", "type": "transform", "value": "woke"}],
        "edges": [{"from": "nap", "to": "after"}],
        "outputs": {"state": "{{ nodes.after }}"},
    }


def test_short_wait_completes_in_process(cli: Cli) -> None:
    result = cli("run", str(cli.spec("sleepy", _wait_spec("PT1S"))), "--json", "--no-prompt")
    assert result.returncode == 0, result.stderr
    types = [e["type"] for e in json_lines(result.stdout)]
    assert types.count("run.paused") == 1
    assert types.count("run.resumed") == 1
    assert types[-1] == "run.completed"


def test_long_wait_pauses_then_fires(cli: Cli) -> None:
    spec = cli.spec("sleepy", _wait_spec("PT2S"))
    first = cli("run", str(spec), "--max-wait", "0")
    assert first.returncode == 3
    [command] = cli.printed(first.stdout, "--fire-due")
    finished = cli.run_printed(command)  # not due yet: awaited in-process (max-wait 60)
    assert finished.returncode == 0, finished.stderr
    assert '"state": "woke"' in finished.stdout


def test_signal_resumes_run(cli: Cli) -> None:
    spec = cli.spec("signalled", {
        "spec_version": "1", "name": "signalled",
        "nodes": [{"id": "go", "type": "signal", "signal": "deploy-ok"},
                  {"id": "after", "type": "transform", "value": "{{ nodes.go.data }}"}],
        "edges": [{"from": "go", "to": "after"}],
        "outputs": {"payload": "{{ nodes.after }}"},
    })
    first = cli("run", str(spec))
    assert first.returncode == 3
    run_id = _run_id(first.stdout)
    assert cli.printed(first.stdout, "--signal deploy-ok")
    wrong = cli("resume", run_id, "--signal", "other")
    assert wrong.returncode == 2
    assert "no node waiting for signal 'other'" in wrong.stderr
    sent = cli("resume", run_id, "--signal", "deploy-ok", "--data", '{"version": 7}', "--json")
    assert sent.returncode == 0, sent.stderr
    assert json_lines(sent.stdout)[-1]["data"]["outputs"] == {"payload": {"version": 7}}


def test_cancel_paused_run(cli: Cli) -> None:
    db = cli.workdir / "runs.db"
    first = cli("run", str(cli.spec("ship", approval_spec(approvers=[]))), "--db", str(db))
    assert first.returncode == 3
    run_id = _run_id(first.stdout)
    [command] = cli.printed(first.stdout, "--approve")
    assert f"--db {db}" in command  # not the default file, so the hint carries it
    cancelled = cli("cancel", run_id, "--db", str(db))
    assert cancelled.returncode == 0
    assert "cancelled" in cancelled.stdout
    assert _status(cli, run_id, "--db", str(db))["status"] == "cancelled"
    late = cli.run_printed(command)
    assert late.returncode == 2
    assert "cancelled, not paused" in late.stderr


def test_resume_needs_an_answer_when_nobody_is_asked(cli: Cli) -> None:
    first = cli("run", str(cli.spec("ship", approval_spec(approvers=["alice"]))))
    run_id = _run_id(first.stdout)
    bare = cli("resume", run_id)
    assert bare.returncode == 2
    assert "say how to continue" in bare.stderr
    assert cli.printed(bare.stderr, "--approve")
    mismatch = cli("resume", run_id, "--data", "{}")
    assert mismatch.returncode == 2
    assert "no input is pending" in mismatch.stderr
    both = cli("resume", run_id, "--approve", "--reject")
    assert both.returncode == 2


def test_memory_checkpointer_cannot_be_resumed(cli: Cli) -> None:
    spec = cli.spec("ship", approval_spec(approvers=["alice"]))
    result = cli("run", str(spec), "--checkpointer", "memory")
    assert result.returncode == 3
    assert "cannot be resumed" in result.stdout
    assert not cli.printed(result.stdout)
