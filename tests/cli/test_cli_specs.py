"""validate, graph, schema, help: the commands that never run anything."""

from __future__ import annotations

import json
import sys

from cli_harness import Cli, no_traceback

GOOD = {
    "spec_version": "1", "name": "greet",
    "nodes": [{"id": "hello", "type": "transform", "value": {"text": "hi {{ inputs.who }}"}},
              {"id": "check", "type": "condition", "if": "{{ inputs.who == 'bob' }}"}],
    "edges": [{"from": "hello", "to": "check"}],
    "outputs": {"text": "{{ nodes.hello.text }}"},
}
BAD = {
    "spec_version": "1", "name": "broken",
    "nodes": [{"id": "a", "type": "transform", "value": "{{ nodes.ghost }}"},
              {"id": "b", "type": "teleport"}],
    "edges": [{"from": "a", "to": "nowhere"}],
}


def test_validate_ok(cli: Cli) -> None:
    result = cli("validate", str(cli.spec("good", GOOD)))
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok: greet (2 nodes)"


def test_validate_yaml(cli: Cli) -> None:
    path = cli.workdir / "good.yaml"
    path.write_text("spec_version: '1'\nname: y\nnodes:\n  - {id: a, type: transform, value: 1}\n")
    result = cli("validate", str(path))
    assert (result.returncode, result.stdout.strip()) == (0, "ok: y (1 nodes)")


def test_validate_lists_every_problem(cli: Cli) -> None:
    result = cli("validate", str(cli.spec("bad", BAD)))
    assert result.returncode == 2
    no_traceback(result)
    assert result.stdout.startswith("invalid spec:")
    assert "unknown_node_type" in result.stdout
    assert "/nodes/1" in result.stdout
    assert "(node b)" in result.stdout


def test_validate_json(cli: Cli) -> None:
    bad = cli("validate", "--json", str(cli.spec("bad", BAD)))
    assert bad.returncode == 2
    report = json.loads(bad.stdout)
    assert report["valid"] is False
    codes = {e["code"] for e in report["errors"]}
    assert "unknown_node_type" in codes
    assert all({"code", "message", "path", "node_id", "hint"} <= set(e) for e in report["errors"])
    good = cli("validate", "--json", str(cli.spec("good", GOOD)))
    assert good.returncode == 0
    assert json.loads(good.stdout) == {"valid": True, "errors": []}


def test_validate_unreadable_and_garbage(cli: Cli) -> None:
    missing = cli("validate", "nope.json")
    assert missing.returncode == 2
    assert "unreadable_spec" in missing.stdout
    garbage = cli.workdir / "garbage.json"
    garbage.write_text("{not json", encoding="utf-8")
    for args in (["validate", str(garbage)], ["validate", "--json", str(garbage)],
                 ["graph", str(garbage)], ["run", str(garbage)]):
        result = cli(*args)
        assert result.returncode == 2, args
        no_traceback(result)
        assert "invalid_json" in result.stdout + result.stderr


def test_schema_is_json(cli: Cli) -> None:
    result = cli("schema")
    assert result.returncode == 0
    schema = json.loads(result.stdout)
    assert "nodes" in schema["properties"]
    assert result.stdout.startswith('{\n  "')  # indent 2


def test_graph_prints_mermaid(cli: Cli) -> None:
    result = cli("graph", str(cli.spec("good", GOOD)))
    assert result.returncode == 0
    assert result.stdout.startswith("flowchart")
    assert "hello --> check" in result.stdout


def test_graph_of_invalid_spec(cli: Cli) -> None:
    result = cli("graph", str(cli.spec("bad", BAD)))
    assert result.returncode == 2
    assert result.stdout == ""
    assert "unknown_node_type" in result.stderr


def test_help_documents_exit_codes_and_module_entry_points(cli: Cli) -> None:
    for argv in ([sys.executable, "-m", "workflow_compiler.cli", "--help"],
                 [sys.executable, "-m", "workflow_compiler.cli.main", "--help"]):
        result = cli.argv(argv)
        assert result.returncode == 0, result.stderr
        assert "Exit codes" in result.stdout
        for line in ("0  completed", "2  invalid", "3  the run is paused", "4  the run was"):
            assert line in result.stdout


def test_usage_error_exit_code(cli: Cli) -> None:
    result = cli("run")
    assert result.returncode == 2
    no_traceback(result)
    unknown = cli("frobnicate")
    assert unknown.returncode == 2
