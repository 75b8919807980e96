"""Which IP addresses a workflow may reach, and how numeric host spellings map to them.

The rules are an explicit table rather than ``ipaddress``'s ``is_private`` alone: the
table names the reason in the error (a user needs to know *why* a URL was refused), and
its answers do not shift between Python patch releases. ``is_global`` stays as a backstop
for ranges the table does not list.
"""

from __future__ import annotations

import re
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network

IPAddress = IPv4Address | IPv6Address
IPNetwork = IPv4Network | IPv6Network

# Instance metadata endpoints (AWS/GCP/Azure, AWS over IPv6, Alibaba, Oracle). They hold
# cloud credentials, so a hostname allow-list entry never unlocks them; only an IP or
# CIDR entry that covers them does.
METADATA_ADDRESSES: frozenset[IPAddress] = frozenset({
    IPv4Address("169.254.169.254"),
    IPv6Address("fd00:ec2::254"),
    IPv4Address("100.100.100.200"),
    IPv4Address("192.0.0.192"),
})

_V4_RULES: tuple[tuple[IPv4Network, str], ...] = tuple(
    (IPv4Network(net), reason) for net, reason in (
        ("0.0.0.0/8", "unspecified ('this network')"),
        ("10.0.0.0/8", "private (RFC 1918)"),
        ("100.64.0.0/10", "carrier-grade NAT (RFC 6598)"),
        ("127.0.0.0/8", "loopback"),
        ("169.254.0.0/16", "link-local"),
        ("172.16.0.0/12", "private (RFC 1918)"),
        ("192.0.0.0/24", "IETF protocol assignments"),
        ("192.0.2.0/24", "documentation"),
        ("192.88.99.0/24", "6to4 relay anycast"),
        ("192.168.0.0/16", "private (RFC 1918)"),
        ("198.18.0.0/15", "benchmarking"),
        ("198.51.100.0/24", "documentation"),
        ("203.0.113.0/24", "documentation"),
        ("224.0.0.0/4", "multicast"),
        ("240.0.0.0/4", "reserved"),
    )
)

_V6_RULES: tuple[tuple[IPv6Network, str], ...] = tuple(
    (IPv6Network(net), reason) for net, reason in (
        ("::/128", "unspecified"),
        ("::1/128", "loopback"),
        ("::/96", "IPv4-compatible (deprecated)"),
        ("64:ff9b:1::/48", "local-use NAT64"),
        ("100::/64", "discard-only"),
        ("2001:2::/48", "benchmarking"),
        ("2001:10::/28", "ORCHID"),
        ("2001:20::/28", "ORCHIDv2"),
        ("2001:db8::/32", "documentation"),
        ("3fff::/20", "documentation"),
        ("5f00::/16", "segment routing"),
        ("fc00::/7", "unique local (private)"),
        ("fe80::/10", "link-local"),
        ("fec0::/10", "site-local (deprecated)"),
        ("ff00::/8", "multicast"),
    )
)

_NAT64 = IPv6Network("64:ff9b::/96")
_SIX_TO_FOUR = IPv6Network("2002::/16")
_TEREDO = IPv6Network("2001::/32")


def forbidden_reason(address: IPAddress) -> str | None:
    """Why ``address`` must not be reached from a workflow, or None when it is public."""
    if isinstance(address, IPv6Address) and address.scope_id:
        address = IPv6Address(str(address).split("%", 1)[0])
    if address in METADATA_ADDRESSES:
        return "cloud metadata endpoint"
    if isinstance(address, IPv4Address):
        return _v4_reason(address)
    return _v6_reason(address)


def reaches_metadata(address: IPAddress) -> bool:
    """Whether ``address`` is a metadata endpoint, directly or through a v6 embedding."""
    if isinstance(address, IPv6Address):
        address = IPv6Address(str(address).split("%", 1)[0])
        embedded = _embedded_v4(address)
        if embedded is not None:
            return embedded[1] in METADATA_ADDRESSES
    return address in METADATA_ADDRESSES


def _v4_reason(address: IPv4Address) -> str | None:
    for network, reason in _V4_RULES:
        if address in network:
            return reason
    if not address.is_global or address.is_multicast or address.is_reserved:
        return "not globally routable"
    return None


def _v6_reason(address: IPv6Address) -> str | None:
    embedded = _embedded_v4(address)
    if embedded is not None:
        label, inner = embedded
        reason = forbidden_reason(inner)
        # The embedding only decides: a mapped or translated public address is public.
        return f"{label} {inner}, {reason}" if reason else None
    for network, reason in _V6_RULES:
        if address in network:
            return reason
    if not address.is_global:
        return "not globally routable"
    return None


def _embedded_v4(address: IPv6Address) -> tuple[str, IPv4Address] | None:
    """The IPv4 address a v6 form delivers to (mapped, NAT64, 6to4, Teredo), if any.

    For Teredo the client address is the one traffic reaches; a private server address is
    refused too, since the relay would be asked to talk to it.
    """
    if address.ipv4_mapped is not None:
        return "IPv4-mapped", address.ipv4_mapped
    if address in _NAT64:
        return "NAT64 of", IPv4Address(int(address) & 0xFFFFFFFF)
    if address in _SIX_TO_FOUR and address.sixtofour is not None:
        return "6to4 of", address.sixtofour
    if address in _TEREDO and address.teredo is not None:
        server, client = address.teredo
        if forbidden_reason(client) is None and forbidden_reason(server) is not None:
            return "Teredo via", server
        return "Teredo of", client
    return None


_NUMBER_LABEL = re.compile(r"^(?:[0-9]+|0[xX][0-9a-fA-F]*)$")
_OCTAL = re.compile(r"^0[0-7]+$")
_DECIMAL = re.compile(r"^(?:0|[1-9][0-9]*)$")


class AmbiguousHostError(ValueError):
    """A host that looks numeric but is no valid IPv4 address: resolvers disagree on it."""


def parse_numeric_ipv4(host: str) -> IPv4Address | None:
    """The address a numeric host spelling means, the way browsers and ``inet_aton`` read it.

    ``2130706433``, ``0x7f000001``, ``0177.0.0.1`` and ``127.1`` all mean 127.0.0.1. We
    interpret them ourselves instead of handing them to the resolver, so the guard never
    depends on a platform's lenient parsing. A name whose last label is a number but which
    is not a valid address (``1.2.3.4.5``, ``example.123``) is refused as ambiguous, as the
    WHATWG URL standard does. Returns None for ordinary names.
    """
    labels = host.split(".")
    if len(labels) > 1 and labels[-1] == "":
        labels.pop()
    if not _NUMBER_LABEL.match(labels[-1]):
        return None
    if len(labels) > 4:
        raise AmbiguousHostError(f"{host!r} looks like an IPv4 address but has too many parts")
    parts = [_parse_part(label, host) for label in labels]
    if any(part > 255 for part in parts[:-1]) or parts[-1] >= 256 ** (5 - len(parts)):
        raise AmbiguousHostError(f"{host!r} looks like an IPv4 address but is out of range")
    value = parts[-1]
    for index, part in enumerate(parts[:-1]):
        value += part << (8 * (3 - index))
    return IPv4Address(value)


def _parse_part(label: str, host: str) -> int:
    if label[:2] in ("0x", "0X"):
        digits = label[2:]
        if digits and not re.fullmatch(r"[0-9a-fA-F]+", digits):
            raise AmbiguousHostError(f"{host!r} has a malformed hexadecimal part {label!r}")
        return int(digits, 16) if digits else 0
    if _OCTAL.match(label):
        return int(label, 8)
    if _DECIMAL.match(label):
        return int(label)
    raise AmbiguousHostError(f"{host!r} has a malformed numeric part {label!r}")


def parse_host_literal(host: str) -> IPAddress | None:
    """The address a URL host names literally (IPv6 or any IPv4 spelling), else None.

    ``host`` is as ``httpx.URL.host`` gives it: lowercase, no brackets, no zone id.
    """
    if ":" in host:
        try:
            return IPv6Address(host)
        except ValueError:
            raise AmbiguousHostError(f"{host!r} is not a valid IPv6 address") from None
    return parse_numeric_ipv4(host)
