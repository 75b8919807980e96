"""Template constructs refused before anything runs.

Checking the parsed template, rather than relying on runtime guards alone, means an
attack is reported when the spec is validated, with a line number, and never reaches the
runtime at all. The policy is an allow-list of node types: whatever Jinja adds in a later
version is refused until someone decides it is safe. Refused on purpose:

* ``extends``, ``include``, ``import``, ``from``: templates are single strings; loading
  other templates would read files.
* ``macro``, ``call``, ``block``, recursive loops: code reuse and recursion that the time
  budget cannot meter well, and that a data expression does not need.
* ``self``: Jinja's handle on the template object, a classic escape hatch.
* attributes and constant subscripts starting with ``_``: the road to Python internals.
* namespace assignment (``{% set ns.x = ... %}``) and ``autoescape`` blocks.
* filters and tests outside the allow-list.
"""

from __future__ import annotations

from typing import Final

from jinja2 import nodes

from workflow_compiler.errors import ExpressionError
from workflow_compiler.expressions.filters import PUBLIC_FILTER_NAMES, PUBLIC_TEST_NAMES

_ALLOWED_NODES: Final[tuple[type[nodes.Node], ...]] = (
    nodes.Template, nodes.Output, nodes.TemplateData, nodes.If, nodes.For, nodes.Assign,
    nodes.AssignBlock, nodes.With, nodes.FilterBlock, nodes.Name, nodes.Const, nodes.Tuple,
    nodes.List, nodes.Dict, nodes.Pair, nodes.Keyword, nodes.CondExpr, nodes.Filter,
    nodes.Test, nodes.Call, nodes.Getitem, nodes.Getattr, nodes.Slice, nodes.Concat,
    nodes.Compare, nodes.Operand, nodes.Mul, nodes.Div, nodes.FloorDiv, nodes.Add,
    nodes.Sub, nodes.Mod, nodes.Pow, nodes.And, nodes.Or, nodes.Not, nodes.Neg, nodes.Pos,
)  # fmt: skip

#: How to name a refused construct in the message: what the author wrote.
_TAG_NAMES: Final[dict[type[nodes.Node], str]] = {
    nodes.Extends: "{% extends %}",
    nodes.Include: "{% include %}",
    nodes.Import: "{% import %}",
    nodes.FromImport: "{% from ... import %}",
    nodes.Macro: "{% macro %}",
    nodes.CallBlock: "{% call %}",
    nodes.Block: "{% block %}",
    nodes.NSRef: "assignment to an attribute ({% set a.b = ... %})",
    nodes.Scope: "{% autoescape %}",  # the only statement that parses to a Scope
    nodes.ScopedEvalContextModifier: "{% autoescape %}",
    nodes.EvalContextModifier: "{% autoescape %}",
    nodes.ExprStmt: "{% do %}",
    nodes.Continue: "{% continue %}",
    nodes.Break: "{% break %}",
}

#: Filters whose string arguments name attributes to read from each item.
_ATTRIBUTE_FILTERS: Final = frozenset({"selectattr", "rejectattr", "groupby"})

#: Jinja's special names that expose template internals rather than data.
_REFUSED_NAMES: Final = frozenset({"self"})


def _refuse(node: nodes.Node, message: str) -> ExpressionError:
    line = getattr(node, "lineno", None)
    where = f" (line {line})" if line else ""
    return ExpressionError(f"{message}{where}", details={"line": line} if line else None)


def _private(name: object) -> bool:
    """Whether a constant attribute name, possibly dotted (``'a.__class__'``), is private."""
    return isinstance(name, str) and any(part.startswith("_") for part in name.split("."))


def _private_key(arg: nodes.Node) -> bool:
    return isinstance(arg, nodes.Const) and isinstance(arg.value, str) and arg.value[:1] == "_"


def _target_names(target: nodes.Node) -> set[str]:
    found = [target] if isinstance(target, nodes.Name) else target.find_all(nodes.Name)
    return {name.name for name in found}


def _check_attribute_arguments(node: nodes.Filter) -> None:
    candidates = [kw.value for kw in node.kwargs if kw.key == "attribute"]
    if node.name in _ATTRIBUTE_FILTERS and node.args:
        candidates.append(node.args[0])
    for candidate in candidates:
        if isinstance(candidate, nodes.Const) and _private(candidate.value):
            raise _refuse(node, f"attribute {candidate.value!r} is not allowed")


def check_template(template: nodes.Template) -> None:
    """Raise ``ExpressionError`` for the first refused construct in ``template``."""
    for node in (template, *template.find_all(nodes.Node)):
        if not isinstance(node, _ALLOWED_NODES):
            construct = _TAG_NAMES.get(type(node), type(node).__name__)
            raise _refuse(node, f"{construct} is not allowed in expressions")
        if isinstance(node, nodes.For) and node.recursive:
            raise _refuse(node, "recursive loops are not allowed in expressions")
        if isinstance(node, nodes.For) and "loop" in _target_names(node.target):
            raise _refuse(node, "'loop' cannot be a loop variable")
        if isinstance(node, nodes.Getattr) and node.attr.startswith("_"):
            raise _refuse(node, f"attribute {node.attr!r} is not allowed")
        if isinstance(node, nodes.Getitem) and _private_key(node.arg):
            raise _refuse(node, f"key {node.arg.as_const()!r} is not allowed")
        if isinstance(node, nodes.Name) and node.name in _REFUSED_NAMES:
            raise _refuse(node, f"{node.name!r} is not available in expressions")
        if isinstance(node, nodes.Filter):
            if node.name not in PUBLIC_FILTER_NAMES:
                raise _refuse(node, f"unknown filter {node.name!r}")
            _check_attribute_arguments(node)
        if isinstance(node, nodes.Test) and node.name not in PUBLIC_TEST_NAMES:
            raise _refuse(node, f"unknown test {node.name!r}")
