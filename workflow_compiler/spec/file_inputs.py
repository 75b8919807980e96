"""Typed file inputs: a property of a spec's ``inputs`` schema declared ``"format": "file"``.

One declaration, two views. At the boundary (``POST .../runs``, ``graphwright run``) a file
input is a string reference: the id of an uploaded file (``POST /v1/files``), or ``@PATH``
on the CLI. Inside the run it is a file descriptor (``FILE_DESCRIPTOR_SCHEMA``): the file's
metadata, never its bytes. ``workflow_compiler.files.resolve_file_inputs`` turns the first
into the second before a run is registered, so a run's stored inputs, its checkpoints and
every template see descriptors only. The input check (``CompiledWorkflow.input_errors``)
and the static reference check read ``run_view`` of the schema: ``{{ inputs.doc.size }}``
is an integer there, and ``{{ inputs.doc.sizes }}`` an ``unknown_property``.

Files are found where a chain of ``properties`` and ``items`` leads from the root: a file,
a list of files, objects (or lists of objects) holding files. ``"format": "file"`` anywhere
else (``anyOf``, ``$defs``, ``additionalProperties``, ...) is reported instead: no value
could be resolved there, and a silently unresolved id would reach the run as a string.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import Any, Final

FILE_FORMAT: Final = "file"
DESCRIPTOR_KEYS: Final = ("id", "name", "content_type", "size", "sha256", "path")

FILE_DESCRIPTOR_SCHEMA: Final[dict[str, Any]] = {
    "type": "object",
    "description": "a file given to the run: its metadata, not its bytes",
    "required": list(DESCRIPTOR_KEYS),
    "properties": {
        "id": {"type": "string",
               "description": "the file's id (POST /v1/files), or a file:// URI on the CLI"},
        "name": {"type": "string", "description": "the file name, without directories"},
        "content_type": {"type": "string", "description": "a media type, e.g. text/csv"},
        "size": {"type": "integer", "minimum": 0, "description": "in bytes"},
        "sha256": {"type": "string", "pattern": "^[0-9a-f]{64}$"},
        "path": {"type": ["string", "null"],
                 "description": "the local path of a CLI run's file; null for an upload"},
    },
    "additionalProperties": False,
}

#: keywords a file declaration may carry besides ``format`` and ``type``: annotations only,
#: since the run sees a descriptor, not the string a string keyword would constrain
ANNOTATIONS: Final = frozenset({"title", "description", "$comment", "examples", "deprecated",
                                "readOnly", "writeOnly", "$id", "$anchor"})
#: keywords whose value is a map of schemas, one schema, or a list of schemas
_SCHEMA_MAPS: Final = ("properties", "patternProperties", "$defs", "definitions",
                       "dependentSchemas")
_SCHEMA_ONE: Final = ("items", "additionalProperties", "not", "if", "then", "else",
                      "contains", "propertyNames", "unevaluatedItems",
                      "unevaluatedProperties", "additionalItems", "contentSchema")
_SCHEMA_LISTS: Final = ("anyOf", "oneOf", "allOf", "prefixItems")


@dataclass(frozen=True, slots=True)
class FileSlot:
    """Where files sit in the inputs: ``steps`` are property names, None for "each item"
    of a list; ``schema_path`` the keys leading to the declaration in the schema."""

    steps: tuple[str | None, ...]
    schema_path: tuple[str, ...]
    nullable: bool = False

    @property
    def spelled(self) -> str:
        """``inputs.doc``, ``inputs.docs[*]``: as an author would point at it."""
        return "inputs" + "".join("[*]" if s is None else f".{s}" for s in self.steps)


@dataclass(frozen=True, slots=True)
class DeclarationProblem:
    code: str
    message: str
    path: str  # JSON pointer into the inputs schema
    hint: str | None = None


@dataclass(frozen=True, slots=True)
class FileDeclarations:
    slots: tuple[FileSlot, ...]
    problems: tuple[DeclarationProblem, ...]


NO_FILES: Final = FileDeclarations((), ())


def pointer(base: str, *tokens: object) -> str:
    """A JSON pointer (RFC 6901); ``validation.reporting`` has its twin, which this module
    cannot import (validation imports this module)."""
    for token in tokens:
        base += "/" + str(token).replace("~", "~0").replace("/", "~1")
    return base


def find_file_inputs(schema: object) -> FileDeclarations:
    """Every ``"format": "file"`` in an inputs schema: the usable ones as slots, the rest
    as problems. Walks iteratively, so no schema (however deep) can exhaust the stack."""
    if not isinstance(schema, dict):
        return NO_FILES
    slots: list[FileSlot] = []
    problems: list[DeclarationProblem] = []
    # (schema, its keys from the root, the value steps, reachable through properties/items)
    pending: deque[tuple[object, tuple[str, ...], tuple[str | None, ...], bool]] = deque(
        [(schema, (), (), True)])
    while pending:
        node, keys, steps, reachable = pending.popleft()
        if not isinstance(node, dict):
            continue
        if node.get("format") == FILE_FORMAT:
            _declaration(node, keys, steps, reachable, slots, problems)
            continue
        for key in _SCHEMA_MAPS:
            children = node.get(key)
            if isinstance(children, dict):
                for name, child in children.items():
                    if not isinstance(name, str):
                        continue  # not JSON: a schema from Python, with an odd key
                    pending.append((child, (*keys, key, name), (*steps, name),
                                    reachable and key == "properties"))
        for key in _SCHEMA_ONE:
            if key in node:
                pending.append((node[key], (*keys, key), (*steps, None),
                                reachable and key == "items"))
        for key in _SCHEMA_LISTS:
            children = node.get(key)
            if isinstance(children, list):
                for i, child in enumerate(children):
                    pending.append((child, (*keys, key, str(i)), steps, False))
    if not slots and not problems:
        return NO_FILES
    return FileDeclarations(tuple(slots), tuple(problems))


def _declaration(node: dict[str, Any], keys: tuple[str, ...], steps: tuple[str | None, ...],
                 reachable: bool, slots: list[FileSlot], problems: list[DeclarationProblem]
                 ) -> None:
    where = pointer("", *keys)
    slot = FileSlot(steps, keys)
    if not keys or not reachable:
        problems.append(DeclarationProblem(
            "unsupported_file_input",
            ("the inputs themselves cannot be a file" if not keys else
             f"a file input at {where} cannot be resolved: files are declared under "
             "'properties' (and 'items' for lists), not inside combinators, definitions "
             "or 'additionalProperties'"),
            pointer(where, "format"),
            'declare it as a property: {"properties": {"doc": {"format": "file"}}}'))
        return
    declared = node.get("type")
    kinds = {declared} if isinstance(declared, str) else (
        set(declared) if isinstance(declared, list) else None)
    if declared is not None and kinds not in ({"string"}, {"string", "null"}):
        problems.append(DeclarationProblem(
            "invalid_file_input",
            f"{slot.spelled} has \"format\": \"file\", so it takes a file reference (a "
            f"string) and the run sees a file descriptor; it cannot be of type {declared!r}",
            pointer(where, "type"),
            'leave "type" out, or write "type": "string" (["string", "null"] when optional)'))
        return
    extra = sorted((k for k in node if k not in ANNOTATIONS | {"format", "type"}
                    and not (isinstance(k, str) and k.startswith("x-"))), key=str)
    problems.extend(DeclarationProblem(
        "invalid_file_input",
        f"{slot.spelled}: {key!r} does not apply to a file input, whose value in the run is "
        f"a file descriptor ({', '.join(DESCRIPTOR_KEYS)})",
        pointer(where, key),
        f"remove {key!r}; a file declaration takes annotations only (title, description)")
        for key in extra)
    if not extra:
        slots.append(FileSlot(steps, keys, nullable=kinds == {"string", "null"}))


def descriptor_schema(declaration: dict[str, Any], nullable: bool) -> dict[str, Any]:
    """What the run sees for one declaration: a descriptor, keeping its annotations."""
    schema = dict(FILE_DESCRIPTOR_SCHEMA)
    schema.update({k: v for k, v in declaration.items() if k in ("title", "description")})
    if nullable:
        schema["type"] = ["object", "null"]
    return schema


def run_view(schema: dict[str, Any], slots: tuple[FileSlot, ...]) -> dict[str, Any]:
    """The inputs schema as the run sees it: each file declaration a descriptor schema.
    Copies only along the way to each slot; ``schema`` is left as it is."""
    if not slots:
        return schema
    root = dict(schema)
    for slot in slots:
        parent = root
        for key in slot.schema_path[:-1]:
            child = dict(parent[key])
            parent[key] = child
            parent = child
        last = slot.schema_path[-1]
        parent[last] = descriptor_schema(parent[last], slot.nullable)
    return root
