"""Connection pools shared by every tenant of the process.

Tenants that reach NordPass the same way (same proxy, same CA file, same verification) share one
`httpx.AsyncClient` and so its keep-alive connections; the pool owns the clients and closes them.
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

import httpx

from agent import __version__

__all__ = ["HttpClientPool", "HttpTimeouts"]

_USER_AGENT = f"nordpass-siem-agent/{__version__}"


@dataclass(frozen=True, slots=True)
class HttpTimeouts:
    """Seconds to wait for a connection and for each read of a reply.

    A page of 100 events is small, but the API can be slow to build a large result set, hence the
    generous read timeout; writes and waiting for a free pooled connection share the read timeout.
    """

    connect: float = 10.0
    read: float = 60.0

    def as_httpx(self) -> httpx.Timeout:
        return httpx.Timeout(self.read, connect=self.connect)


_ClientKey = tuple[str | None, str | None, bool]


class HttpClientPool:
    """One `httpx.AsyncClient` per distinct `(proxy, ca_file, verify)`, created on first use.

    TLS verification is on unless a tenant turns it off. A `ca_file` replaces the public CA bundle
    for that client (like `curl --cacert`), which is what a TLS-inspecting proxy needs.
    """

    def __init__(self, *, timeouts: HttpTimeouts | None = None) -> None:
        self._timeouts = timeouts or HttpTimeouts()
        self._clients: dict[_ClientKey, httpx.AsyncClient] = {}
        self._closed = False

    def client_for(
        self,
        *,
        proxy: str | None = None,
        ca_file: str | Path | None = None,
        verify: bool = True,
    ) -> httpx.AsyncClient:
        """The shared client for this way of reaching the API."""
        if self._closed:
            raise RuntimeError("the HTTP client pool is closed")
        if ca_file is not None and not verify:
            raise ValueError("a ca_file is only used when TLS verification is on")
        key: _ClientKey = (proxy, None if ca_file is None else str(ca_file), verify)
        client = self._clients.get(key)
        if client is None:
            client = self._new_client(*key)
            self._clients[key] = client
        return client

    def __len__(self) -> int:
        return len(self._clients)

    async def aclose(self) -> None:
        self._closed = True
        clients, self._clients = list(self._clients.values()), {}
        for client in clients:
            await client.aclose()

    async def __aenter__(self) -> HttpClientPool:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.aclose()

    def _new_client(
        self, proxy: str | None, ca_file: str | None, verify: bool
    ) -> httpx.AsyncClient:
        tls: ssl.SSLContext | bool = verify
        if ca_file is not None:
            tls = ssl.create_default_context(cafile=ca_file)
        return httpx.AsyncClient(
            proxy=proxy,
            verify=tls,
            timeout=self._timeouts.as_httpx(),
            headers={"User-Agent": _USER_AGENT},
        )
