"""The contract every node type implements, and the registry the compiler looks them up in.

A node type is one small module: its config model (from ``spec.models``), its ports, its
static checks and its ``execute``. The lowering wraps ``execute`` with the common policies
(when, retry, timeout, on_error), events and routing, so executors only do their own job.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

from workflow_compiler.errors import SpecIssue
from workflow_compiler.spec.models import NodeBase

if TYPE_CHECKING:
    from workflow_compiler.services import RuntimeServices


@dataclass(slots=True)
class NodeResult:
    """What an executor produced: the node's output and the port(s) control leaves through."""

    output: Any
    ports: tuple[str, ...] = ("out",)
    usage: dict[str, int] | None = None


EmitFn = Callable[[str, dict[str, Any]], None]


@dataclass(slots=True)
class NodeContext:
    """Everything an executor may use; templates are evaluated through ``render``."""

    node: NodeBase
    run_id: str
    scope: Mapping[str, Any]
    services: RuntimeServices
    attempt: int = 1
    visit: int = 1  # which pass of its loop this is (always 1 outside loops)
    node_path: str = ""  # the node's id qualified by its subgraph path, e.g. "m[2].approve"
    emit: EmitFn = field(default=lambda _type, _data: None)
    config: Mapping[str, Any] = field(default_factory=dict)  # runtime and state, for nesting
    #: when this attempt's ``timeout`` ends, on the event loop's clock (None: no timeout)
    deadline: float | None = None
    #: compiled templates of this node's config, shared across runs (see ``render``)
    cache: dict[int, tuple[Any, Any]] = field(default_factory=dict)

    def render(self, value: Any) -> Any:
        """Evaluate ``value``'s templates; config values are compiled once per node."""
        from workflow_compiler.expressions import compile_value

        if isinstance(value, str):  # compile_template has its own cache
            return compile_value(value).evaluate(self.scope)
        entry = self.cache.get(id(value))
        if entry is None or entry[0] is not value:
            entry = (value, compile_value(value))
            if len(self.cache) < 256:
                self.cache[id(value)] = entry
        return entry[1].evaluate(self.scope)


@dataclass(slots=True)
class ValidationContext:
    """What a node type's static checks may consult (registries, resolver) beyond the node."""

    tool_names: frozenset[str] = frozenset()
    provider_names: frozenset[str] = frozenset()


class NodeExecutor(Protocol):
    type_name: ClassVar[str]
    config_model: ClassVar[type[NodeBase]]

    def validate(self, node: NodeBase, ctx: ValidationContext, path: str) -> list[SpecIssue]:
        """Checks beyond the config model (known tool, valid JSON Schema, ...)."""
        ...

    def output_schema(self, node: NodeBase) -> dict[str, Any] | None:
        """JSON Schema of the output where the type declares one, for reference checks."""
        ...

    def execute(self, ctx: NodeContext) -> Awaitable[NodeResult]: ...


_REGISTRY: dict[str, NodeExecutor] = {}


def register(executor: NodeExecutor) -> NodeExecutor:
    _REGISTRY[executor.type_name] = executor
    return executor


def get_executor(type_name: str) -> NodeExecutor:
    from workflow_compiler.nodes import load_builtin_executors

    load_builtin_executors()
    return _REGISTRY[type_name]


def registered_types() -> dict[str, NodeExecutor]:
    from workflow_compiler.nodes import load_builtin_executors

    load_builtin_executors()
    return dict(_REGISTRY)
