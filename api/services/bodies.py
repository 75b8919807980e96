"""The base of every request body of the API's own routes.

Why a base: unknown fields are refused (a typo in a field name must not be silently
ignored), and so is any value the databases cannot store, which would otherwise surface
as a 500 on one database and not the other:

* the NUL character, anywhere (Postgres text and JSONB refuse it);
* unpaired surrogates (``"\\ud800"`` is valid JSON but not UTF-8: nothing can encode it);
* integers outside the signed 64-bit range (the JSON encoder of JSON columns refuses them;
  Python's ``json`` reads ``1e400``-sized integers happily);
* NaN and infinities (Python's ``json`` reads the non-standard literals ``NaN`` and
  ``Infinity``; they are not JSON and would be stored as ``null``).

The limits on the size and depth of specs live in the compiler; this only guards what
storage cannot hold, plus a depth bound so that walking a body cannot exhaust the stack.
"""

from __future__ import annotations

import math
from typing import Any

from pydantic import BaseModel, ConfigDict, model_validator

#: deeper nesting than this in a request body is refused before anything walks it
MAX_DEPTH = 200
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1


def unstorable(value: Any, depth: int = 0) -> str | None:
    """Why ``value`` (JSON-like) cannot be stored, or None when it can."""
    if depth > MAX_DEPTH:
        return f"the request nests deeper than {MAX_DEPTH} levels"
    if isinstance(value, str):
        return _text_problem(value)
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int):
        return None if INT64_MIN <= value <= INT64_MAX else \
            "integers must fit in 64 bits (-2**63 to 2**63-1)"
    if isinstance(value, float):
        return None if math.isfinite(value) else "NaN and Infinity are not JSON numbers"
    if isinstance(value, dict):
        for key, item in value.items():
            found = unstorable(key, depth + 1) or unstorable(item, depth + 1)
            if found:
                return found
        return None
    if isinstance(value, list | tuple):
        for item in value:
            found = unstorable(item, depth + 1)
            if found:
                return found
    return None


def _text_problem(text: str) -> str | None:
    if "\x00" in text:
        return "text may not contain the NUL character (\\u0000)"
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return "text may not contain unpaired surrogates (it is not valid UTF-8)"
    return None


class RequestBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    @model_validator(mode="after")
    def _storable(self) -> RequestBody:
        problem = unstorable(self.model_dump())
        if problem:
            raise ValueError(problem)
        return self
