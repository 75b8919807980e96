"""Test tools registered like any real tool: counters, rendezvous, flaky, sleep, probe."""

from __future__ import annotations

import asyncio
from typing import Any

from workflow_compiler.errors import NodeExecutionError
from workflow_compiler.tools.registry import Tool, ToolRegistry, default_tool_registry


class Calls:
    """Counts tool invocations, so tests can prove work is not repeated on resume."""

    def __init__(self) -> None:
        self.counts: dict[str, int] = {}
        self.barriers: dict[str, asyncio.Barrier] = {}
        self.failures: dict[str, int] = {}
        self.in_flight = {"now": 0, "max": 0}

    def tools(self) -> ToolRegistry:
        registry = default_tool_registry()

        def count(name: str = "default", value: Any = None) -> dict[str, Any]:
            self.counts[name] = self.counts.get(name, 0) + 1
            return {"name": name, "count": self.counts[name], "value": value}

        async def rendezvous(group: str, parties: int = 2) -> dict[str, Any]:
            """Returns only when ``parties`` calls are in flight at once: proves parallelism."""
            barrier = self.barriers.setdefault(group, asyncio.Barrier(parties))
            async with asyncio.timeout(10):
                await barrier.wait()
            return {"group": group}

        def flaky(name: str, failures: int, retryable: bool = True) -> dict[str, Any]:
            seen = self.failures.get(name, 0)
            self.counts[name] = self.counts.get(name, 0) + 1
            if seen < failures:
                self.failures[name] = seen + 1
                raise NodeExecutionError(f"{name} failed (attempt {seen + 1})",
                                         code="flaky", retryable=retryable)
            return {"name": name, "attempts": seen + 1}

        async def sleep(seconds: float) -> dict[str, Any]:
            await asyncio.sleep(seconds)
            return {"slept": seconds}

        async def probe() -> dict[str, Any]:
            """Records how many calls overlap, to check concurrency limits."""
            self.in_flight["now"] += 1
            self.in_flight["max"] = max(self.in_flight["max"], self.in_flight["now"])
            await asyncio.sleep(0.02)
            self.in_flight["now"] -= 1
            return {}

        registry.register(Tool("test.probe", "concurrency probe", probe))
        registry.register(Tool("test.count", "count calls", count,
                               {"type": "object", "properties": {"name": {"type": "string"}}}))
        registry.register(Tool("test.rendezvous", "wait for parallel peers", rendezvous))
        registry.register(Tool("test.flaky", "fail n times", flaky))
        registry.register(Tool("test.sleep", "sleep", sleep))
        return registry
