"""Typed file inputs in the core: declarations (``"format": "file"``) and their problems,
references to a descriptor's properties, the run's input check, resolving references
through a resolver (in memory and on local disk), and descriptors reaching nodes, map
items and inline subworkflows."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import pytest

from workflow_compiler.compiler.cache import WorkflowCompiler
from workflow_compiler.errors import FileInputsError, SpecIssue, UnknownFileError
from workflow_compiler.files import (
    MAX_FILES_PER_RUN,
    DictFiles,
    FileDescriptor,
    LocalFiles,
    resolve_file_inputs,
)
from workflow_compiler.runtime import WorkflowRuntime
from workflow_compiler.spec.file_inputs import FileSlot, find_file_inputs, run_view
from workflow_compiler.validation import check_spec


def fd(ref: str, name: str = "a.txt", size: int = 3) -> FileDescriptor:
    return FileDescriptor(id=ref, name=name, content_type="text/plain", size=size,
                          sha256="0" * 64, path=None)


FILES = DictFiles({"f1": fd("f1", "one.csv", 10), "f2": fd("f2", "two.txt", 20)})


def spec(properties: dict[str, Any], value: Any = 1, *, required: tuple[str, ...] = (),
         **top: Any) -> dict[str, Any]:
    return {"spec_version": "1", "name": "files",
            "inputs": {"type": "object", "properties": properties, "required": list(required)},
            "nodes": [{"id": "show", "type": "transform", "value": value}],
            "outputs": {"shown": "{{ nodes.show }}"}, **top}


def problems(raw: dict[str, Any]) -> list[tuple[str, str]]:
    found: list[SpecIssue] = check_spec(raw)
    assert all(i.code != "internal_error" for i in found), found
    return [(i.code, i.path) for i in found]


# -- declarations --------------------------------------------------------------------------

def test_files_lists_of_files_and_files_inside_objects_are_slots() -> None:
    schema = {"type": "object", "properties": {
        "doc": {"format": "file", "title": "The doc", "x-widget": "drop"},
        "maybe": {"type": ["null", "string"], "format": "file"},
        "docs": {"type": "array", "items": {"type": "string", "format": "file"}},
        "case": {"type": "object", "properties": {
            "evidence": {"type": "array", "items": {"type": "object", "properties": {
                "scan": {"format": "file"}}}}}},
        "plain": {"type": "string", "format": "email"},
    }}
    declared = find_file_inputs(schema)
    assert declared.problems == ()
    assert {s.spelled: s.nullable for s in declared.slots} == {
        "inputs.doc": False, "inputs.maybe": True, "inputs.docs[*]": False,
        "inputs.case.evidence[*].scan": False}
    view = run_view(schema, declared.slots)
    assert view["properties"]["doc"]["type"] == "object"
    assert view["properties"]["doc"]["title"] == "The doc"
    assert view["properties"]["maybe"]["type"] == ["object", "null"]
    assert view["properties"]["docs"]["items"]["required"][:2] == ["id", "name"]
    assert schema["properties"]["doc"] == {"format": "file", "title": "The doc",
                                           "x-widget": "drop"}  # left as it was
    assert view["properties"]["plain"] is schema["properties"]["plain"]


def test_a_spec_without_files_has_no_slots_and_keeps_its_schema() -> None:
    schema = {"type": "object", "properties": {"profile": {"type": "string"}}}
    declared = find_file_inputs(schema)
    assert declared.slots == () and declared.problems == ()
    assert run_view(schema, ()) is schema
    for odd in (None, [], "file", {"format": "files"}, {"properties": {"a": True}}):
        assert find_file_inputs(odd).slots == ()


def test_deep_and_odd_schemas_do_not_break_the_walk() -> None:
    deep: dict[str, Any] = {"format": "file"}
    for _ in range(3000):
        deep = {"type": "object", "properties": {"a": deep}}
    (slot,) = find_file_inputs(deep).slots
    assert len(slot.steps) == 3000
    odd = {"properties": {"a": {"items": [{"format": "file"}]}, 1: {"format": "file"},
                          "b": {"format": "file", 2: "x"}},
           "anyOf": "x", "items": True, "$defs": []}
    declared = find_file_inputs(odd)
    assert [s.spelled for s in declared.slots] == []
    assert {p.code for p in declared.problems} == {"invalid_file_input"}


@pytest.mark.parametrize(("declaration", "code", "path"), [
    ({"type": "integer", "format": "file"}, "invalid_file_input", "/type"),
    ({"type": "object", "format": "file"}, "invalid_file_input", "/type"),
    ({"type": ["string", "integer"], "format": "file"}, "invalid_file_input", "/type"),
    ({"format": "file", "minLength": 3}, "invalid_file_input", "/minLength"),
    ({"format": "file", "enum": ["a"]}, "invalid_file_input", "/enum"),
    ({"format": "file", "default": "f1"}, "invalid_file_input", "/default"),
    ({"anyOf": [{"format": "file"}, {"type": "null"}]}, "unsupported_file_input",
     "/anyOf/0/format"),
    ({"type": "object", "additionalProperties": {"format": "file"}}, "unsupported_file_input",
     "/additionalProperties/format"),
    ({"type": "array", "prefixItems": [{"format": "file"}]}, "unsupported_file_input",
     "/prefixItems/0/format"),
])
def test_bad_declarations_are_validation_errors_at_their_keyword(
    declaration: dict[str, Any], code: str, path: str,
) -> None:
    raw = spec({"doc": declaration})
    assert problems(raw) == [(code, "/inputs/properties/doc" + path)]
    message = check_spec(raw)[0]
    assert message.hint and message.message


def test_the_inputs_themselves_and_definitions_cannot_be_files() -> None:
    raw = spec({})
    raw["inputs"] = {"format": "file"}
    assert problems(raw) == [("unsupported_file_input", "/inputs/format")]
    raw["inputs"] = {"type": "object", "$defs": {"doc": {"format": "file"}},
                     "properties": {"doc": {"$ref": "#/$defs/doc"}}}
    assert problems(raw) == [("unsupported_file_input", "/inputs/$defs/doc/format")]


def test_the_integer_message_says_what_a_file_input_is() -> None:
    (found,) = check_spec(spec({"doc": {"type": "integer", "format": "file"}}))
    assert "inputs.doc" in found.message and "'integer'" in found.message
    assert "file descriptor" in found.message
    assert found.hint is not None and '"type": "string"' in found.hint


def test_inline_subworkflow_specs_are_checked_too() -> None:
    child = spec({"doc": {"type": "number", "format": "file"}})
    parent = spec({}, value=1)
    parent["nodes"] = [{"id": "sub", "type": "subworkflow", "spec": child, "inputs": {}}]
    parent["outputs"] = {}
    assert problems(parent) == [
        ("invalid_file_input", "/nodes/0/spec/inputs/properties/doc/type")]


# -- references ----------------------------------------------------------------------------

def test_templates_read_the_descriptors_properties() -> None:
    value = {"name": "{{ inputs.doc.name }}", "kb": "{{ inputs.doc.size // 1024 }}",
             "first": "{{ inputs.docs[0].sha256 }}", "path": "{{ inputs.doc.path }}",
             "types": "{{ inputs.docs | map(attribute='content_type') | list }}"}
    raw = spec({"doc": {"format": "file"}, "docs": {"type": "array",
                                                    "items": {"format": "file"}}}, value)
    assert problems(raw) == []


def test_an_undeclared_descriptor_property_is_unknown() -> None:
    raw = spec({"doc": {"format": "file"}, "docs": {"type": "array",
                                                    "items": {"format": "file"}}},
               {"a": "{{ inputs.doc.nonexistent }}", "b": "{{ inputs.docs[1].filename }}"})
    found = check_spec(raw)
    assert [(i.code, i.path) for i in found] == [("unknown_property", "/nodes/0/value/a"),
                                                 ("unknown_property", "/nodes/0/value/b")]
    assert "content_type, size, sha256" in found[0].message
    assert found[1].hint == "did you mean 'name'?"


def test_map_items_over_a_list_of_files_are_descriptors() -> None:
    raw = spec({"docs": {"type": "array", "items": {"format": "file"}}}, required=("docs",))
    raw["nodes"] = [{"id": "each", "type": "map", "items": "{{ inputs.docs }}", "body": {
        "nodes": [{"id": "line", "type": "transform",
                   "value": "{{ item.name }} {{ item.sizes }}"}]}}]
    raw["outputs"] = {"lines": "{{ nodes.each }}"}
    assert problems(raw) == [("unknown_property", "/nodes/0/body/nodes/0/value")]


# -- the run's input check --------------------------------------------------------------

def test_inside_the_run_a_file_input_is_a_descriptor() -> None:
    compiled = WorkflowCompiler().compile(spec(
        {"doc": {"format": "file"}, "maybe": {"type": ["string", "null"], "format": "file"}},
        required=("doc",)))
    assert compiled.file_slots == (FileSlot(("doc",), ("properties", "doc")),
                                   FileSlot(("maybe",), ("properties", "maybe"), True))
    assert compiled.input_errors({"doc": dict(fd("f1")), "maybe": None}) == []
    assert compiled.input_errors({"doc": "f1"}) == ["/doc: 'f1' is not of type 'object'"]
    assert compiled.input_errors({"doc": {**fd("f1"), "extra": 1}})
    assert compiled.input_errors({"doc": {"id": "f1"}})


# -- resolving ---------------------------------------------------------------------------

async def test_references_become_descriptors_in_a_copy() -> None:
    slots = find_file_inputs({"type": "object", "properties": {
        "doc": {"format": "file"}, "docs": {"type": "array", "items": {"format": "file"}},
        "maybe": {"type": ["string", "null"], "format": "file"}}}).slots
    inputs = {"doc": "f1", "docs": ["f2", "f1"], "maybe": None, "other": "f2"}
    resolved = await resolve_file_inputs(slots, inputs, FILES)
    assert resolved == {"doc": fd("f1", "one.csv", 10),
                        "docs": [fd("f2", "two.txt", 20), fd("f1", "one.csv", 10)],
                        "maybe": None, "other": "f2"}
    assert inputs["doc"] == "f1"  # the caller's inputs are left alone
    assert resolved["doc"] is not resolved["docs"][1]
    assert await resolve_file_inputs(slots, {}, FILES) == {}  # absent: the check's job
    untouched = {"doc": "x"}
    assert await resolve_file_inputs((), untouched, FILES) is untouched


async def test_unknown_references_refuse_the_run_naming_every_input() -> None:
    slots = find_file_inputs({"properties": {
        "doc": {"format": "file"}, "docs": {"type": "array", "items": {"format": "file"}}}}).slots
    with pytest.raises(UnknownFileError) as caught:
        await resolve_file_inputs(slots, {"doc": "nope", "docs": ["f1", "gone"]}, FILES)
    error = caught.value
    assert error.code == "unknown_file"
    assert [(e["code"], e["path"]) for e in error.details["errors"]] == [
        ("unknown_file", "/doc"), ("unknown_file", "/docs/1")]
    assert "inputs.doc" in error.message and "inputs.docs[1]" in error.message


@pytest.mark.parametrize("value", [{"id": "f1", "name": "forged"}, 7, ["f1"], None])
async def test_only_references_are_accepted(value: Any) -> None:
    slots = find_file_inputs({"properties": {"doc": {"format": "file"}}}).slots
    with pytest.raises(FileInputsError) as caught:
        await resolve_file_inputs(slots, {"doc": value}, FILES)
    assert caught.value.code == "invalid_inputs"
    (problem,) = caught.value.details["errors"]
    assert problem["path"] == "/doc" and "file reference" in problem["message"]


async def test_a_run_holds_a_bounded_number_of_files() -> None:
    slots = find_file_inputs({"properties": {
        "docs": {"type": "array", "items": {"format": "file"}}}}).slots
    with pytest.raises(FileInputsError, match=f"at most {MAX_FILES_PER_RUN} files"):
        await resolve_file_inputs(slots, {"docs": ["f1"] * (MAX_FILES_PER_RUN + 1)}, FILES)


async def test_local_files_are_described_from_disk(tmp_path: Path) -> None:
    data = b"region,revenue\nnorth,1\n"
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "q3.csv").write_bytes(data)
    files = LocalFiles(tmp_path)
    found = await files.describe(["@sub/q3.csv", "sub/q3.csv", "@missing.txt", "@sub", "@",
                                  "@bad\x00name"])
    target = (tmp_path / "sub" / "q3.csv").resolve()
    assert found == {"@sub/q3.csv": FileDescriptor(
        id=target.as_uri(), name="q3.csv", content_type="text/csv", size=len(data),
        sha256=hashlib.sha256(data).hexdigest(), path=str(target))}
    absolute = await files.describe([f"@{target}"])
    assert absolute[f"@{target}"]["id"] == target.as_uri()
    (tmp_path / "blob.unknownext").write_bytes(b"")
    blob = await files.describe(["@blob.unknownext"])
    assert blob["@blob.unknownext"]["content_type"] == "application/octet-stream"
    assert blob["@blob.unknownext"]["size"] == 0


# -- end to end ------------------------------------------------------------------------

async def test_descriptors_reach_nodes_and_inline_subworkflows(runtime: WorkflowRuntime
                                                               ) -> None:
    child = spec({"doc": {"format": "file"}}, "{{ inputs.doc.name | upper }}",
                 required=("doc",))
    raw = spec({"doc": {"format": "file"}, "docs": {"type": "array",
                                                    "items": {"format": "file"}}},
               required=("doc", "docs"))
    raw["nodes"] = [
        {"id": "show", "type": "transform",
         "value": {"name": "{{ inputs.doc.name }}", "size": "{{ inputs.doc.size }}",
                   "all": "{{ inputs.docs | map(attribute='name') | list }}"}},
        {"id": "sub", "type": "subworkflow", "spec": child, "inputs": {"doc": "{{ inputs.doc }}"}},
    ]
    raw["outputs"] = {"shown": "{{ nodes.show }}", "child": "{{ nodes.sub.shown }}"}
    slots = runtime.compiler.compile(raw).file_slots
    inputs = await resolve_file_inputs(slots, {"doc": "f1", "docs": ["f2", "f1"]}, FILES)
    result = await runtime.start(raw, inputs)
    assert result.status == "completed", result.error
    assert result.outputs == {"shown": {"name": "one.csv", "size": 10,
                                        "all": ["two.txt", "one.csv"]},
                              "child": "ONE.CSV"}
    record = await runtime.get_run(result.run_id)
    assert record.inputs["doc"] == fd("f1", "one.csv", 10)
