"""The SSRF guard: which URLs are refused, that refusal comes before any connection, and that
allow-listed loopback services are reached end to end at the vetted address only.

Safety net: an audit hook records every socket connect and name lookup made while a test
runs and refuses any connect to a non-loopback address, so a guard bug fails the test
instead of sending traffic anywhere.
"""

from __future__ import annotations

import ipaddress
import shutil
import socket
import ssl
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest

from workflow_compiler.errors import NodeExecutionError
from workflow_compiler.net import AllowList, GuardedTransport, IPAddress, SsrfGuard
from workflow_compiler.net.addresses import parse_numeric_ipv4

# --- safety net ---------------------------------------------------------------------------


@dataclass
class NetworkLog:
    armed: bool = False
    connects: list[str] = field(default_factory=list)
    lookups: list[str] = field(default_factory=list)
    violations: list[str] = field(default_factory=list)


LOG = NetworkLog()


def _is_loopback(host: str) -> bool:
    try:
        address = ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_loopback


def _audit(event: str, args: tuple[Any, ...]) -> None:
    if not LOG.armed:
        return
    if event == "socket.connect" and isinstance(args[1], tuple):
        host = str(args[1][0])
        LOG.connects.append(host)
        if not _is_loopback(host):
            LOG.violations.append(host)
            raise PermissionError(f"test tried to connect to non-loopback {host}")
    elif event == "socket.getaddrinfo":
        LOG.lookups.append(str(args[0]))


sys.addaudithook(_audit)


@pytest.fixture(autouse=True)
def network_log() -> Iterator[NetworkLog]:
    LOG.connects.clear()
    LOG.lookups.clear()
    LOG.violations.clear()
    LOG.armed = True
    try:
        yield LOG
    finally:
        LOG.armed = False
    assert LOG.violations == []


# --- local servers ------------------------------------------------------------------------


class Recorder(BaseHTTPRequestHandler):
    """Answers ``/redirect?to=...`` with a 302, anything else with 200 and its Host header."""

    server: LocalServer

    def do_GET(self) -> None:
        self.server.requests.append((self.path, self.headers.get("Host", "")))
        if self.path.startswith("/redirect?to="):
            self.send_response(302)
            self.send_header("Location", self.path.split("=", 1)[1])
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        body = f"hello from {self.server.host}".encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


class LocalServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, host: str, tls: ssl.SSLContext | None = None) -> None:
        self.address_family = socket.AF_INET6 if ":" in host else socket.AF_INET
        super().__init__((host, 0), Recorder)
        if tls is not None:
            self.socket = tls.wrap_socket(self.socket, server_side=True)
        self.requests: list[tuple[str, str]] = []
        self.connections = 0

    def verify_request(self, request: Any, client_address: Any) -> bool:
        self.connections += 1
        return True

    @property
    def port(self) -> int:
        return int(self.server_address[1])

    @property
    def host(self) -> str:
        return str(self.server_address[0])


@pytest.fixture
def serve() -> Iterator[Any]:
    started: list[tuple[LocalServer, threading.Thread]] = []

    def start(host: str, tls: ssl.SSLContext | None = None) -> LocalServer:
        server = LocalServer(host, tls)
        thread = threading.Thread(target=server.serve_forever, args=(0.02,), daemon=True)
        thread.start()
        started.append((server, thread))
        return server

    yield start
    for server, thread in started:
        server.shutdown()
        server.server_close()
        thread.join(5)


def has_ipv6_loopback() -> bool:
    if not socket.has_ipv6:
        return False
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as probe:
            probe.bind(("::1", 0))
    except OSError:
        return False
    return True


class FakeDns:
    """Plays the DNS: fixed answers per name, every question recorded."""

    def __init__(self, answers: dict[str, list[list[str]]]) -> None:
        self._answers = {name: [list(a) for a in seq] for name, seq in answers.items()}
        self.questions: list[str] = []

    async def __call__(self, host: str, port: int) -> list[IPAddress]:
        self.questions.append(host)
        sequence = self._answers[host]
        answer = sequence.pop(0) if len(sequence) > 1 else sequence[0]
        return [ipaddress.ip_address(a) for a in answer]


async def no_dns(host: str, port: int) -> list[IPAddress]:
    raise AssertionError(f"a literal address must not be resolved (asked for {host!r})")


async def refused(guard: SsrfGuard, url: str) -> NodeExecutionError:
    with pytest.raises(NodeExecutionError) as caught:
        await guard.vet(url)
    return caught.value


# --- literal addresses --------------------------------------------------------------------

FORBIDDEN_LITERALS = [
    ("http://127.0.0.1/", "127.0.0.1", "loopback"),
    ("http://127.8.9.10:8080/x", "127.8.9.10", "loopback"),
    ("http://10.1.2.3/", "10.1.2.3", "private"),
    ("http://172.16.0.1/", "172.16.0.1", "private"),
    ("http://172.31.255.255/", "172.31.255.255", "private"),
    ("http://192.168.1.1/", "192.168.1.1", "private"),
    ("http://169.254.10.1/", "169.254.10.1", "link-local"),
    ("http://169.254.169.254/latest/meta-data/", "169.254.169.254", "metadata"),
    ("http://100.100.100.200/", "100.100.100.200", "metadata"),
    ("http://100.64.0.1/", "100.64.0.1", "carrier-grade NAT"),
    ("http://0.0.0.0/", "0.0.0.0", "unspecified"),
    ("http://224.0.0.1/", "224.0.0.1", "multicast"),
    ("http://240.0.0.1/", "240.0.0.1", "reserved"),
    ("http://255.255.255.255/", "255.255.255.255", "reserved"),
    ("http://198.18.0.1/", "198.18.0.1", "benchmarking"),
    ("https://[::1]/", "::1", "loopback"),
    ("http://[::]/", "::", "unspecified"),
    ("http://[fc00::1]/", "fc00::1", "unique local"),
    ("http://[fd12:3456::1]:8080/", "fd12:3456::1", "unique local"),
    ("http://[fd00:ec2::254]/", "fd00:ec2::254", "metadata"),
    ("http://[fe80::1]/", "fe80::1", "link-local"),
    ("http://[ff02::1]/", "ff02::1", "multicast"),
    ("http://[2001:db8::1]/", "2001:db8::1", "documentation"),
    # IPv4 inside IPv6: mapped (both spellings), compatible, NAT64, 6to4, Teredo
    ("http://[::ffff:127.0.0.1]/", "::ffff:7f00:1", "IPv4-mapped 127.0.0.1"),
    ("http://[::ffff:7f00:1]/", "::ffff:7f00:1", "IPv4-mapped 127.0.0.1"),
    ("http://[::ffff:10.0.0.1]/", "::ffff:a00:1", "IPv4-mapped 10.0.0.1"),
    ("http://[::ffff:169.254.169.254]/", "::ffff:a9fe:a9fe", "metadata"),
    ("http://[::127.0.0.1]/", "::7f00:1", "IPv4-compatible"),
    ("http://[64:ff9b::a9fe:a9fe]/", "64:ff9b::a9fe:a9fe", "NAT64 of 169.254.169.254"),
    ("http://[2002:c0a8:101::1]/", "2002:c0a8:101::1", "6to4 of 192.168.1.1"),
    ("http://[2001:0:4136:e378:8000:63bf:f5ff:fffe]/", "2001:0:4136:e378:8000:63bf:f5ff:fffe",
     "Teredo of 10.0.0.1"),
    # numeric spellings of 127.0.0.1 that resolvers (inet_aton) and browsers accept
    ("http://2130706433/", "127.0.0.1", "loopback"),
    ("http://0x7f000001/", "127.0.0.1", "loopback"),
    ("http://0X7F000001/", "127.0.0.1", "loopback"),
    ("http://0177.0.0.1/", "127.0.0.1", "loopback"),
    ("http://017700000001/", "127.0.0.1", "loopback"),
    ("http://127.1/", "127.0.0.1", "loopback"),
    ("http://127.0.1/", "127.0.0.1", "loopback"),
    ("http://0x7f.1/", "127.0.0.1", "loopback"),
    ("http://0x7f.0.0.0x1/", "127.0.0.1", "loopback"),
    ("http://127.0.0.1./", "127.0.0.1", "loopback"),
    ("http://0/", "0.0.0.0", "unspecified"),
    ("http://0xa9fea9fe/", "169.254.169.254", "metadata"),
    ("http://2852039166/", "169.254.169.254", "metadata"),
]


@pytest.mark.parametrize(("url", "address", "reason"), FORBIDDEN_LITERALS)
async def test_forbidden_literal_is_refused_without_lookup_or_connect(
    url: str, address: str, reason: str, network_log: NetworkLog
) -> None:
    error = await refused(SsrfGuard(resolver=no_dns), url)
    assert error.code == "ssrf_blocked"
    assert error.retryable is False
    assert error.details["address"] == address
    assert reason in error.details["reason"]
    assert address in error.message
    assert str(error.details["host"]) in error.message
    assert network_log.connects == []
    assert network_log.lookups == []


@pytest.mark.parametrize("url", [
    "http://8.8.8.8/",
    "https://1.1.1.1:8443/path?q=1",
    "http://[2606:4700:4700::1111]/",
    "http://[::ffff:8.8.8.8]/",  # mapped public address: reaches 8.8.8.8, which is fine
    "http://134744072/",  # 8.8.8.8 as one number
])
async def test_public_literal_is_vetted_as_itself(url: str, network_log: NetworkLog) -> None:
    vetted = await SsrfGuard(resolver=no_dns).vet(url)
    assert len(vetted.addresses) == 1
    assert vetted.target.literal == vetted.addresses[0]
    assert network_log.connects == []


@pytest.mark.parametrize(("url", "code", "says"), [
    ("ftp://example.com/file", "ssrf_blocked", "scheme 'ftp'"),
    ("file:///etc/passwd", "ssrf_blocked", "scheme 'file'"),
    ("gopher://example.com/", "ssrf_blocked", "scheme 'gopher'"),
    ("http://user:pass@example.com/", "ssrf_blocked", "credentials"),
    ("http://example.com@127.0.0.1/", "ssrf_blocked", "credentials"),
    ("http://a@b@127.0.0.1/", "ssrf_blocked", "credentials"),
    ("http://example.com\\@127.0.0.1/", "ssrf_blocked", "backslash"),
    ("http://exa mple.com/", "ssrf_blocked", "whitespace"),
    ("http://example.com/\r\nHost: 127.0.0.1", "ssrf_blocked", "control"),
    ("http://%31%32%37.0.0.1/", "ssrf_blocked", "percent-encoded"),
    ("http://[fe80::1%25eth0]/", "ssrf_blocked", "zone"),
    ("http://1.2.3.4.5/", "ssrf_blocked", "ambiguous"),
    ("http://example.0x10/", "ssrf_blocked", "ambiguous"),
    ("http://256.0.0.1/", "ssrf_blocked", "ambiguous"),
    ("http://0x1g.0.0.1/", "ssrf_blocked", "ambiguous"),
    ("http://v1.2e3/", None, None),  # a name (its last label is no number): resolved
    ("http:///nohost", "invalid_url", "no host"),
    ("http://[::1/", "invalid_url", "invalid URL"),
    ("not a url", "ssrf_blocked", "whitespace"),
])
async def test_ambiguous_or_unsupported_urls_are_refused(
    url: str, code: str | None, says: str | None, network_log: NetworkLog
) -> None:
    dns = FakeDns({"v1.2e3": [["93.184.215.14"]]})
    if code is None:
        await SsrfGuard(resolver=dns).vet(url)
        assert dns.questions == ["v1.2e3"]
        return
    error = await refused(SsrfGuard(resolver=dns), url)
    assert error.code == code
    assert says is not None
    assert says in error.message
    assert dns.questions == []
    assert network_log.connects == []


@pytest.mark.parametrize(("spelling", "expected"), [
    ("127.0.0.1", "127.0.0.1"),
    ("2130706433", "127.0.0.1"),
    ("0x7f000001", "127.0.0.1"),
    ("0177.0.0.01", "127.0.0.1"),
    ("127.1", "127.0.0.1"),
    ("10.1", "10.0.0.1"),
    ("192.168.257", "192.168.1.1"),
    ("0x", "0.0.0.0"),
    ("4294967295", "255.255.255.255"),
    ("example.com", None),
    ("1e3", None),
    ("localhost", None),
])
def test_numeric_spellings_are_read_like_inet_aton(spelling: str, expected: str | None) -> None:
    parsed = parse_numeric_ipv4(spelling)
    assert (str(parsed) if parsed else None) == expected


# --- resolved names -------------------------------------------------------------------


async def test_name_with_one_private_answer_among_public_ones_is_refused(
    network_log: NetworkLog,
) -> None:
    dns = FakeDns({"mixed.test": [["93.184.215.14", "10.0.0.5", "2606:2800:21f::1"]]})
    error = await refused(SsrfGuard(resolver=dns), "https://mixed.test/api")
    assert error.code == "ssrf_blocked"
    assert error.details == {"host": "mixed.test", "address": "10.0.0.5",
                             "reason": "private (RFC 1918)"}
    assert "'mixed.test' (10.0.0.5)" in error.message
    assert network_log.connects == []


async def test_name_resolving_to_mapped_metadata_is_refused() -> None:
    dns = FakeDns({"sneaky.test": [["::ffff:169.254.169.254"]]})
    error = await refused(SsrfGuard(resolver=dns), "http://sneaky.test/")
    assert "cloud metadata" in error.details["reason"]


async def test_public_name_keeps_every_vetted_address_in_order() -> None:
    dns = FakeDns({"public.test": [["93.184.215.14", "2606:2800:21f::1"]]})
    vetted = await SsrfGuard(resolver=dns).vet("http://Public.Test./x")
    assert vetted.host == "public.test"
    assert [str(a) for a in vetted.addresses] == ["93.184.215.14", "2606:2800:21f::1"]
    assert dns.questions == ["public.test"]


# --- allow-list ---------------------------------------------------------------------------


async def test_cidr_entry_allows_only_its_block() -> None:
    guard = SsrfGuard(AllowList.parse(["10.0.0.0/8", "fd00:1::/32"]), resolver=no_dns)
    await guard.vet("http://10.20.30.40/")
    await guard.vet("http://[fd00:1:2::3]/")
    assert (await refused(guard, "http://192.168.0.1/")).details["address"] == "192.168.0.1"
    assert (await refused(guard, "http://[fd00:2::1]/")).code == "ssrf_blocked"


async def test_host_entries_match_exact_names_and_wildcard_subdomains() -> None:
    dns = FakeDns({name: [["10.0.0.7"]] for name in
                   ("internal.test", "api.corp.test", "a.b.corp.test", "corp.test",
                    "evilcorp.test", "internal.test.evil.test")})
    guard = SsrfGuard(AllowList.parse(["Internal.Test", "*.corp.test"]), resolver=dns)
    for allowed in ("internal.test", "INTERNAL.test.", "api.corp.test", "a.b.corp.test"):
        await guard.vet(f"http://{allowed}/")
    for refused_name in ("corp.test", "evilcorp.test", "internal.test.evil.test"):
        assert (await refused(guard, f"http://{refused_name}/")).code == "ssrf_blocked"


async def test_host_entry_does_not_unlock_cloud_metadata_but_an_ip_entry_does() -> None:
    dns = FakeDns({"internal.test": [["169.254.169.254"]]})
    by_name = SsrfGuard(AllowList.parse(["internal.test"]), resolver=dns)
    assert "metadata" in (await refused(by_name, "http://internal.test/")).message
    by_address = SsrfGuard(AllowList.parse(["internal.test", "169.254.169.254"]), resolver=dns)
    await by_address.vet("http://internal.test/")


async def test_ipv4_entry_covers_its_ipv4_mapped_spelling() -> None:
    guard = SsrfGuard(AllowList.parse(["127.0.0.1"]), resolver=no_dns)
    await guard.vet("http://[::ffff:127.0.0.1]:8080/")
    await guard.vet("http://2130706433/")
    assert (await refused(guard, "http://[::1]/")).details["address"] == "::1"


# --- a node's own list: narrows, never exempts ---------------------------------------------


async def test_only_list_admits_its_names_and_blocks_and_refuses_the_rest() -> None:
    dns = FakeDns({"api.test": [["93.184.215.14"]], "cdn.test": [["93.184.215.99"]],
                   "inside.test": [["10.1.2.3"]], "mixed.test": [["10.1.2.3", "93.184.215.14"]]})
    guard = SsrfGuard(resolver=dns, only=AllowList.parse(["api.test", "10.0.0.0/8"]))
    await guard.vet("https://api.test/x")
    error = await refused(guard, "https://cdn.test/")
    assert (error.code, error.details) == ("host_not_allowed", {"host": "cdn.test"})
    # a name whose every address is in a listed block is on the list; one stray address is not
    error = await refused(guard, "http://mixed.test/")
    assert error.code == "host_not_allowed" and "93.184.215.14" in error.message
    # on the node's list, but private: the guard still refuses it (the operator did not allow it)
    assert (await refused(guard, "http://inside.test/")).code == "ssrf_blocked"
    assert (await refused(guard, "http://10.9.9.9/")).code == "ssrf_blocked"
    assert (await refused(guard, "http://8.8.8.8/")).code == "host_not_allowed"


async def test_only_list_of_names_refuses_other_names_before_any_lookup() -> None:
    dns = FakeDns({})
    guard = SsrfGuard(resolver=dns, only=AllowList.parse(["api.test", "*.svc.test"]))
    error = await refused(guard, "https://other.test/")
    assert error.code == "host_not_allowed"
    assert dns.questions == []


@pytest.mark.parametrize(("only", "url"), [
    (["0.0.0.0/0"], "http://127.0.0.1/"),
    (["0.0.0.0/0", "::/0"], "http://[::1]/"),
    (["::/0"], "http://[::ffff:127.0.0.1]/"),
    (["169.254.169.254"], "http://169.254.169.254/latest/meta-data/"),
    (["0.0.0.0/0"], "http://0xa9fea9fe/"),
    (["127.0.0.1"], "http://2130706433/"),
])
async def test_only_list_never_lifts_the_forbidden_ranges(only: list[str], url: str) -> None:
    error = await refused(SsrfGuard(resolver=no_dns, only=AllowList.parse(only)), url)
    assert error.code == "ssrf_blocked"


async def test_operator_exemption_and_node_list_together() -> None:
    dns = FakeDns({"db.internal.test": [["10.0.0.5"]], "cache.internal.test": [["10.0.0.6"]]})
    guard = SsrfGuard(AllowList.parse(["10.0.0.0/8"]), resolver=dns,
                      only=AllowList.parse(["db.internal.test"]))
    await guard.vet("http://db.internal.test/")
    assert (await refused(guard, "http://cache.internal.test/")).code == "host_not_allowed"


@pytest.mark.parametrize("entry", [
    "", "  ", "*", "*.", "http://example.com", "example.com:8080", "example.com/path",
    "10.0.0.0/33", "exa mple.com", "ünicode.test", "-bad.test", "127.1",
])
def test_malformed_allow_entries_are_errors(entry: str) -> None:
    with pytest.raises(ValueError):  # noqa: PT011  (the message varies by entry)
        AllowList.parse([entry])


def test_allow_entries_accept_names_wildcards_addresses_and_blocks() -> None:
    allow = AllowList.parse(["api.test", "*.svc.test", "127.0.0.1", "[::1]", "10.0.0.0/8",
                             "fd00::/8", "xn--bcher-kva.test"])
    assert allow.hosts == frozenset({"api.test", "xn--bcher-kva.test"})
    assert allow.suffixes == (".svc.test",)
    assert [str(n) for n in allow.networks] == ["127.0.0.1/32", "::1/128", "10.0.0.0/8",
                                                "fd00::/8"]


# --- end to end against real loopback servers ----------------------------------------------


async def get(guard: SsrfGuard, url: str, **client: Any) -> httpx.Response:
    async with httpx.AsyncClient(transport=GuardedTransport(guard), trust_env=False,
                                 **client) as http:
        return await http.get(url)


async def test_allow_listed_ipv4_loopback_is_reached(serve: Any, network_log: NetworkLog) -> None:
    server = serve("127.0.0.1")
    response = await get(SsrfGuard(AllowList.parse(["127.0.0.1"])),
                         f"http://127.0.0.1:{server.port}/hello")
    assert response.status_code == 200
    assert response.text == "hello from 127.0.0.1"
    assert server.requests == [("/hello", f"127.0.0.1:{server.port}")]
    assert network_log.connects == ["127.0.0.1"]


@pytest.mark.skipif(not has_ipv6_loopback(), reason="this machine has no IPv6 loopback (::1)")
async def test_allow_listed_ipv6_loopback_is_reached(serve: Any, network_log: NetworkLog) -> None:
    server = serve("::1")
    response = await get(SsrfGuard(AllowList.parse(["::1/128"])),
                         f"http://[::1]:{server.port}/six")
    assert response.status_code == 200
    assert response.text == "hello from ::1"
    assert server.requests == [("/six", f"[::1]:{server.port}")]
    assert network_log.connects == ["::1"]


@pytest.mark.parametrize("host", ["127.0.0.1", "::1"])
async def test_loopback_not_allow_listed_is_refused_before_connecting(
    serve: Any, host: str, network_log: NetworkLog
) -> None:
    if host == "::1" and not has_ipv6_loopback():
        pytest.skip("this machine has no IPv6 loopback (::1)")
    server = serve(host)
    shown = f"[{host}]" if ":" in host else host
    with pytest.raises(NodeExecutionError) as caught:
        await get(SsrfGuard(AllowList.parse(["10.0.0.0/8"])), f"http://{shown}:{server.port}/")
    assert caught.value.code == "ssrf_blocked"
    assert host in caught.value.message
    assert server.connections == 0
    assert network_log.connects == []


async def test_connection_goes_to_the_vetted_address_without_a_second_lookup(
    serve: Any, network_log: NetworkLog
) -> None:
    """DNS rebinding: the name answers loopback once, then a private address.

    The first request must reach the server through the vetted 127.0.0.1 (``.test`` names
    do not resolve on this machine, so any second lookup would fail), and the next request
    is vetted afresh and refused.
    """
    server = serve("127.0.0.1")
    dns = FakeDns({"rebind.test": [["127.0.0.1"], ["10.9.9.9"]]})
    guard = SsrfGuard(AllowList.parse(["127.0.0.1/32"]), resolver=dns)
    async with httpx.AsyncClient(transport=GuardedTransport(guard), trust_env=False) as http:
        first = await http.get(f"http://rebind.test:{server.port}/one")
        assert first.status_code == 200
        assert str(first.url) == f"http://rebind.test:{server.port}/one"
        with pytest.raises(NodeExecutionError) as caught:
            await http.get(f"http://rebind.test:{server.port}/two")
    assert caught.value.details["address"] == "10.9.9.9"
    assert dns.questions == ["rebind.test", "rebind.test"]
    assert server.requests == [("/one", f"rebind.test:{server.port}")]
    assert "rebind.test" not in network_log.lookups
    assert network_log.connects == ["127.0.0.1"]


async def test_next_vetted_address_is_tried_when_one_refuses_connections(
    serve: Any, network_log: NetworkLog
) -> None:
    server = serve("127.0.0.1")  # listens on IPv4 only, so [::1]:port refuses
    dns = FakeDns({"dual.test": [["::1", "127.0.0.1"]]})
    guard = SsrfGuard(AllowList.parse(["dual.test"]), resolver=dns)
    response = await get(guard, f"http://dual.test:{server.port}/")
    assert response.status_code == 200
    assert network_log.connects[-1] == "127.0.0.1"
    assert dns.questions == ["dual.test"]


@pytest.mark.parametrize("target", [
    "http://169.254.169.254/latest/meta-data/",
    "http://[::ffff:169.254.169.254]/",
    "http://2130706433:{port}/",
    "http://10.0.0.1/",
])
async def test_every_redirect_hop_is_vetted(
    serve: Any, target: str, network_log: NetworkLog
) -> None:
    server = serve("127.0.0.1")
    location = target.format(port=server.port)
    guard = SsrfGuard(AllowList.parse(["localhost"]))
    with pytest.raises(NodeExecutionError) as caught:
        await get(guard, f"http://localhost:{server.port}/redirect?to={location}",
                  follow_redirects=True)
    assert caught.value.code == "ssrf_blocked"
    assert server.requests == [(f"/redirect?to={location}", f"localhost:{server.port}")]
    assert set(network_log.connects) <= {"127.0.0.1", "::1"}


async def test_redirect_to_an_allowed_hop_is_followed(serve: Any) -> None:
    first, second = serve("127.0.0.1"), serve("127.0.0.1")
    guard = SsrfGuard(AllowList.parse(["127.0.0.1"]))
    response = await get(
        guard, f"http://127.0.0.1:{first.port}/redirect?to=http://127.0.0.1:{second.port}/end",
        follow_redirects=True)
    assert response.status_code == 200
    assert str(response.url) == f"http://127.0.0.1:{second.port}/end"
    assert second.requests == [("/end", f"127.0.0.1:{second.port}")]


# --- TLS: the pinned address is verified against the name, not the IP -----------------------


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("the openssl command is needed to make a test certificate")
    folder = tmp_path_factory.mktemp("tls")
    key, cert = folder / "key.pem", folder / "cert.pem"
    subprocess.run(
        [openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-keyout", str(key), "-out", str(cert), "-subj", "/CN=pinned.test",
         "-addext", "subjectAltName=DNS:pinned.test"],
        check=True, capture_output=True,
    )
    return key, cert


@pytest.mark.parametrize(("name", "ok"), [("pinned.test", True), ("other.test", False)])
async def test_https_to_a_pinned_address_checks_the_certificate_for_the_name(
    serve: Any, certificate: tuple[Path, Path], name: str, ok: bool
) -> None:
    key, cert = certificate
    server_tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_tls.load_cert_chain(cert, key)
    server = serve("127.0.0.1", tls=server_tls)
    client_tls = ssl.create_default_context(cafile=str(cert))
    guard = SsrfGuard(AllowList.parse([name]), resolver=FakeDns({name: [["127.0.0.1"]]}))
    async with httpx.AsyncClient(transport=GuardedTransport(guard, verify=client_tls),
                                 trust_env=False) as http:
        if ok:
            response = await http.get(f"https://{name}:{server.port}/secure")
            assert response.text == "hello from 127.0.0.1"
            assert server.requests == [("/secure", f"{name}:{server.port}")]
        else:
            with pytest.raises(httpx.ConnectError, match="certificate"):
                await http.get(f"https://{name}:{server.port}/secure")
            assert server.requests == []
