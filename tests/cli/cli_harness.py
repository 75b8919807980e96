"""Running the real ``graphwright`` executable against a private GRAPHWRIGHT_HOME.

The CLI is tested as users meet it, in subprocesses, so exit codes, stdout/stderr
separation and commands printed for copy-and-paste are what is actually checked.
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

VENV_BIN = Path(sys.executable).parent
GRAPHWRIGHT = VENV_BIN / "graphwright"


@dataclass
class Cli:
    home: Path
    workdir: Path

    @property
    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("GRAPHWRIGHT_", "COVERAGE"))}
        env.update(GRAPHWRIGHT_HOME=str(self.home), USER="tester", COLUMNS="120",
                   PATH=f"{VENV_BIN}{os.pathsep}{env.get('PATH', '')}",
                   PYTHONWARNINGS="error")
        return env

    def __call__(self, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        return self.argv([str(GRAPHWRIGHT), *args], timeout=timeout)

    def argv(self, argv: list[str], timeout: float = 60) -> subprocess.CompletedProcess[str]:
        return subprocess.run(argv, capture_output=True, text=True, env=self.env,
                              cwd=self.workdir, timeout=timeout, check=False,
                              stdin=subprocess.DEVNULL)

    def spec(self, name: str, spec: dict[str, Any]) -> Path:
        path = self.workdir / f"{name}.json"
        path.write_text(json.dumps(spec), encoding="utf-8")
        return path

    def printed(self, output: str, *needles: str) -> list[str]:
        """The printed ``graphwright resume`` commands whose text has every needle."""
        return [line.strip() for line in output.splitlines()
                if line.strip().startswith("graphwright resume")
                and all(n in line for n in needles)]

    def run_printed(self, command: str) -> subprocess.CompletedProcess[str]:
        """Execute a printed command exactly as a shell would split it."""
        return self.argv(shlex.split(command))


@pytest.fixture
def cli(tmp_path: Path) -> Cli:
    work = tmp_path / "work"
    work.mkdir()
    return Cli(home=tmp_path / "home", workdir=work)


def no_traceback(result: subprocess.CompletedProcess[str]) -> None:
    assert "Traceback" not in result.stdout + result.stderr, result.stderr


def json_lines(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def approval_spec(*, approvers: list[str], min_approvals: int = 1) -> dict[str, Any]:
    return {
        "spec_version": "1", "name": "ship",
        "nodes": [
            {"id": "ask", "type": "approval", "question": "Ship it?",
             "approvers": approvers, "min_approvals": min_approvals},
            {"id": "done", "type": "transform", "value": "{{ nodes.ask.decision }}"},
        ],
        "edges": [{"from": "ask", "port": "approved", "to": "done"},
                  {"from": "ask", "port": "rejected", "to": "done"}],
        "outputs": {"decision": "{{ nodes.done }}"},
    }
