"""An httpx transport that only connects to addresses the SSRF guard vetted.

Every request, including each redirect hop httpx follows, passes through
``handle_async_request``: the URL is vetted, then the request is sent to the vetted IP
itself, with the original ``Host`` header and, for https, the original name as TLS SNI and
certificate hostname (httpcore's ``sni_hostname`` extension). Nothing resolves the name a
second time, so a DNS answer cannot change between the check and the connection.

Each (host, address) pair gets its own connection pool. Pools are keyed by origin, and the
origin here is the IP: sharing one pool between two names on the same IP would reuse a TLS
session whose certificate was only checked for the first name.
"""

from __future__ import annotations

import functools
import ssl
from types import TracebackType

import httpx

from workflow_compiler.net.addresses import IPAddress
from workflow_compiler.net.ssrf import SsrfGuard, VettedTarget

_PoolKey = tuple[str, str, int, str]


class GuardedTransport(httpx.AsyncBaseTransport):
    def __init__(
        self,
        guard: SsrfGuard,
        *,
        verify: ssl.SSLContext | bool = True,
        limits: httpx.Limits | None = None,
    ) -> None:
        self._guard = guard
        self._verify = verify
        self._limits = limits or httpx.Limits(max_connections=10, max_keepalive_connections=5)
        self._pools: dict[_PoolKey, httpx.AsyncHTTPTransport] = {}

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        vetted = await self._guard.vet(request.url)
        failure: httpx.ConnectError | None = None
        # Try each vetted address in turn, as a resolver-driven client would; only a failed
        # connect moves on (the request has not been sent yet, so trying again is safe).
        for address in vetted.addresses:
            pinned = _pinned(request, vetted, address)
            try:
                return await self._pool(vetted, address).handle_async_request(pinned)
            except httpx.ConnectError as exc:
                failure = exc
        assert failure is not None
        raise failure

    def _pool(self, vetted: VettedTarget, address: IPAddress) -> httpx.AsyncHTTPTransport:
        target = vetted.target
        key = (target.scheme, target.host, target.port, str(address))
        pool = self._pools.get(key)
        if pool is None:
            pool = httpx.AsyncHTTPTransport(verify=self._context(), limits=self._limits,
                                            trust_env=False, retries=0)
            self._pools[key] = pool
        return pool

    def _context(self) -> ssl.SSLContext:
        if isinstance(self._verify, ssl.SSLContext):
            return self._verify
        return _default_context(verify=self._verify)

    async def aclose(self) -> None:
        pools, self._pools = list(self._pools.values()), {}
        for pool in pools:
            await pool.aclose()

    async def __aenter__(self) -> GuardedTransport:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None = None,
        exc_value: BaseException | None = None,
        traceback: TracebackType | None = None,
    ) -> None:
        await self.aclose()


@functools.cache
def _default_context(*, verify: bool) -> ssl.SSLContext:
    """Shared by every transport: building a context loads the CA bundle, which is slow."""
    return httpx.create_ssl_context(verify=verify, trust_env=False)


def _pinned(request: httpx.Request, vetted: VettedTarget, address: IPAddress) -> httpx.Request:
    """The same request aimed at ``address``; headers (Host included) and body unchanged."""
    ip = str(address).split("%", 1)[0]
    extensions = dict(request.extensions)
    if vetted.target.scheme == "https" and vetted.target.literal is None:
        extensions["sni_hostname"] = vetted.target.host
    return httpx.Request(
        request.method,
        request.url.copy_with(host=ip),
        headers=request.headers,
        stream=request.stream,
        extensions=extensions,
    )
