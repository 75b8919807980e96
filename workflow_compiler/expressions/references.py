"""What a template reads from the scope, found statically so specs fail before they run.

The validator checks each reference against the graph (the root exists, the node is an
ancestor, the property is in the producer's schema), so extraction must see every free
name, including roots that do not exist, and must not report names the template binds
itself (loop targets, ``{% set %}`` names, ``loop``). A chain is only followed while its
subscripts are constants: ``nodes[inputs.pick].x`` references ``nodes`` and
``inputs.pick``, nothing more can be known before the run.

``has_fallback`` tells the validator that the template copes with the value being absent,
which is what makes a reference to a node on another branch acceptable: the chain is the
direct input of ``default``/``d``, or is tested with ``is defined``/``is undefined``, or is
read only where such a test guarantees it exists (``x.y if x is defined else 0``,
``{% if x is defined %}{{ x.y }}{% endif %}``, ``x is defined and x.y``). A guard on a chain
covers everything under it: ``nodes.a is defined`` guards ``nodes.a.b``.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Final

from jinja2 import nodes

ROOTS: Final[frozenset[str]] = frozenset({"inputs", "nodes", "item", "index", "secrets", "run"})

#: Names the environment provides itself; using them is not a reference to the scope.
ENVIRONMENT_NAMES: Final = frozenset({"range"})

_FALLBACK_FILTERS: Final = frozenset({"default", "d"})
_DEFINED_TESTS: Final = frozenset({"defined", "undefined"})

PathElement = str | int
PathKey = tuple[str, tuple[PathElement, ...]]
_NO_GUARDS: Final[frozenset[PathKey]] = frozenset()


@dataclass(frozen=True, slots=True)
class Reference:
    """One read of the scope: ``root`` and the statically known ``path`` below it."""

    root: str
    path: tuple[PathElement, ...]
    has_fallback: bool
    source: str


def constant_key(arg: nodes.Node) -> PathElement | None:
    """The path element a subscript denotes, if it is a constant string or integer."""
    value: object = None
    if isinstance(arg, nodes.Const):
        value = arg.value
    elif isinstance(arg, nodes.Neg) and isinstance(arg.node, nodes.Const):
        value = -arg.node.value if type(arg.node.value) is int else None
    return value if isinstance(value, str) or type(value) is int else None


@dataclass(slots=True)
class Chain:
    """``base.a[0]["b"]...`` unrolled: the base expression and the steps applied to it."""

    base: nodes.Expr
    steps: list[nodes.Getattr | nodes.Getitem]

    @classmethod
    def unroll(cls, node: nodes.Expr) -> Chain:
        steps: list[nodes.Getattr | nodes.Getitem] = []
        while isinstance(node, nodes.Getattr | nodes.Getitem):
            steps.append(node)
            node = node.node
        steps.reverse()
        return cls(node, steps)

    def static_path(self) -> tuple[tuple[PathElement, ...], bool]:
        """The constant prefix of the path, and whether it is the whole chain."""
        path: list[PathElement] = []
        for step in self.steps:
            key = step.attr if isinstance(step, nodes.Getattr) else constant_key(step.arg)
            if key is None:
                return tuple(path), False
            path.append(key)
        return tuple(path), True


class _Scopes:
    """Names bound by the template, innermost scope last (``if`` opens no scope in Jinja)."""

    def __init__(self) -> None:
        self._stack: list[set[str]] = [set()]

    def bound(self, name: str) -> bool:
        return any(name in names for names in self._stack)

    def bind(self, target: nodes.Node) -> None:
        self._stack[-1].update(
            name.name for name in _names_in(target) if name.ctx in ("store", "param")
        )

    def push(self, names: Iterable[str] = ()) -> None:
        self._stack.append(set(names))

    def pop(self) -> None:
        self._stack.pop()


def _names_in(target: nodes.Node) -> Iterator[nodes.Name]:
    if isinstance(target, nodes.Name):
        yield target
    yield from target.find_all(nodes.Name)


class _Extractor:
    def __init__(self, source: str) -> None:
        self.source = source
        self.scopes = _Scopes()
        self.found: dict[tuple[str, tuple[PathElement, ...], bool], Reference] = {}

    # -- guards -------------------------------------------------------------------

    def _guard_key(self, node: nodes.Node) -> PathKey | None:
        if not isinstance(node, nodes.Expr):
            return None
        chain = Chain.unroll(node)
        if not isinstance(chain.base, nodes.Name) or self.scopes.bound(chain.base.name):
            return None
        path, complete = chain.static_path()
        return (chain.base.name, path) if complete else None

    def guards_of(self, test: nodes.Node) -> tuple[frozenset[PathKey], frozenset[PathKey]]:
        """Chains known to exist when ``test`` is true, and when it is false."""
        if isinstance(test, nodes.Test) and test.name in _DEFINED_TESTS:
            key = self._guard_key(test.node)
            if key is None:
                return _NO_GUARDS, _NO_GUARDS
            known = frozenset({key})
            return (known, _NO_GUARDS) if test.name == "defined" else (_NO_GUARDS, known)
        if isinstance(test, nodes.Not):
            when_true, when_false = self.guards_of(test.node)
            return when_false, when_true
        if isinstance(test, nodes.And):
            left_true, left_false = self.guards_of(test.left)
            right_true, right_false = self.guards_of(test.right)
            return left_true | right_true, left_false & right_false
        if isinstance(test, nodes.Or):
            left_true, left_false = self.guards_of(test.left)
            right_true, right_false = self.guards_of(test.right)
            return left_true & right_true, left_false | right_false
        return _NO_GUARDS, _NO_GUARDS

    # -- visiting -----------------------------------------------------------------

    def record(
        self, root: str, path: tuple[PathElement, ...], fallback: bool, guards: frozenset[PathKey]
    ) -> None:
        if root in ENVIRONMENT_NAMES:
            return
        guarded = fallback or any(
            root == guard_root and path[: len(guard_path)] == guard_path
            for guard_root, guard_path in guards
        )
        key = (root, path, guarded)
        if key not in self.found:
            self.found[key] = Reference(root, path, guarded, self.source)

    def visit_all(self, items: Iterable[nodes.Node | None], guards: frozenset[PathKey]) -> None:
        for item in items:
            if item is not None:
                self.visit(item, guards)

    def visit_chain(
        self, node: nodes.Expr, guards: frozenset[PathKey], fallback: bool = False
    ) -> None:
        chain = Chain.unroll(node)
        if isinstance(chain.base, nodes.Name):
            if not self.scopes.bound(chain.base.name):
                path, _ = chain.static_path()
                self.record(chain.base.name, path, fallback, guards)
        else:
            self.visit(chain.base, guards)
        for step in chain.steps:
            if isinstance(step, nodes.Getitem) and constant_key(step.arg) is None:
                self.visit(step.arg, guards)

    def visit(self, node: nodes.Node, guards: frozenset[PathKey]) -> None:
        if isinstance(node, nodes.Name | nodes.Getattr | nodes.Getitem):
            if isinstance(node, nodes.Name) and node.ctx != "load":
                return
            self.visit_chain(node, guards)
        elif isinstance(node, nodes.Filter) and node.node is not None:
            if node.name in _FALLBACK_FILTERS:
                self.visit_chain(node.node, guards, fallback=True)
            else:
                self.visit(node.node, guards)
            self.visit_arguments(node, guards)
        elif isinstance(node, nodes.Test):
            if node.name in _DEFINED_TESTS:
                self.visit_chain(node.node, guards, fallback=True)
            else:
                self.visit(node.node, guards)
            self.visit_arguments(node, guards)
        elif isinstance(node, nodes.Call):
            callee = node.node
            # ``x.get('k')``: the method name is not part of the data path.
            self.visit(callee.node if isinstance(callee, nodes.Getattr) else callee, guards)
            self.visit_arguments(node, guards)
        elif isinstance(node, nodes.CondExpr):
            when_true, when_false = self.guards_of(node.test)
            self.visit(node.test, guards)
            self.visit(node.expr1, guards | when_true)
            if node.expr2 is not None:
                self.visit(node.expr2, guards | when_false)
        elif isinstance(node, nodes.And | nodes.Or):
            when_true, when_false = self.guards_of(node.left)
            self.visit(node.left, guards)
            known = when_true if isinstance(node, nodes.And) else when_false
            self.visit(node.right, guards | known)
        elif isinstance(node, nodes.If):
            when_true, when_false = self.guards_of(node.test)
            self.visit(node.test, guards)
            self.visit_all(node.body, guards | when_true)
            self.visit_all(node.elif_, guards | when_false)
            self.visit_all(node.else_, guards | when_false)
        elif isinstance(node, nodes.For):
            self.visit(node.iter, guards)
            self.scopes.push({"loop"})
            self.scopes.bind(node.target)
            self.visit_all([node.test, *node.body], guards)
            self.scopes.pop()
            self.visit_all(node.else_, guards)
        elif isinstance(node, nodes.Assign):
            self.visit(node.node, guards)
            self.scopes.bind(node.target)
        elif isinstance(node, nodes.AssignBlock):
            self.visit_all([node.filter, *node.body], guards)
            self.scopes.bind(node.target)
        elif isinstance(node, nodes.With):
            self.visit_all(node.values, guards)
            self.scopes.push()
            for target in node.targets:
                self.scopes.bind(target)
            self.visit_all(node.body, guards)
            self.scopes.pop()
        else:
            self.visit_all(node.iter_child_nodes(), guards)

    def visit_arguments(
        self, node: nodes.Filter | nodes.Test | nodes.Call, guards: frozenset[PathKey]
    ) -> None:
        self.visit_all([*node.args, *node.kwargs, node.dyn_args, node.dyn_kwargs], guards)


def extract_references(template: nodes.Template, source: str) -> tuple[Reference, ...]:
    """Every reference in ``template`` in order of appearance, without duplicates."""
    extractor = _Extractor(source)
    extractor.visit(template, _NO_GUARDS)
    return tuple(extractor.found.values())
