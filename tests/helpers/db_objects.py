"""Objects for the service database tests: unique names, example and tiny specs."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def example(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((EXAMPLES / f"{name}.json").read_text(encoding="utf-8"))
    return data


def transform_spec(name: str = "tiny", text: str = "hi") -> dict[str, Any]:
    """A one-node valid spec; ``text`` varies it (a different spec hash)."""
    return {
        "spec_version": "1", "name": name,
        "nodes": [{"id": "say", "type": "transform", "value": {"text": text}}],
        "edges": [], "outputs": {"text": "{{ nodes.say.text }}"},
    }
