"""Where templates live in a spec, and which of them may read secrets.

Only fields an executor renders are templates; a ``{{`` in a description is just text.
Secrets may reach only fields whose values leave the process towards the service they
authenticate to (http requests, tool arguments, an llm's endpoint and provider options),
never fields whose values become outputs or events.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from workflow_compiler.validation.reporting import pointer

#: Per node type: the templated fields (rendered whole, strings at any depth).
TEMPLATE_FIELDS: dict[str, tuple[str, ...]] = {
    "transform": ("value",),
    "condition": ("if",),
    "switch": ("value",),
    "map": ("items",),
    "subworkflow": ("inputs",),
    "llm": ("system_prompt", "prompt", "messages", "memory", "base_url", "provider_options"),
    "tool": ("args",),
    "http": ("url", "headers", "query", "json", "body"),
    "approval": ("question",),
    "input": ("prompt",),
    "wait": ("until",),
    "signal": (),
}

#: Per node type: the fields that may reference ``secrets``.
SECRET_FIELDS: dict[str, frozenset[str]] = {
    "http": frozenset({"when", *TEMPLATE_FIELDS["http"]}),
    "tool": frozenset({"args"}),
    "llm": frozenset({"base_url", "provider_options"}),
}


@dataclass(frozen=True, slots=True)
class TemplateSite:
    """One string that may hold a template, where it is, and what it may read."""

    path: str
    source: str
    secrets_allowed: bool


def strings_in(value: Any, path: str, secrets_allowed: bool) -> Iterator[TemplateSite]:
    """Every string in a JSON value (the first pass bounded its depth)."""
    pending: list[tuple[Any, str]] = [(value, path)]
    while pending:
        current, where = pending.pop()
        if isinstance(current, str):
            yield TemplateSite(where, current, secrets_allowed)
        elif isinstance(current, dict):
            pending.extend((v, pointer(where, str(k))) for k, v in reversed(current.items()))
        elif isinstance(current, list):
            pending.extend((v, pointer(where, i)) for i, v in reversed(list(enumerate(current))))


def node_template_sites(node_type: str, raw: dict[str, Any], path: str) -> Iterator[TemplateSite]:
    allowed = SECRET_FIELDS.get(node_type, frozenset())
    for field in ("when", *TEMPLATE_FIELDS.get(node_type, ())):
        if field in raw:
            yield from strings_in(raw[field], pointer(path, field), field in allowed)
