"""Helpers shared by the provider fakes: chunking, token estimates, stop sequences."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from typing import Any

from .script import ToolCall, Turn, Usage

_PIECES = re.compile(r"\s*\S+|\s+")


def text_pieces(text: str) -> list[str]:
    """Word-sized stream deltas (leading whitespace attached, like real tokens); they
    concatenate back to ``text``."""
    return _PIECES.findall(text)


def fragments(text: str, size: int = 7) -> list[str]:
    """Fixed-size slices, e.g. for tool-call argument deltas."""
    return [text[i:i + size] for i in range(0, len(text), size)] or [""]


def estimate_tokens(data: str | bytes) -> int:
    """Deterministic stand-in for a tokenizer: about four bytes a token."""
    return max(1, len(data) // 4)


def dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"))


def arguments(call: ToolCall) -> str:
    """A tool call's arguments as OpenAI sends them: JSON text, or the scripted raw text."""
    return call.raw_arguments if call.raw_arguments is not None else dumps(dict(call.args))


def usage_for(turn: Turn, request_body: bytes, output: Iterable[str]) -> Usage:
    if turn.usage is not None:
        return turn.usage
    produced = "".join(output)
    return Usage(estimate_tokens(request_body), estimate_tokens(produced) if produced else 0)


def apply_stop(text: str, stops: Iterable[str]) -> tuple[str, str | None]:
    """Cut ``text`` at the earliest stop sequence: (text, the sequence that matched)."""
    best: tuple[int, str] | None = None
    for stop in stops:
        if stop and (index := text.find(stop)) >= 0 and (best is None or index < best[0]):
            best = (index, stop)
    if best is None:
        return text, None
    return text[:best[0]], best[1]


def retry_after_header(seconds: float | None) -> dict[str, str]:
    if seconds is None:
        return {}
    value = str(int(seconds)) if float(seconds).is_integer() else str(seconds)
    return {"retry-after": value}
