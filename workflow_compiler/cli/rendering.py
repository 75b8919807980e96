"""How run events reach the user: JSON lines, plain log lines, or a live terminal view.

All three consume the same ``RunEvent`` stream the API serves, so what a script parses
from ``--json`` is exactly what a UI gets over SSE. The choice between the other two is
made by whether stdout is a terminal: redirected output must stay greppable (one line per
event, no escape codes), while a person watching wants what is running now and live LLM
text, without a scrolling wall of events.
"""

from __future__ import annotations

import json
import sys
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Protocol

import click
from rich.console import Console, RenderableType
from rich.live import Live
from rich.spinner import Spinner
from rich.table import Table
from rich.text import Text

from workflow_compiler.cli.failures import silence_stdout

if TYPE_CHECKING:
    from workflow_compiler.runtime.events import RunEvent

TOKEN_TAIL_CHARS = 600  # streamed LLM text kept visible under a running node
PRINTED_TEXT_CHARS = 4000  # streamed text echoed once the node is done


class EventView(Protocol):
    """Shows events as they happen; ``begin``/``end`` bracket the stretches where the run
    is active, so prompts and final output never fight a live display for the screen."""

    def begin(self) -> None: ...
    def show(self, event: RunEvent) -> None: ...
    def note(self, message: str) -> None: ...
    def end(self) -> None: ...


def dumps(value: Any, *, indent: int | None = None) -> str:
    return json.dumps(value, indent=indent, ensure_ascii=False, default=str)


def local_time(ts: str) -> str:
    """``HH:MM:SS`` in local time for an ISO-8601 timestamp (the raw text if unparsable)."""
    try:
        return datetime.fromisoformat(ts).astimezone().strftime("%H:%M:%S")
    except ValueError:
        return ts


def duration_text(ms: object) -> str:
    if not isinstance(ms, int | float):
        return ""
    return f"{ms:.1f}ms" if ms < 1000 else f"{ms / 1000:.2f}s"


def _error_text(error: object) -> str:
    if isinstance(error, dict):
        return f"{error.get('code', 'error')}: {error.get('message', '')}"
    return str(error)


def _interrupts_text(data: dict[str, Any]) -> str:
    items = data.get("interrupts") or []
    return ", ".join(f"{i.get('node_id')} ({i.get('kind')})" for i in items if isinstance(i, dict))


def event_detail(event: RunEvent) -> str:
    """The part of a log line after the type and node id: what a reader needs, no more."""
    data = event.data
    kind = event.type
    if kind == "run.started":
        fork = data.get("forked_from")
        origin = f" (fork of {fork.get('run_id')} at {fork.get('checkpoint_id')})" \
            if isinstance(fork, dict) else ""
        return f"{event.run_id}{origin}"
    if kind == "run.resumed":
        if "signal" in data:
            return f"signal {data['signal']}"
        if "due" in data:
            return "timer due"
        return f"{data.get('node_id', '')} ({data.get('kind', '')})".strip()
    if kind == "node.completed":
        ports = data.get("port") or []
        routed = f" -> {','.join(map(str, ports))}" if ports and ports != ["out"] else ""
        return f"{duration_text(data.get('duration_ms'))}{routed}"
    if kind == "node.skipped":
        return str(data.get("reason", ""))
    if kind == "node.retrying":
        return (f"attempt {data.get('attempt')}/{data.get('max_attempts')} failed: "
                f"{_error_text(data.get('error'))}")
    if kind == "node.failed":
        handled = " (handled)" if data.get("handled") else ""
        return _error_text(data.get("error")) + handled
    if kind == "llm.token":
        return dumps(data.get("text", ""))
    if kind == "run.paused":
        return _interrupts_text(data)
    if kind == "run.failed":
        return _error_text(data.get("error"))
    return ""


def plain_line(event: RunEvent) -> str:
    parts = [local_time(event.ts), event.type]
    if event.node_id:
        parts.append(event.node_id)
    detail = event_detail(event)
    if detail:
        parts.append(detail)
    return " ".join(parts)


def _write_line(text: str) -> None:
    """Write one line; if the reader has gone, drop output rather than raise, because the
    views run inside the runtime's event loop and an exception there would fail the run."""
    try:
        sys.stdout.write(text + "\n")
        sys.stdout.flush()
    except BrokenPipeError:
        silence_stdout()


class JsonView:
    """Exactly one JSON object per line on stdout; anything else goes to stderr."""

    def begin(self) -> None:
        return None

    def show(self, event: RunEvent) -> None:
        _write_line(dumps(event.model_dump(mode="json")))

    def note(self, message: str) -> None:
        click.echo(message, err=True)

    def end(self) -> None:
        return None


class PlainView:
    """One timestamped line per event, for logs and pipes."""

    def begin(self) -> None:
        return None

    def show(self, event: RunEvent) -> None:
        _write_line(plain_line(event))

    def note(self, message: str) -> None:
        click.echo(message, err=True)

    def end(self) -> None:
        return None


@dataclass(slots=True)
class _Running:
    node_type: str
    started: float
    spinner: Spinner = field(default_factory=lambda: Spinner("dots", style="cyan"))
    text: str = ""
    attempt: int = 1


class LiveView:
    """Running nodes (with spinners, elapsed time and streaming LLM text) in a live area;
    finished nodes are printed above it once, so the scrollback reads as a log."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self._live: Live | None = None
        self._running: dict[str, _Running] = {}
        self._types: dict[str, str] = {}
        self._run_started: float | None = None
        self._waiting: tuple[str, datetime] | None = None
        self._clock = Spinner("dots", style="yellow")

    # The live area asks for this on every refresh, so elapsed times tick by themselves.
    def __rich__(self) -> RenderableType:
        now = time.monotonic()
        table = Table.grid(padding=(0, 1))
        for node_id, state in list(self._running.items()):
            retry = f" (attempt {state.attempt})" if state.attempt > 1 else ""
            table.add_row(state.spinner, Text(node_id, style="bold"),
                          Text(state.node_type, style="dim"),
                          Text(f"{now - state.started:.1f}s{retry}", style="dim"))
            if state.text:
                tail = state.text[-TOKEN_TAIL_CHARS:]
                table.add_row("", Text(tail, style="italic"), "", "")
        if self._waiting is not None:
            label, due = self._waiting
            left = max(0.0, (due - datetime.now(UTC)).total_seconds())
            table.add_row(self._clock, Text(f"waiting for {label}", style="yellow"), "",
                          Text(f"{left:.1f}s left", style="dim"))
        return table

    def begin(self) -> None:
        if self._live is None:
            self._live = Live(self, console=self.console, refresh_per_second=10,
                              transient=True, redirect_stdout=False, redirect_stderr=False)
            self._live.start()

    def end(self) -> None:
        if self._live is not None:
            self._live.stop()
            self._live = None

    def note(self, message: str) -> None:
        self.console.print(Text(message, style="yellow"))

    def waiting(self, label: str | None, due: datetime | None = None) -> None:
        """Show (or clear) a timer counting down in the live area while the CLI sleeps."""
        self._waiting = (label, due) if label is not None and due is not None else None

    def _line(self, symbol: str, style: str, *parts: str) -> None:
        line = Text(symbol, style=style)
        for index, part in enumerate(parts):
            if part:
                line.append(" ")
                line.append(part, style="bold" if index == 0 else "")
        self.console.print(line)

    def show(self, event: RunEvent) -> None:
        data, node = event.data, event.node_id or ""
        kind = event.type
        if kind == "run.started":
            self._run_started = time.monotonic()
            self._line("▶", "cyan", "run", event_detail(event))
        elif kind == "run.resumed":
            self._run_started = self._run_started or time.monotonic()
            self._line("▶", "cyan", "resumed", event_detail(event))
        elif kind == "node.started":
            self._types[node] = str(data.get("type", ""))
            self._running[node] = _Running(self._types[node], time.monotonic())
        elif kind == "llm.token":
            state = self._running.get(node)
            if state is not None:
                state.text += str(data.get("text", ""))
        elif kind == "node.retrying":
            state = self._running.get(node)
            if state is not None:
                state.attempt = int(data.get("attempt", 1)) + 1
                state.text = ""
            self._line("↻", "yellow", node, event_detail(event) + "; retrying")
        elif kind == "node.completed":
            state = self._running.pop(node, None)
            self._line("✓", "green", node, self._types.get(node, ""), event_detail(event))
            if state is not None and state.text:
                self.console.print(Text(state.text[:PRINTED_TEXT_CHARS], style="dim italic"))
        elif kind == "node.skipped":
            self._running.pop(node, None)
            self._line("○", "dim", node, f"skipped ({event_detail(event)})")
        elif kind == "node.failed":
            self._running.pop(node, None)
            self._line("✗", "red", node, event_detail(event))
        elif kind == "run.paused":
            self._running.clear()
            self._line("⏸", "yellow", "paused at", event_detail(event))
        elif kind in ("run.completed", "run.failed", "run.cancelled"):
            self._running.clear()
            self._finish(event)

    def _finish(self, event: RunEvent) -> None:
        took = ""
        if self._run_started is not None:
            took = f"in {time.monotonic() - self._run_started:.2f}s"
        if event.type == "run.completed":
            self._line("✔", "green", "completed", took)
        elif event.type == "run.failed":
            self._line("✗", "red", "failed", event_detail(event))
        else:
            self._line("■", "yellow", "cancelled")


def choose_view(json_mode: bool) -> EventView:
    if json_mode:
        return JsonView()
    if sys.stdout.isatty():
        return LiveView(Console(highlight=False))
    return PlainView()
