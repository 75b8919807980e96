"""The dependency direction of DESIGN section 1, enforced by parsing every import."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

FORBIDDEN = {
    "workflow_compiler": ("api", "worker", "agents", "shared.database", "fastapi", "tortoise",
                          "taskiq", "starlette", "uvicorn"),
    "api": ("worker", "agents"),
    "worker": ("api", "agents"),
}


def imports_of(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.extend((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.lineno, node.module))
    return found


def violates(module: str, banned: str) -> bool:
    return module == banned or module.startswith(banned + ".")


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_package_imports_respect_layering(package: str) -> None:
    problems = []
    for path in sorted((ROOT / package).rglob("*.py")):
        for line, module in imports_of(path):
            for banned in FORBIDDEN[package]:
                if violates(module, banned):
                    problems.append(f"{path.relative_to(ROOT)}:{line} imports {module}")
    assert not problems, "layering violated:\n" + "\n".join(problems)


def test_checker_catches_a_violation(tmp_path: Path) -> None:
    sample = tmp_path / "bad.py"
    sample.write_text("import fastapi\nfrom tortoise.models import Model\nfrom api import x\n")
    modules = [m for _, m in imports_of(sample)]
    assert [m for m in modules if any(violates(m, b) for b in FORBIDDEN["workflow_compiler"])] \
        == ["fastapi", "tortoise.models", "api"]
