"""Validate + lower + compile, cached by spec hash: a spec is compiled once per process.

A ``CompiledWorkflow`` keeps the LangGraph builder and one compiled graph per
(checkpointer, memory store) pair; the bare graph serves as a child (map bodies,
subworkflows), where LangGraph lends it the parent's checkpointer (with a namespace of its
own) and the parent's store.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.graph.state import CompiledStateGraph
from langgraph.store.base import BaseStore

from workflow_compiler.compiler.lowering import lower
from workflow_compiler.compiler.mermaid import draw_mermaid
from workflow_compiler.compiler.plan import GraphPlan, build_plan, control_node_ids
from workflow_compiler.expressions import CompiledValue, compile_value
from workflow_compiler.graph.topology import Topology, build_topology
from workflow_compiler.nodes.base import ValidationContext
from workflow_compiler.spec.file_inputs import FileSlot, find_file_inputs, run_view
from workflow_compiler.spec.models import MapNode, WorkflowSpec

Graph = CompiledStateGraph[Any, Any, Any, Any]


@dataclass(slots=True)
class CompiledWorkflow:
    spec: WorkflowSpec
    spec_hash: str
    topology: Topology
    plan: GraphPlan
    graph: Graph
    outputs: CompiledValue
    body_output: CompiledValue | None = None
    _inputs_validator: Any = None
    _file_slots: tuple[FileSlot, ...] | None = None
    _builder: Any = None
    #: id(checkpointer) -> id(store) (0: none) -> graph; a bound graph holds both objects,
    #: so their ids stay unique while cached. ``_bound.pop(id(saver))`` drops a saver's graphs.
    _bound: dict[int, dict[int, Graph]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def with_checkpointer(
        self, checkpointer: BaseCheckpointSaver[Any] | None, store: BaseStore | None = None
    ) -> Graph:
        """The graph compiled with ``checkpointer`` and ``store`` (nodes read the store as
        LangGraph's ``runtime.store``), compiled once per pair."""
        if checkpointer is None and store is None:
            return self.graph
        store_key = id(store) if store is not None else 0
        with self._lock:
            by_store = self._bound.setdefault(id(checkpointer), {})
            graph = by_store.get(store_key)
            if graph is None:
                graph = self._builder.compile(checkpointer=checkpointer, store=store,
                                              name=self.spec.name)
                by_store[store_key] = graph
        return graph

    @property
    def file_slots(self) -> tuple[FileSlot, ...]:
        """Where the inputs hold files (``"format": "file"``), found once."""
        if self._file_slots is None:
            self._file_slots = find_file_inputs(self.spec.inputs).slots
        return self._file_slots

    def input_errors(self, inputs: Any, limit: int = 5) -> list[str]:
        """Why ``inputs`` do not satisfy the spec's input schema as the run sees it (file
        inputs hold descriptors, see ``spec.file_inputs``); the validator is built once."""
        from jsonschema import Draft202012Validator

        if self._inputs_validator is None:
            self._inputs_validator = Draft202012Validator(
                run_view(self.spec.inputs, self.file_slots))
        errors = sorted(self._inputs_validator.iter_errors(inputs), key=lambda e: list(e.path))
        return [("/" + "/".join(str(p) for p in e.path) if e.path else "(root)")
                + f": {e.message}" for e in errors[:limit]]

    def evaluate_outputs(self, state: dict[str, Any]) -> dict[str, Any]:
        from workflow_compiler.compiler.runner import scope_of

        result = self.outputs.evaluate(scope_of(state))
        return result if isinstance(result, dict) else {"result": result}

    def item_output(self, state: dict[str, Any]) -> Any:
        """A map body's result for one item: its ``output`` template, else its last sink."""
        from workflow_compiler.compiler.runner import scope_of

        if self.body_output is not None:
            return self.body_output.evaluate(scope_of(state))
        nodes = state.get("nodes", {})
        order = self.topology.forward_order()
        sinks = [n for n in order if not self.topology.outgoing[n]]
        last = sinks[-1] if sinks else order[-1]
        return nodes.get(last)

    def mermaid(self) -> str:
        return draw_mermaid(self.spec, self.topology)


class WorkflowCompiler:
    """Validates and compiles specs, keeping the most recent ``max_entries`` by hash."""

    def __init__(
        self, *, context: ValidationContext | None = None, max_entries: int = 256,
        fuse: bool = True,
    ) -> None:
        self.context = context
        self.max_entries = max_entries
        #: chains of pure nodes as one LangGraph node (``fusion``); off only to compare
        self.fuse = fuse
        self._cache: OrderedDict[str, CompiledWorkflow] = OrderedDict()
        self._lock = threading.Lock()

    def compile(self, raw: object) -> CompiledWorkflow:
        """Raises ``SpecValidationError`` listing every problem of an invalid spec.

        The cache is looked up by the spec's hash before validating, so starting a run of
        a known spec costs one canonical JSON dump, not a validation.
        """
        from workflow_compiler.validation import spec_hash, validate_spec

        try:
            key: str | None = spec_hash(raw)
        except (TypeError, ValueError):
            key = None  # not JSON at all: validation explains why
        if key is not None:
            with self._lock:
                cached = self._cache.get(key)
                if cached is not None:
                    self._cache.move_to_end(key)
                    return cached
        validated = validate_spec(raw, context=self.context)
        compiled = self._build(validated.spec, validated.topology, validated.spec_hash)
        with self._lock:
            self._cache[validated.spec_hash] = compiled
            while len(self._cache) > self.max_entries:
                self._cache.popitem(last=False)
        return compiled

    def _build(
        self, spec: WorkflowSpec, topology: Topology, spec_hash: str,
        body_output: Any = None,
    ) -> CompiledWorkflow:
        plan = build_plan(spec, topology)
        builder = lower(plan, lambda node: self._compile_body(spec, node, spec_hash),
                        fuse=self.fuse)
        graph = builder.compile(name=spec.name)
        return CompiledWorkflow(
            spec=spec, spec_hash=spec_hash, topology=topology, plan=plan, graph=graph,
            outputs=compile_value(spec.outputs),
            body_output=compile_value(body_output) if body_output is not None else None,
            _builder=builder,
        )

    def _compile_body(self, parent: WorkflowSpec, node: MapNode, parent_hash: str) -> Any:
        body_spec = WorkflowSpec.model_validate({
            "name": f"{parent.name}.{node.id}", "nodes": node.body.nodes,
            "edges": node.body.edges,
        })
        topology, _ = build_topology(
            control_node_ids(body_spec.nodes, body_spec.edges),
            [(e.from_, e.port, e.to, i) for i, e in enumerate(body_spec.edges)
             if e.kind == "main"],
        )
        return self._build(body_spec, topology, f"{parent_hash}:{node.id}", node.body.output)
