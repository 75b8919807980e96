"""Per-run, in-process context handed to every node through LangGraph's ``context``.

It holds what must not be checkpointed: services, secret values (for redaction), map
concurrency semaphores and the compiler (for subworkflows). Compiled graphs stay
shareable across runs because none of this is baked into them.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from workflow_compiler.errors import NodeExecutionError
from workflow_compiler.services import RuntimeServices

if TYPE_CHECKING:
    from workflow_compiler.compiler.cache import WorkflowCompiler

REDACTED = "***"


@dataclass(slots=True)
class RunContext:
    run_id: str
    services: RuntimeServices
    compiler: WorkflowCompiler
    secret_values: dict[str, str] = field(default_factory=dict)
    semaphores: dict[str, asyncio.Semaphore] = field(default_factory=dict)
    depth: int = 0
    #: the name of the workflow the run started (children share it): memory namespaces
    workflow: str = ""
    #: where node events go when the caller does not stream (``WorkflowRuntime.start``):
    #: a direct call instead of LangGraph's custom stream, which costs a hop through the
    #: stream's queue and the consumer per event (about a fifth of a short run)
    sink: Callable[[dict[str, Any]], object] | None = None
    #: per node task, what its last attempt left for its retry (``llm.steps.task_memo``)
    task_memos: dict[str, dict[str, Any]] = field(default_factory=dict)


    async def secrets_for(self, names: frozenset[str]) -> dict[str, str]:
        found: dict[str, str] = {}
        for name in names:
            if name not in self.secret_values:
                value = await self.services.secrets.get(name)
                if value is None:
                    raise NodeExecutionError(
                        f"secret {name!r} is not set", code="missing_secret"
                    )
                self.secret_values[name] = value
            found[name] = self.secret_values[name]
        return found

    def semaphore(self, key: str, limit: int) -> asyncio.Semaphore:
        semaphore = self.semaphores.get(key)
        if semaphore is None:
            semaphore = self.semaphores[key] = asyncio.Semaphore(limit)
        return semaphore

    def redact(self, value: Any) -> Any:
        """Replace every secret value met so far wherever it appears in ``value``."""
        if not self.secret_values:
            return value
        return _redact(value, [s for s in self.secret_values.values() if s])


def _redact(value: Any, secrets: list[str]) -> Any:
    if isinstance(value, str):
        for secret in secrets:
            if secret in value:
                value = value.replace(secret, REDACTED)
        return value
    if isinstance(value, dict):
        return {k: _redact(v, secrets) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_redact(v, secrets) for v in value]
    return value
