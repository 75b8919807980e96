"""File inputs of a subworkflow an llm node calls as a tool: the model names files by id.

A model cannot be handed a file, nor trusted to write a descriptor, so a child workflow's
file input appears in the tool's parameters as a string: the id of one of the files the
calling run holds (its own inputs' descriptors, which only a resolver made). The ids the
model gives are resolved against those before the child runs; any other id is an
``unknown_file`` the model is told about, and the child never sees it.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from workflow_compiler.errors import FileInputsError, NodeExecutionError, UnknownFileError
from workflow_compiler.spec.file_inputs import DESCRIPTOR_KEYS, FileSlot, find_file_inputs

if TYPE_CHECKING:  # files imports validation, which imports the tool adapters (and us)
    from workflow_compiler.files import FileDescriptor

_KEYS = frozenset(DESCRIPTOR_KEYS)
#: files of the calling run named in a tool's parameter description, at most
LISTED_FILES = 20


def run_files(inputs: Any) -> list[FileDescriptor]:
    """The descriptors anywhere in a run's inputs, each once, in order of appearance."""
    found: dict[str, FileDescriptor] = {}
    stack = [inputs]
    while stack:
        value = stack.pop()
        if isinstance(value, Mapping):
            if set(value) == _KEYS and isinstance(value.get("id"), str):
                found.setdefault(value["id"], dict(value))  # type: ignore[arg-type]
            else:
                stack.extend(reversed(list(value.values())))
        elif isinstance(value, list):
            stack.extend(reversed(value))
    return list(found.values())


def file_slots(schema: Any) -> tuple[FileSlot, ...]:
    return find_file_inputs(schema).slots if isinstance(schema, Mapping) else ()


def describe_file_parameters(parameters: dict[str, Any], slots: Sequence[FileSlot],
                             files: Sequence[FileDescriptor]) -> dict[str, Any]:
    """``parameters`` (a copy) with each file input a string said to take a file id, and
    which ids there are."""
    schema = copy.deepcopy(parameters)
    listed = ", ".join(f"{f['name']} (id {f['id']})" for f in files[:LISTED_FILES]) or "none"
    note = f"the id of a file this run holds: {listed}"
    for slot in slots:
        leaf: Any = schema
        for step in slot.steps:
            key, inner = ("items", None) if step is None else ("properties", step)
            container = leaf.get(key) if isinstance(leaf, dict) else None
            if inner is not None:
                container = container.get(inner) if isinstance(container, dict) else None
            leaf = container
        if isinstance(leaf, dict):
            leaf["type"] = "string"
            leaf.pop("format", None)  # a provider may refuse formats it does not know
            leaf["description"] = f"{leaf['description']} ({note})" \
                if isinstance(leaf.get("description"), str) else note
    return schema


async def resolve_model_files(slots: Sequence[FileSlot], args: dict[str, Any],
                              files: Sequence[FileDescriptor]) -> dict[str, Any]:
    """``args`` with the model's file ids replaced by the calling run's descriptors."""
    from workflow_compiler.files import DictFiles, resolve_file_inputs

    known = DictFiles({f["id"]: f for f in files})
    known.hint = "give the id of one of this run's files"
    try:
        return await resolve_file_inputs(slots, args, known)
    except (FileInputsError, UnknownFileError) as exc:
        raise NodeExecutionError(exc.message, code=exc.code, details=exc.details) from None
