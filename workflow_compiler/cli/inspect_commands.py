"""``runs``, ``show``, ``events``, ``cancel`` and ``history``: looking at stored runs.

Tables are for people; every command that prints structured data also has a JSON form, and
``show``/``events`` print JSON only, because those are mostly read by scripts and by
people piping into ``jq``.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.table import Table

from workflow_compiler.cli.embedded import embedded_engine, resolve_run_id
from workflow_compiler.cli.failures import ExitCode
from workflow_compiler.cli.options import build_storage, storage_options
from workflow_compiler.cli.rendering import dumps

STATUSES = ("queued", "running", "paused", "completed", "failed", "cancelled")
PIPE_WIDTH = 200  # rich would otherwise squeeze tables into 80 columns when piped


def _console() -> Console:
    if sys.stdout.isatty():
        return Console(highlight=False)
    return Console(highlight=False, width=PIPE_WIDTH, no_color=True)


def _when(ts: str | None) -> str:
    return (ts or "")[:19].replace("T", " ")


@click.command(short_help="List runs, newest first.")
@click.option("--status", type=click.Choice(STATUSES), help="Only runs with this status.")
@click.option("--limit", type=click.IntRange(min=1), default=50, show_default=True)
@click.option("--json", "json_mode", is_flag=True, help="One JSON record per line.")
@storage_options
def runs(status: str | None, limit: int, json_mode: bool, db: Path | None,
         checkpointer: str | None) -> int:
    """List runs, newest first."""
    with embedded_engine(build_storage(db, checkpointer)) as engine:
        records = engine.call(engine.runtime.store.list(status=status, limit=limit))
    if json_mode:
        for record in records:
            click.echo(dumps(record.model_dump(mode="json")))
        return ExitCode.OK
    table = Table("run id", "workflow", "status", "created (UTC)", "finished (UTC)",
                  "waiting on", box=None, header_style="bold")
    for record in records:
        waiting = ", ".join(f"{i.node_id} ({i.kind})" for i in record.interrupts)
        table.add_row(record.run_id, record.workflow, record.status, _when(record.created_at),
                      _when(record.finished_at), waiting)
    if records:
        _console().print(table)
    else:
        click.echo("no runs" + (f" with status {status}" if status else ""))
    return ExitCode.OK


@click.command(short_help="Print a run's record as JSON.")
@click.argument("run_id")
@storage_options
def show(run_id: str, db: Path | None, checkpointer: str | None) -> int:
    """Print RUN_ID's record (status, inputs, outputs, error, pending interrupts) as JSON."""
    with embedded_engine(build_storage(db, checkpointer)) as engine:
        runtime = engine.runtime
        record = engine.call(runtime.get_run(engine.call(resolve_run_id(runtime, run_id))))
    click.echo(dumps(record.model_dump(mode="json"), indent=2))
    return ExitCode.OK


@click.command(short_help="Print a run's events as JSON lines.")
@click.argument("run_id")
@click.option("--after", type=click.IntRange(min=0), default=0, metavar="SEQ",
              help="Only events with a sequence number above SEQ.")
@storage_options
def events(run_id: str, after: int, db: Path | None, checkpointer: str | None) -> int:
    """Print RUN_ID's recorded events, one JSON object per line."""
    with embedded_engine(build_storage(db, checkpointer)) as engine:
        runtime = engine.runtime
        found = engine.call(runtime.events(engine.call(resolve_run_id(runtime, run_id)), after))
    for event in found:
        click.echo(dumps(event.model_dump(mode="json")))
    return ExitCode.OK


@click.command(short_help="Cancel a paused or queued run.")
@click.argument("run_id")
@storage_options
def cancel(run_id: str, db: Path | None, checkpointer: str | None) -> int:
    """Cancel RUN_ID (a paused or queued run; it cannot be resumed afterwards)."""
    with embedded_engine(build_storage(db, checkpointer)) as engine:
        runtime = engine.runtime
        full_id = engine.call(resolve_run_id(runtime, run_id))
        result = engine.call(runtime.cancel(full_id))
    click.echo(f"run {full_id} is {result.status}")
    return ExitCode.OK


@click.command(short_help="List a run's checkpoints.")
@click.argument("run_id")
@click.option("--json", "json_mode", is_flag=True, help="One JSON object per checkpoint.")
@storage_options
def history(run_id: str, json_mode: bool, db: Path | None, checkpointer: str | None) -> int:
    """List RUN_ID's checkpoints, newest first (fork from one with `graphwright fork`)."""
    with embedded_engine(build_storage(db, checkpointer)) as engine:
        runtime = engine.runtime
        items: list[dict[str, Any]] = engine.call(
            runtime.history(engine.call(resolve_run_id(runtime, run_id))))
    if json_mode:
        for item in items:
            click.echo(dumps(item))
        return ExitCode.OK
    table = Table("checkpoint id", "step", "source", "created (UTC)", "next", "done nodes",
                  box=None, header_style="bold")
    for item in items:
        table.add_row(str(item.get("checkpoint_id")), str(item.get("step")),
                      str(item.get("source") or ""), _when(item.get("created_at")),
                      ", ".join(item.get("next") or []),
                      ", ".join(item.get("completed_nodes") or []))
    _console().print(table)
    return ExitCode.OK
