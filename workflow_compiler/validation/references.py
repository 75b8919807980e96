"""Checking templates: syntax, then every reference they make against its scope.

Each distinct source is compiled once per validation (specs repeat their templates a lot,
and compiling is the costliest step here). A reference is judged in this order: the root
exists and is in scope, secrets only where allowed, the node exists and has run before
the reader, it surely ran (or the reference has a fallback), the property is declared.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from workflow_compiler.errors import ExpressionError
from workflow_compiler.expressions import ROOTS, Reference, compile_template, is_template
from workflow_compiler.expressions.paths import format_path
from workflow_compiler.validation.availability import Verdict
from workflow_compiler.validation.plain_templates import plain_references
from workflow_compiler.validation.reporting import IssueLog, did_you_mean, show
from workflow_compiler.validation.schemas import resolve_path
from workflow_compiler.validation.scopes import Level, SpecScope
from workflow_compiler.validation.templates import TemplateSite

RUN_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {"id": {"type": "string"}, "started_at": {"type": "string"}},
    "additionalProperties": False,
}
_NAME = r"[A-Za-z_][A-Za-z0-9_]*"
_STEP = rf"(?:\s*\.\s*{_NAME}|\s*\[\s*(?:\d+|'[^'\\]*'|\"[^\"\\]*\")\s*\])"
#: A template that is one bare reference, e.g. ``{{ nodes.fetch.items }}``: its value is
#: exactly the referenced value, so declared types can be compared.
_DIRECT = re.compile(rf"\s*\{{\{{-?\s*{_NAME}{_STEP}*\s*-?\}}\}}\s*")


@dataclass(frozen=True, slots=True)
class Reader:
    """Who evaluates a template: a node (or AFTER_ALL) of ``level``; None skips ordering."""

    level: Level
    node_id: str | None  # the node to blame in issues
    position: str | None  # the node whose turn it is, AFTER_ALL, or None
    description: str


def spell(ref: Reference) -> str:
    """The reference as an author would write it, e.g. ``nodes.fetch.items[0]``."""
    return format_path(ref.root, ref.path)


def _parse_uncached(source: str) -> tuple[list[Reference], str | None]:
    plain = plain_references(source)
    if plain is not None:
        return plain, None
    try:
        return list(compile_template(source).references), None
    except ExpressionError as exc:
        return [], exc.message
    except Exception as exc:  # a parser crash is still a bad template
        return [], f"the template cannot be parsed ({type(exc).__name__})"


class TemplateChecker:
    def __init__(self, log: IssueLog) -> None:
        self.log = log
        self._parsed: dict[str, tuple[list[Reference], str | None]] = {}

    def _parse(self, source: str) -> tuple[list[Reference], str | None]:
        """The references of ``source``, or why it is not a valid template."""
        found = self._parsed.get(source)
        if found is None:
            found = self._parsed[source] = _parse_uncached(source)
        return found

    def check(self, site: TemplateSite, reader: Reader, scope: SpecScope) -> dict[str, Any] | None:
        """Report the site's problems; the declared schema of a direct reference, if any."""
        if not is_template(site.source):
            return None
        references, error = self._parse(site.source)
        if error is not None:
            self.log.add("bad_expression", f"invalid template: {error}", site.path,
                         reader.node_id)
            return None
        schemas = [self._check_reference(ref, site, reader, scope) for ref in references]
        if len(references) == 1 and not references[0].has_fallback \
                and _DIRECT.fullmatch(site.source):
            return schemas[0]
        return None

    def _check_reference(
        self, ref: Reference, site: TemplateSite, reader: Reader, scope: SpecScope
    ) -> dict[str, Any] | None:
        root, level = ref.root, reader.level
        if root not in ROOTS:
            self._issue("unknown_reference", f"'{spell(ref)}': there is nothing called "
                        f"{root!r} to read; templates can read {', '.join(sorted(ROOTS))}",
                        site, reader, did_you_mean(root, ROOTS))
            return None
        if root in {"item", "index"} and not level.in_map:
            self._issue("unknown_reference", f"'{spell(ref)}': {root!r} exists only inside a "
                        "map body", site, reader)
            return None
        if root == "secrets":
            if not site.secrets_allowed:
                self._issue("secret_not_allowed",
                            f"'{spell(ref)}': secrets may only be used in http node fields, "
                            "tool node args and an llm node's base_url or provider_options, so "
                            "that they never reach outputs or events", site, reader)
            return None
        if root == "nodes":
            return self._check_node_reference(ref, site, reader, scope)
        schema = {"inputs": scope.inputs_schema, "item": level.item_schema, "run": RUN_SCHEMA,
                  "index": {"type": "integer"}}.get(root)
        return self._check_properties(ref, ref.path, schema, f"'{root}'", site, reader)

    def _check_node_reference(
        self, ref: Reference, site: TemplateSite, reader: Reader, scope: SpecScope
    ) -> dict[str, Any] | None:
        if not ref.path:
            return None  # the whole ``nodes`` mapping: nothing to check statically
        name = ref.path[0]
        verdict = reader.level.locate(name, reader.position) if isinstance(name, str) else None
        if verdict is None:
            where = scope.body_of.get(name) if isinstance(name, str) else None
            detail = (f"node {name!r} is inside the body of map {where!r}, which only that "
                      "body can read") if where else f"there is no node {show(name)}"
            self._issue("unknown_reference", f"'{spell(ref)}': {detail}", site, reader,
                        self.log.suggest(name, reader.level.visible_ids()))
            return None
        self._report_verdict(verdict, ref, str(name), site, reader)
        return self._check_properties(ref, ref.path[1:], scope.output_schemas.get(str(name)),
                                      f"the output of node {name!r}", site, reader)

    def _report_verdict(
        self, verdict: Verdict, ref: Reference, name: str, site: TemplateSite, reader: Reader
    ) -> None:
        if verdict in {Verdict.OK, Verdict.UNKNOWN}:
            return
        said = f"{reader.description} reads '{spell(ref)}', but node {name!r}"
        fix = f"give it a fallback: {spell(ref)} | default(...)"
        then = f"; {fix}"
        if verdict is Verdict.NOT_ANCESTOR:
            self._issue("not_an_ancestor",
                        f"{said} does not run before it: no path of main edges leads from "
                        f"{name!r} to it", site, reader,
                        f"connect {name!r} so that it runs first, or read another node")
        elif ref.has_fallback:
            return
        elif verdict is Verdict.MAY_BE_SKIPPED and len(ref.path) == 1:
            return  # a skipped node's output is null, and reading null itself is fine
        elif verdict is Verdict.LATER_IN_CYCLE:
            self._issue("conditional_reference",
                        f"{said} runs later in the same loop pass, so on the first pass it has "
                        f"no output yet{then}", site, reader, fix)
        elif verdict is Verdict.MAY_BE_SKIPPED:
            self._issue("conditional_reference",
                        f"{said} has a 'when' condition: when it is skipped its output is null, "
                        f"which has no properties to read{then}", site, reader, fix)
        else:
            self._issue("conditional_reference",
                        f"{said} does not run on every path that leads here (a branch or an "
                        f"error route can bypass it){then}", site, reader, fix)

    def _check_properties(
        self, ref: Reference, path: tuple[str | int, ...], schema: dict[str, Any] | None,
        owner: str, site: TemplateSite, reader: Reader,
    ) -> dict[str, Any] | None:
        if schema is None:
            return None
        found, problem = resolve_path(schema, path)
        if problem is None:
            return found
        missing = path[problem.depth]
        shown = ", ".join(problem.known[:12]) + (", ..." if len(problem.known) > 12 else "")
        declared = f" (declared: {shown})" if problem.known else ""
        self._issue("unknown_property",
                    f"'{spell(ref)}': {owner} declares no property {show(missing)} "
                    f"there{declared}", site, reader, did_you_mean(missing, problem.known))
        return None

    def _issue(
        self, code: str, message: str, site: TemplateSite, reader: Reader,
        hint: str | None = None,
    ) -> None:
        self.log.add(code, message, site.path, reader.node_id, hint)
