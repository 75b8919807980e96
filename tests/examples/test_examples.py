"""Every spec in ``examples/`` runs here, end to end, through ``WorkflowRuntime``.

The examples are what the README and the docs point people at, so each test asserts the
exact outputs a reader would see, and runs on the checkpointers a reader may use. Runs that
pause are answered the way a person, a webhook or the scheduler would, then checked to
complete. The http examples talk to a real HTTP server on 127.0.0.1, reached only because
the runtime's ``HttpPolicy`` allows it: the specs themselves allow nothing.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import subprocess
import sys
import threading
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from workflow_compiler.compiler.cache import WorkflowCompiler
from workflow_compiler.errors import InvalidResponseError
from workflow_compiler.files import LocalFiles, resolve_file_inputs
from workflow_compiler.nodes.base import ValidationContext
from workflow_compiler.runtime import RunEvent, RunResult, WorkflowRuntime
from workflow_compiler.runtime.checkpointers import open_checkpointer
from workflow_compiler.services import DirectoryResolver, HttpPolicy, RuntimeServices
from workflow_compiler.spec.models import NODE_MODELS
from workflow_compiler.tools.registry import default_tool_registry
from workflow_compiler.validation import validate_spec

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def load(name: str) -> dict[str, Any]:
    spec: dict[str, Any] = json.loads((EXAMPLES / f"{name}.json").read_text(encoding="utf-8"))
    return spec


async def run(rt: WorkflowRuntime, name: str, inputs: dict[str, Any]
              ) -> tuple[RunResult, list[RunEvent]]:
    events = [e async for e in rt.stream(load(name), inputs)]
    return await rt.result(events[0].run_id), events


def count(events: list[RunEvent], node_id: str, kind: str = "node.completed") -> int:
    return sum(1 for e in events if e.type == kind and e.node_id == node_id)


def by_node(result: RunResult) -> dict[str, str]:
    return {i.node_id: i.id for i in result.interrupts}


@asynccontextmanager
async def runtime_with(checkpointer_url: str, services: RuntimeServices
                       ) -> AsyncIterator[WorkflowRuntime]:
    """Like the ``runtime`` fixture, with services of the test's choosing."""
    context = ValidationContext(tool_names=services.tools.names())
    async with open_checkpointer(checkpointer_url) as saver:
        yield WorkflowRuntime(checkpointer=saver, services=services,
                              compiler=WorkflowCompiler(context=context))


# --------------------------------------------------------------------------- the catalog


def example_files() -> list[Path]:
    return sorted(EXAMPLES.glob("*.json"))


def node_types(nodes: list[dict[str, Any]]) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every node, map bodies and inline subworkflow specs included."""
    for node in nodes:
        yield node["type"], node
        if node["type"] == "map":
            yield from node_types(node["body"]["nodes"])
        if node["type"] == "subworkflow" and "spec" in node:
            yield from node_types(node["spec"]["nodes"])


def test_there_are_at_least_twelve_examples() -> None:
    assert len(example_files()) >= 12


@pytest.mark.parametrize("path", example_files(), ids=lambda p: p.name)
def test_example_validates_and_describes_itself(path: Path) -> None:
    assert re.fullmatch(r"[a-z][a-z0-9_]*\.json", path.name)
    text = path.read_text(encoding="utf-8")
    raw = json.loads(text)
    assert raw["spec_version"] == "1"
    assert len(raw.get("description", "")) > 40
    # Only built-in tools: every example must run from the CLI as it is.
    validate_spec(raw, context=ValidationContext(tool_names=default_tool_registry().names()))
    indents = {len(line) - len(line.lstrip(" ")) for line in text.splitlines()}
    assert all(indent % 2 == 0 for indent in indents), "JSON is indented by 2 spaces"


def test_examples_cover_every_node_type_and_both_subworkflow_sources() -> None:
    used: set[str] = set()
    sources: set[str] = set()
    for path in example_files():
        for type_name, node in node_types(json.loads(path.read_text(encoding="utf-8"))["nodes"]):
            used.add(type_name)
            if type_name == "subworkflow":
                sources.add("workflow" if "workflow" in node else "spec")
    assert used == set(NODE_MODELS)
    assert len(used) == 12
    assert sources == {"workflow", "spec"}


def test_readme_documents_every_example() -> None:
    readme = (EXAMPLES / "README.md").read_text(encoding="utf-8")
    for path in example_files():
        assert f"`{path.name}`" in readme, path.name
        assert f"examples/{path.name}" in readme, path.name


# --------------------------------------------------------------------------- quick start


async def test_hello(runtime: WorkflowRuntime) -> None:
    result, events = await run(runtime, "hello", {"name": "  ada lovelace "})
    assert result.status == "completed", result.error
    assert result.outputs == {
        "greeting": "Hello, Ada Lovelace! 11 letters, what a grand name.", "letters": 11,
    }
    assert count(events, "short", "node.skipped") == 1
    assert count(events, "reply") == 1

    result, _ = await run(runtime, "hello", {"name": "World"})  # the README's quick start
    assert result.outputs == {"greeting": "Hello, World! Short and sweet: 5 letters.",
                              "letters": 5}

    result, events = await run(runtime, "hello", {"name": "bo"})
    assert result.status == "completed", result.error
    assert result.outputs == {"greeting": "Hello, Bo! Short and sweet: 2 letters.", "letters": 2}
    assert count(events, "grand", "node.skipped") == 1


# --------------------------------------------------------------------------- llm + human


async def test_refund_triage_small_amount_needs_no_approval(runtime: WorkflowRuntime) -> None:
    result, events = await run(runtime, "refund_triage",
                               {"ticket": "Please refund my order", "amount": 40})
    assert result.status == "completed", result.error
    assert result.outputs == {
        "reply": "Handled: refund (no approval needed)",
        "category": "refund",
        "reason": "the customer asks for their money back",
        "approved_by": [],
    }
    assert count(events, "approve", "node.skipped") == 1
    assert count(events, "reply") == 1


@pytest.mark.parametrize(("decision", "outcome", "approved_by"), [
    ("approve", "approved", ["bob"]),
    ("reject", "rejected", []),
])
async def test_refund_triage_big_amount_waits_for_an_approver(
    runtime: WorkflowRuntime, decision: str, outcome: str, approved_by: list[str]
) -> None:
    paused, _ = await run(runtime, "refund_triage",
                          {"ticket": "Please refund my order", "amount": 250})
    assert paused.status == "paused"
    (pending,) = paused.interrupts
    assert pending.node_id == "approve"
    assert pending.kind == "approval"
    assert pending.payload["question"] == "Refund 250 for: Please refund my order?"
    assert pending.payload["approvers"] == ["alice", "bob"]
    assert pending.due_at is not None
    with pytest.raises(InvalidResponseError, match="not an approver"):
        await runtime.resume(paused.run_id, {"by": "mallory", "decision": "approve"})
    assert (await runtime.result(paused.run_id)).status == "paused"

    done = await runtime.resume(paused.run_id, {"by": "bob", "decision": decision})
    assert done.status == "completed", done.error
    assert done.outputs == {
        "reply": f"Handled: refund ({outcome})",
        "category": "refund",
        "reason": "the customer asks for their money back",
        "approved_by": approved_by,
    }
    events = await runtime.events(paused.run_id)
    assert count(events, "classify") == 1  # the model is not asked again on resume
    assert count(events, "reply") == 1


async def test_refine_loop(runtime: WorkflowRuntime) -> None:
    result, events = await run(runtime, "refine_loop", {"product": " Graphwright ", "rounds": 3})
    assert result.status == "completed", result.error
    takes = [f"[copywriter] Tagline for Graphwright, take {n}" for n in (1, 2, 3)]
    assert result.outputs == {"final": takes[-1], "rounds": 3, "history": takes}
    assert count(events, "draft") == 3
    assert count(events, "enough") == 3
    assert count(events, "publish") == 1

    result, events = await run(runtime, "refine_loop", {"product": "Graphwright", "rounds": 1})
    assert result.outputs == {"final": takes[0], "rounds": 1, "history": takes[:1]}
    assert count(events, "draft") == 1


async def test_nested_loops(runtime: WorkflowRuntime) -> None:
    result, events = await run(runtime, "nested_loops",
                               {"chapters": ["Beginnings", " Middles "], "takes": 2})
    assert result.status == "completed", result.error
    assert result.outputs == {"book": [
        {"title": "Beginnings", "text": "[writer] Chapter 1 (Beginnings), take 2", "takes": 2},
        {"title": "Middles", "text": "[writer] Chapter 2 (Middles), take 2", "takes": 2},
    ], "drafts": 4}
    assert count(events, "chapter") == 2
    assert count(events, "draft") == 4  # two takes per chapter: the inner counter restarts
    assert count(events, "keep") == 2
    assert count(events, "publish") == 1

    result, events = await run(runtime, "nested_loops", {"chapters": ["Solo"], "takes": 3})
    assert result.outputs == {"book": [
        {"title": "Solo", "text": "[writer] Chapter 1 (Solo), take 3", "takes": 3},
    ], "drafts": 3}
    assert count(events, "draft") == 3


async def test_dual_signoff_signs_when_both_branches_approve(runtime: WorkflowRuntime) -> None:
    paused, _ = await run(runtime, "dual_signoff", {"vendor": "Acme", "amount": 12000})
    assert paused.status == "paused"
    ids = by_node(paused)
    assert sorted(ids) == ["finance", "legal"]
    questions = {i.node_id: i.payload["question"] for i in paused.interrupts}
    assert questions == {"legal": "Legal review: Contract with Acme for 12000",
                         "finance": "Budget check: Contract with Acme for 12000"}
    with pytest.raises(InvalidResponseError, match="several interrupts"):
        await runtime.resume(paused.run_id, {"by": "fay", "decision": "approve"})

    mid = await runtime.resume(paused.run_id, {"by": "fay", "decision": "approve"},
                               interrupt_id=ids["finance"])
    assert mid.status == "paused"
    assert list(by_node(mid)) == ["legal"]
    mid = await runtime.resume(paused.run_id, {"by": "lee", "decision": "approve"},
                               interrupt_id=ids["legal"])
    assert mid.status == "paused", "min_approvals is 2: one lawyer is not enough"
    (legal,) = mid.interrupts
    assert [r["by"] for r in legal.payload["responses"]] == ["lee"]
    with pytest.raises(InvalidResponseError, match="already responded"):
        await runtime.resume(paused.run_id, {"by": "lee", "decision": "approve"})

    done = await runtime.resume(paused.run_id, {"by": "lin", "decision": "approve"})
    assert done.status == "completed", done.error
    assert done.outputs == {"outcome": "signed", "legal": "approved",
                            "legal_approvers": ["lee", "lin"], "finance": "approved"}
    assert count(await runtime.events(paused.run_id), "both") == 1


async def test_dual_signoff_declines_on_one_rejection(runtime: WorkflowRuntime) -> None:
    paused, _ = await run(runtime, "dual_signoff", {"vendor": "Acme", "amount": 12000})
    ids = by_node(paused)
    await runtime.resume(paused.run_id, {"by": "lou", "decision": "reject"},
                         interrupt_id=ids["legal"])
    done = await runtime.resume(paused.run_id, {"by": "fox", "decision": "approve"},
                                interrupt_id=ids["finance"])
    assert done.status == "completed", done.error
    assert done.outputs == {"outcome": "declined", "legal": "rejected",
                            "legal_approvers": [], "finance": "approved"}


async def test_collect_details(runtime: WorkflowRuntime) -> None:
    paused, _ = await run(runtime, "collect_details", {"customer": "Ada", "order_id": "A-17"})
    assert paused.status == "paused"
    (pending,) = paused.interrupts
    assert pending.kind == "input"
    assert pending.node_id == "details"
    assert pending.payload["prompt"] == "Where should order A-17 for Ada go?"
    with pytest.raises(InvalidResponseError, match="postcode"):
        await runtime.resume(paused.run_id, {"street": "1 Main St", "city": "Leeds",
                                             "postcode": "LS1", "quantity": 2})
    with pytest.raises(InvalidResponseError, match="maximum"):
        await runtime.resume(paused.run_id, {"street": "1 Main St", "city": "Leeds",
                                             "postcode": "12345", "quantity": 11})
    assert (await runtime.result(paused.run_id)).status == "paused"

    done = await runtime.resume(paused.run_id, {"street": "1 Main St", "city": "Leeds",
                                                "postcode": "12345", "quantity": 2})
    assert done.status == "completed", done.error
    assert done.outputs == {"label": {"to": "Ada", "address": "1 Main St, 12345 LEEDS",
                                      "parcels": 2, "gift_wrap": False}}


async def test_collect_details_times_out_after_a_week(runtime: WorkflowRuntime) -> None:
    paused, _ = await run(runtime, "collect_details", {"customer": "Ada", "order_id": "A-17"})
    assert await runtime.fire_due(datetime.now(UTC) + timedelta(days=6)) == []
    assert await runtime.fire_due(datetime.now(UTC) + timedelta(days=8)) == [paused.run_id]
    done = await runtime.result(paused.run_id)
    assert done.status == "completed", done.error
    assert done.outputs == {"label": {"to": "Ada", "address": None}}


# --------------------------------------------------------------------------- timers, signals


@pytest.mark.parametrize(("amount", "status"), [(99.5, "paid"), (50, "partially_paid")])
async def test_payment_webhook_signal(runtime: WorkflowRuntime, amount: float, status: str
                                      ) -> None:
    paused, _ = await run(runtime, "payment_webhook", {"invoice_id": "INV-9", "amount": 99.5})
    assert paused.status == "paused"
    (pending,) = paused.interrupts
    assert pending.kind == "signal"
    assert pending.payload["signal"] == "payment.received"
    done = await runtime.signal(paused.run_id, "payment.received",
                                {"amount": amount, "reference": "pay_123"})
    assert done.status == "completed", done.error
    assert done.outputs == {"invoice": "INV-9",
                            "result": {"status": status, "received": amount,
                                       "reference": "pay_123"}}


async def test_payment_webhook_timeout_port(runtime: WorkflowRuntime) -> None:
    paused, _ = await run(runtime, "payment_webhook", {"invoice_id": "INV-9", "amount": 99.5})
    due = datetime.fromisoformat(paused.interrupts[0].due_at or "")
    assert timedelta(hours=23) < due - datetime.now(UTC) <= timedelta(hours=24)
    assert await runtime.fire_due(due + timedelta(minutes=1)) == [paused.run_id]
    done = await runtime.result(paused.run_id)
    assert done.status == "completed", done.error
    assert done.outputs == {"invoice": "INV-9",
                            "result": {"status": "overdue",
                                       "reminder": "Invoice INV-9 is still open: 99.5 due."}}


async def test_cooldown(runtime: WorkflowRuntime) -> None:
    messages = ["Hi Ada, we got your request.", "Ada, here is your follow-up."]
    urgent, events = await run(runtime, "cooldown", {"user": "Ada", "urgent": True})
    assert urgent.status == "completed", urgent.error
    assert urgent.outputs == {"messages": messages, "waited": False}
    assert count(events, "cool_down", "node.skipped") == 1

    paused, _ = await run(runtime, "cooldown", {"user": "Ada", "urgent": False})
    assert paused.status == "paused"
    (pending,) = paused.interrupts
    assert pending.kind == "wait"
    due = datetime.fromisoformat(pending.due_at or "")
    assert timedelta(0) < due - datetime.now(UTC) <= timedelta(seconds=2)
    assert await runtime.fire_due(due + timedelta(seconds=1)) == [paused.run_id]
    done = await runtime.result(paused.run_id)
    assert done.status == "completed", done.error
    assert done.outputs == {"messages": messages, "waited": True}


# --------------------------------------------------------------------------- control flow


async def test_parallel_enrichment(runtime: WorkflowRuntime) -> None:
    result, events = await run(runtime, "parallel_enrichment", {
        "title": "  Crème Brûlée for the Busy Cook: the the basics ", "max_length": 30,
    })
    assert result.status == "completed", result.error
    assert result.outputs == {"profile": {
        "slug": "creme-brulee-for-the-busy-cook-the-the-basics",
        "keywords": ["crème", "brûlée", "for", "the", "busy", "cook:", "basics"],
        "length": 46,
        "headline": "Crème Brûlée for the Busy C...",
        "shortened": True,
    }}
    assert count(events, "profile") == 1
    assert count(events, "keep", "node.skipped") == 1
    # the three branches are scheduled in one superstep
    steps = [set(h["next"]) for h in await runtime.history(result.run_id)]
    assert {"slug", "words", "measure"} in steps

    result, events = await run(runtime, "parallel_enrichment",
                               {"title": "Short One", "max_length": 30})
    assert result.outputs == {"profile": {"slug": "short-one", "keywords": ["short", "one"],
                                          "length": 9, "headline": "Short One",
                                          "shortened": False}}
    assert count(events, "shorten", "node.skipped") == 1
    assert count(events, "profile") == 1


@pytest.mark.parametrize(("express", "carrier", "shipping", "total"), [
    (False, "standard", 9.5, 119.5),
    (True, "express", 16.5, 126.5),
])
async def test_nested_diamonds(runtime: WorkflowRuntime, express: bool, carrier: str,
                               shipping: float, total: float) -> None:
    result, events = await run(runtime, "nested_diamonds", {
        "prices": [40, 35.5, 24.5], "tax_rate": 0.2, "weight_kg": 3, "express": express,
    })
    assert result.status == "completed", result.error
    assert result.outputs == {"invoice": {
        "lines": 3, "subtotal": 100.0, "tax": 20.0, "discount": 10,
        "shipping": shipping, "carrier": carrier, "total": total,
    }}
    for join in ("net", "shipping", "invoice"):
        assert count(events, join) == 1, join


@pytest.mark.parametrize(("kind", "queue", "team", "sla"), [
    ("Billing", "billing", "finance", 24),
    ("bug", "bug", "engineering", 72),
    (" OUTAGE ", "outage", "on-call", 1),
    ("feature request", "general", "front-desk", 48),
])
async def test_ticket_router(runtime: WorkflowRuntime, kind: str, queue: str, team: str,
                             sla: int) -> None:
    result, events = await run(runtime, "ticket_router", {"kind": kind, "subject": "Help"})
    assert result.status == "completed", result.error
    assert result.outputs == {"queue": queue, "team": team, "sla_hours": sla,
                              "title": f"[{queue.upper()}] Help"}
    assert count(events, "assign") == 1
    assert sum(1 for e in events if e.type == "node.skipped") == 3


async def test_matrix_map(runtime: WorkflowRuntime) -> None:
    result, _ = await run(runtime, "matrix_map", {"matrix": [[1, 2, 3], [4], []], "factor": 10})
    assert result.status == "completed", result.error
    assert result.outputs == {"scaled": [[10, 20, 30], [40], []], "row_totals": [60, 40, 0],
                              "grand_total": 100}

    result, _ = await run(runtime, "matrix_map", {"matrix": [], "factor": 2})
    assert result.outputs == {"scaled": [], "row_totals": [], "grand_total": 0}


async def test_batch_subworkflow(runtime: WorkflowRuntime) -> None:
    result, _ = await run(runtime, "batch_subworkflow", {"lines": [
        {"sku": "ab-1", "qty": 2, "unit_price": 3.5},
        {"sku": "cd-2", "qty": 10, "unit_price": 1.25},
        {"sku": "ef-3", "qty": 1, "unit_price": 20},
    ]})
    assert result.status == "completed", result.error
    assert result.outputs == {
        "lines": [{"sku": "AB-1", "amount": 7.0, "bulk": False},
                  {"sku": "CD-2", "amount": 11.25, "bulk": True},
                  {"sku": "EF-3", "amount": 20.0, "bulk": False}],
        "total": 38.25,
    }


# --------------------------------------------------------------------------- file inputs

#: the README's command, run from the repository root
FILE_REPORT_CLI = ["run", "examples/file_report.json", "--input",
                   "report=@examples/data/q3_sales.csv", "--input",
                   'attachments=["@examples/data/notes.txt"]', "--json"]
FILE_REPORT_OUTPUTS = {
    "summary": "q3_sales.csv: 54 bytes of text/csv, 1 attachment(s)",
    "report": {"name": "q3_sales.csv", "bytes": 54, "content_type": "text/csv",
               "fingerprint": "bee5a3573cda"},
    "attachments": ["notes.txt (23 bytes)"],
}


async def test_file_report(runtime: WorkflowRuntime) -> None:
    slots = runtime.compiler.compile(load("file_report")).file_slots
    inputs = await resolve_file_inputs(
        slots, {"report": "@examples/data/q3_sales.csv",
                "attachments": ["@examples/data/notes.txt"]}, LocalFiles(EXAMPLES.parent))
    assert inputs["report"]["sha256"].startswith("bee5a3573cda")
    result, events = await run(runtime, "file_report", inputs)
    assert result.status == "completed", result.error
    assert result.outputs == FILE_REPORT_OUTPUTS
    assert count(events, "list_attachments") == 1

    alone = await resolve_file_inputs(slots, {"report": "@examples/data/notes.txt"},
                                      LocalFiles(EXAMPLES.parent))
    result, _ = await run(runtime, "file_report", alone)
    assert result.outputs["summary"] == "notes.txt: 23 bytes of text/plain, 0 attachment(s)"


def test_file_report_from_the_cli(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GRAPHWRIGHT_")}
    env["GRAPHWRIGHT_HOME"] = str(tmp_path)
    graphwright = Path(sys.executable).parent / "graphwright"
    done = subprocess.run([str(graphwright), *FILE_REPORT_CLI], capture_output=True, text=True,
                          cwd=EXAMPLES.parent, env=env, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    completed = json.loads(done.stdout.splitlines()[-1])
    assert completed["type"] == "run.completed"
    assert completed["data"]["outputs"] == FILE_REPORT_OUTPUTS


async def test_greeter_runs_on_its_own(runtime: WorkflowRuntime) -> None:
    result, _ = await run(runtime, "greeter", {"name": "Ada"})
    assert result.outputs == {"greeting": "Hello, Ada!"}
    result, _ = await run(runtime, "greeter", {"name": "Ada", "language": "es"})
    assert result.outputs == {"greeting": "Hola, Ada!"}


async def test_call_by_name_resolves_greeter_from_the_examples_directory(
    checkpointer_url: str, services: RuntimeServices
) -> None:
    with_files = dataclasses.replace(services, resolver=DirectoryResolver(EXAMPLES))
    async with runtime_with(checkpointer_url, with_files) as rt:
        result, events = await run(rt, "call_by_name",
                                   {"host": "Ada", "guest": "Grace", "language": "fr"})
    assert result.status == "completed", result.error
    assert result.outputs == {"card": "Bonjour, Ada! Bonjour, Grace!",
                              "host": "Bonjour, Ada!", "guest": "Bonjour, Grace!"}
    assert count(events, "card") == 1


async def test_call_by_name_fails_clearly_without_the_saved_workflow(
    runtime: WorkflowRuntime,
) -> None:
    result, _ = await run(runtime, "call_by_name",
                          {"host": "Ada", "guest": "Grace", "language": "en"})
    assert result.status == "failed"
    assert result.error is not None
    assert "greeter" in result.error["message"]


@pytest.mark.parametrize(("city", "source", "forecast"), [
    ("Paris", "cache", "rain"),
    ("Oslo", "service", "sunny at station oslo-01"),
])
async def test_first_responder_joins_on_the_first_live_arrival(
    runtime: WorkflowRuntime, city: str, source: str, forecast: str
) -> None:
    result, events = await run(runtime, "first_responder",
                               {"city": city, "cache": {"paris": "rain"}})
    assert result.status == "completed", result.error
    assert result.outputs == {"source": source, "forecast": forecast,
                              "service_forecast": f"sunny at station {city.lower()}-01"}
    assert count(events, "answer") == 1
    assert count(events, "from_service") == 1  # the slower path still finishes
    if source == "cache":  # answered before the service path was done
        seqs = {e.node_id: e.seq for e in events if e.type == "node.completed"}
        assert seqs["answer"] < seqs["from_service"]


# --------------------------------------------------------------------------- http


class _Handler(BaseHTTPRequestHandler):
    """/users/<id>: a JSON user; /flaky/<n>: 503 for the first n calls; /down: always 503."""

    server: _Server

    def do_GET(self) -> None:
        url = urlsplit(self.path)
        self.server.requests.append({"path": url.path, "query": parse_qs(url.query),
                                     "accept": self.headers.get("Accept")})
        hits = self.server.hits
        hits[url.path] = hits.get(url.path, 0) + 1
        if match := re.fullmatch(r"/users/(\d+)", url.path):
            self._json(200, {"id": int(match[1]), "name": "Ada Lovelace",
                             "email": "ADA@Example.org", "roles": ["admin", "author"]})
        elif match := re.fullmatch(r"/flaky/(\d+)", url.path):
            if hits[url.path] <= int(match[1]):
                self._json(503, {"error": "warming up"})
            else:
                self._json(200, {"rates": {"EUR": 1.0, "USD": 1.08}})
        else:
            self._json(503, {"error": "down for maintenance"})

    def _json(self, status: int, body: object) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:
        pass  # keep test output clean


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.requests: list[dict[str, Any]] = []
        self.hits: dict[str, int] = {}

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


@pytest.fixture
def http_server() -> Iterator[_Server]:
    server = _Server()
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


@pytest.fixture
async def http_runtime(checkpointer_url: str, services: RuntimeServices
                       ) -> AsyncIterator[WorkflowRuntime]:
    allowed = dataclasses.replace(services, http=HttpPolicy(allow_hosts=("127.0.0.1",)))
    async with runtime_with(checkpointer_url, allowed) as rt:
        yield rt


async def test_fetch_json(http_runtime: WorkflowRuntime, http_server: _Server) -> None:
    result, _ = await run(http_runtime, "fetch_json",
                          {"base_url": http_server.base_url, "user_id": 7})
    assert result.status == "completed", result.error
    assert result.outputs == {"profile": {"status": 200, "name": "Ada Lovelace",
                                          "email": "ada@example.org", "admin": True}}
    assert http_server.requests == [{"path": "/users/7",
                                     "query": {"fields": ["name,email,roles"]},
                                     "accept": "application/json"}]


async def test_fetch_json_is_refused_without_the_runtime_allow_list(
    runtime: WorkflowRuntime, http_server: _Server
) -> None:
    result, _ = await run(runtime, "fetch_json", {"base_url": http_server.base_url, "user_id": 7})
    assert result.status == "failed"
    assert result.error is not None
    assert result.error["code"] == "ssrf_blocked"
    assert http_server.requests == []


async def test_resilient_fetch_retries_until_the_service_recovers(
    http_runtime: WorkflowRuntime, http_server: _Server
) -> None:
    result, events = await run(http_runtime, "resilient_fetch",
                               {"url": f"{http_server.base_url}/flaky/2"})
    assert result.status == "completed", result.error
    assert result.outputs == {"source": "live", "data": {"rates": {"EUR": 1.0, "USD": 1.08}}}
    assert http_server.hits == {"/flaky/2": 3}
    assert count(events, "fetch", "node.retrying") == 2
    assert count(events, "fallback", "node.skipped") == 1


async def test_resilient_fetch_routes_the_last_failure_to_the_fallback(
    http_runtime: WorkflowRuntime, http_server: _Server
) -> None:
    result, events = await run(http_runtime, "resilient_fetch",
                               {"url": f"{http_server.base_url}/down"})
    assert result.status == "completed", result.error
    assert result.outputs == {"source": "fallback",
                              "data": {"rates": {}, "note": "upstream unavailable: http_status"}}
    assert http_server.hits == {"/down": 3}
    (failed,) = [e for e in events if e.type == "node.failed" and e.node_id == "fetch"]
    assert failed.data["handled"] is True
    assert failed.data["error"]["code"] == "http_status"
    assert count(events, "live", "node.skipped") == 1
    assert count(events, "answer") == 1
