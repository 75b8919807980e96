"""Prometheus metrics of one app: HTTP latency, runs by status, node durations.

Each app has its own ``CollectorRegistry`` (never the global one), so several apps in one
process (tests, or an app per worker thread) neither collide nor mix their numbers.

* ``graphwright_http_request_duration_seconds{method, route, status}``: by route
  *template* (``/v1/workflows/{workflow_id}``), never the raw path, which would give one
  series per id; unmatched paths share one label.
* ``graphwright_runs{status}``: a gauge read from the database at scrape time, so it is
  right across processes and restarts (events seen by this process would not be).
* ``graphwright_runs_finished_total{status}``: runs this process saw complete, fail or
  be cancelled (from the runtime's events; ``rate()`` of it is the throughput).
* ``graphwright_node_duration_seconds{node_type}``: from ``node.completed`` events; the
  type comes from the node's ``node.started`` event, remembered until it completes.
"""

from __future__ import annotations

import time
from collections import OrderedDict

from fastapi.routing import iter_route_contexts
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from starlette.routing import BaseRoute
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shared.database.repositories import StatsRepository
from workflow_compiler.runtime.events import RunEvent

UNMATCHED_ROUTE = "<unmatched>"
#: any other method a client invents is labelled OTHER: labels must stay a bounded set
KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
#: nodes started and not yet completed that we remember the type of (paused runs included)
MAX_OPEN_NODES = 100_000
_FINISHED = {"run.completed": "completed", "run.failed": "failed",
             "run.cancelled": "cancelled"}
_NODE_BUCKETS = (0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
                 60.0, 300.0, 1800.0, 3600.0)


class ServiceMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.http_latency = Histogram(
            "graphwright_http_request_duration_seconds",
            "HTTP request duration until the response ends, by route template",
            ["method", "route", "status"], registry=self.registry)
        self.runs = Gauge("graphwright_runs", "runs in the service database by status",
                          ["status"], registry=self.registry)
        self.runs_finished = Counter(
            "graphwright_runs_finished", "runs this process saw finish, by final status",
            ["status"], registry=self.registry)
        self.node_duration = Histogram(
            "graphwright_node_duration_seconds", "node execution time by node type",
            ["node_type"], buckets=_NODE_BUCKETS, registry=self.registry)
        self._open_nodes: OrderedDict[tuple[str, str], str] = OrderedDict()
        self.stats = StatsRepository()

    # -- run events (a runtime listener: synchronous, must not raise) ---------------

    def on_event(self, event: RunEvent) -> None:
        if event.type == "node.started" and event.node_id is not None:
            node_type = event.data.get("type")
            if isinstance(node_type, str):
                key = (event.run_id, event.node_id)
                self._open_nodes[key] = node_type
                self._open_nodes.move_to_end(key)
                while len(self._open_nodes) > MAX_OPEN_NODES:
                    self._open_nodes.popitem(last=False)
        elif event.type in ("node.completed", "node.failed") and event.node_id is not None:
            node_type = self._open_nodes.pop((event.run_id, event.node_id), "unknown")
            duration = event.data.get("duration_ms")
            if event.type == "node.completed" and isinstance(duration, int | float):
                self.node_duration.labels(node_type).observe(max(0.0, duration / 1000))
        elif event.type in _FINISHED:
            self.runs_finished.labels(_FINISHED[event.type]).inc()
            for key in [k for k in self._open_nodes if k[0] == event.run_id]:
                del self._open_nodes[key]

    # -- scraping ------------------------------------------------------------------------

    async def render(self) -> bytes:
        for status, count in (await self.stats.runs_by_status()).items():
            self.runs.labels(status).set(count)
        return generate_latest(self.registry)


class HttpMetricsMiddleware:
    """Times every HTTP request and labels it with the route template FastAPI matched."""

    def __init__(self, app: ASGIApp, metrics: ServiceMetrics) -> None:
        self.app = app
        self.metrics = metrics
        self._templates: dict[int, str] | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def sending(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            method = scope.get("method", "")
            self.metrics.http_latency.labels(
                method if method in KNOWN_METHODS else "OTHER", self.template(scope),
                str(status),
            ).observe(time.perf_counter() - started)

    def template(self, scope: Scope) -> str:
        """The full path template of the route that served the request. FastAPI puts the
        route as its router declared it in the scope (``/workflows/{workflow_id}``,
        without the ``/v1`` it was included under), so the full templates are read once
        from the app's route contexts."""
        route = scope.get("route")
        if not isinstance(route, BaseRoute):
            return UNMATCHED_ROUTE
        if self._templates is None:
            app = scope.get("app")
            routes = getattr(app, "routes", [])
            self._templates = {id(context.original_route): context.path_format
                               for context in iter_route_contexts(routes)
                               if context.path_format}
        found = self._templates.get(id(route)) or getattr(route, "path", None)
        return found if isinstance(found, str) else UNMATCHED_ROUTE
