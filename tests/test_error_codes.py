"""Every error code is registered, with its meaning, in ``workflow_compiler.error_codes``:
the codes our sources write (found in their syntax trees, so a new one cannot skip the
list), and ``docs/errors.md`` is the list rendered. Codes made at run time are checked as
they are made (``check_code`` warns, and warnings fail tests)."""

from __future__ import annotations

import ast
import warnings
from pathlib import Path

import pytest

from workflow_compiler.error_codes import CODES, UnregisteredCodeWarning, render_markdown
from workflow_compiler.errors import GraphwrightError, NodeExecutionError, SpecIssue

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("workflow_compiler", "api", "shared", "worker", "agents")
#: calls whose first argument is a code
CODE_CALLS = frozenset({"_failure", "SpecIssue", "issue", "_issue", "Issue",
                        "DeclarationProblem", "LoopProblem", "check_code"})


def _literal(node: ast.AST | None) -> str | None:
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) \
        else None


def written_codes() -> dict[str, set[str]]:
    """code -> files, for every string our sources put where a code goes."""
    found: dict[str, set[str]] = {}

    def note(value: str | None, path: Path) -> None:
        if value is not None:
            found.setdefault(value, set()).add(str(path.relative_to(ROOT)))

    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.Call):
                    for keyword in node.keywords:
                        if keyword.arg == "code":
                            note(_literal(keyword.value), path)
                    func = node.func
                    name = func.id if isinstance(func, ast.Name) else \
                        func.attr if isinstance(func, ast.Attribute) else None
                    first = _literal(node.args[0]) if node.args else None
                    # IssueLog.add(code, message, path, ...): three or more arguments
                    if name in CODE_CALLS or (name == "add" and len(node.args) >= 3):
                        note(first, path)
                elif isinstance(node, ast.Dict):
                    for key, value in zip(node.keys, node.values, strict=True):
                        if _literal(key) == "code":
                            note(_literal(value), path)
                elif isinstance(node, ast.Assign) and any(
                        isinstance(t, ast.Name) and t.id == "code" for t in node.targets):
                    note(_literal(node.value), path)
    return found


def test_every_code_the_sources_write_is_registered() -> None:
    written = written_codes()
    assert len(written) > 100  # the scan finds them (it found 115 when written)
    missing = {code: sorted(files) for code, files in written.items() if code not in CODES}
    assert not missing, f"register these in workflow_compiler/error_codes.py: {missing}"


def test_registered_codes_are_written_somewhere_and_well_formed() -> None:
    written = written_codes()
    for code, (kinds, meaning) in CODES.items():
        assert code.isidentifier() and code == code.lower(), code
        assert kinds and meaning and not meaning.endswith("."), code
    unused = set(CODES) - set(written)
    assert not unused, f"registered but written nowhere: {sorted(unused)}"


def test_docs_list_the_codes() -> None:
    text = (ROOT / "docs" / "errors.md").read_text(encoding="utf-8")
    assert text == render_markdown() + "\n", (
        "docs/errors.md is stale: regenerate it with "
        "python -c 'from workflow_compiler.error_codes import render_markdown; "
        "print(render_markdown())' > docs/errors.md")


class _UnlistedError(GraphwrightError):
    code = "no_such_code"


def test_a_code_made_at_run_time_is_checked() -> None:
    with pytest.warns(UnregisteredCodeWarning, match="no_such_code"):
        _UnlistedError("boom")
    with pytest.warns(UnregisteredCodeWarning, match="nor_this"):
        SpecIssue("nor_this", "x")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        SpecIssue("unknown_field", "fine")
        # a tool's own code passes through unchecked (it is the tool's to document)
        assert NodeExecutionError("busy", code="backend_busy").code == "backend_busy"
