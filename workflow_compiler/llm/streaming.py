"""One streamed model call: ``llm.token`` events for text deltas, the whole reply returned.

Only text deltas become tokens; tool-call argument fragments and reasoning blocks do not
(``AIMessageChunk.text`` holds text blocks only). The final reply is never sent as a
token: ``node.completed`` carries it once, so a UI appends tokens as they come and then
replaces them with the completed output.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_core.messages.utils import message_chunk_to_message
from langchain_core.runnables import Runnable

TokenSink = Callable[[str], None]


async def stream_reply(
    model: Runnable[Any, Any], messages: Sequence[BaseMessage], on_text: TokenSink
) -> AIMessage:
    merged: AIMessageChunk | None = None
    async for chunk in model.astream(list(messages)):
        if not isinstance(chunk, AIMessageChunk):
            continue
        text = chunk.text
        if text:
            on_text(text)
        merged = chunk if merged is None else merged + chunk
    if merged is None:
        return AIMessage(content="")
    message = message_chunk_to_message(merged)
    if not isinstance(message, AIMessage):  # pragma: no cover - chunks of AI messages
        return AIMessage(content=message.content)
    return message
