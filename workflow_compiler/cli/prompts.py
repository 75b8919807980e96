"""Asking the person at the terminal to answer an approval or an input node.

Prompts only collect an answer; checking it stays with the runtime (the same checks the
API applies), and the session re-asks when the runtime refuses, so the terminal can never
accept something a REST client could not.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import click

from workflow_compiler.cli.hints import current_user, describe

if TYPE_CHECKING:
    from workflow_compiler.runtime.records import PendingInterrupt


class Prompter:
    """Reads answers from stdin; writes to stderr when stdout is reserved for JSON."""

    def __init__(self, *, to_stderr: bool) -> None:
        self.to_stderr = to_stderr

    def say(self, text: str = "") -> None:
        click.echo(text, err=self.to_stderr)

    def ask(self, text: str, **options: Any) -> Any:
        return click.prompt(text, err=self.to_stderr, **options)

    def approval(self, interrupt: PendingInterrupt) -> dict[str, Any]:
        payload = interrupt.payload
        self.say()
        self.say(f"Approval needed: {describe(interrupt)}")
        for response in payload.get("responses") or []:
            if isinstance(response, dict):
                comment = f" ({response['comment']})" if response.get("comment") else ""
                self.say(f"  {response.get('by')} answered {response.get('decision')}{comment}")
        options = ["approve", "reject", *(str(o) for o in payload.get("options") or [])]
        by = self.ask("Your name", default=current_user())
        decision = self.ask("Decision", type=click.Choice(options))
        comment = self.ask("Comment (optional)", default="", show_default=False)
        answer: dict[str, Any] = {"by": by.strip(), "decision": decision}
        if comment.strip():
            answer["comment"] = comment.strip()
        return answer

    def input_data(self, interrupt: PendingInterrupt) -> Any:
        payload = interrupt.payload
        schema = payload.get("schema") or {}
        self.say()
        self.say(f"Input needed: {describe(interrupt)}")
        self.say("Schema: " + json.dumps(schema, indent=2, ensure_ascii=False))
        takes_text = isinstance(schema, dict) and schema.get("type") == "string"
        while True:
            text = self.ask("JSON value")
            try:
                return json.loads(text)
            except ValueError as exc:
                if takes_text:
                    return text
                self.say(f"That is not valid JSON ({exc}); please try again.")

    def refused(self, reason: str) -> None:
        self.say(f"Refused: {reason}")
