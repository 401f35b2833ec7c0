"""The shared connection pools: one client per way of reaching the API."""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from collections.abc import AsyncIterator
from pathlib import Path

import certifi
import httpx
import pytest
import trustme

from agent.nordpass import HttpClientPool, HttpTimeouts

PROXY = "http://proxy.internal.example:3128"


@pytest.fixture
async def pool() -> AsyncIterator[HttpClientPool]:
    async with HttpClientPool() as pool:
        yield pool


def test_tenants_reaching_the_api_the_same_way_share_one_client(pool: HttpClientPool) -> None:
    first = pool.client_for(proxy=PROXY, ca_file=certifi.where())
    second = pool.client_for(proxy=PROXY, ca_file=certifi.where())

    assert first is second
    assert pool.client_for() is pool.client_for()
    assert len(pool) == 2


@pytest.mark.parametrize(
    "other",
    [
        {"proxy": "http://other-proxy.example:3128", "ca_file": None, "verify": True},
        {"proxy": PROXY, "ca_file": None, "verify": True},
        {"proxy": PROXY, "ca_file": None, "verify": False},
    ],
)
def test_a_different_proxy_ca_file_or_verify_gets_its_own_client(
    pool: HttpClientPool, other: dict[str, str | bool | None]
) -> None:
    base = pool.client_for(proxy=PROXY, ca_file=certifi.where())

    assert pool.client_for(**other) is not base  # type: ignore[arg-type]
    assert len(pool) == 2


@pytest.fixture
async def tls_server(tmp_path: Path) -> AsyncIterator[tuple[str, str]]:
    """A local HTTPS server with a certificate from a private CA; yields (url, CA file)."""
    authority = trustme.CA()
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    authority.issue_cert("localhost").configure_cert(server_context)
    ca_file = tmp_path / "private-ca.pem"
    authority.cert_pem.write_to_path(str(ca_file))

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(ConnectionError, ssl.SSLError):
            await reader.readuntil(b"\r\n\r\n")
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")
            await writer.drain()
        writer.close()

    server = await asyncio.start_server(answer, "127.0.0.1", 0, ssl=server_context)
    port = server.sockets[0].getsockname()[1]
    async with server:
        yield f"https://localhost:{port}/", str(ca_file)


async def test_tls_verification_is_on_by_default(
    pool: HttpClientPool, tls_server: tuple[str, str]
) -> None:
    url, _ = tls_server

    with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
        await pool.client_for().get(url)


async def test_a_ca_file_makes_its_authority_trusted(
    pool: HttpClientPool, tls_server: tuple[str, str]
) -> None:
    url, ca_file = tls_server

    response = await pool.client_for(ca_file=ca_file).get(url)

    assert response.text == "ok"


def test_a_ca_file_without_verification_is_refused(pool: HttpClientPool) -> None:
    with pytest.raises(ValueError, match="ca_file"):
        pool.client_for(ca_file=certifi.where(), verify=False)


def test_a_missing_ca_file_fails_at_once(pool: HttpClientPool, tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        pool.client_for(ca_file=f"{tmp_path}/missing.pem")


async def test_timeouts_are_applied_to_every_client() -> None:
    async with HttpClientPool(timeouts=HttpTimeouts(connect=3.0, read=45.0)) as pool:
        timeout = pool.client_for(proxy=PROXY).timeout

    assert (timeout.connect, timeout.read) == (3.0, 45.0)


async def test_default_timeouts_are_ten_seconds_to_connect_and_a_minute_to_read(
    pool: HttpClientPool,
) -> None:
    timeout = pool.client_for().timeout

    assert (timeout.connect, timeout.read) == (10.0, 60.0)


async def test_aclose_closes_every_client_and_the_pool() -> None:
    pool = HttpClientPool()
    clients = [pool.client_for(), pool.client_for(proxy=PROXY)]

    await pool.aclose()

    assert all(client.is_closed for client in clients)
    with pytest.raises(RuntimeError, match="closed"):
        pool.client_for()


def test_clients_are_plain_httpx_async_clients(pool: HttpClientPool) -> None:
    assert isinstance(pool.client_for(), httpx.AsyncClient)
