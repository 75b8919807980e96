"""``validate``, ``graph`` and ``schema``: working on specs without running them.

``validate`` compiles the spec rather than only checking it, so "ok" promises the spec
will actually build into a graph, not merely that it passed the static checks.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from workflow_compiler.cli.failures import ExitCode
from workflow_compiler.errors import SpecIssue, SpecValidationError

SPEC_ARGUMENT = click.argument("spec", type=click.Path(dir_okay=False, path_type=Path))


def load_raw(path: Path) -> dict[str, Any]:
    from workflow_compiler.spec.loading import load_spec_file

    return load_spec_file(path)


def compile_file(path: Path) -> Any:
    """The ``CompiledWorkflow`` for a spec file; ``SpecValidationError`` lists problems."""
    from workflow_compiler.compiler.cache import WorkflowCompiler
    from workflow_compiler.nodes.base import ValidationContext
    from workflow_compiler.tools.registry import default_tool_registry

    context = ValidationContext(tool_names=default_tool_registry().names())
    return WorkflowCompiler(context=context).compile(load_raw(path))


def issue_lines(issues: list[SpecIssue]) -> list[str]:
    """A readable list: code, where (JSON pointer and node), what, and what to do."""
    count = len(issues)
    lines = [f"invalid spec: {count} problem{'s' if count != 1 else ''}"]
    for issue in issues:
        where = f" at {issue.path}" if issue.path else ""
        node = f" (node {issue.node_id})" if issue.node_id else ""
        lines.append(f"  - {issue.code}{where}{node}")
        lines.append(f"    {issue.message}")
        if issue.hint:
            lines.append(f"    hint: {issue.hint}")
    return lines


def echo_issues(issues: list[SpecIssue], *, err: bool) -> None:
    for line in issue_lines(issues):
        click.echo(line, err=err)


@click.command(short_help="Check a spec and list every problem.")
@SPEC_ARGUMENT
@click.option("--json", "json_mode", is_flag=True,
              help='Print {"valid": bool, "errors": [...]} instead of text.')
def validate(spec: Path, json_mode: bool) -> int:
    """Check SPEC (JSON or YAML) and report every problem at once."""
    try:
        compiled = compile_file(spec)
    except SpecValidationError as exc:
        if json_mode:
            click.echo(json.dumps({"valid": False,
                                   "errors": [i.to_dict() for i in exc.issues]}, indent=2))
        else:
            echo_issues(exc.issues, err=False)
        return ExitCode.INVALID
    if json_mode:
        click.echo(json.dumps({"valid": True, "errors": []}, indent=2))
    else:
        click.echo(f"ok: {compiled.spec.name} ({len(compiled.spec.nodes)} nodes)")
    return ExitCode.OK


@click.command(short_help="Print a spec as a mermaid flowchart.")
@SPEC_ARGUMENT
def graph(spec: Path) -> int:
    """Print SPEC as a mermaid flowchart (paste it into any mermaid renderer)."""
    click.echo(compile_file(spec).mermaid(), nl=False)
    return ExitCode.OK


@click.command(short_help="Print the spec JSON Schema.")
def schema() -> int:
    """Print the JSON Schema of spec version 1."""
    from workflow_compiler.spec.models import spec_json_schema

    click.echo(json.dumps(spec_json_schema(), indent=2))
    return ExitCode.OK
