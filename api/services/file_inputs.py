"""File inputs of runs started over REST: file ids in, descriptors stored.

A workflow's file input (``"format": "file"`` in its inputs schema) takes the id of one of
the caller's uploads (``POST /v1/files``). ``with_file_inputs`` resolves the ids before the
inputs are checked and the run is registered, through the same ``resolve_file_inputs`` the
CLI uses, so the stored inputs, ``GET /runs/{id}`` and every template see the file's
descriptor (id, name, content_type, size, sha256; ``path`` null). An unknown id, a
malformed one and another user's all answer the same 422 ``unknown_file``, and nothing is
stored.

A request that repeats an earlier one's idempotency key resolves its ids against the
earlier run's descriptors first: the file may have been deleted since, and the repeat must
still answer with the run the first request made (or a conflict when it asks for
something else), not ``unknown_file``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TypeVar
from uuid import UUID

from api.services.runs_models import AdHocRunIn, StartRunIn
from shared.database.entities import FileInfo
from shared.database.repositories import FilesRepository, RunsRepository
from workflow_compiler.files import FileDescriptor, descriptors_in, resolve_file_inputs
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
    #: descriptors an earlier run of the same idempotency key resolved, by file id
    known: dict[UUID, FileDescriptor] = field(default_factory=dict)

    async def describe(self, references: Sequence[str]) -> Mapping[str, FileDescriptor]:
        ids: dict[str, UUID] = {}
        for reference in references:
            try:
                ids[reference] = UUID(reference)
            except ValueError:
                continue  # not an id at all: no such file
        wanted = [file_id for file_id in ids.values() if file_id not in self.known]
        found = {file_id: descriptor_of(info) for file_id, info in
                 (await FilesRepository().get_many(self.owner_id, wanted)).items()} \
            if wanted else {}
        return {ref: self.known.get(file_id) or found[file_id] for ref, file_id in ids.items()
                if file_id in self.known or file_id in found}


async def with_file_inputs(runtime: WorkflowRuntime, owner_id: UUID, spec: object,
                           body: Body, idempotency_key: str | None = None) -> Body:
    """``body`` with its file inputs resolved; ``body`` itself when the spec has none.
    Compiling here costs nothing later: the compiled spec is cached by hash."""
    slots = runtime.compiler.compile(spec).file_slots
    if not slots:
        return body
    files = OwnerFiles(owner_id)
    earlier = await RunsRepository().by_idempotency_key(owner_id, idempotency_key) \
        if idempotency_key is not None else None
    if earlier is not None:
        for known in descriptors_in(slots, earlier.inputs):
            try:
                files.known[UUID(known["id"])] = known
            except ValueError:
                continue
    inputs = await resolve_file_inputs(slots, body.inputs, files)
    return body.model_copy(update={"inputs": inputs})
