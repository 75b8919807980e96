"""The exact ``graphwright resume`` commands that continue a paused run.

A paused run usually outlives the process that started it, and whoever continues it
(a person later, another script) should not have to reconstruct ids and flags: each
pending interrupt gets a command that works when pasted as printed, carrying the storage
flags the run was started with when they are not the defaults.
"""

from __future__ import annotations

import getpass
import json
import os
import shlex
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from workflow_compiler.cli.embedded import hide_password

if TYPE_CHECKING:
    from workflow_compiler.runtime.records import PendingInterrupt

PROGRAM = "graphwright"


def current_user() -> str:
    """Who is answering by default: ``$USER``, as the person at this terminal."""
    try:
        return os.environ.get("USER") or getpass.getuser()
    except (KeyError, OSError):
        return "user"


@dataclass(frozen=True, slots=True)
class ResumeFlags:
    """Storage flags a later ``resume`` needs to find the same run."""

    db: Path | None = None  # only when not the default file
    checkpointer: str | None = None  # only when given on the command line
    workflows_dir: Path | None = None  # only when the spec loads workflows by name

    def args(self) -> list[str]:
        out: list[str] = []
        if self.db is not None:
            out += ["--db", str(self.db)]
        if self.checkpointer is not None:
            out += ["--checkpointer", hide_password(self.checkpointer)]
        if self.workflows_dir is not None:
            out += ["--workflows-dir", str(self.workflows_dir)]
        return out

    @property
    def hides_password(self) -> bool:
        return self.checkpointer is not None and hide_password(self.checkpointer) != \
            self.checkpointer


def command(run_id: str, *args: str, flags: ResumeFlags) -> str:
    return shlex.join([PROGRAM, "resume", run_id, *args, *flags.args()])


def example_value(schema: object, depth: int = 0) -> Any:
    """A value shaped like ``schema`` (required properties, first enum member), to show
    what ``--data`` expects; a starting point to edit, not a guaranteed-valid answer."""
    if not isinstance(schema, dict) or depth > 4:
        return None
    for key in ("default", "const"):
        if key in schema:
            return schema[key]
    if isinstance(schema.get("examples"), list) and schema["examples"]:
        return schema["examples"][0]
    if isinstance(schema.get("enum"), list) and schema["enum"]:
        return schema["enum"][0]
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), None)
    if kind == "object" or (kind is None and "properties" in schema):
        props = schema.get("properties") or {}
        required = schema.get("required") or list(props)
        return {name: example_value(props.get(name, {}), depth + 1) for name in required}
    if kind in ("integer", "number"):
        low = schema.get("minimum", schema.get("exclusiveMinimum", -1) + 1)
        return low if isinstance(low, int | float) else 0
    if kind == "array":
        return [example_value(schema.get("items"), depth + 1)] * int(schema.get("minItems", 0))
    return {"string": "text", "boolean": False, "null": None}.get(str(kind))


def _approval_lines(run_id: str, interrupt: PendingInterrupt, flags: ResumeFlags
                    ) -> Iterator[str]:
    payload = interrupt.payload
    answered = {r.get("by") for r in payload.get("responses") or [] if isinstance(r, dict)}
    waiting_for = [a for a in payload.get("approvers") or [] if a not in answered]
    by = waiting_for[0] if waiting_for else current_user()
    target = ["--interrupt", interrupt.id]
    yield command(run_id, *target, "--approve", "--by", by, flags=flags)
    yield command(run_id, *target, "--reject", "--by", by, flags=flags)
    for option in payload.get("options") or []:
        yield command(run_id, *target, "--decision", str(option), "--by", by, flags=flags)


def describe(interrupt: PendingInterrupt) -> str:
    """One line saying what the interrupt waits for."""
    payload = interrupt.payload
    head = f"{interrupt.node_id} ({interrupt.kind})"
    if interrupt.kind == "approval":
        responses = payload.get("responses") or []
        who = ", ".join(payload.get("approvers") or []) or "anyone"
        return (f"{head}: {payload.get('question', '')} [approvers: {who}; "
                f"{len(responses)} response(s), needs {payload.get('min_approvals', 1)} "
                "approval(s)]")
    if interrupt.kind == "input":
        prompt = payload.get("prompt") or "data matching the node's schema"
        return f"{head}: {prompt}"
    if interrupt.kind == "signal":
        return f"{head}: waiting for signal {payload.get('signal')!r}"
    if interrupt.kind == "wait":
        return f"{head}: due at {interrupt.due_at} ({until(interrupt.due_at)})"
    return head


def until(due_at: str | None) -> str:
    if not due_at:
        return "no due time"
    seconds = (datetime.fromisoformat(due_at) - datetime.now(UTC)).total_seconds()
    if seconds <= 0:
        return "due now"
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"in {seconds / size:.1f}{unit}"
    return f"in {seconds:.0f}s"


def resume_lines(run_id: str, interrupt: PendingInterrupt, flags: ResumeFlags) -> list[str]:
    """The commands that continue ``interrupt``, most likely first."""
    target = ["--interrupt", interrupt.id]
    if interrupt.kind == "approval":
        return list(_approval_lines(run_id, interrupt, flags))
    if interrupt.kind == "input":
        data = json.dumps(example_value(interrupt.payload.get("schema")), ensure_ascii=False)
        return [command(run_id, *target, "--data", data, flags=flags)]
    if interrupt.kind == "signal":
        name = str(interrupt.payload.get("signal", ""))
        return [command(run_id, "--signal", name, flags=flags),
                command(run_id, "--signal", name, "--data", "{}", flags=flags)]
    return [command(run_id, "--fire-due", flags=flags)]


def paused_report(run_id: str, interrupts: list[PendingInterrupt], flags: ResumeFlags
                  ) -> list[str]:
    lines = [f"paused: run {run_id} is waiting on {len(interrupts)} interrupt(s)"]
    for interrupt in interrupts:
        lines.append(f"  {describe(interrupt)}")
        if interrupt.payload.get("due_at") and interrupt.kind != "wait":
            lines.append(f"    times out at {interrupt.payload['due_at']}; "
                         f"after that: {command(run_id, '--fire-due', flags=flags)}")
        lines.extend(f"    {line}" for line in resume_lines(run_id, interrupt, flags))
    if flags.hides_password:
        lines.append("  (the checkpointer password is hidden; set GRAPHWRIGHT_CHECKPOINTER "
                     "instead of --checkpointer to get commands that work as printed)")
    return lines
