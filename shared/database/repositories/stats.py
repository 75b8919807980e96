"""Service-wide counts for operators (``/metrics``), across every owner.

Not caller-facing: nothing here returns an object or a name, only totals, so there is no
owner to scope by. Routers must not use these for a user's view.
"""

from __future__ import annotations

from tortoise.functions import Count

from shared.database.models import Run
from shared.database.models.runs import RUN_STATUSES


class StatsRepository:
    async def runs_by_status(self) -> dict[str, int]:
        """Every run status (zero when there is none) -> how many runs have it."""
        rows = await Run.annotate(count=Count("id")).group_by("status") \
            .values_list("status", "count")
        counts = dict.fromkeys(RUN_STATUSES, 0)
        counts.update({str(status): int(count) for status, count in rows})
        return counts
