"""Helpers every repository uses: ids, names, limits, time, cursors."""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, TypeVar
from uuid import UUID

from shared.database.errors import InvalidArgumentError, InvalidCursorError, NotFoundError

K = TypeVar("K")

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


def in_utc(moment: datetime) -> datetime:
    """``moment`` as an aware UTC datetime (a naive one is taken as UTC). An instant past
    either end of the calendar in UTC (``0001-01-01T00:00:00+05:00`` is in year 0,
    ``9999-12-31T23:59:59-14:00`` in year 10000) is clamped to ``datetime.min`` /
    ``datetime.max``: it is before / after every stored time all the same."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    try:
        return moment.astimezone(UTC)
    except OverflowError:
        return (datetime.min if moment.year == 1 else datetime.max).replace(tzinfo=UTC)


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


def decode_cursor(cursor: str, key: Callable[[str], K]) -> tuple[datetime, K]:
    """The position ``encode_cursor`` wrote, its id checked by ``key`` (``uuid_key``,
    ``text_key(n)``: whatever the listing's id column holds; it raises ``ValueError``
    otherwise). A cursor no listing could have returned, a crafted one included, is an
    ``InvalidCursorError`` before any query sees it."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        decoded = json.loads(base64.urlsafe_b64decode(padded.encode()))
        if not isinstance(decoded, list) or len(decoded) != 2:
            raise ValueError(cursor)
        created, raw_key = decoded
        moment = parse_ts(created)
        if moment is None or not isinstance(raw_key, str):
            raise ValueError(cursor)
        # OverflowError for an instant past either end of the calendar in UTC
        return moment.astimezone(UTC), key(raw_key)
    except (ValueError, TypeError, OverflowError):
        raise InvalidCursorError("cursor is not one this API returned",
                                 field="cursor") from None


def uuid_key(value: str) -> UUID:
    """A UUID id, spelled as ``encode_cursor`` spells it."""
    parsed = UUID(value)
    if str(parsed) != value:
        raise ValueError(value)
    return parsed


def text_key(max_length: int) -> Callable[[str], str]:
    """An id any text column of ``max_length`` characters holds: not empty, no NUL, valid
    UTF-8 (Postgres refuses the last two)."""

    def check(value: str) -> str:
        if not 1 <= len(value) <= max_length or "\x00" in value:
            raise ValueError(value)
        value.encode("utf-8")  # UnicodeEncodeError (a ValueError) on an unpaired surrogate
        return value

    return check


def json_size(value: Any) -> int:
    return len(json.dumps(value, default=str, separators=(",", ":")))
