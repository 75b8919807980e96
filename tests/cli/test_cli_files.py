"""File inputs on the CLI: ``--input doc=@PATH`` (or ``@PATH`` in an inputs file) gives the
run a descriptor of the local file; a missing file, or a path without ``@``, is a clear
error with exit status 2 and no run."""

from __future__ import annotations

import hashlib
import json

from cli_harness import Cli, json_lines, no_traceback

REPORT = {
    "spec_version": "1", "name": "report",
    "inputs": {"type": "object", "required": ["doc"],
               "properties": {"doc": {"format": "file"},
                              "more": {"type": "array", "items": {"format": "file"}}}},
    "nodes": [{"id": "describe", "type": "transform",
               "value": {"name": "{{ inputs.doc.name }}", "size": "{{ inputs.doc.size }}",
                         "type": "{{ inputs.doc.content_type }}",
                         "sha256": "{{ inputs.doc.sha256 }}", "path": "{{ inputs.doc.path }}",
                         "more": "{{ inputs.more | default([]) | map(attribute='name') "
                                 "| list }}"}}],
    "outputs": {"file": "{{ nodes.describe }}"},
}


def outputs_of(result_stdout: str) -> dict[str, object]:
    completed = json_lines(result_stdout)[-1]
    assert completed["type"] == "run.completed", completed
    found: dict[str, object] = completed["data"]["outputs"]
    return found


def test_at_path_gives_the_run_a_descriptor_of_the_local_file(cli: Cli) -> None:
    spec = cli.spec("report", REPORT)
    data = b"%PDF-1.4 not really\n"
    (cli.workdir / "docs").mkdir()
    (cli.workdir / "docs" / "report.pdf").write_bytes(data)
    (cli.workdir / "notes.md").write_text("# notes\n")
    result = cli("run", str(spec), "--input", "doc=@./docs/report.pdf",
                 "--input", 'more=["@notes.md", "@docs/report.pdf"]', "--json")
    assert result.returncode == 0, result.stderr
    target = (cli.workdir / "docs" / "report.pdf").resolve()
    assert outputs_of(result.stdout) == {"file": {
        "name": "report.pdf", "size": len(data), "type": "application/pdf",
        "sha256": hashlib.sha256(data).hexdigest(), "path": str(target),
        "more": ["notes.md", "report.pdf"]}}
    run_id = json_lines(result.stdout)[0]["run_id"]
    shown = cli("show", run_id)
    assert shown.returncode == 0, shown.stderr
    assert json.loads(shown.stdout)["inputs"]["doc"]["id"] == target.as_uri()


def test_an_inputs_file_takes_at_paths_too(cli: Cli) -> None:
    spec = cli.spec("report", REPORT)
    (cli.workdir / "data.csv").write_text("a,b\n1,2\n")
    (cli.workdir / "in.json").write_text(json.dumps({"doc": "@data.csv"}))
    result = cli("run", str(spec), "--inputs-file", "in.json", "--json")
    assert result.returncode == 0, result.stderr
    assert outputs_of(result.stdout)["file"] == {
        "name": "data.csv", "size": 8, "type": "text/csv",
        "sha256": hashlib.sha256(b"a,b\n1,2\n").hexdigest(),
        "path": str((cli.workdir / "data.csv").resolve()), "more": []}


def test_paths_in_an_inputs_file_are_relative_to_that_file(cli: Cli) -> None:
    spec = cli.spec("report", REPORT)
    kept = cli.workdir / "inputs"
    kept.mkdir()
    (kept / "data.csv").write_text("in the inputs file's directory\n")
    (cli.workdir / "data.csv").write_text("in the working directory\n")  # not this one
    (cli.workdir / "extra.txt").write_text("given on the command line\n")
    absolute = (cli.workdir / "abs.txt").resolve()
    absolute.write_text("named by its absolute path\n")
    (kept / "in.yaml").write_text(f'doc: "@data.csv"\nmore: ["@data.csv", "@{absolute}"]\n')
    result = cli("run", str(spec), "--inputs-file", "inputs/in.yaml", "--json")
    assert result.returncode == 0, result.stderr
    described = outputs_of(result.stdout)["file"]
    assert isinstance(described, dict)
    assert described["path"] == str((kept / "data.csv").resolve())
    assert described["more"] == ["data.csv", "abs.txt"]  # an absolute path stays as it is
    # a value set with --input is the working directory's, even over the file's own
    result = cli("run", str(spec), "--inputs-file", "inputs/in.yaml",
                 "--input", "doc=@extra.txt", "--json")
    assert result.returncode == 0, result.stderr
    described = outputs_of(result.stdout)["file"]
    assert isinstance(described, dict)
    assert described["path"] == str((cli.workdir / "extra.txt").resolve())


def test_a_run_reads_the_local_files_text(cli: Cli) -> None:
    spec = cli.spec("reader", {
        "spec_version": "1", "name": "reader",
        "inputs": {"type": "object", "required": ["doc"],
                   "properties": {"doc": {"format": "file"}}},
        "nodes": [{"id": "read", "type": "tool", "tool": "files.read_text",
                   "args": {"file": "{{ inputs.doc }}"}}],
        "outputs": {"text": "{{ nodes.read.text }}"}})
    (cli.workdir / "notes.md").write_text("# notes\nship it\n")
    result = cli("run", str(spec), "--input", "doc=@notes.md", "--json")
    assert result.returncode == 0, result.stderr
    assert outputs_of(result.stdout) == {"text": "# notes\nship it\n"}


def test_a_missing_file_is_a_clear_error_and_no_run(cli: Cli) -> None:
    spec = cli.spec("report", REPORT)
    missing = cli("run", str(spec), "--input", "doc=@./nowhere/report.pdf")
    assert missing.returncode == 2, missing.stderr
    no_traceback(missing)
    assert "unknown_file" in missing.stderr
    assert "inputs.doc" in missing.stderr and "@./nowhere/report.pdf" in missing.stderr
    (cli.workdir / "real.txt").write_text("x")
    bare = cli("run", str(spec), "--input", "doc=real.txt")  # a path needs its @
    assert bare.returncode == 2 and "@PATH" in bare.stderr, bare.stderr
    directory = cli("run", str(spec), "--input", "doc=@.")
    assert directory.returncode == 2 and "unknown_file" in directory.stderr
    listed = cli("runs", "--json")
    assert listed.returncode == 0, listed.stderr
    assert json_lines(listed.stdout) == []


def test_a_descriptor_cannot_be_typed_in(cli: Cli) -> None:
    spec = cli.spec("report", REPORT)
    forged = cli("run", str(spec), "--input",
                 'doc={"id": "x", "name": "a", "content_type": "text/plain", "size": 1, '
                 '"sha256": "' + "0" * 64 + '", "path": null}')
    assert forged.returncode == 2, forged.stderr
    assert "invalid_inputs" in forged.stderr and "file reference" in forged.stderr
