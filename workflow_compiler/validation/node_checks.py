"""Checks particular to some node types that need more than the node itself: declared
types of what a node reads, the JSON Schemas a node carries, an inline child's inputs."""

from __future__ import annotations

from typing import Any

from jsonschema import Draft202012Validator

from workflow_compiler.expressions import is_template
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


def _compatible(given: set[str], wanted: set[str]) -> bool:
    """Could a value declared as one of ``given`` be one of ``wanted``? Integers are
    numbers, and a number may happen to be whole, so those two always may."""
    numeric = {"integer", "number"}
    return bool(given & wanted) or bool(given & numeric and wanted & numeric)


def _holds_templates(value: object) -> bool:
    pending = [value]
    while pending:
        current = pending.pop()
        if isinstance(current, str) and is_template(current):
            return True
        if isinstance(current, dict):
            pending.extend(current.values())
        elif isinstance(current, list):
            pending.extend(current)
    return False


def _is_file_slot(schema: dict[str, Any]) -> bool:
    """File inputs are given as references and seen as descriptors: not judged here."""
    items = schema.get("items")
    return schema.get("format") == "file" or (isinstance(items, dict)
                                              and items.get("format") == "file")


def check_inline_input_types(entry: NodeEntry, child: dict[str, Any],
                             direct: dict[str, dict[str, Any] | None], log: IssueLog) -> None:
    """Values of ``inputs`` that cannot match what the inline child declares for them.

    Judged only where the value is known: a constant (validated against the property's
    schema) or a template that is one bare reference to something with a declared type
    (``direct``: the schemas the template check found, by site path). Anything else, such
    as mixed text or filters, has a type we do not know, and is taken on trust.
    """
    schema, given = child.get("inputs"), entry.raw.get("inputs")
    properties = schema.get("properties") if isinstance(schema, dict) else None
    if not isinstance(properties, dict) or not isinstance(given, dict):
        return
    try:
        Draft202012Validator.check_schema(schema)  # type: ignore[arg-type]
    except Exception:  # the child's own check reports it
        return
    for name, value in given.items():
        wanted = properties.get(name)
        if not isinstance(wanted, dict) or _is_file_slot(wanted):
            continue
        where = pointer(entry.path, "inputs", name)
        if isinstance(value, str) and is_template(value):
            wanted_types = declared_types(wanted)
            found = declared_types(direct.get(where))
            if wanted_types is not None and found is not None \
                    and not _compatible(found, wanted_types):
                log.add("type_mismatch",
                        f"input {name!r} of the inline workflow is declared as "
                        f"{' or '.join(sorted(wanted_types))}, but what it is given is "
                        f"declared as {' or '.join(sorted(found))}", where, entry.node_id)
            continue
        if _holds_templates(value):
            continue
        problem = _first_problem(wanted, value)
        if problem is not None:
            message, inside = problem
            log.add("type_mismatch",
                    f"input {name!r} of the inline workflow does not accept {show(value)}: "
                    f"{message}", pointer(where, *inside), entry.node_id)


def _first_problem(schema: dict[str, Any], value: object
                   ) -> tuple[str, list[str | int]] | None:
    """The first way ``value`` breaks ``schema``, and where inside the value."""
    try:
        error = next(iter(Draft202012Validator(schema).iter_errors(value)), None)
    except Exception:  # an odd schema (an unresolvable $ref alone, say): no judgement
        return None
    if error is None:
        return None
    return error.message[:200], [t if isinstance(t, int) else str(t) for t in error.path]
