"""``run``, ``resume`` and ``fork``: the commands that set a run moving and follow it.

They differ only in their first step; following the run, pauses included, is the shared
``RunSession``, so a run continued with ``resume`` looks and exits exactly like one that
never stopped.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from workflow_compiler.cli.embedded import Engine, embedded_engine, new_run_id, resolve_run_id
from workflow_compiler.cli.failures import CliError, ExitCode
from workflow_compiler.cli.hints import current_user, paused_report
from workflow_compiler.cli.inputs import collect_inputs, with_local_files
from workflow_compiler.cli.options import (
    build_storage,
    follow_options,
    resume_flags,
    session_options,
    storage_options,
)
from workflow_compiler.cli.rendering import choose_view
from workflow_compiler.cli.session import RunSession, Step, drain
from workflow_compiler.cli.spec_commands import SPEC_ARGUMENT, load_raw
from workflow_compiler.errors import InvalidResponseError

if TYPE_CHECKING:
    from workflow_compiler.runtime.records import PendingInterrupt


def _uses_saved_workflows(value: object) -> bool:
    """Whether the spec (map bodies and inline specs included) names a saved workflow,
    in which case a later ``resume`` must look in the same directory."""
    if isinstance(value, dict):
        if value.get("type") == "subworkflow" and isinstance(value.get("workflow"), str):
            return True
        return any(_uses_saved_workflows(v) for v in value.values())
    if isinstance(value, list):
        return any(_uses_saved_workflows(v) for v in value)
    return False


def _session(engine: Engine, run_id: str, *, json_mode: bool, no_prompt: bool,
             max_wait: float, workflows_dir: Path | None) -> RunSession:
    flags = resume_flags(engine.storage, workflows_dir=workflows_dir)
    options = session_options(json_mode=json_mode, no_prompt=no_prompt, max_wait=max_wait,
                              flags=flags)
    return RunSession(engine, run_id, choose_view(json_mode), options)


@click.command(short_help="Run a spec and follow it to the end or a pause.")
@SPEC_ARGUMENT
@click.option("--input", "-i", "assignments", multiple=True, metavar="KEY=VALUE",
              help="An input value: JSON if it parses, else a string; dotted keys nest "
                   "(a.b=1); a file input takes @PATH (doc=@./report.pdf). Repeatable; "
                   "overrides --inputs-file.")
@click.option("--inputs-file", type=click.Path(dir_okay=False, path_type=Path),
              metavar="FILE", help="Inputs as a JSON or YAML object.")
@storage_options
@follow_options
def run(spec: Path, assignments: tuple[str, ...], inputs_file: Path | None,
        db: Path | None, checkpointer: str | None, json_mode: bool, no_prompt: bool,
        max_wait: float, workflows_dir: Path | None) -> int:
    """Run SPEC (JSON or YAML) on this machine and follow it to the end or a pause."""
    raw = load_raw(spec)
    inputs = collect_inputs(inputs_file, assignments)
    storage = build_storage(db, checkpointer)
    directory = (workflows_dir or spec.parent).absolute()
    hint_dir = directory if _uses_saved_workflows(raw) else None
    with embedded_engine(storage, workflows_dir=directory) as engine:
        run_id = new_run_id()
        runtime = engine.runtime
        inputs = engine.call(with_local_files(runtime.compiler, raw, inputs,
                                              inputs_file=inputs_file,
                                              assignments=assignments))
        session = _session(engine, run_id, json_mode=json_mode, no_prompt=no_prompt,
                           max_wait=max_wait, workflows_dir=hint_dir)
        return session.follow(lambda: drain(runtime.stream(raw, inputs, run_id=run_id)))


def _parse_data(data: str | None) -> Any:
    if data is None:
        return None
    try:
        return json.loads(data)
    except ValueError as exc:
        raise CliError(f"--data is not valid JSON ({exc}); quote strings as JSON, "
                       """e.g. --data '"text"'""") from None


def _target(interrupts: list[PendingInterrupt], wanted: str | None, kind: str,
            how: str) -> PendingInterrupt:
    """The interrupt an answer is for: the one named, or the only one of its kind."""
    if wanted is not None:
        for interrupt in interrupts:
            if wanted in (interrupt.id, interrupt.node_id):
                if interrupt.kind != kind:
                    raise CliError(f"interrupt {wanted} ({interrupt.node_id}) is a "
                                   f"{interrupt.kind}, not {'an' if kind == 'input' else 'a'} "
                                   f"{kind}; {how} answers {kind} nodes")
                return interrupt
        raise CliError(f"no pending interrupt {wanted!r}; pending: "
                       + ", ".join(f"{i.id} ({i.node_id}, {i.kind})" for i in interrupts))
    matching = [i for i in interrupts if i.kind == kind]
    if len(matching) == 1:
        return matching[0]
    if not matching:
        raise CliError(f"no {kind} is pending; pending: "
                       + ", ".join(f"{i.node_id} ({i.kind})" for i in interrupts))
    raise CliError(f"several {kind} nodes are pending; choose one with --interrupt: "
                   + ", ".join(f"{i.id} ({i.node_id})" for i in matching))


def _first_step(session: RunSession, *, interrupt_id: str | None, decision: str | None,
                by: str | None, comment: str | None, data: str | None, signal: str | None,
                fire_due: bool) -> Step | None:
    """Turn the flags into the call that moves the run; None leaves it to the prompts."""
    engine, runtime, session_run = session.engine, session.runtime, session.run_id
    actions = [decision is not None, signal is not None, fire_due]
    if sum(actions) > 1:
        raise CliError("give one of --approve/--reject/--decision, --signal or --fire-due")
    if (by is not None or comment is not None) and decision is None:
        raise CliError("--by and --comment go with --approve, --reject or --decision")
    if signal is not None:
        payload = _parse_data(data)
        return lambda: runtime.signal(session_run, signal, payload)
    if fire_due:
        if data is not None or interrupt_id is not None:
            raise CliError("--fire-due fires every due timer of the run; it takes no --data "
                           "or --interrupt")
        return session.fire_due()
    if decision is None and data is None:
        return None
    record = engine.call(runtime.get_run(session_run))
    if record.status != "paused":
        raise CliError(f"run {session_run} is {record.status}, not paused")
    if decision is not None:
        target = _target(record.interrupts, interrupt_id, "approval",
                         "--approve/--reject/--decision")
        response: Any = {"by": by or current_user(), "decision": decision}
        if comment is not None:
            response["comment"] = comment
        if data is not None:
            response["data"] = _parse_data(data)
    else:
        target = _target(record.interrupts, interrupt_id, "input", "--data")
        response = _parse_data(data)
    return lambda: drain(runtime.stream_resume(session_run, response,
                                               interrupt_id=target.id))


@click.command(short_help="Answer a paused run's interrupt and follow it.")
@click.argument("run_id")
@click.option("--interrupt", "interrupt_id", metavar="ID",
              help="Which pending interrupt to answer (its id or node id); needed only "
                   "when several of the same kind are pending.")
@click.option("--approve", is_flag=True, help="Approve the pending approval.")
@click.option("--reject", is_flag=True, help="Reject the pending approval.")
@click.option("--decision", metavar="OPTION", help="Answer an approval with a custom option.")
@click.option("--by", metavar="NAME", help="Who is answering [default: $USER].")
@click.option("--comment", metavar="TEXT", help="A comment kept with the approval response.")
@click.option("--data", metavar="JSON",
              help="The answer to an input node, or a signal's payload, as JSON.")
@click.option("--signal", metavar="NAME", help="Send the named signal to the run.")
@click.option("--fire-due", is_flag=True,
              help="Fire the run's timers that are due (waits, and timeouts of approvals, "
                   "inputs and signals).")
@storage_options
@follow_options
def resume(run_id: str, interrupt_id: str | None, approve: bool, reject: bool,
           decision: str | None, by: str | None, comment: str | None, data: str | None,
           signal: str | None, fire_due: bool, db: Path | None, checkpointer: str | None,
           json_mode: bool, no_prompt: bool, max_wait: float,
           workflows_dir: Path | None) -> int:
    """Continue paused run RUN_ID from its checkpoint, then follow it like `run` does.

    Without an answer flag, a person at a terminal is asked for each pending approval and
    input; otherwise the pending interrupts and their commands are listed.
    """
    chosen = [d for d in ("approve" if approve else None, "reject" if reject else None,
                          decision) if d is not None]
    if len(chosen) > 1:
        raise CliError("give only one of --approve, --reject and --decision")
    storage = build_storage(db, checkpointer)
    if not storage.durable:
        raise CliError("runs can only be resumed from durable checkpoints (the SQLite file "
                       "or Postgres), not from --checkpointer memory")
    directory = (workflows_dir or Path.cwd()).absolute()
    with embedded_engine(storage, workflows_dir=directory) as engine:
        full_id = engine.call(resolve_run_id(engine.runtime, run_id))
        hint_dir = directory if workflows_dir is not None else None
        session = _session(engine, full_id, json_mode=json_mode, no_prompt=no_prompt,
                           max_wait=max_wait, workflows_dir=hint_dir)
        first = _first_step(session, interrupt_id=interrupt_id,
                            decision=chosen[0] if chosen else None, by=by, comment=comment,
                            data=data, signal=signal, fire_due=fire_due)
        if first is None and not session.options.interactive:
            return _explain_pending(engine, full_id, hint_dir)
        try:
            return session.follow(first)
        except InvalidResponseError as exc:
            raise CliError(f"refused: {exc.message} (run {full_id} is still paused)") from None


def _explain_pending(engine: Engine, run_id: str, workflows_dir: Path | None) -> int:
    """``resume`` without an answer and nobody to ask: list what the run waits for."""
    record = engine.call(engine.runtime.get_run(run_id))
    if record.status != "paused":
        raise CliError(f"run {run_id} is {record.status}, not paused")
    flags = resume_flags(engine.storage, workflows_dir=workflows_dir)
    click.echo("say how to continue (--approve/--reject/--decision, --data, --signal or "
               "--fire-due):", err=True)
    for line in paused_report(run_id, record.interrupts, flags):
        click.echo(line, err=True)
    return ExitCode.INVALID


@click.command(short_help="Start a new run from a checkpoint of another.")
@click.argument("run_id")
@click.argument("checkpoint_id")
@storage_options
@follow_options
def fork(run_id: str, checkpoint_id: str, db: Path | None, checkpointer: str | None,
         json_mode: bool, no_prompt: bool, max_wait: float,
         workflows_dir: Path | None) -> int:
    """Start a new run from CHECKPOINT_ID of RUN_ID (see `graphwright history`)."""
    storage = build_storage(db, checkpointer)
    directory = (workflows_dir or Path.cwd()).absolute()
    with embedded_engine(storage, workflows_dir=directory) as engine:
        source = engine.call(resolve_run_id(engine.runtime, run_id))
        fork_id = new_run_id()
        runtime = engine.runtime
        session = _session(engine, fork_id, json_mode=json_mode, no_prompt=no_prompt,
                           max_wait=max_wait,
                           workflows_dir=directory if workflows_dir is not None else None)
        return session.follow(lambda: runtime.fork(source, checkpoint_id, new_run_id=fork_id))
