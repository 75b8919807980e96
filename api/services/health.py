"""Readiness checks."""

from __future__ import annotations

import asyncio

from shared.database.health import ping

READY_TIMEOUT_SECONDS = 2.0


async def database_ready() -> str | None:
    """None when the database answers within the timeout, else why not."""
    try:
        await asyncio.wait_for(ping(), READY_TIMEOUT_SECONDS)
    except TimeoutError:
        return f"no answer within {READY_TIMEOUT_SECONDS:g}s"
    except Exception as exc:  # any driver error means "not ready"; say which
        return f"{type(exc).__name__}: {exc}"[:200]
    return None
