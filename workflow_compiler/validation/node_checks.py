"""Checks particular to some node types that need more than the node itself: declared
types of what a node reads, the JSON Schemas a node carries, an inline child's inputs."""

from __future__ import annotations

from typing import Any

from workflow_compiler.graph.ports import case_port
from workflow_compiler.validation.parsing import NodeEntry
from workflow_compiler.validation.reporting import IssueLog, pointer, show
from workflow_compiler.validation.schemas import check_schema, declared_types

#: Node fields holding a JSON Schema written by the spec's author.
SCHEMA_FIELDS = {"input": "schema", "llm": "output_schema"}


def check_node_schema(entry: NodeEntry, log: IssueLog) -> bool:
    """Validate the node's own JSON Schema, if its type carries one; False when invalid."""
    field = SCHEMA_FIELDS.get(entry.type_name or "")
    if field is None or entry.raw.get(field) is None:
        return True
    return check_schema(entry.raw[field], pointer(entry.path, field), log, entry.node_id)


def check_map_items(entry: NodeEntry, items_schema: dict[str, Any] | None,
                    log: IssueLog) -> dict[str, Any] | None:
    """Report ``items`` declared as something other than a list; the item schema, if known."""
    types = declared_types(items_schema)
    if items_schema is None or types is None:
        return None
    if "array" not in types:
        log.add("type_mismatch",
                f"'items' must be a list, but what it reads is declared as "
                f"{' or '.join(sorted(types))}", pointer(entry.path, "items"), entry.node_id)
        return None
    item = items_schema.get("items")
    return item if isinstance(item, dict) else None


def _same(case: object, member: object) -> bool:
    if isinstance(case, bool) or isinstance(member, bool):
        return case is member
    return case == member or (isinstance(member, str | int | float)
                              and case_port(case) == case_port(member))


def check_switch_cases(entry: NodeEntry, value_schema: dict[str, Any] | None,
                       log: IssueLog) -> None:
    """Cases the switch's value can never take, when that value declares an ``enum``."""
    enum = value_schema.get("enum") if value_schema is not None else None
    cases = entry.raw.get("cases")
    if not isinstance(enum, list) or not isinstance(cases, list):
        return
    for i, case in enumerate(cases):
        if not any(_same(case, member) for member in enum):
            log.add("type_mismatch",
                    f"case {show(case)} can never match: the value is declared as one of "
                    f"{', '.join(show(m, 30) for m in enum)}", pointer(entry.path, "cases", i),
                    entry.node_id)


def check_inline_inputs(entry: NodeEntry, child: dict[str, Any], log: IssueLog) -> None:
    """An inline child spec's required inputs must be given by the node's ``inputs``."""
    schema = child.get("inputs")
    required = schema.get("required") if isinstance(schema, dict) else None
    if not isinstance(required, list):
        return
    given = entry.raw.get("inputs", {})
    if not isinstance(given, dict):
        return
    missing = [name for name in required if isinstance(name, str) and name not in given]
    if missing:
        log.add("missing_input",
                f"the inline workflow requires input{'s' if len(missing) > 1 else ''} "
                f"{', '.join(repr(m) for m in missing)}, which 'inputs' does not give",
                pointer(entry.path, "inputs"), entry.node_id,
                hint=f'add e.g. "{missing[0]}": "{{{{ inputs.{missing[0]} }}}}"')
