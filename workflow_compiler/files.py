"""Resolving file inputs: references at a run's boundary, descriptors inside it.

``resolve_file_inputs`` is the one step the CLI and the API both take before a run is
registered: every file input (see ``spec.file_inputs``) must hold a reference, which a
``FileResolver`` turns into a descriptor; a reference it does not know refuses the whole
run (``unknown_file``, naming each input). What a reference means is the resolver's:
``LocalFiles`` (the CLI) reads ``@PATH`` from disk, the service looks the caller's uploads
up by id. Descriptors come from resolvers only: a descriptor-shaped object passed in is
refused, so no caller can hand a run a file they may not use.
"""

from __future__ import annotations

import asyncio
import copy
import hashlib
import mimetypes
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final, Protocol, TypedDict

from workflow_compiler.errors import FileInputsError, UnknownFileError
from workflow_compiler.expressions.paths import format_path, type_label
from workflow_compiler.spec.file_inputs import FileSlot
from workflow_compiler.validation.reporting import pointer

#: references one run may hold (one database query resolves them all)
MAX_FILES_PER_RUN: Final = 1000
DEFAULT_CONTENT_TYPE: Final = "application/octet-stream"
_CHUNK: Final = 1024 * 1024


class FileDescriptor(TypedDict):
    """What a run sees of a file (``spec.file_inputs.FILE_DESCRIPTOR_SCHEMA``)."""

    id: str
    name: str
    content_type: str
    size: int
    sha256: str
    path: str | None


class FileResolver(Protocol):
    @property
    def hint(self) -> str:
        """What a reference looks like here, for error messages."""
        ...

    async def describe(self, references: Sequence[str]) -> Mapping[str, FileDescriptor]:
        """The descriptors of the references it knows (the others are left out)."""
        ...


@dataclass(slots=True)
class DictFiles:
    """Files held in memory, by reference: for embedding and tests."""

    files: dict[str, FileDescriptor] = field(default_factory=dict)
    hint: str = "a file input takes the id of a known file"

    async def describe(self, references: Sequence[str]) -> Mapping[str, FileDescriptor]:
        return {r: self.files[r] for r in references if r in self.files}


@dataclass(slots=True)
class LocalFiles:
    """``@PATH`` names a file on this machine, relative to ``base``: the CLI's resolver.
    Its descriptor's id is the file's ``file://`` URI and ``path`` its absolute path."""

    base: Path
    hint: str = "give a local file as @PATH, e.g. --input doc=@./report.pdf"

    async def describe(self, references: Sequence[str]) -> Mapping[str, FileDescriptor]:
        return await asyncio.to_thread(self._describe_all, references)

    def _describe_all(self, references: Sequence[str]) -> dict[str, FileDescriptor]:
        found: dict[str, FileDescriptor] = {}
        for reference in references:
            described = self._describe(reference)
            if described is not None:
                found[reference] = described
        return found

    def _describe(self, reference: str) -> FileDescriptor | None:
        if not reference.startswith("@") or len(reference) == 1:
            return None
        try:
            path = (self.base / Path(reference[1:]).expanduser()).resolve()
            if not path.is_file():
                return None
            digest, size = hashlib.sha256(), 0
            with path.open("rb") as source:
                while chunk := source.read(_CHUNK):
                    digest.update(chunk)
                    size += len(chunk)
        except (OSError, ValueError):  # unreadable, or a path the OS refuses (NUL, ...)
            return None
        guessed, _ = mimetypes.guess_type(path.name)
        return FileDescriptor(id=path.as_uri(), name=path.name,
                              content_type=guessed or DEFAULT_CONTENT_TYPE, size=size,
                              sha256=digest.hexdigest(), path=str(path))


@dataclass(slots=True)
class _Site:
    container: Any  # the dict or list holding the value
    key: str | int
    steps: tuple[str | int, ...]

    @property
    def value(self) -> Any:
        return self.container[self.key]

    def put(self, value: Any) -> None:
        self.container[self.key] = value

    @property
    def spelled(self) -> str:
        return format_path("inputs", self.steps)

    @property
    def path(self) -> str:
        return pointer("", *self.steps)


def _sites(slot: FileSlot, inputs: dict[str, Any]) -> list[_Site]:
    """Where ``slot`` holds values in ``inputs`` (absent properties have none)."""
    level: list[tuple[Any, tuple[str | int, ...], _Site | None]] = [(inputs, (), None)]
    for step in slot.steps:
        deeper: list[tuple[Any, tuple[str | int, ...], _Site | None]] = []
        for value, steps, _ in level:
            if step is None and isinstance(value, list):
                deeper.extend((item, (*steps, i), _Site(value, i, (*steps, i)))
                              for i, item in enumerate(value))
            elif isinstance(step, str) and isinstance(value, dict) and step in value:
                deeper.append((value[step], (*steps, step), _Site(value, step, (*steps, step))))
        level = deeper
    return [site for _, _, site in level if site is not None]


async def resolve_file_inputs(slots: Sequence[FileSlot], inputs: dict[str, Any],
                              resolver: FileResolver) -> dict[str, Any]:
    """``inputs`` with every file reference replaced by its descriptor (a copy; the same
    object when the spec declares no file inputs). Shapes that do not match the schema
    are left for the input check to explain; only the file values themselves are
    judged here."""
    if not slots:
        return inputs
    resolved = copy.deepcopy(inputs)
    wanted: list[tuple[_Site, str]] = []
    problems: list[dict[str, Any]] = []
    for slot in slots:
        for site in _sites(slot, resolved):
            value = site.value
            if value is None and slot.nullable:
                continue
            if isinstance(value, str):
                wanted.append((site, value))
            else:
                problems.append({"code": "invalid_input", "path": site.path, "hint": resolver.hint,
                                 "message": f"{site.spelled} is a file input: it takes a file "
                                 f"reference (a string), not {type_label(value)}"})
    if len(wanted) > MAX_FILES_PER_RUN:
        problems.append({"code": "invalid_input", "path": "", "hint": None,
                         "message": f"a run takes at most {MAX_FILES_PER_RUN} files, not "
                         f"{len(wanted)}"})
    if problems:
        raise FileInputsError(_summary(problems), details={"errors": problems})
    found = await resolver.describe(sorted({reference for _, reference in wanted})) \
        if wanted else {}
    for site, reference in wanted:
        descriptor = found.get(reference)
        if descriptor is None:
            problems.append({"code": "unknown_file", "path": site.path, "hint": resolver.hint,
                             "message": f"file input {site.spelled}: no such file "
                             f"{reference[:200]!r}"})
        else:
            site.put(dict(descriptor))
    if problems:
        raise UnknownFileError(_summary(problems), details={"errors": problems})
    return resolved


def anchor_local_references(slots: Sequence[FileSlot], inputs: dict[str, Any], base: Path,
                            where: Callable[[tuple[str | int, ...]], bool]) -> dict[str, Any]:
    """``inputs`` (a copy) where each relative ``@PATH`` at a file input for which
    ``where(steps)`` holds names a path under ``base`` instead of the working directory:
    the CLI's references written in an inputs file are relative to that file."""
    anchored = copy.deepcopy(inputs)
    for slot in slots:
        for site in _sites(slot, anchored):
            value = site.value
            if not (isinstance(value, str) and value.startswith("@") and len(value) > 1
                    and where(site.steps)):
                continue
            relative = Path(value[1:]).expanduser()
            if not relative.is_absolute():
                site.put("@" + str(base / relative))
    return anchored


def descriptors_in(slots: Sequence[FileSlot], inputs: dict[str, Any]) -> list[FileDescriptor]:
    """The descriptors resolved inputs hold (a stored run's): what its references meant."""
    found: list[FileDescriptor] = []
    for slot in slots:
        for site in _sites(slot, inputs):
            value = site.value
            if isinstance(value, dict) and isinstance(value.get("id"), str):
                found.append(FileDescriptor(**value))  # type: ignore[typeddict-item]
    return found


def _summary(problems: list[dict[str, Any]]) -> str:
    text = "; ".join(p["message"] for p in problems[:3])
    return text + (f" (and {len(problems) - 3} more)" if len(problems) > 3 else "")
