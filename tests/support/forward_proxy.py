"""A small forward HTTP proxy on loopback, as a corporate network puts in front of Splunk: `CONNECT`
tunnels for HTTPS and absolute-form requests for plain HTTP. It records where each client asked
to go, so a test can tell that traffic really went through it."""

from __future__ import annotations

import asyncio
import contextlib
from urllib.parse import urlsplit

__all__ = ["ForwardProxy"]


class ForwardProxy:
    def __init__(self) -> None:
        self.tunnels: list[str] = []  # host:port of each CONNECT
        self.forwarded: list[str] = []  # absolute URLs of plain-HTTP requests
        self._server: asyncio.Server | None = None
        self._pipes: set[asyncio.Task[None]] = set()
        self._writers: list[asyncio.StreamWriter] = []

    async def start(self) -> str:
        self._server = await asyncio.start_server(self._client, "127.0.0.1", 0)
        port = self._server.sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{port}"

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            for task in list(self._pipes):
                task.cancel()
            await asyncio.gather(*self._pipes, return_exceptions=True)
            for writer in self._writers:
                writer.close()
                with contextlib.suppress(OSError):
                    await writer.wait_closed()
            await self._server.wait_closed()

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._writers.append(writer)
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            method, target, version = head.split(b"\r\n", 1)[0].decode().split(" ", 2)
            if method == "CONNECT":
                host, _, port = target.rpartition(":")
                self.tunnels.append(target)
                upstream_reader, upstream_writer = await asyncio.open_connection(host, int(port))
                self._writers.append(upstream_writer)
                writer.write(f"{version} 200 Connection established\r\n\r\n".encode())
                await writer.drain()
            else:
                url = urlsplit(target)
                self.forwarded.append(target)
                upstream_reader, upstream_writer = await asyncio.open_connection(
                    url.hostname, url.port or 80
                )
                self._writers.append(upstream_writer)
                # The first request line in origin form; later requests on the connection are
                # passed on as they come (absolute form, which HTTP/1.1 servers accept).
                origin = f"{method} {url.path or '/'}{'?' + url.query if url.query else ''}"
                upstream_writer.write(head.replace(f"{method} {target}".encode(), origin.encode()))
            await self._pipe(reader, writer, upstream_reader, upstream_writer)
        except (OSError, asyncio.IncompleteReadError, ValueError):
            writer.close()

    async def _pipe(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        upstream_reader: asyncio.StreamReader,
        upstream_writer: asyncio.StreamWriter,
    ) -> None:
        async def copy(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
            with contextlib.suppress(OSError):
                while chunk := await source.read(65536):
                    sink.write(chunk)
                    await sink.drain()
            sink.close()

        tasks = [
            asyncio.create_task(copy(reader, upstream_writer)),
            asyncio.create_task(copy(upstream_reader, writer)),
        ]
        self._pipes.update(tasks)
        try:
            await asyncio.gather(*tasks, return_exceptions=True)
        finally:
            self._pipes.difference_update(tasks)
