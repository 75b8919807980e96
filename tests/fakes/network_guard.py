"""Refuse any network access beyond loopback while a test runs.

``install()`` adds a ``sys.addaudithook`` hook (once per process: audit hooks cannot be
removed) that does nothing until ``enabled`` is switched on; the ``no_real_providers``
fixture in ``tests/ai/conftest.py`` switches it on for every test there. While on, a
``socket.getaddrinfo`` / ``socket.connect`` / ``socket.gethostbyname`` aimed at anything
but loopback raises ``RealNetworkAccessError`` at the call site and is recorded in
``violations``: SDKs wrap connection failures in their own errors (and may retry), so
the fixture also fails the test at teardown if anything was recorded.
"""

from __future__ import annotations

import ipaddress
import sys
import threading
from typing import Any

__all__ = ["RealNetworkAccessError", "enabled", "install", "is_loopback_host", "take_violations",
           "violations"]


class RealNetworkAccessError(RuntimeError):
    """A test tried to reach a host other than loopback."""


#: Toggled by the fixture; module-level so the (unremovable) hook can be disarmed.
enabled = False
violations: list[str] = []
_installed = False
_install_lock = threading.Lock()
_HOST_EVENTS = frozenset({"socket.getaddrinfo", "socket.gethostbyname", "socket.gethostbyname_ex",
                          "socket.gethostbyaddr"})


def is_loopback_host(host: Any) -> bool:
    """Loopback names and addresses; None/"" (the wildcard, local by definition) too."""
    if host is None:
        return True
    if isinstance(host, bytes | bytearray):
        host = bytes(host).decode("ascii", "replace")
    if not isinstance(host, str):
        return False
    name = host.strip().strip("[]").split("%", 1)[0].rstrip(".").lower()
    if name in ("", "localhost") or name.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def _hook(event: str, args: tuple[Any, ...]) -> None:
    if not enabled:
        return
    if event == "socket.connect":
        address = args[1]
        if not isinstance(address, tuple) or not address:
            return  # AF_UNIX and friends
        host = address[0]
    elif event in _HOST_EVENTS:
        host = args[0] if args else None
    else:
        return
    if is_loopback_host(host):
        return
    message = (f"blocked {event} to {host!r}: tests must not reach real providers; "
               "point the SDK at a fake server from tests/fakes")
    violations.append(message)
    raise RealNetworkAccessError(message)


def install() -> None:
    global _installed
    with _install_lock:
        if not _installed:
            sys.addaudithook(_hook)
            _installed = True


def take_violations() -> list[str]:
    """The recorded violations, clearing them (for tests that provoke one on purpose)."""
    taken = list(violations)
    violations.clear()
    return taken
