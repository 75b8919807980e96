"""The tool registry. Built-in tools live in ``tools.builtins``; the service adds its own."""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

ToolFunc = Callable[..., Any | Awaitable[Any]]


@dataclass(frozen=True, slots=True)
class Tool:
    name: str
    description: str
    func: ToolFunc
    args_schema: dict[str, Any] = field(default_factory=lambda: {"type": "object"})
    output_schema: dict[str, Any] | None = None

    async def call(self, args: dict[str, Any]) -> Any:
        result = self.func(**args)
        if inspect.isawaitable(result):
            result = await result
        return result

    def describe(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "description": self.description,
            "args_schema": self.args_schema,
            "output_schema": self.output_schema,
        }


class ToolRegistry:
    def __init__(self, tools: list[Tool] | None = None) -> None:
        self._tools: dict[str, Tool] = {}
        for tool in tools or []:
            self.register(tool)

    def register(self, tool: Tool) -> None:
        self._tools[tool.name] = tool

    def get(self, name: str) -> Tool | None:
        return self._tools.get(name)

    def names(self) -> frozenset[str]:
        return frozenset(self._tools)

    def describe(self) -> list[dict[str, Any]]:
        return [t.describe() for t in sorted(self._tools.values(), key=lambda t: t.name)]


def default_tool_registry() -> ToolRegistry:
    """The built-in tools, with the file tools reading local descriptors' paths (the
    service registers its own file tools over them, reading the caller's uploads)."""
    from workflow_compiler.tools.builtins import BUILTIN_TOOLS
    from workflow_compiler.tools.file_tools import LocalFileContents, file_tools

    return ToolRegistry([*BUILTIN_TOOLS, *file_tools(LocalFileContents())])
