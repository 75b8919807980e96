"""Reading spec files (JSON, or YAML for the CLI) into plain dicts without ever raising
anything but ``SpecValidationError``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from workflow_compiler.errors import SpecIssue, SpecValidationError

MAX_SPEC_BYTES = 20_000_000


def parse_spec_text(text: str, *, filename: str = "<spec>") -> dict[str, Any]:
    if len(text) > MAX_SPEC_BYTES:
        raise SpecValidationError([SpecIssue("spec_too_large", f"{filename} exceeds 20 MB")])
    try:
        is_yaml = filename.endswith((".yaml", ".yml"))
        data = yaml.safe_load(text) if is_yaml else json.loads(text)
    except (ValueError, yaml.YAMLError) as exc:
        raise SpecValidationError(
            [SpecIssue("invalid_json", f"{filename} is not valid JSON/YAML: {exc}")]
        ) from None
    if not isinstance(data, dict):
        raise SpecValidationError(
            [SpecIssue("invalid_spec", f"{filename} must hold a JSON object at the top level")]
        )
    return data


def load_spec_file(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise SpecValidationError(
            [SpecIssue("unreadable_spec", f"cannot read {path}: {exc.strerror or exc}")]
        ) from None
    except UnicodeDecodeError:
        issue = SpecIssue("invalid_json", f"{path} is not UTF-8 text")
        raise SpecValidationError([issue]) from None
    return parse_spec_text(text, filename=str(path))
