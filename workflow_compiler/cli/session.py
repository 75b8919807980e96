"""Following one run to the end: show its events, then deal with every pause.

``run``, ``resume`` and ``fork`` differ only in how they set the run moving; from then on
the same loop applies: wait in-process for timers that are due soon, prompt a person when
one is present, and otherwise stop with status 3 and the commands that continue the run.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from typing import TYPE_CHECKING, Any

import click

from workflow_compiler.cli.embedded import Engine
from workflow_compiler.cli.failures import CliError, ExitCode
from workflow_compiler.cli.hints import ResumeFlags, paused_report
from workflow_compiler.cli.prompts import Prompter
from workflow_compiler.cli.rendering import EventView, LiveView, dumps
from workflow_compiler.errors import InvalidResponseError

if TYPE_CHECKING:
    from workflow_compiler.runtime.events import RunEvent
    from workflow_compiler.runtime.records import PendingInterrupt, RunResult

#: More than the runtime ever holds back before writing events (it flushes every 256).
Step = Callable[[], Coroutine[Any, Any, Any]]


@dataclass(frozen=True, slots=True)
class SessionOptions:
    json_mode: bool = False
    interactive: bool = False  # a person is at the terminal and prompts are allowed
    max_wait: float = 60.0  # seconds: timers due sooner are awaited in-process
    flags: ResumeFlags = field(default_factory=ResumeFlags)


class _StopPaused(Exception):  # noqa: N818  (control flow, not an error)
    """The person left a prompt or a wait (Ctrl-C, end of input): stop, run stays paused."""


async def drain(events: Any) -> None:
    """Consume an event stream; the session's listener has already shown each event."""
    async for _ in events:
        pass


class RunSession:
    def __init__(self, engine: Engine, run_id: str, view: EventView,
                 options: SessionOptions) -> None:
        self.engine = engine
        self.runtime = engine.runtime
        self.run_id = run_id
        self.view = view
        self.options = options
        self.prompter = Prompter(to_stderr=options.json_mode)

    def fire_due(self) -> Step:
        """A first step firing this run's due timers, shown like every other step."""
        return lambda: self.runtime.fire_due(run_id=self.run_id)

    def _show(self, event: RunEvent) -> None:
        if event.run_id == self.run_id:
            self.view.show(event)

    def follow(self, first: Step | None) -> ExitCode:
        """Run ``first`` (if any), then handle pauses until the run settles or we stop."""
        unsubscribe = [self.runtime.subscribe(self._show)]
        try:
            if first is not None:
                self._active(first)
            return self._settle()
        finally:
            self.view.end()
            for stop in unsubscribe:
                stop()

    def _active(self, step: Step) -> None:
        """Run a step that moves the run; Ctrl-C while it moves cancels the run, because a
        half-finished step leaves no pause to resume from and the record would stay
        ``running`` forever."""
        self.view.begin()
        try:
            self.engine.call(step())
        except KeyboardInterrupt:
            self.view.end()
            raise CliError(self._cancel_after_interrupt(), ExitCode.CANCELLED) from None
        finally:
            self.view.end()

    def _cancel_after_interrupt(self) -> str:
        from workflow_compiler.runtime.records import TERMINAL_STATUSES

        try:
            record = self.engine.call(self.runtime.get_run(self.run_id))
            if record.status in TERMINAL_STATUSES:
                return f"interrupted; run {self.run_id} had already {record.status}"
            self.engine.call(self.runtime.cancel(self.run_id))
        except Exception as exc:  # best effort while the user is leaving
            return f"interrupted; could not mark run {self.run_id} cancelled: {exc}"
        return f"interrupted; run {self.run_id} cancelled"

    def _settle(self) -> ExitCode:
        while True:
            result = self.engine.call(self.runtime.result(self.run_id))
            if result.status != "paused":
                return self._final(result)
            step = self._next_step(result.interrupts)
            if step is None:
                return self._report_paused(result.interrupts)
            try:
                step()
            except _StopPaused:
                self.view.note(f"stopped; run {self.run_id} stays paused")
                interrupts = self.engine.call(self.runtime.result(self.run_id)).interrupts
                return self._report_paused(interrupts)

    def _next_step(self, interrupts: list[PendingInterrupt]) -> Callable[[], None] | None:
        """What to do about a pause: a timer due soon first, then a person's answer."""
        soon = sorted((due, i) for i in interrupts if i.kind == "wait"
                      and (due := _due(i)) is not None
                      and (due - datetime.now(UTC)).total_seconds() <= self.options.max_wait)
        if soon:
            due, interrupt = soon[0]
            return partial(self._wait_for, interrupt, due)
        if self.options.interactive:
            for interrupt in interrupts:
                if interrupt.kind in ("approval", "input"):
                    return partial(self._ask, interrupt)
        return None

    def _wait_for(self, interrupt: PendingInterrupt, due: datetime) -> None:
        seconds = max(0.0, (due - datetime.now(UTC)).total_seconds())
        message = f"waiting {seconds:.1f}s for {interrupt.node_id} (due {interrupt.due_at})"
        if isinstance(self.view, LiveView):
            self.view.waiting(interrupt.node_id, due)
            self.view.begin()
        else:
            self.view.note(message)
        try:
            time.sleep(seconds)
        except KeyboardInterrupt:
            raise _StopPaused from None
        finally:
            if isinstance(self.view, LiveView):
                self.view.waiting(None)
            self.view.end()
        self._active(lambda: self.runtime.fire_due(max(datetime.now(UTC), due),
                                                   run_id=self.run_id))

    def _ask(self, interrupt: PendingInterrupt) -> None:
        try:
            if interrupt.kind == "approval":
                answer: Any = self.prompter.approval(interrupt)
            else:
                answer = self.prompter.input_data(interrupt)
        except (click.Abort, KeyboardInterrupt, EOFError):
            raise _StopPaused from None
        try:
            self._active(lambda: drain(self.runtime.stream_resume(
                self.run_id, answer, interrupt_id=interrupt.id)))

        except InvalidResponseError as exc:
            self.prompter.refused(exc.message)  # the run is untouched; the loop re-asks

    def _report_paused(self, interrupts: list[PendingInterrupt]) -> ExitCode:
        to_stderr = self.options.json_mode
        if not self.engine.storage.durable:
            click.echo(f"paused: run {self.run_id} is waiting, but its checkpoints were kept in "
                       "memory (--checkpointer memory) and end with this process; it cannot "
                       "be resumed", err=to_stderr)
            return ExitCode.PAUSED
        for line in paused_report(self.run_id, interrupts, self.options.flags):
            click.echo(line, err=to_stderr)
        return ExitCode.PAUSED

    def _final(self, result: RunResult) -> ExitCode:
        if result.status == "completed":
            if not self.options.json_mode:
                click.echo(dumps(result.outputs or {}, indent=2))
            return ExitCode.OK
        if result.status == "failed":
            error = result.error or {}
            click.echo(f"error: run {self.run_id} failed: {error.get('code', 'error')}: "
                       f"{error.get('message', '')}", err=True)
            return ExitCode.FAILED
        if result.status == "cancelled":
            click.echo(f"run {self.run_id} was cancelled", err=True)
            return ExitCode.CANCELLED
        raise CliError(f"run {self.run_id} is {result.status}; nothing to follow", ExitCode.FAILED)


def _due(interrupt: PendingInterrupt) -> datetime | None:
    if not interrupt.due_at:
        return None
    try:
        due = datetime.fromisoformat(interrupt.due_at)
    except ValueError:
        return None
    return due if due.tzinfo else due.replace(tzinfo=UTC)

