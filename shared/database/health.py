"""The database probe behind ``/readyz`` (a query, so it lives with the queries)."""

from __future__ import annotations

from shared.database.models import User


async def ping() -> None:
    """One indexed query on a migrated table: proves the connection and the schema."""
    await User.filter(name="").limit(1).values_list("id", flat=True)
