"""The SSRF guard: decide whether a URL may be fetched, and which addresses it may use.

A workflow author (or whoever controls its inputs) chooses the URLs an http node fetches,
and the worker sits inside our network. Without a guard, ``http://169.254.169.254/`` hands
out cloud credentials and ``http://localhost:5432`` probes the database. So every URL is
checked before any connection: its scheme, its host's spelling, and every address the host
resolves to. The vetted addresses are returned so the caller connects to exactly those
(see ``net.transport``); resolving again at connect time would let a DNS server answer
"public" to the check and "private" to the connection (DNS rebinding).

Two lists, with different owners. ``allow`` lifts the forbidden ranges: it is the
operator's (``HttpPolicy.allow_hosts``), because whoever writes a spec or its inputs is
exactly who the guard defends against. ``only`` narrows what a node may reach, public
hosts included: it is the spec's (an http node's ``allow_hosts``), and since it can only
take away, a spec cannot use it to reach anything the operator did not allow.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from ipaddress import ip_address
from urllib.parse import urlsplit

import httpx

from workflow_compiler.errors import NodeExecutionError
from workflow_compiler.net.addresses import (
    AmbiguousHostError,
    IPAddress,
    forbidden_reason,
    parse_host_literal,
    reaches_metadata,
)
from workflow_compiler.net.allowlist import AllowList, normalize_host

Resolver = Callable[[str, int], Awaitable[list[IPAddress]]]
"""Answers every address for (host, port); injectable so tests can play DNS."""

ALLOWED_SCHEMES = frozenset({"http", "https"})
MAX_URL_LENGTH = 16_384
DEFAULT_PORTS = {"http": 80, "https": 443}
RESOLVE_TIMEOUT_SECONDS = 10.0


def blocked(message: str, **details: object) -> NodeExecutionError:
    return NodeExecutionError(message, code="ssrf_blocked", retryable=False, details=details)


def invalid_url(message: str) -> NodeExecutionError:
    return NodeExecutionError(message, code="invalid_url", retryable=False)


async def system_resolver(host: str, port: int) -> list[IPAddress]:
    """All addresses the system resolver gives, looked up off the event loop.

    A failed lookup is a connection-phase failure (``http_error``); only a temporary one
    (EAI_AGAIN) is worth retrying.
    """
    loop = asyncio.get_running_loop()
    try:
        async with asyncio.timeout(RESOLVE_TIMEOUT_SECONDS):
            infos = await loop.getaddrinfo(
                host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP
            )
    except TimeoutError:
        raise NodeExecutionError(
            f"resolving {host!r} timed out after {RESOLVE_TIMEOUT_SECONDS:g}s",
            code="http_timeout", retryable=True, details={"host": host},
        ) from None
    except socket.gaierror as exc:
        raise NodeExecutionError(
            f"could not resolve {host!r}: {exc.strerror or exc}", code="http_error",
            retryable=exc.errno == socket.EAI_AGAIN, details={"host": host},
        ) from None
    addresses: list[IPAddress] = []
    for _family, _type, _proto, _canon, sockaddr in infos:
        address = ip_address(sockaddr[0])
        if address not in addresses:
            addresses.append(address)
    return addresses


@dataclass(frozen=True, slots=True)
class Target:
    """A URL's destination as the HTTP client will read it, before any lookup."""

    url: httpx.URL
    scheme: str
    host: str
    port: int
    literal: IPAddress | None


@dataclass(frozen=True, slots=True)
class VettedTarget:
    """A destination that passed the guard, with the only addresses it may be reached at."""

    target: Target
    addresses: tuple[IPAddress, ...]

    @property
    def host(self) -> str:
        return self.target.host


def not_allowed(host: str, shown: str = "") -> NodeExecutionError:
    return NodeExecutionError(
        f"refused to connect to {host!r}{shown}: it is not in this node's allow_hosts",
        code="host_not_allowed", retryable=False, details={"host": host})


class SsrfGuard:
    """Vets URLs against the forbidden ranges, lifting them only for the operator's
    exemptions (``allow``), and, when ``only`` is given, against a node's own list of the
    hosts it may reach at all."""

    def __init__(self, allow: AllowList | None = None, resolver: Resolver | None = None,
                 *, only: AllowList | None = None) -> None:
        self.allow = allow or AllowList()
        self.only = only
        self._resolve: Resolver = resolver or system_resolver

    def inspect(self, url: str | httpx.URL) -> Target:
        """Everything decidable without DNS, including hosts written as IP addresses."""
        try:
            target = parse_target(url)
        except NodeExecutionError as exc:
            if exc.code == "invalid_url" and isinstance(url, str):
                self._refuse_numeric_spelling(url)
            raise
        if target.literal is not None:
            self._restrict(target.host, [target.literal])
            self._check(target.host, [target.literal])
        elif self.only is not None and not self.only.allows_host(target.host) \
                and not self.only.networks:
            raise not_allowed(target.host)  # no address could match: refused before DNS
        return target

    async def vet(self, url: str | httpx.URL) -> VettedTarget:
        """The target and its permitted addresses; raises ``ssrf_blocked`` when refused."""
        target = self.inspect(url)
        if target.literal is not None:
            return VettedTarget(target, (target.literal,))
        addresses = await self._resolve(target.host, target.port)
        if not addresses:
            raise NodeExecutionError(f"{target.host!r} resolved to no addresses",
                                     code="http_error", retryable=True,
                                     details={"host": target.host})
        self._restrict(target.host, addresses)
        self._check(target.host, addresses)
        return VettedTarget(target, tuple(addresses))

    def _restrict(self, host: str, addresses: list[IPAddress]) -> None:
        """A node's own list: its host name, or every address it has, must be on it."""
        if self.only is None or self.only.allows_host(host):
            return
        for address in addresses:
            if not self.only.allows_address(address):
                raise not_allowed(host, "" if host == str(address) else f" ({address})")

    def _check(self, host: str, addresses: list[IPAddress]) -> None:
        """Refuse when any address is forbidden: a host with one private answer is hostile.

        A host name on the allow-list lifts the ranges for its addresses, except cloud
        metadata, which only an IP/CIDR entry covering it can unlock.
        """
        host_allowed = self.allow.allows_host(host)
        for address in addresses:
            reason = forbidden_reason(address)
            if reason is None or self.allow.allows_address(address):
                continue
            if host_allowed and not reaches_metadata(address):
                continue
            shown = "" if host == str(address) else f" ({address})"
            remedy = ("only the operator's allow-list (GRAPHWRIGHT_HTTP_ALLOW_HOSTS) can"
                      " unlock it, with an entry for that IP address or its block"
                      if reaches_metadata(address) else
                      "only the operator can allow it, in GRAPHWRIGHT_HTTP_ALLOW_HOSTS (a"
                      " spec's allow_hosts never lifts the guard)")
            raise blocked(f"refused to connect to {host!r}{shown}: {reason} address; {remedy}",
                          host=host, address=str(address), reason=reason)

    def _refuse_numeric_spelling(self, text: str) -> None:
        """httpx rejects some numeric spellings (``0177.0.0.1``) that resolvers accept.

        Those are refused as such, naming the address, rather than as a mere parse error.
        """
        try:
            host = urlsplit(text).hostname
        except ValueError:
            return
        if not host:
            return
        try:
            literal = parse_host_literal(normalize_host(host))
        except AmbiguousHostError as exc:
            raise blocked(f"refused ambiguous host: {exc}", host=host) from None
        if literal is not None:
            self._check(host, [literal])


def parse_target(url: str | httpx.URL) -> Target:
    """A URL's scheme, host, port and literal address, refusing what parsers disagree on.

    Given a string, the URL is parsed with httpx (the parser the client itself uses, so
    the checked host is the connected host). Strings that parsers are known to read
    differently (backslashes, whitespace, control characters) are refused outright, and
    so are credentials and hosts that only look numeric. No allow-list applies here.
    """
    parsed = _parse_text(url) if isinstance(url, str) else url
    scheme = parsed.scheme.lower()
    if scheme not in ALLOWED_SCHEMES:
        raise blocked(f"URL scheme {scheme or '(none)'!r} is not allowed; use http or https",
                      scheme=scheme)
    if parsed.userinfo:
        raise blocked("credentials in the URL are refused (parsers disagree on where the"
                      " host starts); send an Authorization header instead")
    raw_host = parsed.raw_host.decode("ascii", "replace")
    if not raw_host:
        raise invalid_url(f"URL {_shown(parsed)} has no host")
    if "%" in raw_host:
        what = "IPv6 zone identifiers" if ":" in raw_host else "percent-encoded hosts"
        raise blocked(f"{what} are refused: {raw_host!r}", host=raw_host)
    host = normalize_host(raw_host)
    try:
        literal = parse_host_literal(host)
    except AmbiguousHostError as exc:
        raise blocked(f"refused ambiguous host: {exc}", host=host) from None
    port = parsed.port or DEFAULT_PORTS[scheme]
    if not 0 < port < 65536:
        raise invalid_url(f"port {port} is out of range")
    return Target(parsed, scheme, host, port, literal)


def _parse_text(text: str) -> httpx.URL:
    if len(text) > MAX_URL_LENGTH:
        raise invalid_url(f"URL is longer than {MAX_URL_LENGTH} characters")
    if any(ch.isspace() or ord(ch) < 0x20 or ch in "\\\x7f" for ch in text):
        raise blocked("URL contains whitespace, control characters or backslashes, which"
                      " URL parsers read differently")
    try:
        return httpx.URL(text)
    except httpx.InvalidURL as exc:
        raise invalid_url(f"invalid URL: {exc}") from None


def _shown(url: httpx.URL) -> str:
    return repr(str(url)[:200])
