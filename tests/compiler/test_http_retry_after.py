"""An ``http`` node answered 429 or 503 with ``Retry-After`` waits that long before its
retry, within its retry policy's ``max_interval``: timed on a real server on 127.0.0.1,
through the real runtime and node runner. Also the ``Retry-After`` parser both the http
and the llm node use.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest

from workflow_compiler.compiler.retry_after import retry_after_seconds
from workflow_compiler.errors import NodeExecutionError
from workflow_compiler.nodes.base import NodeContext
from workflow_compiler.nodes.http import HttpExecutor
from workflow_compiler.runtime import RunEvent, RunResult, WorkflowRuntime
from workflow_compiler.services import HttpPolicy, RuntimeServices
from workflow_compiler.spec.models import HttpNode

LOOPBACK = HttpPolicy(allow_hosts=("127.0.0.1",))


class LimitedServer(ThreadingHTTPServer):
    """Refuses the first request with ``?status=`` (429 by default) and the ``?retry_after=``
    header when given, answers 200 after that; notes when each request arrived."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.arrivals: list[float] = []

    def url(self, **query: str) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/limited?{urlencode(query)}"

    @property
    def gap(self) -> float:
        first, second = self.arrivals
        return second - first


class _Handler(BaseHTTPRequestHandler):
    server: LimitedServer

    def do_GET(self) -> None:
        self.server.arrivals.append(time.monotonic())
        query = {k: v[0] for k, v in parse_qs(urlsplit(self.path).query).items()}
        if len(self.server.arrivals) == 1:
            status, body = int(query.get("status", "429")), b"slow down"
            headers = {"Retry-After": query["retry_after"]} if "retry_after" in query else {}
        else:
            status, body, headers = 200, b'{"ok": true}', {}
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def server() -> Iterator[LimitedServer]:
    httpd = LimitedServer()
    thread = threading.Thread(target=httpd.serve_forever, args=(0.02,), daemon=True)
    thread.start()
    yield httpd
    httpd.shutdown()
    httpd.server_close()
    thread.join(5)


async def run_node(url: str, retry: dict[str, Any]) -> tuple[RunResult, list[RunEvent]]:
    runtime = WorkflowRuntime(services=RuntimeServices(http=LOOPBACK))
    spec = {"spec_version": "1", "name": "retry-after", "nodes": [
        {"id": "fetch", "type": "http", "url": url,
         "retry": {"max_attempts": 2, "initial_interval": 0.01, "jitter": False, **retry}}],
        "edges": [], "outputs": {"body": "{{ nodes.fetch.body }}"}}
    events = [e async for e in runtime.stream(spec, {})]
    return await runtime.result(events[0].run_id), events


async def test_the_retry_waits_as_long_as_retry_after_asks(server: LimitedServer) -> None:
    result, events = await run_node(server.url(retry_after="1"), {})

    assert result.status == "completed", result.error
    assert result.outputs == {"body": {"ok": True}}
    [retrying] = [e for e in events if e.type == "node.retrying"]
    assert retrying.data["error"]["code"] == "http_status"
    assert 0.9 <= server.gap < 2.5  # the policy alone would retry after 0.01 s


async def test_without_retry_after_the_policys_backoff_alone_applies(
        server: LimitedServer) -> None:
    result, _ = await run_node(server.url(), {})

    assert result.status == "completed", result.error
    assert server.gap < 0.5


async def test_retry_after_is_capped_at_the_policys_max_interval(server: LimitedServer) -> None:
    result, _ = await run_node(server.url(status="503", retry_after="1"), {"max_interval": 0.2})

    assert result.status == "completed", result.error
    assert 0.15 <= server.gap < 0.6


# -- what the node reports ----------------------------------------------------------------


async def status_error(url: str) -> NodeExecutionError:
    node = HttpNode.model_validate({"id": "fetch", "type": "http", "url": url})
    ctx = NodeContext(node=node, run_id="run-1", scope={"inputs": {}, "nodes": {}},
                      services=RuntimeServices(http=LOOPBACK))
    with pytest.raises(NodeExecutionError) as caught:
        await HttpExecutor().execute(ctx)
    return caught.value


async def test_an_http_date_retry_after_is_reported_in_seconds(server: LimitedServer) -> None:
    ahead = format_datetime(datetime.now(UTC) + timedelta(seconds=30), usegmt=True)

    error = await status_error(server.url(status="503", retry_after=ahead))

    assert error.retryable is True
    assert error.details["retry_after"] == ahead
    assert 25 <= error.details["retry_after_s"] <= 30


@pytest.mark.parametrize("header", ["soon", "nan", "1e999"])
async def test_an_unreadable_retry_after_is_kept_as_given_but_not_waited_for(
        server: LimitedServer, header: str) -> None:
    error = await status_error(server.url(retry_after=header))

    assert error.details["retry_after"] == header
    assert "retry_after_s" not in error.details


# -- the parser -------------------------------------------------------------------------------


def test_retry_after_seconds_reads_delays_and_http_dates() -> None:
    assert retry_after_seconds("7") == 7.0
    assert retry_after_seconds(" 1.5 ") == 1.5
    assert retry_after_seconds("7s") == 7.0  # Gemini's RetryInfo.retryDelay
    assert retry_after_seconds("0") == 0.0
    ahead = format_datetime(datetime.now(UTC) + timedelta(seconds=60), usegmt=True)
    seconds = retry_after_seconds(ahead)
    assert seconds is not None
    assert 55 <= seconds <= 60
    assert retry_after_seconds("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0  # already past
    assert retry_after_seconds("Wed, 21 Oct 2015 07:28:00") == 0.0  # no zone: taken as UTC


@pytest.mark.parametrize("value", ["", "soon", "nan", "inf", "-inf", "1e999", "7 seconds",
                                   "Wed, 32 Oct 2015 07:28:00 GMT",
                                   "Wed, 21 Oct 99999 07:28:00 GMT"])
def test_retry_after_seconds_ignores_what_it_cannot_read(value: str) -> None:
    assert retry_after_seconds(value) is None


def test_a_negative_delay_means_no_wait() -> None:
    assert retry_after_seconds("-3") == 0.0


def test_the_llm_node_reads_retry_after_with_the_same_parser() -> None:
    from workflow_compiler.llm import errors

    assert errors.retry_after_seconds is retry_after_seconds
