"""File inputs of runs started over REST: file ids in, descriptors stored.

A workflow's file input (``"format": "file"`` in its inputs schema) takes the id of one of
the caller's uploads (``POST /v1/files``). ``with_file_inputs`` resolves the ids before the
inputs are checked and the run is registered, through the same ``resolve_file_inputs`` the
CLI uses, so the stored inputs, ``GET /runs/{id}`` and every template see the file's
descriptor (id, name, content_type, size, sha256; ``path`` null). An unknown id, a
malformed one and another user's all answer the same 422 ``unknown_file``, and nothing is
stored.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TypeVar
from uuid import UUID

from api.services.runs_models import AdHocRunIn, StartRunIn
from shared.database.entities import FileInfo
from shared.database.repositories import FilesRepository
from workflow_compiler.files import FileDescriptor, resolve_file_inputs
from workflow_compiler.runtime.runtime import WorkflowRuntime

Body = TypeVar("Body", StartRunIn, AdHocRunIn)


def descriptor_of(info: FileInfo) -> FileDescriptor:
    """What a run sees of an upload: its metadata; the storage path stays private."""
    return FileDescriptor(id=str(info.id), name=info.name, content_type=info.content_type,
                          size=info.size, sha256=info.sha256, path=None)


@dataclass(slots=True)
class OwnerFiles:
    """A ``FileResolver`` over one user's uploads, by id."""

    owner_id: UUID
    hint: str = "a file input takes the id of one of your files (POST /v1/files)"

    async def describe(self, references: Sequence[str]) -> Mapping[str, FileDescriptor]:
        ids: dict[str, UUID] = {}
        for reference in references:
            try:
                ids[reference] = UUID(reference)
            except ValueError:
                continue  # not an id at all: no such file
        found = await FilesRepository().get_many(self.owner_id, ids.values())
        return {ref: descriptor_of(found[file_id]) for ref, file_id in ids.items()
                if file_id in found}


async def with_file_inputs(runtime: WorkflowRuntime, owner_id: UUID, spec: object,
                           body: Body) -> Body:
    """``body`` with its file inputs resolved; ``body`` itself when the spec has none.
    Compiling here costs nothing later: the compiled spec is cached by hash."""
    slots = runtime.compiler.compile(spec).file_slots
    if not slots:
        return body
    inputs = await resolve_file_inputs(slots, body.inputs, OwnerFiles(owner_id))
    return body.model_copy(update={"inputs": inputs})
