"""Starting an aiohttp application on a local port, for the sandbox emulators (NordPass and
every SIEM's): one place that binds, cleans up on failure and spells the base URL."""

from __future__ import annotations

import ssl

from aiohttp import web

__all__ = ["start_site"]


async def start_site(
    runner: web.AppRunner, host: str, port: int, ssl_context: ssl.SSLContext | None
) -> str:
    """Set up `runner`, listen on `host:port` (0 picks a free port) and return the base URL,
    e.g. `https://127.0.0.1:49152` or `http://[::1]:49152`."""
    await runner.setup()
    site = web.TCPSite(runner, host, port, ssl_context=ssl_context)
    try:
        await site.start()
    except BaseException:
        await runner.cleanup()
        raise
    scheme = "https" if ssl_context is not None else "http"
    shown_host = f"[{host}]" if ":" in host else host
    return f"{scheme}://{shown_host}:{runner.addresses[0][1]}"
