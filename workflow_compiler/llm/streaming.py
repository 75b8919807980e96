"""One streamed model call: ``llm.token`` events for text deltas, the whole reply returned.

Only text deltas become tokens; tool-call argument fragments and reasoning blocks do not
(``AIMessageChunk.text`` holds text blocks only). The final reply is never sent as a
token: ``node.completed`` carries it once, so a UI appends tokens as they come and then
replaces them with the completed output.

Deltas are coalesced: the first goes out at once (time to first token is what a user
notices), later ones are gathered and sent at most every ``TOKEN_INTERVAL`` seconds (a
timer sends what waits when the stream stalls), and whatever is left goes out before the
call returns or fails. Each token event costs an event record, a stream item and a stored
row, while a provider may send a delta per word; a reader 50 ms behind cannot tell. The
texts of a call's events, joined, are exactly its reply's text, in order.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from typing import Any

from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_core.messages.utils import message_chunk_to_message
from langchain_core.runnables import Runnable

TokenSink = Callable[[str], None]

#: seconds between two token events of one call, after the first (0: one per delta)
TOKEN_INTERVAL = 0.05


class TokenBuffer:
    """Text deltas in, coalesced ``sink`` calls out (see the module docstring)."""

    __slots__ = ("_handle", "_interval", "_last", "_parts", "_sink")

    def __init__(self, sink: TokenSink, interval: float = TOKEN_INTERVAL) -> None:
        self._sink = sink
        self._interval = interval
        self._parts: list[str] = []
        self._last = float("-inf")  # when the last event went out
        self._handle: asyncio.TimerHandle | None = None

    def add(self, text: str) -> None:
        self._parts.append(text)
        waited = time.monotonic() - self._last
        if waited >= self._interval:
            self.flush()
        elif self._handle is None:
            self._handle = asyncio.get_running_loop().call_later(
                self._interval - waited, self.flush)

    def flush(self) -> None:
        """Send what waits (if anything) now."""
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None
        if self._parts:
            text = self._parts[0] if len(self._parts) == 1 else "".join(self._parts)
            self._parts.clear()
            self._last = time.monotonic()
            self._sink(text)


async def stream_reply(
    model: Runnable[Any, Any], messages: Sequence[BaseMessage], on_text: TokenSink,
    *, interval: float = TOKEN_INTERVAL,
) -> AIMessage:
    tokens = TokenBuffer(on_text, interval)
    chunks: list[AIMessageChunk] = []
    try:
        async for chunk in model.astream(list(messages)):
            if not isinstance(chunk, AIMessageChunk):
                continue
            text = chunk.text
            if text:
                tokens.add(text)
            chunks.append(chunk)
    finally:
        tokens.flush()
    if not chunks:
        return AIMessage(content="")
    merged = chunks[0] if len(chunks) == 1 else chunks[0] + chunks[1:]
    message = message_chunk_to_message(merged)
    if not isinstance(message, AIMessage):  # pragma: no cover - chunks of AI messages
        return AIMessage(content=message.content)
    return message
