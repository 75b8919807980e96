"""``graphwright serve`` and ``graphwright users``: the service's commands.

Registered as ``graphwright.commands`` entry points (see pyproject.toml) so the core CLI
finds them without importing this package. Imports of FastAPI, uvicorn and Tortoise stay
inside the commands: loading this module must cost the core CLI nothing.
"""

from __future__ import annotations

import asyncio

import click


@click.command()
@click.option("--host", default=None, help="interface to bind (default GRAPHWRIGHT_HOST, "
              "127.0.0.1)")
@click.option("--port", type=int, default=None, help="port (default GRAPHWRIGHT_PORT, 8000)")
@click.option("--workers", type=click.IntRange(1, 64), default=1, show_default=True,
              help="server processes (each with its own in-process runs)")
def serve(host: str | None, port: int | None, workers: int) -> None:
    """Serve the REST API (/v1, docs at /docs) with in-process execution.

    Embedded defaults: a SQLite database and checkpoints under GRAPHWRIGHT_DATA_DIR
    (~/.graphwright). Set GRAPHWRIGHT_DATABASE_URL=postgres://... for production. Create a
    user and its API key first with `graphwright users create NAME`.
    """
    import uvicorn

    from shared.config import get_settings

    settings = get_settings()
    uvicorn.run("api.main:app", host=host or settings.host, port=port or settings.port,
                workers=workers, log_level=settings.log_level, proxy_headers=False,
                access_log=False)


@click.group()
def users() -> None:
    """Manage the service's users and their API keys."""


@users.command("create")
@click.argument("name")
@click.option("--display-name", default="", help="shown in UIs")
@click.option("--email", default=None)
def create_user(name: str, display_name: str, email: str | None) -> None:
    """Create a user and print its first API key (shown this once)."""
    key = asyncio.run(_create_user(name, display_name, email))
    click.echo(key)


async def _create_user(name: str, display_name: str, email: str | None) -> str:
    from shared.config import get_settings
    from shared.database import close_db, init_db
    from shared.database.repositories import UsersRepository

    settings = get_settings()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    await init_db(settings.database_url, pool_max=2)
    try:
        _, key = await UsersRepository().create_user(name, display_name=display_name,
                                                     email=email)
    finally:
        await close_db()
    return key
