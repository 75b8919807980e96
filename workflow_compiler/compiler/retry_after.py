"""How much longer than its backoff a retry waits when the failure said how long to wait.

LangGraph's ``RetryPolicy`` sleeps its own backoff (``initial_interval * backoff **
(attempt - 1)``, capped at ``max_interval``, plus up to 1 s of jitter) and cannot be told
anything per failure. A rate-limited provider does tell (``Retry-After``), and retrying
sooner only earns another 429. So an executor that knows puts the seconds in its error's
details (``retry_after_s``; the llm and http nodes do, both reading the header with
``retry_after_seconds``, which lives here so that neither imports the other's package)
and the runner sleeps the difference before handing the failure to LangGraph. The whole
wait is capped by the policy's ``max_interval`` (a server cannot park a run for an hour)
and by what is left of the attempt's ``timeout`` (the node's own bound on an attempt,
wait included).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

from workflow_compiler.spec.models import RetryPolicy


def retry_after_seconds(value: str) -> float | None:
    """Seconds to wait from a ``Retry-After`` value: delay seconds (``7``, ``1.5``, also
    Gemini's ``7s``) or an HTTP-date; None when unreadable, so that a garbled header costs
    only the extra wait, never the retry. A date in the past (or a negative delay) is 0;
    a huge but finite value is kept, ``extra_wait`` caps it at the policy's bounds."""
    text = value.strip()
    try:
        seconds = float(text.removesuffix("s"))
    except ValueError:
        try:
            when = parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = (when - datetime.now(UTC)).total_seconds()
    return max(0.0, seconds) if math.isfinite(seconds) else None


def extra_wait(policy: RetryPolicy, attempt: int, details: Mapping[str, Any],
               remaining: float | None) -> float:
    """Seconds to sleep before LangGraph's own backoff for retry number ``attempt``."""
    asked = details.get("retry_after_s")
    if isinstance(asked, bool) or not isinstance(asked, int | float) or not asked > 0:
        return 0.0
    wanted = min(float(asked), policy.max_interval)
    if remaining is not None:
        wanted = min(wanted, max(0.0, remaining))
    backoff = min(policy.max_interval,
                  policy.initial_interval * policy.backoff ** (attempt - 1))
    return max(0.0, wanted - backoff)
