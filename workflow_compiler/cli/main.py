"""The ``graphwright`` command group and the error boundary around every command.

The boundary is why no command handles errors itself: anticipated problems become one
line and an exit code here, spec problems become the validation list, and anything else
becomes "error: ..." (with the traceback only under ``--verbose``), never a traceback
by default.
"""

from __future__ import annotations

import os
import traceback
from collections.abc import Iterable, Sequence
from importlib.metadata import EntryPoint

import click

from workflow_compiler.cli.failures import (
    EXIT_CODES_HELP,
    CliError,
    ExitCode,
    configure_logging,
    describe_error,
    echo_error,
    exit_code_for,
    silence_stdout,
)
from workflow_compiler.errors import GraphwrightError, SpecValidationError

INTERRUPTED = 130  # the shell convention for Ctrl-C
PLUGIN_GROUP = "graphwright.commands"


class _Settings:
    verbose = False


@click.group(epilog=EXIT_CODES_HELP, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("-v", "--verbose", is_flag=True, help="Debug logs, and tracebacks for bugs.")
@click.version_option(package_name="graphwright")
def cli(verbose: bool) -> None:
    """Compile JSON/YAML workflow specs into LangGraph graphs and run them locally.

    Runs and their checkpoints are kept in one SQLite file
    ($GRAPHWRIGHT_HOME/graphwright.db, GRAPHWRIGHT_HOME defaulting to ~/.graphwright), so
    a paused run can be resumed later from another process. Secrets come from
    GRAPHWRIGHT_SECRET_<NAME> environment variables.
    """
    _Settings.verbose = verbose or bool(os.environ.get("GRAPHWRIGHT_DEBUG"))
    configure_logging(_Settings.verbose)


def _add_commands() -> None:
    """Imported inside ``main``'s error boundary: a Ctrl-C during start-up is then just
    "interrupted", not a traceback through rich's import machinery."""
    if cli.commands:
        return
    from workflow_compiler.cli.inspect_commands import cancel, events, history, runs, show
    from workflow_compiler.cli.run_commands import fork, resume, run
    from workflow_compiler.cli.spec_commands import graph, schema, validate

    for command in (validate, graph, schema, run, resume, runs, show, events, cancel,
                    history, fork):
        cli.add_command(command)
    for name, command in plugin_commands().items():
        cli.add_command(command, name)


def plugin_commands(points: Iterable[EntryPoint] | None = None) -> dict[str, click.Command]:
    """Commands of the service packages (``serve``, ``users``, ``worker``), registered as
    ``graphwright.commands`` entry points: the core stays free of their imports (DESIGN
    section 1) and a distribution without them still has a working CLI. Their modules keep
    heavy imports inside the commands, so ``graphwright run`` does not pay for FastAPI.

    Each plugin is loaded on its own: one that fails to import (a missing dependency, a
    bug in its module) or is not a click command must not take ``run`` and ``validate``
    down with it. It is listed instead as a stand-in that says, when invoked, what broke.
    ``points`` defaults to the installed entry points."""
    if points is None:
        from importlib.metadata import entry_points

        points = entry_points(group=PLUGIN_GROUP)
    found: dict[str, click.Command] = {}
    for point in points:
        try:
            command = point.load()
        except Exception as exc:
            found[point.name] = _broken_plugin(point, f"{type(exc).__name__}: {exc}")
            continue
        if isinstance(command, click.Command):
            found[point.name] = command
        else:
            found[point.name] = _broken_plugin(
                point, f"it is a {type(command).__name__}, not a click command")
    return found


def _broken_plugin(point: EntryPoint, reason: str) -> click.Command:
    """A stand-in for a plugin command that could not be loaded: listed in ``--help`` as
    unavailable, and failing with the reason (exit status 1) when invoked."""
    where = f"{point.value} (entry point {point.name!r} of {PLUGIN_GROUP})"

    def fail(args: tuple[str, ...]) -> None:
        raise CliError(f"the command {point.name!r} could not be loaded from {where}: "
                       f"{reason}", ExitCode.FAILED)

    return click.Command(
        point.name, callback=fail, add_help_option=False,
        context_settings={"ignore_unknown_options": True, "allow_extra_args": True},
        params=[click.Argument(["args"], nargs=-1, type=click.UNPROCESSED)],
        short_help=f"[unavailable: failed to load {point.value}]",
        help=f"Unavailable: failed to load {where}: {reason}")


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI and return its exit status (see the epilog of ``--help``)."""
    try:
        _add_commands()
        result = cli.main(args=list(argv) if argv is not None else None,
                          prog_name="graphwright", standalone_mode=False)
        return int(result) if isinstance(result, int) else ExitCode.OK
    except CliError as exc:
        echo_error(exc.message)
        return exc.code
    except SpecValidationError as exc:
        from workflow_compiler.cli.spec_commands import echo_issues

        echo_issues(exc.issues, err=True)
        return ExitCode.INVALID
    except GraphwrightError as exc:
        echo_error(describe_error(exc))
        return exit_code_for(exc)
    except click.exceptions.Exit as exc:
        return exc.exit_code
    except click.ClickException as exc:
        exc.show()
        return exc.exit_code
    except (click.Abort, KeyboardInterrupt):
        click.echo("interrupted", err=True)
        return INTERRUPTED
    except BrokenPipeError:
        silence_stdout()  # the reader went away (e.g. `| head`): nothing left to say
        return ExitCode.FAILED
    except Exception as exc:  # the promise: no traceback for users
        if _Settings.verbose:
            traceback.print_exc()
        echo_error(f"unexpected {type(exc).__name__}: {exc} "
                   "(run with --verbose for details; please report this)")
        return ExitCode.FAILED


if __name__ == "__main__":
    raise SystemExit(main())
