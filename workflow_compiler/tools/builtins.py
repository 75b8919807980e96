"""Built-in tools (placeholder list; the tools helper fills it in)."""

from __future__ import annotations

from workflow_compiler.tools.registry import Tool

BUILTIN_TOOLS: tuple[Tool, ...] = ()
