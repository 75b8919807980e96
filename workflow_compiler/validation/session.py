"""One validation run: walks a spec level by level and sends every finding to one log.

Per level the order is fixed so that later checks can rely on earlier facts: parse nodes
and edges, the control flow, then each node's own checks (which also record the output
schemas references are checked against), then its templates, then what it nests (a map
body sees the finished outer level; an inline subworkflow is a spec of its own).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from workflow_compiler.nodes.base import NodeExecutor, ValidationContext, registered_types
from workflow_compiler.spec.file_inputs import find_file_inputs, run_view
from workflow_compiler.spec.models import WorkflowSpec
from workflow_compiler.validation.ai_edges import check_llm_tools, check_tool_only_node
from workflow_compiler.validation.availability import AFTER_ALL, compute_availability
from workflow_compiler.validation.control_flow import analyse_flow
from workflow_compiler.validation.edges import EdgeGraph, check_edges
from workflow_compiler.validation.executors import output_schema_of, run_executor_checks
from workflow_compiler.validation.node_checks import (
    check_inline_input_types,
    check_inline_inputs,
    check_map_items,
    check_node_schema,
    check_switch_cases,
)
from workflow_compiler.validation.parsing import NodeEntry, parse_edge, parse_node, parse_top_level
from workflow_compiler.validation.references import Reader, TemplateChecker
from workflow_compiler.validation.reporting import IssueLog, pointer
from workflow_compiler.validation.schemas import check_schema
from workflow_compiler.validation.scopes import Level, SpecScope
from workflow_compiler.validation.templates import node_template_sites, strings_in
from workflow_compiler.validation.timeouts import check_timeout_ports


@dataclass(slots=True)
class SpecResult:
    header: WorkflowSpec | None  # top-level fields, nodes not filled in
    level: Level | None


class Session:
    def __init__(self, log: IssueLog, context: ValidationContext) -> None:
        self.log = log
        self.context = context
        self.executors: dict[str, NodeExecutor] = registered_types()
        self.templates = TemplateChecker(log)

    def check_spec(self, raw: dict[str, Any], base: str) -> SpecResult:
        header = parse_top_level(raw, base, self.log)
        scope = SpecScope(base)
        inputs = raw.get("inputs")
        if isinstance(inputs, dict) and check_schema(inputs, pointer(base, "inputs"), self.log):
            scope.inputs_schema = self._check_file_inputs(inputs, pointer(base, "inputs"))
        nodes, edges = raw.get("nodes"), raw.get("edges", [])
        if not isinstance(nodes, list) or not nodes:
            return SpecResult(header, None)
        scope.body_of = _map_body_ids(nodes)
        level = self.check_level(nodes, edges if isinstance(edges, list) else [], base, scope)
        outputs = raw.get("outputs")
        if isinstance(outputs, dict):
            reader = Reader(level, None, AFTER_ALL, "an output of the spec")
            for site in strings_in(outputs, pointer(base, "outputs"), secrets_allowed=False):
                self.templates.check(site, reader, scope)
        return SpecResult(header, level)

    def _check_file_inputs(self, inputs: dict[str, Any], path: str) -> dict[str, Any]:
        """Report bad file declarations; the schema templates read (files as descriptors)."""
        declared = find_file_inputs(inputs)
        for problem in declared.problems:
            self.log.add(problem.code, problem.message, path + problem.path, None, problem.hint)
        return run_view(inputs, declared.slots)

    def check_level(
        self, nodes: list[Any], edges: list[Any], path: str, scope: SpecScope,
        parent: Level | None = None, proxy: str | None = None,
        item_schema: dict[str, Any] | None = None,
    ) -> Level:
        log = self.log
        listed = [parse_node(item, i, f"{path}/nodes/{i}", log) for i, item in enumerate(nodes)]
        entries: dict[str, NodeEntry] = {}
        for entry in listed:
            if entry.node_id is None:
                continue
            first = scope.first_use.get(entry.node_id)
            if first is not None:
                log.add("duplicate_node_id",
                        f"node id {entry.node_id!r} is already used by the node at {first}; "
                        "ids must be unique in the whole spec, map bodies included",
                        pointer(entry.path, "id"), entry.node_id)
            else:
                scope.first_use[entry.node_id] = entry.path
            entries.setdefault(entry.node_id, entry)
        edge_entries = [parse_edge(item, i, f"{path}/edges/{i}", log)
                        for i, item in enumerate(edges)]
        graph = check_edges(entries, edge_entries, log)
        check_timeout_ports(entries, edge_entries, log)
        check_llm_tools(entries, edge_entries, log)
        topology = analyse_flow(entries, graph, path, log)
        level = Level(listed, edge_entries, entries, topology,
                      compute_availability(topology, entries), frozenset(graph.ai_only),
                      parent, proxy, item_schema)
        for entry in listed:
            self._check_node(entry, scope, tool_only=entry.node_id in graph.ai_only)
        item_schemas = {entry.path: self._check_node_templates(entry, level, graph, scope)
                        for entry in listed}
        for entry in listed:
            self._check_nested(entry, level, scope, item_schemas[entry.path])
        return level

    def _check_node(self, entry: NodeEntry, scope: SpecScope, tool_only: bool = False) -> None:
        schema_ok = check_node_schema(entry, self.log)
        if entry.model is None or entry.type_name is None:
            return
        executor = self.executors.get(entry.type_name)
        if executor is None:  # a spec-language type this installation cannot run
            self.log.add("unknown_node_type",
                         f"no executor for node type {entry.type_name!r} is installed here",
                         pointer(entry.path, "type"), entry.node_id)
        if tool_only and entry.type_name == "tool":  # the model supplies missing args
            check_tool_only_node(entry.model, self.context, entry.path, self.log)
        else:
            run_executor_checks(executor, entry.model, self.context, entry.path, self.log)
        if schema_ok and entry.node_id is not None and entry.node_id not in scope.output_schemas:
            scope.output_schemas[entry.node_id] = output_schema_of(executor, entry.model)

    def _check_node_templates(
        self, entry: NodeEntry, level: Level, graph: EdgeGraph, scope: SpecScope
    ) -> dict[str, Any] | None:
        """Check the node's templates; for a map node, the schema of one item if known."""
        node_id = entry.node_id
        position = None
        if node_id is not None and level.entries.get(node_id) is entry:
            position = graph.ai_targets.get(node_id, node_id)
        reader = Reader(level, node_id, position,
                        f"node {node_id!r}" if node_id is not None else "this node")
        direct: dict[str, dict[str, Any] | None] = {}
        for site in node_template_sites(entry.type_name or "", entry.raw, entry.path):
            direct[site.path] = self.templates.check(site, reader, scope)
        if entry.type_name == "switch":
            check_switch_cases(entry, direct.get(pointer(entry.path, "value")), self.log)
        elif entry.type_name == "subworkflow" and isinstance(entry.raw.get("spec"), dict) \
                and node_id not in level.ai_only:  # as a tool, the model gives inputs
            check_inline_input_types(entry, entry.raw["spec"], direct, self.log)
        elif entry.type_name == "map":
            return check_map_items(entry, direct.get(pointer(entry.path, "items")), self.log)
        return None

    def _check_nested(
        self, entry: NodeEntry, level: Level, scope: SpecScope,
        item_schema: dict[str, Any] | None,
    ) -> None:
        if entry.type_name == "map":
            body = entry.raw.get("body")
            if not isinstance(body, dict) or not isinstance(body.get("nodes"), list) \
                    or not body["nodes"]:
                return  # the map node's own model reports it
            edges = body.get("edges", [])
            body_path = pointer(entry.path, "body")
            body_level = self.check_level(
                body["nodes"], edges if isinstance(edges, list) else [], body_path, scope,
                parent=level, proxy=entry.node_id, item_schema=item_schema)
            if "output" in body:
                reader = Reader(body_level, entry.node_id, AFTER_ALL,
                                f"the body output of map {entry.node_id!r}")
                for site in strings_in(body["output"], pointer(body_path, "output"), False):
                    self.templates.check(site, reader, scope)
        elif entry.type_name == "subworkflow":
            child = entry.raw.get("spec")
            if isinstance(child, dict):
                self.check_spec(child, pointer(entry.path, "spec"))
                if entry.node_id not in level.ai_only:  # as a tool, the model gives inputs
                    check_inline_inputs(entry, child, self.log)


def _map_body_ids(nodes: list[Any]) -> dict[str, str]:
    """Which map's body each body node id belongs to, for messages about unseen nodes."""
    found: dict[str, str] = {}
    pending: list[tuple[str | None, list[Any]]] = [(None, nodes)]
    while pending:
        owner, listed = pending.pop()
        for node in listed:
            if not isinstance(node, dict):
                continue
            node_id = node.get("id")
            if owner is not None and isinstance(node_id, str):
                found.setdefault(node_id, owner)
            body = node.get("body")
            if node.get("type") == "map" and isinstance(node_id, str) and isinstance(body, dict) \
                    and isinstance(body.get("nodes"), list):
                pending.append((node_id, body["nodes"]))
    return found
