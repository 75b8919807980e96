"""Run inputs from the command line: ``--inputs-file`` first, then ``--input k=v`` on top.

Values are JSON when they parse as JSON (so ``n=3`` is a number and ``tags=["a"]`` a list)
and plain strings otherwise, so the common case needs no quoting; dotted keys build nested
objects because shells make typing JSON objects painful. A file input (``"format":
"file"``) takes ``@PATH``, a local file, which the run sees as its descriptor
(``with_local_files``). A relative path given with ``--input`` is relative to the working
directory; one written in the inputs file is relative to that file's directory, so an
inputs file and the files it names can be moved, or used from anywhere, together.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from workflow_compiler.cli.failures import CliError

if TYPE_CHECKING:
    from workflow_compiler.compiler.cache import WorkflowCompiler


def parse_value(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return text


def load_inputs_file(path: Path) -> dict[str, Any]:
    """A JSON or YAML object (YAML by the ``.yaml``/``.yml`` suffix)."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise CliError(f"cannot read inputs file {path}: {exc}") from None
    try:
        if path.suffix.lower() in {".yaml", ".yml"}:
            data = yaml.safe_load(text)
        else:
            data = json.loads(text)
    except (ValueError, yaml.YAMLError) as exc:
        raise CliError(f"inputs file {path} is not valid JSON/YAML: {exc}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise CliError(f"inputs file {path} must hold an object (key: value pairs)")
    return data


def apply_assignment(inputs: dict[str, Any], assignment: str) -> None:
    """Set one ``key=value`` (``a.b=1`` sets ``inputs["a"]["b"]``) in place."""
    key, sep, text = assignment.partition("=")
    parts = key.strip().split(".")
    if not sep or any(not p for p in parts):
        raise CliError(f"--input {assignment!r}: expected KEY=VALUE (KEY may be dotted: a.b=1)")
    target = inputs
    for depth, part in enumerate(parts[:-1]):
        child = target.setdefault(part, {})
        if not isinstance(child, dict):
            where = ".".join(parts[: depth + 1])
            raise CliError(f"--input {key}: {where!r} is already set to a non-object value")
        target = child
    target[parts[-1]] = parse_value(text)


def collect_inputs(inputs_file: Path | None, assignments: Iterable[str]) -> dict[str, Any]:
    inputs = load_inputs_file(inputs_file) if inputs_file is not None else {}
    for assignment in assignments:
        apply_assignment(inputs, assignment)
    return inputs


async def with_local_files(compiler: WorkflowCompiler, spec: object, inputs: dict[str, Any],
                           *, inputs_file: Path | None = None,
                           assignments: Iterable[str] = ()) -> dict[str, Any]:
    """``inputs`` with each file input's ``@PATH`` replaced by the local file's descriptor
    (``unknown_file`` when there is no such file); the spec is compiled once, here.

    ``inputs_file`` and ``assignments``: where ``inputs`` came from (``collect_inputs``).
    A value no assignment set came from the file, and its relative path is the file's."""
    from workflow_compiler.errors import FileInputsError, UnknownFileError
    from workflow_compiler.files import LocalFiles, anchor_local_references, resolve_file_inputs

    slots = compiler.compile(spec).file_slots
    if slots and inputs_file is not None:
        assigned = [tuple(a.partition("=")[0].strip().split(".")) for a in assignments]

        def from_file(steps: tuple[str | int, ...]) -> bool:
            return not any(steps[:len(key)] == key for key in assigned)

        inputs = anchor_local_references(slots, inputs, (Path.cwd() / inputs_file).parent,
                                         from_file)
    files = LocalFiles(Path.cwd())
    try:
        return await resolve_file_inputs(slots, inputs, files)
    except (FileInputsError, UnknownFileError) as exc:
        raise CliError(f"{exc.code}: {exc.message} ({files.hint})") from None
