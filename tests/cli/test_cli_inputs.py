"""``--input``/``--inputs-file`` parsing, in-process: the rules are small and exact."""

from __future__ import annotations

from pathlib import Path

import pytest

from workflow_compiler.cli.failures import CliError
from workflow_compiler.cli.hints import example_value
from workflow_compiler.cli.inputs import collect_inputs


def test_values_are_json_when_they_parse() -> None:
    got = collect_inputs(None, ["n=3", "f=1.5", "b=true", "z=null", "s=hello", 'q="3"',
                                "l=[1, 2]", "o={\"a\": 1}", "e=", "eq=a=b"])
    assert got == {"n": 3, "f": 1.5, "b": True, "z": None, "s": "hello", "q": "3",
                   "l": [1, 2], "o": {"a": 1}, "e": "", "eq": "a=b"}


def test_dotted_keys_nest_and_override_the_file(tmp_path: Path) -> None:
    path = tmp_path / "in.json"
    path.write_text('{"a": {"keep": 1, "b": 0}, "top": "file"}')
    got = collect_inputs(path, ["a.b=2", "a.c.d=x", "top=cli"])
    assert got == {"a": {"keep": 1, "b": 2, "c": {"d": "x"}}, "top": "cli"}


@pytest.mark.parametrize("bad", ["novalue", "=1", "a..b=1", ".a=1"])
def test_malformed_assignments(bad: str) -> None:
    with pytest.raises(CliError, match="KEY=VALUE"):
        collect_inputs(None, [bad])


def test_cannot_nest_under_a_scalar() -> None:
    with pytest.raises(CliError, match="non-object"):
        collect_inputs(None, ["a=1", "a.b=2"])


def test_inputs_file_must_be_an_object(tmp_path: Path) -> None:
    (tmp_path / "list.yaml").write_text("- 1\n- 2\n")
    with pytest.raises(CliError, match="must hold an object"):
        collect_inputs(tmp_path / "list.yaml", [])
    (tmp_path / "broken.json").write_text("{")
    with pytest.raises(CliError, match="not valid JSON/YAML"):
        collect_inputs(tmp_path / "broken.json", [])
    with pytest.raises(CliError, match="cannot read"):
        collect_inputs(tmp_path / "missing.json", [])
    (tmp_path / "empty.yaml").write_text("")
    assert collect_inputs(tmp_path / "empty.yaml", ["x=1"]) == {"x": 1}


def test_example_values_follow_the_schema() -> None:
    schema = {"type": "object", "required": ["n", "tags", "kind"],
              "properties": {"n": {"type": "integer", "minimum": 5},
                             "tags": {"type": "array", "items": {"type": "string"},
                                      "minItems": 1},
                             "kind": {"enum": ["a", "b"]}}}
    assert example_value(schema) == {"n": 5, "tags": ["text"], "kind": "a"}
