"""Options shared by several commands, declared once so that ``run``, ``resume`` and the
inspection commands agree on names, defaults and meaning."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click
from click.core import ParameterSource

from workflow_compiler.cli.embedded import (
    CHECKPOINTER_ENV,
    Storage,
    check_checkpointer_url,
    default_db_path,
)
from workflow_compiler.cli.hints import ResumeFlags
from workflow_compiler.cli.session import SessionOptions

F = TypeVar("F", bound=Callable[..., Any])


def storage_options(func: F) -> F:
    func = click.option(
        "--checkpointer", metavar="URL", envvar=CHECKPOINTER_ENV,
        help="Where checkpoints go instead of the SQLite file: 'memory' (runs cannot be "
             f"resumed later) or a postgresql:// URL. Env: {CHECKPOINTER_ENV}.",
    )(func)
    return click.option(
        "--db", type=click.Path(dir_okay=False, path_type=Path), metavar="PATH",
        help="SQLite file holding runs and checkpoints "
             "[default: $GRAPHWRIGHT_HOME/graphwright.db, GRAPHWRIGHT_HOME=~/.graphwright].",
    )(func)


def follow_options(func: F) -> F:
    """Options of the commands that follow a run as it moves (run, resume, fork)."""
    func = click.option(
        "--max-wait", type=click.FloatRange(min=0), default=60.0, show_default=True,
        metavar="SECONDS",
        help="Wait in-process for wait nodes due within this many seconds.",
    )(func)
    func = click.option(
        "--no-prompt", is_flag=True,
        help="Never ask questions; stop with status 3 and print resume commands instead.",
    )(func)
    func = click.option(
        "--workflows-dir", type=click.Path(file_okay=False, path_type=Path), metavar="DIR",
        help="Where subworkflows referenced by name are found as NAME.json/.yaml "
             "[run: the spec file's directory; otherwise: the current directory].",
    )(func)
    return click.option(
        "--json", "json_mode", is_flag=True,
        help="Print each run event as one JSON line on stdout, and nothing else there.",
    )(func)


def build_storage(db: Path | None, checkpointer: str | None) -> Storage:
    path = (db.expanduser() if db is not None else default_db_path()).absolute()
    return Storage(db=path, checkpointer=check_checkpointer_url(checkpointer)
                   if checkpointer else None)


def resume_flags(storage: Storage, *, workflows_dir: Path | None) -> ResumeFlags:
    """The flags a later ``resume`` must repeat: the ones that differ from the defaults."""
    ctx = click.get_current_context()
    db = storage.db if storage.db != default_db_path().absolute() else None
    from_cli = ctx.get_parameter_source("checkpointer") == ParameterSource.COMMANDLINE
    checkpointer = storage.checkpointer if from_cli and storage.durable else None
    return ResumeFlags(db=db, checkpointer=checkpointer, workflows_dir=workflows_dir)


def session_options(*, json_mode: bool, no_prompt: bool, max_wait: float,
                    flags: ResumeFlags) -> SessionOptions:
    interactive = not no_prompt and sys.stdin.isatty() and sys.stdout.isatty()
    return SessionOptions(json_mode=json_mode, interactive=interactive, max_wait=max_wait,
                          flags=flags)
