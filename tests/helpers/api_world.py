"""What the runs and approvals tests need around them: saved workflows, specs, a gated
HTTP server that holds a run mid-flight, and small readers of runs and SSE bodies.

Workflows and versions are made through the repositories (the service's own code, the
same rows the workflows routes make), so these tests do not depend on those routes.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

import httpx

from api.services.run_streams import sse_events
from shared.database.entities import VersionDetail, WorkflowInfo
from shared.database.repositories import VersionsRepository, WorkflowsRepository

__all__ = ["sse_events"]


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


async def saved_workflow(owner: UUID, spec: dict[str, Any], *, publish: bool = True,
                         name: str | None = None) -> tuple[WorkflowInfo, VersionDetail]:
    """A workflow whose draft is ``spec``, with version 1 of it (published by default)."""
    workflow = await WorkflowsRepository().create(owner, name or unique("wf"), spec=spec)
    version, _ = await VersionsRepository().create(owner, workflow.id, spec)
    if publish:
        version = await VersionsRepository().publish(owner, workflow.id, version.number)
    return workflow, version


def three_transforms(name: str = "three", greeting: str = "Hello") -> dict[str, Any]:
    """The benchmark's workflow: three chained transforms over a required input."""
    return {
        "spec_version": "1", "name": name,
        "inputs": {"type": "object", "properties": {"name": {"type": "string"}},
                   "required": ["name"]},
        "nodes": [
            {"id": "clean", "type": "transform", "value": "{{ inputs.name | trim }}"},
            {"id": "greet", "type": "transform",
             "value": {"text": f"{greeting}, {{{{ nodes.clean }}}}!"}},
            {"id": "shout", "type": "transform", "value": "{{ nodes.greet.text | upper }}"},
        ],
        "edges": [{"from": "clean", "to": "greet"}, {"from": "greet", "to": "shout"}],
        "outputs": {"text": "{{ nodes.greet.text }}", "loud": "{{ nodes.shout }}"},
    }


def stepped_transforms(name: str = "stepped") -> dict[str, Any]:
    """``three_transforms`` with tool steps at both ends: no two transforms in a row, so
    every node is a step of the checkpoint history of its own (a chain of transforms is
    one, see ``compiler.fusion``), as a fork from between two nodes needs."""
    spec = three_transforms(name)
    spec["nodes"][0] = {"id": "clean", "type": "tool", "tool": "text.lower",
                        "args": {"text": "{{ inputs.name | trim }}"}}
    spec["nodes"][2] = {"id": "shout", "type": "tool", "tool": "text.upper",
                        "args": {"text": "{{ nodes.greet.text }}"}}
    return spec


def approval_spec(approvers: list[str], *, min_approvals: int = 1, max_rejections: int = 1,
                  name: str = "needs-approval") -> dict[str, Any]:
    return {
        "spec_version": "1", "name": name,
        "inputs": {"type": "object", "properties": {"amount": {"type": "number"}}},
        "nodes": [
            {"id": "prepare", "type": "transform",
             "value": {"amount": "{{ inputs.amount | default(0) }}"}},
            {"id": "approve", "type": "approval",
             "question": "Refund {{ nodes.prepare.amount }}?", "approvers": approvers,
             "min_approvals": min_approvals, "max_rejections": max_rejections},
            {"id": "done", "type": "transform", "value": "refunded"},
            {"id": "no", "type": "transform", "value": "refused"},
        ],
        "edges": [{"from": "prepare", "to": "approve"},
                  {"from": "approve", "port": "approved", "to": "done"},
                  {"from": "approve", "port": "rejected", "to": "no"}],
        "outputs": {"result": "{{ nodes.done | default(nodes.no | default(none)) }}"},
    }


def signal_spec() -> dict[str, Any]:
    return {
        "spec_version": "1", "name": "waits-for-payment",
        "nodes": [{"id": "payment", "type": "signal", "signal": "paid"},
                  {"id": "thanks", "type": "transform",
                   "value": "got {{ nodes.payment.data.amount }}"}],
        "edges": [{"from": "payment", "to": "thanks"}],
        "outputs": {"thanks": "{{ nodes.thanks }}"},
    }


def input_spec() -> dict[str, Any]:
    return {
        "spec_version": "1", "name": "asks-for-data",
        "nodes": [{"id": "ask", "type": "input", "prompt": "How many?",
                   "schema": {"type": "object", "properties": {"n": {"type": "integer"}},
                              "required": ["n"]}},
                  {"id": "double", "type": "transform", "value": "{{ nodes.ask.n * 2 }}"}],
        "edges": [{"from": "ask", "to": "double"}],
        "outputs": {"doubled": "{{ nodes.double }}"},
    }


def gated_spec(url: str) -> dict[str, Any]:
    """A run that holds in its http node until the ``Gate`` serving ``url`` opens."""
    return {
        "spec_version": "1", "name": "gated",
        "nodes": [{"id": "before", "type": "transform", "value": 1},
                  {"id": "wait_gate", "type": "http", "url": url, "response": "json",
                   "allow_hosts": ["127.0.0.1"], "timeout": "PT30S"},
                  {"id": "after", "type": "transform", "value": "{{ nodes.wait_gate.body.ok }}"}],
        "edges": [{"from": "before", "to": "wait_gate"}, {"from": "wait_gate", "to": "after"}],
        "outputs": {"ok": "{{ nodes.after }}"},
    }


@dataclass
class Gate:
    """A local HTTP server whose every answer waits until ``open()``: it holds a run in
    the middle of a node for as long as a test needs (no sleeps, no timing guesses)."""

    url: str = ""
    opened: asyncio.Event = field(default_factory=asyncio.Event)
    arrived: asyncio.Event = field(default_factory=asyncio.Event)

    def open(self) -> None:
        self.opened.set()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
                     ) -> None:
        with contextlib.suppress(ConnectionError, asyncio.IncompleteReadError):
            await reader.readuntil(b"\r\n\r\n")
            self.arrived.set()
            await self.opened.wait()
            body = json.dumps({"ok": True}).encode()
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                         b"Content-Length: " + str(len(body)).encode()
                         + b"\r\nConnection: close\r\n\r\n" + body)
            await writer.drain()
        writer.close()


@contextlib.asynccontextmanager
async def gate() -> AsyncIterator[Gate]:
    held = Gate()
    server = await asyncio.start_server(held._serve, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    held.url = f"http://127.0.0.1:{port}/gate"
    try:
        yield held
    finally:
        held.open()
        server.close()
        await server.wait_closed()


async def wait_for_status(client: httpx.AsyncClient, run_id: str, statuses: set[str],
                          within: float = 20.0) -> dict[str, Any]:
    """Poll GET /v1/runs/{id} until its status is one of ``statuses``."""
    async with asyncio.timeout(within):
        while True:
            run: dict[str, Any] = (await client.get(f"/v1/runs/{run_id}")).json()
            if run["status"] in statuses:
                return run
            await asyncio.sleep(0.02)


def event_types(frames: list[dict[str, Any]]) -> list[str]:
    return [str(f["event"] if "event" in f else f["type"]) for f in frames]


def assert_gap_free(frames: list[dict[str, Any]], first: int = 1) -> None:
    """SSE frames (or JSON events) numbered first, first+1, ... with matching ids."""
    seqs = [int(f["data"]["seq"]) if "event" in f else int(f["seq"]) for f in frames]
    assert seqs == list(range(first, first + len(seqs))), seqs
    for frame in frames:
        if "event" in frame:
            assert int(frame["id"]) == frame["data"]["seq"]
            assert frame["event"] == frame["data"]["type"]
