"""Host lists for the SSRF guard: the operator's exemptions (the internal services
workflows are meant to reach) and a node's own narrowing of where it may connect.

Entries are exact host names, ``*.suffix`` wildcards (any subdomain, not the apex), IP
addresses and CIDR blocks. A malformed entry is an error, never silently ignored: an entry
that matched nothing would leave its author wondering why their service is refused, and one
read too loosely would open more than intended.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from ipaddress import IPv6Address, ip_network

from workflow_compiler.net.addresses import IPAddress, IPNetwork

_LABEL = re.compile(r"^(?!-)[a-z0-9_-]{1,63}(?<!-)$")


def normalize_host(host: str) -> str:
    """Host names compare case-insensitively and without the root's trailing dot."""
    return host.strip().lower().removesuffix(".")


def _is_host_name(name: str) -> bool:
    return 0 < len(name) <= 253 and all(_LABEL.match(label) for label in name.split("."))


def parse_entry(entry: str) -> str | IPNetwork:
    """A normalised name (``*.`` kept for wildcards) or a network; ``ValueError`` if invalid."""
    if not isinstance(entry, str) or not entry.strip():
        raise ValueError("an allow_hosts entry must be a non-empty string")
    text = entry.strip()
    if text.startswith("[") and text.endswith("]"):
        text = text[1:-1]
    try:
        return ip_network(text, strict=False)
    except ValueError:
        pass
    if not text.isascii():
        raise ValueError(f"{entry!r}: write internationalised names in their 'xn--' form")
    name = normalize_host(text)
    if name.startswith("*."):
        if _is_host_name(name[2:]):
            return name
        raise ValueError(f"{entry!r} is not a valid wildcard; use '*.example.com'")
    if _is_host_name(name) and not name.replace(".", "").isdigit():
        return name
    raise ValueError(
        f"{entry!r} is not a host name, '*.suffix' wildcard, IP address or CIDR block"
        " (no scheme, port or path)"
    )


@dataclass(frozen=True, slots=True)
class AllowList:
    hosts: frozenset[str] = frozenset()
    suffixes: tuple[str, ...] = ()
    networks: tuple[IPNetwork, ...] = ()

    @classmethod
    def parse(cls, entries: Iterable[str]) -> AllowList:
        """Every entry parsed; the first malformed one raises ``ValueError``."""
        hosts: set[str] = set()
        suffixes: list[str] = []
        networks: list[IPNetwork] = []
        for entry in entries:
            parsed = parse_entry(entry)
            if isinstance(parsed, str):
                if parsed.startswith("*."):
                    suffixes.append(parsed[1:])
                else:
                    hosts.add(parsed)
            else:
                networks.append(parsed)
        return cls(frozenset(hosts), tuple(suffixes), tuple(networks))

    def allows_host(self, host: str) -> bool:
        name = normalize_host(host)
        return name in self.hosts or any(name.endswith(suffix) for suffix in self.suffixes)

    def allows_address(self, address: IPAddress) -> bool:
        """An IPv4-mapped IPv6 address is covered by the entries for its IPv4 form too."""
        if isinstance(address, IPv6Address):
            if address.scope_id:
                address = IPv6Address(str(address).split("%", 1)[0])
            if address.ipv4_mapped is not None and self.allows_address(address.ipv4_mapped):
                return True
        return any(address in network for network in self.networks)
