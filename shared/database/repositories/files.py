"""Uploaded files' metadata; the bytes live at ``storage_path`` (the API stores them under
the settings' files directory and deletes them with the row)."""

from __future__ import annotations

from collections.abc import Iterable
from uuid import UUID

from tortoise.expressions import Q

from shared.database.entities import FileInfo, Page
from shared.database.errors import InvalidArgumentError, NotFoundError
from shared.database.models import StoredFile
from shared.database.repositories._common import (
    as_uuid,
    check_limit,
    decode_cursor,
    encode_cursor,
    uuid_key,
)


class FilesRepository:
    async def create(
        self, owner_id: UUID, *, name: str, size: int, sha256: str, storage_path: str,
        content_type: str = "application/octet-stream",
    ) -> FileInfo:
        if not name or len(name) > 255:
            raise InvalidArgumentError("a file name has 1 to 255 characters", field="name")
        if size < 0 or len(sha256) != 64:
            raise InvalidArgumentError("size and sha256 describe the stored bytes",
                                       field="sha256")
        row = await StoredFile.create(owner_id=owner_id, name=name, size=size, sha256=sha256,
                                      storage_path=storage_path, content_type=content_type)
        return FileInfo.model_validate(row)

    async def get(self, owner_id: UUID, file_id: UUID | str) -> FileInfo:
        row = await StoredFile.get_or_none(id=as_uuid(file_id, "file"), owner_id=owner_id)
        if row is None:
            raise NotFoundError("file", file_id)
        return FileInfo.model_validate(row)

    async def get_many(self, owner_id: UUID, file_ids: Iterable[UUID]) -> dict[UUID, FileInfo]:
        """The owner's files among ``file_ids`` (the others are left out), in one query per
        500 ids (SQLite bounds the parameters of a statement)."""
        wanted = sorted(set(file_ids))
        found: dict[UUID, FileInfo] = {}
        for start in range(0, len(wanted), 500):
            rows = await StoredFile.filter(owner_id=owner_id, id__in=wanted[start:start + 500])
            found.update((row.id, FileInfo.model_validate(row)) for row in rows)
        return found

    async def list(self, owner_id: UUID, *, limit: int = 50, cursor: str | None = None
                   ) -> Page[FileInfo]:
        check_limit(limit)
        query = StoredFile.filter(owner_id=owner_id)
        if cursor is not None:
            moment, key = decode_cursor(cursor, uuid_key)
            query = query.filter(Q(created_at__lt=moment) | Q(created_at=moment, id__lt=key))
        rows = await query.order_by("-created_at", "-id").limit(limit + 1)
        more = len(rows) > limit
        rows = rows[:limit]
        return Page(items=[FileInfo.model_validate(r) for r in rows],
                    next_cursor=encode_cursor(rows[-1].created_at, rows[-1].id) if more else None)

    async def delete(self, owner_id: UUID, file_id: UUID | str) -> FileInfo:
        """Deletes the row and returns it (the caller removes the bytes)."""
        info = await self.get(owner_id, file_id)
        await StoredFile.filter(id=info.id, owner_id=owner_id).delete()
        return info
