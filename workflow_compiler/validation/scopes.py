"""What a template can see: the graph level it sits in, the levels around it, the spec.

Levels nest: a map body sees its own nodes, and through its map node the nodes of the
level around it, exactly as if the map node itself had made the reference (the body runs
while the map node runs, with the outer outputs of that moment). An inline subworkflow's
spec is a new, closed scope.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from workflow_compiler.graph.topology import Topology
from workflow_compiler.validation.availability import Availability, Verdict
from workflow_compiler.validation.parsing import EdgeEntry, NodeEntry


@dataclass(slots=True)
class Level:
    """One graph: the top level of a spec, or one map body."""

    nodes: list[NodeEntry]  # every node as listed, duplicates and broken ones included
    edges: list[EdgeEntry]
    entries: dict[str, NodeEntry]  # by id, first occurrence in this level
    topology: Topology
    availability: Availability
    ai_only: frozenset[str]
    parent: Level | None = None
    proxy: str | None = None  # the map node standing for this body in ``parent``
    item_schema: dict[str, Any] | None = None
    _visible: list[str] | None = field(default=None, repr=False)

    @property
    def in_map(self) -> bool:
        return self.parent is not None

    def locate(self, node_id: str, reader: str | None) -> Verdict | None:
        """Find ``node_id`` from ``reader`` outwards; None when no enclosing level has it.

        With no reader (a node whose own id is broken) the node is still found, but its
        ordering cannot be judged: the verdict is UNKNOWN.
        """
        level: Level | None = self
        current = reader
        while level is not None:
            if node_id in level.entries:
                if node_id in level.ai_only:
                    return Verdict.NOT_ANCESTOR
                if current is None:
                    return Verdict.UNKNOWN
                return level.availability.verdict(node_id, current)
            current, level = level.proxy, level.parent
        return None

    def visible_ids(self) -> list[str]:
        """Ids a template here may name (for hints); computed once per level."""
        if self._visible is None:
            self._visible = [*self.entries, *(self.parent.visible_ids() if self.parent else ())]
        return self._visible


@dataclass(slots=True)
class SpecScope:
    """Facts shared by every level of one standalone spec."""

    base: str  # pointer to the spec object ("" for the top-level spec)
    inputs_schema: dict[str, Any] | None = None
    first_use: dict[str, str] = field(default_factory=dict)  # node id -> pointer of its node
    body_of: dict[str, str] = field(default_factory=dict)  # body node id -> its map node id
    output_schemas: dict[str, dict[str, Any] | None] = field(default_factory=dict)
