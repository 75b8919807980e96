"""``files.read_text`` and ``files.read_base64`` in real runs on local files: the bytes of
a file the run was given, bounded; nothing for a descriptor typed into the spec, for a
file changed since, or for bytes that are not text in the encoding asked for."""

from __future__ import annotations

import base64
import hashlib
from pathlib import Path
from typing import Any

import pytest

from workflow_compiler.compiler.cache import WorkflowCompiler
from workflow_compiler.files import LocalFiles, resolve_file_inputs
from workflow_compiler.runtime import WorkflowRuntime

INPUTS = {"type": "object", "required": ["doc"], "properties": {"doc": {"format": "file"}}}


def reading(tool: str, **args: Any) -> dict[str, Any]:
    return {"spec_version": "1", "name": "read", "inputs": INPUTS,
            "nodes": [{"id": "read", "type": "tool", "tool": tool,
                       "args": {"file": "{{ inputs.doc }}", **args}}],
            "outputs": {"read": "{{ nodes.read }}"}}


async def run(spec: dict[str, Any], inputs: dict[str, Any], base: Path) -> Any:
    runtime = WorkflowRuntime()
    slots = WorkflowCompiler().compile(spec).file_slots
    resolved = await resolve_file_inputs(slots, inputs, LocalFiles(base))
    return await runtime.start(spec, resolved)


async def test_read_text_gives_the_files_text(tmp_path: Path) -> None:
    (tmp_path / "q3.csv").write_text("région,revenue\nnorth,125000\n", encoding="utf-8")
    record = await run(reading("files.read_text"), {"doc": "@q3.csv"}, tmp_path)
    assert record.status == "completed", record.error
    size = len("région,revenue\nnorth,125000\n".encode())
    assert record.outputs == {"read": {"text": "région,revenue\nnorth,125000\n",
                                       "truncated": False, "name": "q3.csv",
                                       "content_type": "text/csv", "size": size}}


async def test_read_text_is_bounded_by_characters_not_bytes(tmp_path: Path) -> None:
    (tmp_path / "long.txt").write_text("é" * 50, encoding="utf-8")  # 2 bytes each
    record = await run(reading("files.read_text", max_chars=10), {"doc": "@long.txt"},
                       tmp_path)
    assert record.outputs["read"]["text"] == "é" * 10
    assert record.outputs["read"]["truncated"] is True
    record = await run(reading("files.read_text", max_chars=50), {"doc": "@long.txt"},
                       tmp_path)
    assert record.outputs["read"] == {**record.outputs["read"], "text": "é" * 50,
                                      "truncated": False}


async def test_other_encodings_and_bytes_that_are_not_text(tmp_path: Path) -> None:
    (tmp_path / "old.txt").write_bytes("café".encode("latin-1"))
    utf8 = await run(reading("files.read_text"), {"doc": "@old.txt"}, tmp_path)
    assert utf8.status == "failed"
    assert utf8.error["code"] == "tool_error"
    assert "is not utf-8 text (byte 3)" in utf8.error["message"]
    latin = await run(reading("files.read_text", encoding="latin-1"), {"doc": "@old.txt"},
                      tmp_path)
    assert latin.outputs["read"]["text"] == "café"
    unknown = await run(reading("files.read_text", encoding="klingon"), {"doc": "@old.txt"},
                        tmp_path)
    assert "unknown encoding 'klingon'" in unknown.error["message"]


async def test_read_base64_gives_the_bytes(tmp_path: Path) -> None:
    data = bytes(range(256)) * 10
    (tmp_path / "blob.bin").write_bytes(data)
    record = await run(reading("files.read_base64"), {"doc": "@blob.bin"}, tmp_path)
    assert base64.b64decode(record.outputs["read"]["base64"]) == data
    assert record.outputs["read"]["truncated"] is False
    cut = await run(reading("files.read_base64", max_bytes=100), {"doc": "@blob.bin"},
                    tmp_path)
    assert base64.b64decode(cut.outputs["read"]["base64"]) == data[:100]
    assert cut.outputs["read"]["truncated"] is True


async def test_a_file_changed_since_the_run_was_given_it_is_refused(tmp_path: Path) -> None:
    target = tmp_path / "doc.txt"
    target.write_text("first")
    spec = reading("files.read_text")
    slots = WorkflowCompiler().compile(spec).file_slots
    resolved = await resolve_file_inputs(slots, {"doc": "@doc.txt"}, LocalFiles(tmp_path))
    target.write_text("other")  # same size, other bytes
    record = await WorkflowRuntime().start(spec, resolved)
    assert record.status == "failed"
    assert "no longer the ones the run was given" in record.error["message"]


@pytest.mark.parametrize("known", [False, True])
async def test_a_descriptor_typed_into_the_spec_reads_nothing(tmp_path: Path,
                                                               known: bool) -> None:
    """A spec can build a descriptor-shaped object for any path; without the file's
    sha256 (which only someone holding its bytes can write) it reads nothing. With the
    right one it reads what its author already had."""
    secret = tmp_path / "secret.txt"
    secret.write_text("top secret")
    forged = {"id": secret.as_uri(), "name": "x", "content_type": "text/plain",
              "size": secret.stat().st_size,
              "sha256": hashlib.sha256(b"top secret").hexdigest() if known else "0" * 64,
              "path": str(secret)}
    spec = {"spec_version": "1", "name": "forge",
            "nodes": [{"id": "read", "type": "tool", "tool": "files.read_text",
                       "args": {"file": forged}}],
            "outputs": {"text": "{{ nodes.read.text }}"}}
    record = await WorkflowRuntime().start(spec, {})
    if known:
        assert record.outputs == {"text": "top secret"}
    else:
        assert record.status == "failed"
        assert record.error["code"] == "tool_error"
        assert "cannot be read" in record.error["message"]
        assert "top secret" not in str(record.error)


async def test_a_relative_or_missing_path_reads_nothing(tmp_path: Path) -> None:
    for path in ("secret.txt", None, str(tmp_path / "gone.txt")):
        forged = {"id": "x", "name": "x", "content_type": "text/plain", "size": 0,
                  "sha256": hashlib.sha256(b"").hexdigest(), "path": path}
        spec = {"spec_version": "1", "name": "forge",
                "nodes": [{"id": "read", "type": "tool", "tool": "files.read_text",
                           "args": {"file": forged}}], "outputs": {}}
        record = await WorkflowRuntime().start(spec, {})
        assert record.status == "failed", path
        assert "cannot be read" in record.error["message"]
