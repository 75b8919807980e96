"""The ``http`` node against real HTTP servers on 127.0.0.1 and ::1: rendering, response
parsing, status and transport failures with their retry flags, size and time limits,
redirects (re-vetted per hop, secrets dropped across origins) and its static checks.

An audit hook refuses any connect to a non-loopback address while a test runs, so a guard
bug fails the test rather than reaching the network.
"""

from __future__ import annotations

import gzip
import ipaddress
import json
import socket
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from jsonschema import Draft202012Validator

from workflow_compiler.errors import ConfigurationError, NodeExecutionError
from workflow_compiler.nodes.base import NodeContext, ValidationContext
from workflow_compiler.nodes.http import HttpExecutor
from workflow_compiler.services import HttpPolicy, RuntimeServices
from workflow_compiler.spec.models import HttpNode

EXECUTOR = HttpExecutor()
SECRET = "sk-live-DO-NOT-LEAK"

# --- safety net ---------------------------------------------------------------------------


@dataclass
class NetworkLog:
    armed: bool = False
    connects: list[str] = field(default_factory=list)
    violations: list[str] = field(default_factory=list)


LOG = NetworkLog()


def _audit(event: str, args: tuple[Any, ...]) -> None:
    if not LOG.armed or event != "socket.connect" or not isinstance(args[1], tuple):
        return
    host = str(args[1][0])
    LOG.connects.append(host)
    try:
        address = ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        address = None
    if address is None or not address.is_loopback:
        LOG.violations.append(host)
        raise PermissionError(f"test tried to connect to non-loopback {host}")


sys.addaudithook(_audit)


@pytest.fixture(autouse=True)
def network_log() -> Iterator[NetworkLog]:
    LOG.connects.clear()
    LOG.violations.clear()
    LOG.armed = True
    try:
        yield LOG
    finally:
        LOG.armed = False
    assert LOG.violations == []


# --- a real server ------------------------------------------------------------------------


class Handler(BaseHTTPRequestHandler):
    server: Server

    def do_GET(self) -> None:
        self.route()

    def do_POST(self) -> None:
        self.route()

    def do_PUT(self) -> None:
        self.route()

    def do_PATCH(self) -> None:
        self.route()

    def do_DELETE(self) -> None:
        self.route()

    def do_HEAD(self) -> None:
        self.route()

    def route(self) -> None:
        url = urlsplit(self.path)
        query = parse_qs(url.query)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        self.server.seen.append({"method": self.command, "path": self.path,
                                 "headers": {k.lower(): v for k, v in self.headers.items()}})
        parts = url.path.strip("/").split("/")
        if parts[0] == "echo":
            self.reply(200, "application/json", json.dumps({
                "method": self.command, "path": url.path, "query": query,
                "headers": {k.lower(): v for k, v in self.headers.items()},
                "body": body.decode(),
            }).encode())
        elif parts[0] == "json":
            self.reply(200, "application/json; charset=utf-8", b'{"ok": true, "items": [1, 2]}')
        elif parts[0] == "problem":
            self.reply(200, "application/problem+json", b'{"title": "x"}')
        elif parts[0] == "latin1":
            self.reply(200, "text/plain; charset=latin-1", "café".encode("latin-1"))
        elif parts[0] == "mislabelled":
            self.reply(200, "application/json", b"<html>not json</html>")
        elif parts[0] == "jsontext":
            self.reply(200, "text/plain", b'{"as": "text"}')
        elif parts[0] == "empty":
            self.reply(204, "application/json", b"")
        elif parts[0] == "status":
            code = int(parts[1])
            extra = {"Retry-After": "7"} if code in (429, 503) else {}
            self.reply(code, "text/plain", b"E" * 5000, extra)
        elif parts[0] == "redirect":
            target = query["to"][0]
            self.reply(int(query.get("code", ["302"])[0]), "text/plain", b"",
                       {"Location": target})
        elif parts[0] == "big":
            size = int(query["n"][0])
            self.reply(200, "application/octet-stream", b"x" * size,
                       length="nolength" not in query)
        elif parts[0] == "gzip":
            packed = gzip.compress(b"0" * 1_000_000)
            self.reply(200, "text/plain", packed, {"Content-Encoding": "gzip"})
        elif parts[0] == "slow":
            self.server.release.wait(5)
            self.reply(200, "text/plain", b"late")
        else:
            self.reply(404, "text/plain", b"no route")

    def reply(self, code: int, content_type: str, body: bytes,
              headers: dict[str, str] | None = None, length: bool = True) -> None:
        self.send_response(code)
        self.send_header("Content-Type", content_type)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        if length:
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


class Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, host: str) -> None:
        self.address_family = socket.AF_INET6 if ":" in host else socket.AF_INET
        super().__init__((host, 0), Handler)
        self.seen: list[dict[str, Any]] = []
        self.connections = 0
        self.release = threading.Event()

    def verify_request(self, request: Any, client_address: Any) -> bool:
        self.connections += 1
        return True

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # clients that give up early (limits, timeouts) are expected here

    @property
    def port(self) -> int:
        return int(self.server_address[1])

    def url(self, path: str) -> str:
        host = str(self.server_address[0])
        shown = f"[{host}]" if ":" in host else host
        return f"http://{shown}:{self.port}{path}"


def has_ipv6_loopback() -> bool:
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as probe:
            probe.bind(("::1", 0))
    except OSError:
        return False
    return True


@pytest.fixture
def start_server() -> Iterator[Any]:
    servers: list[tuple[Server, threading.Thread]] = []

    def start(host: str = "127.0.0.1") -> Server:
        server = Server(host)
        thread = threading.Thread(target=server.serve_forever, args=(0.02,), daemon=True)
        thread.start()
        servers.append((server, thread))
        return server

    yield start
    for server, thread in servers:
        server.release.set()
        server.shutdown()
        server.server_close()
        thread.join(5)


@pytest.fixture
def server(start_server: Any) -> Server:
    return start_server()  # type: ignore[no-any-return]


def http_node(url: str, **config: Any) -> HttpNode:
    return HttpNode.model_validate({"id": "fetch", "type": "http", "url": url, **config})


#: The operator's allow-list the tests run under unless they say otherwise: the loopback
#: servers are internal services here, which only the operator may open (never the spec).
LOOPBACK = HttpPolicy(allow_hosts=("127.0.0.1", "::1"))


async def run(node: HttpNode, *, policy: HttpPolicy = LOOPBACK, **inputs: Any) -> Any:
    ctx = NodeContext(node=node, run_id="run-1", scope={"inputs": inputs, "nodes": {}},
                      services=RuntimeServices(http=policy))
    result = await EXECUTOR.execute(ctx)
    assert result.ports == ("out",)
    Draft202012Validator(EXECUTOR.output_schema(node) or {}).validate(result.output)
    return result.output


async def failure(node: HttpNode, *, policy: HttpPolicy = LOOPBACK,
                  **inputs: Any) -> NodeExecutionError:
    with pytest.raises(NodeExecutionError) as caught:
        await run(node, policy=policy, **inputs)
    return caught.value


# --- requests and responses ---------------------------------------------------------------


async def test_get_json_returns_status_headers_parsed_body_and_url(server: Server) -> None:
    output = await run(http_node(server.url("/json")))
    assert output["status"] == 200
    assert output["body"] == {"ok": True, "items": [1, 2]}
    assert output["url"] == server.url("/json")
    assert output["headers"]["content-type"] == "application/json; charset=utf-8"
    assert all(name == name.lower() for name in output["headers"])
    assert server.seen[0]["headers"]["user-agent"] == "graphwright/0.1"


async def test_templates_render_into_url_headers_query_and_json_body(server: Server) -> None:
    node = http_node(
        server.url("/echo?fixed=1") + "&from={{ inputs.source }}",
        method="POST",
        headers={"X-Request-Id": "req-{{ inputs.n }}", "X-Count": "{{ inputs.n }}",
                 "X-Dropped": "{{ inputs.nothing }}", "User-Agent": "custom/1"},
        query={"q": "{{ inputs.term }}", "tag": "{{ inputs.tags }}", "flag": True,
               "skip": None},
        json={"order": {"id": "{{ inputs.n }}", "note": "für {{ inputs.term }}"}},
    )
    output = await run(node, source="ui", n=42, term="a b&c", tags=["x", "y"], nothing=None)
    echo = output["body"]
    assert echo["method"] == "POST"
    assert echo["query"] == {"fixed": ["1"], "from": ["ui"], "q": ["a b&c"],
                             "tag": ["x", "y"], "flag": ["true"]}
    assert echo["headers"]["x-request-id"] == "req-42"
    assert echo["headers"]["x-count"] == "42"
    assert "x-dropped" not in echo["headers"]
    assert echo["headers"]["user-agent"] == "custom/1"
    assert echo["headers"]["content-type"] == "application/json"
    assert json.loads(echo["body"]) == {"order": {"id": 42, "note": "für a b&c"}}


async def test_raw_body_keeps_the_callers_content_type(server: Server) -> None:
    node = http_node(server.url("/echo"), method="PUT", body="name={{ inputs.name }}",
                     headers={"Content-Type": "application/x-www-form-urlencoded"})
    echo = (await run(node, name="ada"))["body"]
    assert (echo["method"], echo["body"]) == ("PUT", "name=ada")
    assert echo["headers"]["content-type"] == "application/x-www-form-urlencoded"


@pytest.mark.parametrize(("path", "mode", "expected"), [
    ("/json", "text", '{"ok": true, "items": [1, 2]}'),
    ("/problem", "auto", {"title": "x"}),
    ("/latin1", "auto", "café"),
    ("/mislabelled", "auto", "<html>not json</html>"),
    ("/jsontext", "auto", '{"as": "text"}'),
    ("/jsontext", "json", {"as": "text"}),
    ("/empty", "json", None),
])
async def test_response_parsing_modes(server: Server, path: str, mode: str,
                                      expected: Any) -> None:
    assert (await run(http_node(server.url(path), response=mode)))["body"] == expected


async def test_json_mode_refuses_a_body_that_is_not_json(server: Server) -> None:
    error = await failure(http_node(server.url("/mislabelled"), response="json"))
    assert error.code == "invalid_json_response"
    assert error.retryable is False
    assert error.details["body"] == "<html>not json</html>"


async def test_head_request_has_no_body_and_its_declared_size_is_not_limited(
    server: Server,
) -> None:
    output = await run(http_node(server.url("/json"), method="HEAD"))
    assert output["status"] == 200
    assert output["body"] is None  # a JSON content type with nothing to parse
    assert output["headers"]["content-length"] == "29"
    big = await run(http_node(server.url("/big?n=5000"), method="HEAD", max_response_bytes=10))
    assert big["headers"]["content-length"] == "5000"


# --- status codes ------------------------------------------------------------------------


@pytest.mark.parametrize(("status", "retryable"), [
    (400, False), (401, False), (404, False), (408, True), (422, False), (425, True),
    (429, True), (500, True), (502, True), (503, True),
])
async def test_error_statuses_fail_with_the_right_retry_flag(
    server: Server, status: int, retryable: bool
) -> None:
    node = http_node(server.url(f"/status/{status}?api_key={{{{ inputs.key }}}}"),
                     headers={"X-Api-Key": "{{ inputs.key }}", "Authorization": "Bearer x"})
    error = await failure(node, key=SECRET)
    assert error.code == "http_status"
    assert error.retryable is retryable
    assert error.details["status"] == status
    assert error.details["body"] == "E" * 1000
    assert error.details["url"] == server.url(f"/status/{status}")
    assert str(status) in error.message
    assert SECRET not in json.dumps(error.to_dict())
    assert SECRET not in str(error)
    if status in (429, 503):
        assert error.details["retry_after"] == "7"


async def test_error_statuses_are_output_when_fail_on_status_is_off(server: Server) -> None:
    output = await run(http_node(server.url("/status/404"), fail_on_status=False))
    assert (output["status"], output["body"]) == (404, "E" * 5000)


# --- limits and transport failures -------------------------------------------------------


@pytest.mark.parametrize("path", [
    "/big?n=5000",  # declared length over the limit: refused before reading
    "/big?n=5000&nolength=1",  # no length: refused while streaming
    "/gzip",  # 1 MB of zeros in 1 KB of gzip: the limit counts decoded bytes
])
async def test_max_response_bytes_is_enforced(server: Server, path: str) -> None:
    error = await failure(http_node(server.url(path), max_response_bytes=4096))
    assert error.code == "response_too_large"
    assert error.retryable is False
    assert "4096" in error.message


async def test_a_body_at_the_limit_is_accepted(server: Server) -> None:
    node = http_node(server.url("/big?n=4096&nolength=1"), max_response_bytes=4096,
                     response="text")
    assert len((await run(node))["body"]) == 4096


async def test_a_hung_server_times_out_as_retryable(server: Server) -> None:
    error = await failure(http_node(server.url("/slow"), timeout=0.3))
    assert error.code == "http_timeout"
    assert error.retryable is True


async def test_connection_refused_is_a_retryable_http_error(network_log: NetworkLog) -> None:
    with socket.socket() as placeholder:
        placeholder.bind(("127.0.0.1", 0))
        port = placeholder.getsockname()[1]
    node = http_node(f"http://127.0.0.1:{port}/", headers={"X-Api-Key": SECRET})
    error = await failure(node)
    assert error.code == "http_error"
    assert error.retryable is True
    assert SECRET not in json.dumps(error.to_dict())
    assert network_log.connects == ["127.0.0.1"]


async def test_a_header_that_renders_a_line_break_is_refused_without_quoting_it(
    server: Server,
) -> None:
    node = http_node(server.url("/echo"), headers={"X-Api-Key": "{{ inputs.value }}"})
    error = await failure(node, value=f"{SECRET}\r\nX-Injected: 1")
    assert error.code == "invalid_header"
    assert "X-Api-Key" in error.message
    assert SECRET not in json.dumps(error.to_dict())
    assert server.connections == 0


# --- the SSRF guard in the node ------------------------------------------------------------


async def test_loopback_is_refused_unless_the_operator_allows_it(
    server: Server, network_log: NetworkLog
) -> None:
    error = await failure(http_node(server.url("/json")), policy=HttpPolicy())
    assert error.code == "ssrf_blocked"
    assert error.retryable is False
    assert "127.0.0.1" in error.message
    assert "GRAPHWRIGHT_HTTP_ALLOW_HOSTS" in error.message
    assert server.connections == 0
    assert network_log.connects == []


async def test_the_operators_allow_list_lifts_the_guard(server: Server) -> None:
    policy = HttpPolicy(allow_hosts=("127.0.0.0/8",))
    assert (await run(http_node(server.url("/json")), policy=policy))["status"] == 200
    narrowed = http_node(server.url("/json"), allow_hosts=["127.0.0.1"])
    assert (await run(narrowed, policy=policy))["status"] == 200


@pytest.mark.parametrize(("entries", "url"), [
    (["0.0.0.0/0"], "{server}/json"),
    (["0.0.0.0/0", "::/0"], "http://[::ffff:127.0.0.1]:{port}/json"),
    (["::/0"], "http://[::1]:{port}/json"),
    (["127.0.0.1"], "{server}/json"),
    (["127.0.0.0/8"], "http://2130706433:{port}/json"),
    (["localhost"], "http://localhost:{port}/json"),
    (["169.254.169.254"], "http://169.254.169.254/latest/meta-data/"),
    (["0.0.0.0/0"], "http://169.254.169.254/latest/meta-data/"),
    (["::/0"], "http://[fd00:ec2::254]/"),
    (["10.0.0.0/8"], "http://10.0.0.1:8080/"),
])
async def test_a_specs_allow_hosts_cannot_lift_the_guard(
    server: Server, network_log: NetworkLog, entries: list[str], url: str
) -> None:
    """The audit's finding: a spec's ``allow_hosts`` of ``0.0.0.0/0`` used to be added to
    the operator's list, so any API user could reach loopback or the metadata address."""
    node = http_node(url.format(server=server.url(""), port=server.port),
                     allow_hosts=entries)
    error = await failure(node, policy=HttpPolicy())
    assert error.code == "ssrf_blocked"
    assert server.connections == 0
    assert network_log.connects == []


async def test_the_operators_list_comes_from_the_environment(server: Server) -> None:
    policy = HttpPolicy.from_environment(
        {"GRAPHWRIGHT_HTTP_ALLOW_HOSTS": "127.0.0.1, *.svc.test  10.0.0.0/8"})
    assert policy.allow_hosts == ("127.0.0.1", "*.svc.test", "10.0.0.0/8")
    assert (await run(http_node(server.url("/json")), policy=policy))["status"] == 200
    assert HttpPolicy.from_environment({}).allow_hosts == ()
    with pytest.raises(ConfigurationError, match="GRAPHWRIGHT_HTTP_ALLOW_HOSTS"):
        HttpPolicy.from_environment({"GRAPHWRIGHT_HTTP_ALLOW_HOSTS": "http://bad"})


@pytest.mark.parametrize("url", [
    "http://93.184.215.14/",  # a public address: the guard alone would let it through
    "https://other.example.test/",  # a name: refused before any lookup
    "http://[2606:4700:4700::1111]/",
])
async def test_a_node_restricted_to_one_host_cannot_reach_another(
    url: str, network_log: NetworkLog
) -> None:
    node = http_node(url, allow_hosts=["api.example.test"])
    error = await failure(node, policy=HttpPolicy())
    assert error.code == "host_not_allowed"
    assert error.retryable is False
    assert "allow_hosts" in error.message
    assert network_log.connects == []


async def test_a_redirect_off_the_nodes_hosts_is_refused(
    server: Server, network_log: NetworkLog
) -> None:
    """Each hop is held to the node's list. The operator allows loopback, so the hop to
    127.0.0.1 is the very server the first one reached; the node listed only localhost."""
    start = f"http://localhost:{server.port}/redirect?to={server.url('/json')}"
    node = http_node(start, follow_redirects=True, allow_hosts=["localhost"])
    error = await failure(node)
    assert error.code == "host_not_allowed"
    assert error.details["host"] == "127.0.0.1"
    assert [seen["path"].split("?")[0] for seen in server.seen] == ["/redirect"]
    assert set(network_log.connects) <= {"127.0.0.1", "::1"}


@pytest.mark.parametrize("url", [
    "http://169.254.169.254/latest/meta-data/iam/",
    "http://[fd00:ec2::254]/",
    "http://0xA9FEA9FE/",
    "http://[::ffff:169.254.169.254]/",
    "http://10.0.0.1:8080/",
    "http://0177.0.0.1/",
    "http://{{ inputs.host }}/",
])
async def test_private_and_metadata_targets_are_refused_before_connecting(
    url: str, network_log: NetworkLog
) -> None:
    error = await failure(http_node(url), policy=HttpPolicy(), host="192.168.0.10")
    assert error.code == "ssrf_blocked"
    assert network_log.connects == []


@pytest.mark.skipif(not has_ipv6_loopback(), reason="this machine has no IPv6 loopback (::1)")
async def test_ipv6_loopback_end_to_end(start_server: Any, network_log: NetworkLog) -> None:
    server = start_server("::1")
    output = await run(http_node(server.url("/json"), allow_hosts=["::1"]))
    assert output["body"] == {"ok": True, "items": [1, 2]}
    assert output["url"] == f"http://[::1]:{server.port}/json"
    assert network_log.connects == ["::1"]
    error = await failure(http_node(server.url("/json"), allow_hosts=["127.0.0.1"]))
    assert error.code == "host_not_allowed"
    blocked = await failure(http_node(server.url("/json")),
                            policy=HttpPolicy(allow_hosts=("127.0.0.1",)))
    assert blocked.code == "ssrf_blocked"
    assert server.connections == 1


# --- redirects -----------------------------------------------------------------------------


async def test_redirects_are_not_followed_unless_asked(server: Server) -> None:
    output = await run(http_node(server.url("/redirect?to=/json")))
    assert output["status"] == 302
    assert output["headers"]["location"] == "/json"


async def test_followed_redirect_reports_the_final_url(server: Server) -> None:
    output = await run(http_node(server.url("/redirect?to=/json"), follow_redirects=True))
    assert output["body"] == {"ok": True, "items": [1, 2]}
    assert output["url"] == server.url("/json")


async def test_more_redirects_than_the_policy_allows_fail(server: Server) -> None:
    hop = server.url("/redirect?to=/json")
    for _ in range(3):
        hop = server.url(f"/redirect?to={hop}")
    error = await failure(http_node(hop, follow_redirects=True),
                          policy=HttpPolicy(allow_hosts=LOOPBACK.allow_hosts, max_redirects=2))
    assert error.code == "http_error"
    assert "redirects" in error.message


@pytest.mark.parametrize("location", [
    "http://169.254.169.254/latest/meta-data/",
    "http://[::ffff:a9fe:a9fe]/",
    "http://[::1]:1/",
    "ftp://127.0.0.1/",
])
async def test_each_redirect_hop_is_vetted(
    server: Server, location: str, network_log: NetworkLog
) -> None:
    node = http_node(server.url(f"/redirect?to={location}"), follow_redirects=True)
    error = await failure(node, policy=HttpPolicy(allow_hosts=("127.0.0.1",)))
    assert error.code == "ssrf_blocked"
    assert network_log.connects == ["127.0.0.1"]  # only the first hop was contacted


async def test_secret_headers_do_not_follow_a_redirect_to_another_origin(
    start_server: Any,
) -> None:
    origin, other = start_server(), start_server()
    headers = {"X-Api-Key": "{{ inputs.key }}", "Authorization": "Bearer {{ inputs.key }}",
               "Accept": "application/json"}
    cross = http_node(origin.url(f"/redirect?to={other.url('/echo')}"), headers=headers,
                      follow_redirects=True)
    seen = (await run(cross, key=SECRET))["body"]["headers"]
    assert "x-api-key" not in seen
    assert "authorization" not in seen
    assert seen["accept"] == "application/json"
    same = http_node(origin.url("/redirect?to=/echo"), headers=headers, follow_redirects=True)
    kept = (await run(same, key=SECRET))["body"]["headers"]
    assert kept["x-api-key"] == SECRET


# --- static checks and schema --------------------------------------------------------------


def issues(**config: Any) -> list[tuple[str, str]]:
    node = HttpNode.model_validate({"id": "fetch", "type": "http", **config})
    return [(i.code, i.path) for i in EXECUTOR.validate(node, ValidationContext(), "/nodes/2")]


@pytest.mark.parametrize("url", [
    "https://api.example.com/v1/items",
    "http://127.0.0.1:8080/",  # reachability depends on the runtime's allow-list
    "{{ inputs.url }}",
    "https://{{ inputs.host }}/x",
    "https://api.example.com/{{ inputs.path }}",
    "http{{ inputs.s }}://example.com",
])
def test_valid_urls_pass_static_checks(url: str) -> None:
    assert issues(url=url) == []


@pytest.mark.parametrize("url", [
    "ftp://example.com/",
    "example.com/path",
    "api.example.com/{{ inputs.path }}",
    "file:///etc/{{ inputs.name }}",
    "https://user:pw@example.com/",
    "https://",
    "https://exa mple.com/",
])
def test_malformed_static_urls_are_reported(url: str) -> None:
    assert issues(url=url) == [("invalid_url", "/nodes/2/url")]


def test_allow_hosts_headers_and_bodies_are_checked() -> None:
    found = issues(url="https://example.com/", allow_hosts=["ok.test", "http://bad", "10.0.0.0/8"],
                   headers={"Bad Header": "x", "X-Fine": "y"}, json={"a": 1}, body="raw")
    assert found == [("invalid_allow_host", "/nodes/2/allow_hosts/1"),
                     ("invalid_header", "/nodes/2/headers/Bad Header"),
                     ("conflicting_body", "/nodes/2/body")]


def test_output_schema_describes_the_output_object() -> None:
    schema = EXECUTOR.output_schema(http_node("https://example.com/", response="text"))
    assert schema is not None
    Draft202012Validator.check_schema(schema)
    assert schema["required"] == ["status", "headers", "body", "url"]
    assert schema["properties"]["body"] == {"type": "string"}
    auto = EXECUTOR.output_schema(http_node("https://example.com/"))
    assert auto is not None
    assert auto["properties"]["body"] == {}
