"""Embedded defaults: everything a run needs on one machine, with no server to start.

One SQLite file holds both the LangGraph checkpoints and the run records, so a run paused
by one ``graphwright`` process can be resumed by the next, and copying that file moves all
of a user's runs. Postgres remains an option for checkpoints when runs should be shared.
"""

from __future__ import annotations

import asyncio
import os
import re
import uuid
from collections.abc import AsyncIterator, Coroutine, Iterator
from contextlib import AsyncExitStack, asynccontextmanager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from workflow_compiler.cli.failures import CliError

if TYPE_CHECKING:
    from workflow_compiler.runtime.runtime import WorkflowRuntime

T = TypeVar("T")
HOME_ENV = "GRAPHWRIGHT_HOME"
CHECKPOINTER_ENV = "GRAPHWRIGHT_CHECKPOINTER"
DB_FILENAME = "graphwright.db"
_PASSWORD = re.compile(r"^(?P<head>[a-z]+://[^:/@]*:)(?P<secret>[^@]*)(?P<tail>@.*)$")


def home_dir() -> Path:
    configured = os.environ.get(HOME_ENV)
    return Path(configured).expanduser() if configured else Path.home() / ".graphwright"


def default_db_path() -> Path:
    return home_dir() / DB_FILENAME


def new_run_id() -> str:
    """Chosen by the CLI rather than the runtime so the session knows the id before the
    first event arrives (the same format the runtime uses)."""
    return uuid.uuid4().hex


def check_checkpointer_url(url: str) -> str:
    """Only in-memory or Postgres: the SQLite choice is made with ``--db``, and one SQLite
    file for both checkpoints and records is what makes resuming from a new process work."""
    if url == "memory" or url.startswith(("postgres://", "postgresql://")):
        return url
    raise CliError(
        f"--checkpointer takes 'memory' or a postgresql:// URL, not {url!r} "
        "(the SQLite file is chosen with --db)"
    )


def hide_password(url: str) -> str:
    match = _PASSWORD.match(url)
    return f"{match['head']}****{match['tail']}" if match else url


@dataclass(frozen=True, slots=True)
class Storage:
    """Where runs live: the SQLite file, and optionally a separate checkpointer."""

    db: Path
    checkpointer: str | None = None  # None: the SQLite file itself

    @property
    def checkpointer_url(self) -> str:
        return self.checkpointer or str(self.db)

    @property
    def durable(self) -> bool:
        """Whether a later process can resume a paused run."""
        return self.checkpointer != "memory"


@asynccontextmanager
async def open_runtime(
    storage: Storage, *, workflows_dir: Path | None = None
) -> AsyncIterator[WorkflowRuntime]:
    """A runtime over the embedded storage, with subworkflows from files and env secrets."""
    from workflow_compiler.compiler.cache import WorkflowCompiler
    from workflow_compiler.nodes.base import ValidationContext
    from workflow_compiler.runtime.checkpointers import open_checkpointer
    from workflow_compiler.runtime.runtime import WorkflowRuntime
    from workflow_compiler.runtime.store import SqliteRunStore
    from workflow_compiler.runtime.stores import open_store
    from workflow_compiler.services import DirectoryResolver, EnvSecrets, RuntimeServices

    storage.db.parent.mkdir(parents=True, exist_ok=True)
    services = RuntimeServices(
        resolver=DirectoryResolver(workflows_dir or Path.cwd()), secrets=EnvSecrets()
    )
    compiler = WorkflowCompiler(context=ValidationContext(tool_names=services.tools.names()))
    # llm conversation memory lives beside the checkpoints (the SQLite file has room for it)
    async with open_checkpointer(storage.checkpointer_url) as saver, \
            open_store(storage.checkpointer_url) as memory:
        store = await SqliteRunStore.open(storage.db)
        try:
            yield WorkflowRuntime(
                checkpointer=saver, store=store, services=services, compiler=compiler,
                memory_store=memory,
            )
        finally:
            await store.close()


MIN_PREFIX = 4


async def resolve_run_id(runtime: WorkflowRuntime, text: str) -> str:
    """A full run id, accepting a unique prefix (as git does) since ids are long hex."""
    if await runtime.store.get(text) is not None or len(text) < MIN_PREFIX:
        return text
    matches = [r.run_id for r in await runtime.store.list(limit=100_000)
               if r.run_id.startswith(text)]
    if len(matches) > 1:
        raise CliError(f"run id prefix {text!r} is ambiguous: {', '.join(matches[:5])}")
    return matches[0] if matches else text



class Engine:
    """The runtime plus the event loop it lives on, driven from synchronous code.

    Commands are synchronous so that prompts run outside the event loop: there, Ctrl-C
    interrupts ``input()`` at once instead of merely scheduling a task cancellation. One
    ``asyncio.Runner`` keeps a single loop for the whole command, which the SQLite and
    Postgres connections require.
    """

    def __init__(self, runner: asyncio.Runner, runtime: WorkflowRuntime, storage: Storage
                 ) -> None:
        self.runner = runner
        self.runtime = runtime
        self.storage = storage

    def call(self, awaitable: Coroutine[Any, Any, T]) -> T:
        return self.runner.run(awaitable)


@contextmanager
def embedded_engine(storage: Storage, *, workflows_dir: Path | None = None) -> Iterator[Engine]:
    with asyncio.Runner() as runner:
        stack = AsyncExitStack()
        runtime = runner.run(stack.enter_async_context(
            open_runtime(storage, workflows_dir=workflows_dir)))
        try:
            yield Engine(runner, runtime, storage)
        finally:
            runner.run(stack.aclose())
