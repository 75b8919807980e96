"""Outbound network access for nodes: the SSRF guard and the transport that enforces it."""

from workflow_compiler.net.addresses import IPAddress, forbidden_reason, parse_host_literal
from workflow_compiler.net.allowlist import AllowList, parse_entry
from workflow_compiler.net.ssrf import SsrfGuard, Target, VettedTarget, system_resolver
from workflow_compiler.net.transport import GuardedTransport

__all__ = [
    "AllowList",
    "GuardedTransport",
    "IPAddress",
    "SsrfGuard",
    "Target",
    "VettedTarget",
    "forbidden_reason",
    "parse_entry",
    "parse_host_literal",
    "system_resolver",
]
