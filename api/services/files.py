"""Uploaded files: bytes under ``settings.files_dir/<owner>/``, metadata in the database.

The bytes are written under a random name (never the client's file name, which could
hold path tricks), hashed while copied, and the row is created only once the bytes are
safely on disk; a failed insert removes them again. Deleting removes the row first and
then the bytes, so a crash in between leaves an orphan file, never a row without bytes.
The internal storage path is not part of the API's view of a file.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
import uuid
from datetime import datetime
from pathlib import Path, PurePosixPath, PureWindowsPath
from typing import BinaryIO
from uuid import UUID

from pydantic import BaseModel

from api.problems import PayloadTooLargeError
from shared.config import Settings
from shared.database.entities import FileInfo, Page
from shared.database.errors import NotFoundError
from shared.database.repositories import FilesRepository

CHUNK_BYTES = 1024 * 1024
DEFAULT_NAME = "upload"
DEFAULT_CONTENT_TYPE = "application/octet-stream"
_MEDIA_TYPE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}/"
                         r"[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}$")


class FileView(BaseModel):
    id: UUID
    name: str
    content_type: str
    size: int
    sha256: str
    created_at: datetime

    @classmethod
    def of(cls, info: FileInfo) -> FileView:
        return cls(id=info.id, name=info.name, content_type=info.content_type,
                   size=info.size, sha256=info.sha256, created_at=info.created_at)


class UploadTooLargeError(Exception):
    """The upload went past the limit while being copied."""


def clean_name(name: str | None) -> str:
    """The last path segment of the client's file name, without control characters."""
    base = PureWindowsPath(PurePosixPath(name or "").name).name
    base = "".join(c for c in base if c.isprintable()).strip()
    return base[:255] or DEFAULT_NAME


def clean_content_type(value: str | None) -> str:
    media = (value or "").split(";", 1)[0].strip()
    return media.lower() if _MEDIA_TYPE.fullmatch(media) else DEFAULT_CONTENT_TYPE


def _copy(source: BinaryIO, target: Path, limit: int) -> tuple[int, str]:
    digest = hashlib.sha256()
    size = 0
    target.parent.mkdir(parents=True, exist_ok=True)
    with target.open("xb") as out:
        while chunk := source.read(CHUNK_BYTES):
            size += len(chunk)
            if size > limit:
                raise UploadTooLargeError
            digest.update(chunk)
            out.write(chunk)
    return size, digest.hexdigest()


class FilesService:
    def __init__(self, settings: Settings) -> None:
        assert settings.files_dir is not None  # derived by Settings
        self.root = settings.files_dir
        self.limit = settings.max_upload_bytes
        self.files = FilesRepository()

    async def upload(self, owner_id: UUID, source: BinaryIO, name: str | None,
                     content_type: str | None) -> FileView:
        target = self.root / owner_id.hex / uuid.uuid4().hex
        try:
            size, sha256 = await asyncio.to_thread(_copy, source, target, self.limit)
            info = await self.files.create(
                owner_id, name=clean_name(name), size=size, sha256=sha256,
                storage_path=str(target), content_type=clean_content_type(content_type))
        except UploadTooLargeError:
            target.unlink(missing_ok=True)
            raise self.too_large() from None
        except BaseException:
            target.unlink(missing_ok=True)
            raise
        return FileView.of(info)

    def too_large(self) -> PayloadTooLargeError:
        return PayloadTooLargeError(f"a file may have at most {self.limit} bytes",
                                    details={"limit": self.limit})

    async def list(self, owner_id: UUID, *, limit: int, cursor: str | None) -> Page[FileView]:
        page = await self.files.list(owner_id, limit=limit, cursor=cursor)
        return Page(items=[FileView.of(f) for f in page.items], next_cursor=page.next_cursor)

    async def get(self, owner_id: UUID, file_id: str) -> FileView:
        return FileView.of(await self.files.get(owner_id, file_id))

    async def content(self, owner_id: UUID, file_id: str) -> tuple[FileInfo, Path]:
        info = await self.files.get(owner_id, file_id)
        path = Path(info.storage_path)
        if not await asyncio.to_thread(path.is_file):
            raise NotFoundError("content of file", file_id)  # bytes lost outside the API
        return info, path

    async def delete(self, owner_id: UUID, file_id: str) -> None:
        info = await self.files.delete(owner_id, file_id)
        await asyncio.to_thread(Path(info.storage_path).unlink, missing_ok=True)
