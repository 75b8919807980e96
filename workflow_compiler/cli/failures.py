"""Exit codes and the one place exceptions become messages.

Scripts branch on the exit status, so every command maps outcomes to the same small set of
codes; and a user must never see a traceback for a problem they can fix, so every error we
expect is turned into one readable line here instead of at each call site.
"""

from __future__ import annotations

import enum
import logging
import os
import sys

import click

from workflow_compiler.errors import (
    GraphwrightError,
    InvalidResponseError,
    RunNotFoundError,
    RunStateError,
    SpecValidationError,
)


class ExitCode(enum.IntEnum):
    OK = 0
    FAILED = 1  # the run failed, or something unexpected went wrong
    INVALID = 2  # invalid spec, inputs, response or usage
    PAUSED = 3
    CANCELLED = 4


EXIT_CODES_HELP = """\b
Exit codes:
  0  completed / ok
  1  the run failed, or an unexpected error
  2  invalid spec, inputs or response, or bad usage
  3  the run is paused (the resume commands are printed)
  4  the run was cancelled (also after Ctrl-C while it was running)
"""


class CliError(Exception):
    """An anticipated problem: print ``message`` (no traceback) and exit with ``code``."""

    def __init__(self, message: str, code: ExitCode = ExitCode.INVALID) -> None:
        super().__init__(message)
        self.message = message
        self.code = code


#: Engine errors that mean "you asked for something that cannot be done", not a failure.
_USER_ERRORS: tuple[type[GraphwrightError], ...] = (
    SpecValidationError,
    InvalidResponseError,
    RunNotFoundError,
    RunStateError,
)


def exit_code_for(exc: GraphwrightError) -> ExitCode:
    if isinstance(exc, _USER_ERRORS) or exc.code in {"invalid_inputs", "invalid_spec",
                                                     "unknown_file"}:
        return ExitCode.INVALID
    return ExitCode.FAILED


def describe_error(exc: GraphwrightError) -> str:
    return f"{exc.code}: {exc.message}"


def echo_error(message: str) -> None:
    click.echo(f"error: {message}", err=True)


class _OneLineFormatter(logging.Formatter):
    """Log records as single lines: library warnings stay visible, tracebacks do not."""

    def format(self, record: logging.LogRecord) -> str:
        message = record.getMessage()
        if record.exc_info and record.exc_info[1] is not None:
            exc = record.exc_info[1]
            message = f"{message} ({type(exc).__name__}: {exc})"
        return f"{record.levelname.lower()}: {message}"


def configure_logging(verbose: bool) -> None:
    """Route log records to stderr; only ``--verbose`` shows tracebacks."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        logging.Formatter("%(levelname)s %(name)s: %(message)s") if verbose
        else _OneLineFormatter()
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.DEBUG if verbose else logging.WARNING)


def silence_stdout() -> None:
    """Point stdout at /dev/null once its reader has gone (``| head``), so the remaining
    writes, including the interpreter's final flush, cannot raise again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass
