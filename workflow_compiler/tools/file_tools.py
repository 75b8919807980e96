"""``files.read_text`` and ``files.read_base64``: the bytes behind a file a run was given.

A run sees file descriptors (metadata, see ``spec.file_inputs``); these tools turn one back
into content for the nodes after it (a transform parsing a CSV, an http node posting it,
an llm node reading it). Where the bytes are is a ``FileContents``' business: the
descriptor's local ``path`` on the CLI and when embedding (``LocalFileContents``), the
acting owner's upload of that id in the service (``api.run_owner``).

The bytes are handed over only when their size and sha256 are the descriptor's. Only a
resolver, holding the file, can write those, so a descriptor typed into a spec for some
other local path, or for another user's upload, reads nothing (the tool fails the same
way as for a missing file), and a file that changed after the run was given it is
refused instead of read as something else.
"""

from __future__ import annotations

import asyncio
import base64
import codecs
import hashlib
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Final, Protocol

from workflow_compiler.spec.file_inputs import FILE_DESCRIPTOR_SCHEMA
from workflow_compiler.tools.registry import Tool

MAX_TEXT_CHARS: Final = 1_000_000
MAX_BASE64_BYTES: Final = 10_000_000
_CHUNK: Final = 1024 * 1024


class FileContents(Protocol):
    async def locate(self, descriptor: Mapping[str, Any]) -> Path | None:
        """Where the described file's bytes are, if this caller may read them."""
        ...


class LocalFileContents:
    """The descriptor's own absolute ``path``: what ``files.LocalFiles`` resolved."""

    async def locate(self, descriptor: Mapping[str, Any]) -> Path | None:
        path = descriptor.get("path")
        if not isinstance(path, str) or not path:
            return None
        local = Path(path)
        return local if local.is_absolute() else None


async def read_verified(contents: FileContents, descriptor: Mapping[str, Any],
                        max_bytes: int) -> tuple[bytes, bool]:
    """(the first ``max_bytes`` bytes, whether there were more) of the described file."""
    path = await contents.locate(descriptor)
    if path is not None:
        read = await asyncio.to_thread(_read, path, descriptor, max_bytes)
        if read is not None:
            return read
    raise ValueError(f"file {str(descriptor.get('name'))[:200]!r} cannot be read: there is "
                     "no such file for this run, or its bytes are no longer the ones the "
                     "run was given (size or sha256 differ)")


def _read(path: Path, descriptor: Mapping[str, Any], max_bytes: int
          ) -> tuple[bytes, bool] | None:
    digest, size, kept = hashlib.sha256(), 0, bytearray()
    try:
        with path.open("rb") as source:
            while chunk := source.read(_CHUNK):
                digest.update(chunk)
                size += len(chunk)
                if len(kept) < max_bytes:
                    kept += chunk[:max_bytes - len(kept)]
    except (OSError, ValueError):
        return None
    if size != descriptor.get("size") or digest.hexdigest() != descriptor.get("sha256"):
        return None
    return bytes(kept), size > max_bytes


def file_tools(contents: FileContents) -> list[Tool]:
    """The two tools, reading through ``contents``."""

    async def read_text(file: dict[str, Any], max_chars: int = 100_000,
                        encoding: str = "utf-8") -> dict[str, Any]:
        try:
            decoder = codecs.getincrementaldecoder(encoding)(errors="strict")
        except LookupError:
            raise ValueError(f"unknown encoding {encoding!r}") from None
        # a character takes at most 4 bytes in UTF-8 (and in every encoding Python has but
        # UTF-32, which takes exactly 4)
        data, more = await read_verified(contents, file, max_chars * 4)
        try:
            text = decoder.decode(data, final=not more)
        except UnicodeDecodeError as exc:
            raise ValueError(f"file {file['name'][:200]!r} is not {encoding} text (byte "
                             f"{exc.start}); give another encoding, or read it with "
                             "files.read_base64") from None
        return {"text": text[:max_chars], "truncated": more or len(text) > max_chars,
                **_about(file)}

    async def read_base64(file: dict[str, Any], max_bytes: int = 1_000_000
                          ) -> dict[str, Any]:
        data, more = await read_verified(contents, file, max_bytes)
        return {"base64": base64.b64encode(data).decode("ascii"), "truncated": more,
                **_about(file)}

    about = {"name": {"type": "string"}, "content_type": {"type": "string"},
             "size": {"type": "integer"}, "truncated": {"type": "boolean"}}
    return [
        Tool("files.read_text",
             "Read a file the run was given (a file input's descriptor) as text, up to "
             "max_chars characters (truncated says whether there was more).",
             read_text,
             _args(file=FILE_DESCRIPTOR_SCHEMA,
                   max_chars={"type": "integer", "minimum": 1, "maximum": MAX_TEXT_CHARS},
                   encoding={"type": "string", "minLength": 1, "maxLength": 40,
                             "examples": ["utf-8", "latin-1", "utf-16"]}),
             _object(text={"type": "string"}, **about)),
        Tool("files.read_base64",
             "Read a file the run was given (a file input's descriptor) as base64, up to "
             "max_bytes bytes (truncated says whether there was more).",
             read_base64,
             _args(file=FILE_DESCRIPTOR_SCHEMA,
                   max_bytes={"type": "integer", "minimum": 1, "maximum": MAX_BASE64_BYTES}),
             _object(base64={"type": "string"}, **about)),
    ]


def _about(file: Mapping[str, Any]) -> dict[str, Any]:
    return {"name": file["name"], "content_type": file["content_type"], "size": file["size"]}


def _args(**properties: dict[str, Any]) -> dict[str, Any]:
    return {"type": "object", "properties": properties, "required": ["file"],
            "additionalProperties": False}


def _object(**properties: dict[str, Any]) -> dict[str, Any]:
    return {"type": "object", "properties": properties, "required": list(properties),
            "additionalProperties": False}
