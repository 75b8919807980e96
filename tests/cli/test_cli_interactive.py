"""A person at a terminal: the live display, and an approval answered at the prompt
(including a refused first answer that is asked again)."""

from __future__ import annotations

import os
import pty
import re
import select
import subprocess
import time

from cli_harness import GRAPHWRIGHT, Cli, approval_spec

ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


class Terminal:
    """The child's stdin and stdout on a pseudo-terminal; we type into the master side."""

    def __init__(self, cli: Cli, *args: str) -> None:
        self.master, slave = pty.openpty()
        env = dict(cli.env, TERM="xterm-256color")
        self.proc = subprocess.Popen([str(GRAPHWRIGHT), *args], stdin=slave, stdout=slave,
                                     stderr=slave, env=env, cwd=cli.workdir, close_fds=True)
        os.close(slave)
        self.seen = ""

    def read_until(self, needle: str, timeout: float = 60) -> str:
        deadline = time.monotonic() + timeout
        while needle not in ANSI.sub("", self.seen):
            remaining = deadline - time.monotonic()
            assert remaining > 0, f"timed out waiting for {needle!r}; saw:\n{self.text}"
            ready, _, _ = select.select([self.master], [], [], remaining)
            if ready:
                try:
                    chunk = os.read(self.master, 4096)
                except OSError:  # the child closed the terminal
                    chunk = b""
                assert chunk, f"terminal closed before {needle!r}; saw:\n{self.text}"
                self.seen += chunk.decode("utf-8", "replace")
        return self.text

    def type(self, line: str) -> None:
        os.write(self.master, line.encode() + b"\r")

    def finish(self, timeout: float = 60) -> int:
        deadline = time.monotonic() + timeout
        while True:
            ready, _, _ = select.select([self.master], [], [], 0.1)
            if ready:
                try:
                    chunk = os.read(self.master, 4096)
                except OSError:
                    chunk = b""
                self.seen += chunk.decode("utf-8", "replace")
                if chunk:
                    continue
            if self.proc.poll() is not None:
                break
            assert time.monotonic() < deadline, self.text
        os.close(self.master)
        return self.proc.wait()

    @property
    def text(self) -> str:
        return ANSI.sub("", self.seen).replace("\r", "")


def test_approval_answered_at_the_prompt(cli: Cli) -> None:
    spec = cli.spec("ship", approval_spec(approvers=["alice"]))
    term = Terminal(cli, "run", str(spec))
    term.read_until("Your name")
    assert "Approval needed: ask (approval): Ship it?" in term.text
    term.type("mallory")  # not an approver: refused, then asked again
    term.read_until("Decision")
    term.type("approve")
    term.read_until("Comment")
    term.type("")
    term.read_until("Refused: 'mallory' is not an approver")
    term.read_until("Your name")
    term.type("alice")
    term.read_until("Decision")
    term.type("approve")
    term.read_until("Comment")
    term.type("looks good")
    status = term.finish()
    assert status == 0, term.text
    assert "completed" in term.text
    assert '"decision": "approved"' in term.text
    assert "Traceback" not in term.text


def test_no_prompt_on_a_terminal_still_pauses(cli: Cli) -> None:
    spec = cli.spec("ship", approval_spec(approvers=["alice"]))
    term = Terminal(cli, "run", str(spec), "--no-prompt")
    status = term.finish()
    assert status == 3, term.text
    assert "graphwright resume" in term.text
    assert "--approve --by alice" in term.text


def test_resume_without_flags_prompts(cli: Cli) -> None:
    spec = cli.spec("ship", approval_spec(approvers=[]))
    first = cli("run", str(spec))
    assert first.returncode == 3
    run_id = next(line.split()[2] for line in first.stdout.splitlines()
                  if line.startswith("paused: run"))
    term = Terminal(cli, "resume", run_id)
    term.read_until("Your name [tester]")
    term.type("")  # the default: $USER
    term.read_until("Decision")
    term.type("reject")
    term.read_until("Comment")
    term.type("")
    assert term.finish() == 0, term.text
    assert '"decision": "rejected"' in term.text
    record = cli("show", run_id).stdout
    assert '"by": "tester"' not in record  # responses live in the checkpoint, not the record
    assert '"status": "completed"' in record
