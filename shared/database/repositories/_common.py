"""Helpers every repository uses: ids, names, limits, time, cursors."""

from __future__ import annotations

import base64
import json
import re
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from shared.database.errors import InvalidArgumentError, NotFoundError

NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}$")
WORKFLOW_NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 _.-]{0,127}$")
SECRET_NAME_PATTERN = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,127}$")


def utcnow() -> datetime:
    return datetime.now(UTC)


def parse_ts(value: str | None) -> datetime | None:
    """An ISO timestamp from the runtime (always with an offset) as an aware datetime."""
    if value is None:
        return None
    parsed = datetime.fromisoformat(value)
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def iso(value: datetime | None) -> str | None:
    return value.astimezone(UTC).isoformat() if value is not None else None


def as_uuid(value: UUID | str, kind: str) -> UUID:
    """An id from a URL: malformed means "no such object", like someone else's id."""
    if isinstance(value, UUID):
        return value
    try:
        return UUID(str(value))
    except ValueError:
        raise NotFoundError(kind, value) from None


def check_name(value: str, what: str, pattern: re.Pattern[str] = NAME_PATTERN) -> str:
    if not isinstance(value, str) or not pattern.fullmatch(value):
        raise InvalidArgumentError(
            f"{what} {value!r} is not valid: it must match {pattern.pattern}", field=what)
    return value


def check_limit(limit: int, *, low: int = 1, high: int = 1000) -> int:
    if isinstance(limit, bool) or not isinstance(limit, int) or not low <= limit <= high:
        raise InvalidArgumentError(f"limit must be between {low} and {high}, not {limit!r}",
                                   field="limit")
    return limit


def check_choice(value: str | None, allowed: tuple[str, ...], what: str) -> str | None:
    if value is not None and value not in allowed:
        raise InvalidArgumentError(
            f"{what} {value!r} is not one of {', '.join(allowed)}", field=what)
    return value


def encode_cursor(created_at: datetime, key: object) -> str:
    """An opaque position in a newest-first listing: (created_at, id) of the last item."""
    raw = json.dumps([iso(created_at), str(key)], separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, str]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        created, key = json.loads(base64.urlsafe_b64decode(padded.encode()))
        moment = parse_ts(created)
        if moment is None or not isinstance(key, str):
            raise ValueError(cursor)
    except (ValueError, TypeError):
        raise InvalidArgumentError("cursor is not one this API returned", field="cursor") from None
    return moment, key


def json_size(value: Any) -> int:
    return len(json.dumps(value, default=str, separators=(",", ":")))
