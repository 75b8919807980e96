"""Node executors, one module per type, registered on first use."""

from __future__ import annotations

import importlib

_BUILTIN_MODULES = (
    "transform", "branching", "map", "subworkflow", "llm", "tool", "http", "human", "timers",
)
_loaded = False


def load_builtin_executors() -> None:
    global _loaded
    if _loaded:
        return
    for module in _BUILTIN_MODULES:
        importlib.import_module(f"workflow_compiler.nodes.{module}")
    _loaded = True
