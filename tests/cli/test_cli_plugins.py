"""Plugin commands (``graphwright.commands`` entry points): a broken one is reported when
it is asked for, and never takes the core commands down with it.

The loader is called with real ``importlib.metadata.EntryPoint`` objects, and the
executable is run with an extra distribution's metadata (a ``.dist-info`` folder on
PYTHONPATH, nothing installed) declaring plugins that fail to load.
"""

from __future__ import annotations

import subprocess
from importlib.metadata import EntryPoint
from pathlib import Path

import click
import pytest
from cli_harness import GRAPHWRIGHT, Cli, no_traceback

from workflow_compiler.cli.failures import CliError, ExitCode
from workflow_compiler.cli.main import PLUGIN_GROUP, plugin_commands

GOOD = EntryPoint("check", "workflow_compiler.cli.spec_commands:validate", PLUGIN_GROUP)
MISSING = EntryPoint("ghost", "graphwright_no_such_plugin.cli:ghost", PLUGIN_GROUP)
NOT_A_COMMAND = EntryPoint("odd", "workflow_compiler.cli.main:PLUGIN_GROUP", PLUGIN_GROUP)
NO_ATTRIBUTE = EntryPoint("gone", "workflow_compiler.cli.main:no_such_command", PLUGIN_GROUP)


def test_a_plugin_that_fails_to_load_becomes_a_stand_in_and_the_rest_still_load() -> None:
    found = plugin_commands([MISSING, GOOD, NOT_A_COMMAND, NO_ATTRIBUTE])
    assert list(found) == ["ghost", "check", "odd", "gone"]
    assert found["check"].name == "validate"  # the real command, untouched
    for name in ("ghost", "odd", "gone"):
        assert "unavailable" in (found[name].short_help or "")
    with pytest.raises(CliError) as caught:
        found["ghost"].main(["--any", "args"], standalone_mode=False)
    assert caught.value.code == ExitCode.FAILED
    assert "'ghost' could not be loaded" in caught.value.message
    assert "graphwright_no_such_plugin" in caught.value.message
    assert "ModuleNotFoundError" in caught.value.message
    with pytest.raises(CliError, match="not a click command"):
        found["odd"].main([], standalone_mode=False)


def test_a_stand_in_says_what_broke_in_its_help() -> None:
    (command,) = plugin_commands([MISSING]).values()
    assert isinstance(command, click.Command)
    assert command.help is not None and "ModuleNotFoundError" in command.help


@pytest.fixture
def broken_plugins(tmp_path: Path) -> Path:
    """Metadata of a distribution whose plugins cannot load: one module that does not
    exist, one that raises while it is imported."""
    site = tmp_path / "site"
    info = site / "graphwright_broken_plugin-0.1.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: graphwright-broken-plugin\nVersion: 0.1\n",
        encoding="utf-8")
    (info / "entry_points.txt").write_text(
        f"[{PLUGIN_GROUP}]\nghost = graphwright_no_such_plugin.cli:ghost\n"
        "crash = graphwright_crashing_plugin:command\n", encoding="utf-8")
    (site / "graphwright_crashing_plugin.py").write_text(
        "raise RuntimeError('this plugin is broken on purpose')\n", encoding="utf-8")
    return site


def run_with(cli: Cli, site: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(GRAPHWRIGHT), *args], capture_output=True, text=True,
                          env={**cli.env, "PYTHONPATH": str(site)}, cwd=cli.workdir,
                          timeout=60, check=False, stdin=subprocess.DEVNULL)


def test_core_commands_work_beside_broken_plugins(cli: Cli, broken_plugins: Path) -> None:
    spec = cli.spec("one", {"spec_version": "1", "name": "one",
                            "nodes": [{"id": "a", "type": "transform", "value": 1}]})
    result = run_with(cli, broken_plugins, "validate", str(spec))
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok: one (1 nodes)"
    assert result.stderr == ""


def test_help_lists_a_broken_plugin_as_unavailable(cli: Cli, broken_plugins: Path) -> None:
    result = run_with(cli, broken_plugins, "--help")
    assert result.returncode == 0, result.stderr
    lines = {line.split()[0]: line for line in result.stdout.splitlines()
             if line.startswith("  ") and line.split()}
    assert "unavailable" in lines["ghost"]
    assert "unavailable" in lines["crash"]
    assert "validate" in lines


@pytest.mark.parametrize(("name", "says"), [
    ("ghost", "ModuleNotFoundError"),
    ("crash", "RuntimeError: this plugin is broken on purpose"),
])
def test_invoking_a_broken_plugin_says_what_broke(
    cli: Cli, broken_plugins: Path, name: str, says: str
) -> None:
    result = run_with(cli, broken_plugins, name, "--port", "1")
    assert result.returncode == ExitCode.FAILED
    no_traceback(result)
    assert result.stderr.startswith(f"error: the command {name!r} could not be loaded")
    assert says in result.stderr
    assert PLUGIN_GROUP in result.stderr
