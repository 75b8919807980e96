"""The base of every request body of the API's own routes.

Why a base: unknown fields are refused (a typo in a field name must not be silently
ignored), and so is the NUL character anywhere in the body, because Postgres cannot store
it in text or JSONB (it would surface as a 500 on Postgres while SQLite accepted it).
The limits on JSON depth and size live in the compiler for specs; this only guards what
the databases cannot hold.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, model_validator

#: deeper nesting than this in a request body is refused before anything walks it
MAX_DEPTH = 200


def find_nul(value: Any, depth: int = 0) -> bool:
    """Whether ``value`` (JSON-like) holds a NUL character in any string or key."""
    if depth > MAX_DEPTH:
        raise ValueError(f"the request nests deeper than {MAX_DEPTH} levels")
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(find_nul(k, depth + 1) or find_nul(v, depth + 1) for k, v in value.items())
    if isinstance(value, list | tuple):
        return any(find_nul(v, depth + 1) for v in value)
    return False


def has_nul(text: str) -> bool:
    return "\x00" in text


class RequestBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    @model_validator(mode="after")
    def _no_nul(self) -> RequestBody:
        if find_nul(self.model_dump()):
            raise ValueError("text may not contain the NUL character (\\u0000)")
        return self
