"""Rewrites a checked template so that its loops, ``~`` and literals pass the guards.

The sandbox can intercept calls and most operators, but not ``{% for %}`` iteration, the
``~`` operator or list and dict literals: Jinja compiles them to plain Python. Two nested
loops over a 100,000-item list, ``{% set s = s ~ s %}`` repeated, or literals nesting the
same list ten times per level would otherwise run unmetered. So before code generation
every loop's iterable is wrapped in a guard filter that charges one iteration (plus the
literal text the loop body writes) per item, every ``~`` is replaced by a filter that
refuses oversized results before building them, and every literal that holds expressions
is checked for repeated values as it is built.
"""

from __future__ import annotations

from jinja2 import nodes
from jinja2.visitor import NodeTransformer

from workflow_compiler.expressions.filters import (
    CONCAT_FILTER,
    LITERAL_FILTER,
    LOOP_GUARD_FILTER,
)


def _literal_text_per_iteration(body: list[nodes.Node]) -> int:
    """Characters of template text one iteration writes, not counting nested loop bodies
    (their own guards charge them)."""
    total = 0
    pending: list[nodes.Node] = list(body)
    while pending:
        node = pending.pop()
        if isinstance(node, nodes.TemplateData):
            total += len(node.data)
        elif isinstance(node, nodes.For):
            pending.extend(node.else_)
        else:
            pending.extend(node.iter_child_nodes())
    return total


class _Instrumenter(NodeTransformer):
    def visit_For(self, node: nodes.For) -> nodes.Node:  # noqa: N802 (Jinja's visitor naming)
        self.generic_visit(node)
        text = _literal_text_per_iteration(node.body)
        node.iter = nodes.Filter(
            node.iter,
            LOOP_GUARD_FILTER,
            [nodes.Const(text, lineno=node.lineno)],
            [],
            None,
            None,
            lineno=node.lineno,
        )
        return node

    def visit_List(self, node: nodes.List) -> nodes.Node:  # noqa: N802
        return self._guard_literal(node, node.items)

    def visit_Tuple(self, node: nodes.Tuple) -> nodes.Node:  # noqa: N802
        if node.ctx != "load":  # an assignment target, not a value
            return node
        return self._guard_literal(node, node.items)

    def visit_Dict(self, node: nodes.Dict) -> nodes.Node:  # noqa: N802
        return self._guard_literal(
            node, [part for pair in node.items for part in (pair.key, pair.value)]
        )

    def _guard_literal(self, node: nodes.Expr, items: list[nodes.Expr]) -> nodes.Node:
        self.generic_visit(node)
        if all(isinstance(item, nodes.Const) for item in items):
            return node  # constants cannot repeat anything large
        return nodes.Filter(node, LITERAL_FILTER, [], [], None, None, lineno=node.lineno)

    def visit_Concat(self, node: nodes.Concat) -> nodes.Node:  # noqa: N802
        self.generic_visit(node)
        parts = nodes.List(list(node.nodes), lineno=node.lineno)
        return nodes.Filter(parts, CONCAT_FILTER, [], [], None, None, lineno=node.lineno)


def instrument(template: nodes.Template) -> nodes.Template:
    """Rewrite ``template`` in place and return it, ready for code generation."""
    _Instrumenter().visit(template)
    return template
