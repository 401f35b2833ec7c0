"""Metrics in the Prometheus text format, and a small HTTP listener that serves them.

Everything is read when scraped, from the state store and the dispatchers, so no code path has to
remember to count: backlogs and delivered totals per tenant and destination, dead letters, how far
each tenant's verified watermark lags behind now (the stale-watermark alert), destinations that
are failing or stopped on a fatal error, tenants a destination refuses for their own settings,
the destinations' own counters (requests, retries, fatal errors...) and unknown actions seen.

`GET /metrics` answers the metrics, `GET /healthz` a one-line JSON status. The listener is off
unless `metrics.listen` is set; it binds 127.0.0.1 by default. Nothing secret is ever a label.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING

import structlog

from agent import __version__
from agent.normalize import UnknownActionCounter

if TYPE_CHECKING:
    from agent.runtime import Agent

__all__ = ["MetricsServer", "render_metrics"]

_log = structlog.get_logger("agent.metrics")
_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
_MAX_REQUEST_BYTES = 8192
_READ_TIMEOUT_SECONDS = 10.0

Sample = tuple[dict[str, str], float]


def _label(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _family(name: str, kind: str, help_text: str, samples: Iterable[Sample]) -> Iterator[str]:
    yield f"# HELP {name} {help_text}"
    yield f"# TYPE {name} {kind}"
    for labels, value in samples:
        rendered = ",".join(f'{key}="{_label(text)}"' for key, text in labels.items())
        number = repr(float(value)) if value != int(value) else str(int(value))
        yield f"{name}{{{rendered}}} {number}" if rendered else f"{name} {number}"


def render_metrics(agent: Agent) -> str:
    """Every metric, read now from `agent`."""
    now = agent.clock.now()
    config, store = agent.config, agent.store
    positions = store.outbox.positions()
    dead = store.dead_letters.counts()
    lines: list[str] = []

    def add(name: str, kind: str, help_text: str, samples: Iterable[Sample]) -> None:
        lines.extend(_family(f"nordpass_agent_{name}", kind, help_text, samples))

    add("info", "gauge", "The agent's version.", [({"version": __version__}, 1)])
    watermarks = {name: store.watermark(name) for name in config.tenants}
    add(
        "watermark_timestamp_seconds",
        "gauge",
        "Unix time up to which the tenant's events are verified and stored.",
        [({"tenant": t}, mark) for t, mark in watermarks.items() if mark is not None],
    )
    add(
        "watermark_lag_seconds",
        "gauge",
        "How far the verified watermark lags behind now (alert well before 90 days).",
        [({"tenant": t}, max(0.0, now - mark)) for t, mark in watermarks.items() if mark],
    )
    pair = [({"tenant": p.tenant, "destination": p.destination}, p) for p in positions]
    add(
        "backlog_events",
        "gauge",
        "Events stored and not yet confirmed by the destination.",
        [(labels, p.backlog) for labels, p in pair],
    )
    add(
        "backlog_full",
        "gauge",
        "1 when the backlog reached max_backlog_events (polling paused or destination detached).",
        [(labels, p.backlog >= agent.backlog_limit(p.tenant)) for labels, p in pair],
    )
    add(
        "delivered_events_total",
        "counter",
        "Events the destination confirmed (dead letters excluded).",
        [(labels, p.delivered) for labels, p in pair],
    )
    add(
        "dead_letters",
        "gauge",
        "Events the destination refused, kept for replay.",
        [({"tenant": t, "destination": d}, count) for (t, d), count in sorted(dead.items())],
    )
    dispatchers = agent.dispatchers
    add(
        "destination_failing",
        "gauge",
        "1 while the destination's batches fail (retrying).",
        [({"destination": n}, d.failure is not None) for n, d in dispatchers.items()],
    )
    add(
        "destination_fatal",
        "gauge",
        "1 while the destination is stopped on a configuration error (retried slowly).",
        [({"destination": n}, d.fatal) for n, d in dispatchers.items()],
    )
    add(
        "tenant_held",
        "gauge",
        "1 while a destination refuses the tenant for a setting of its own (token, index).",
        [
            ({"tenant": tenant, "destination": name}, 1)
            for name, dispatcher in dispatchers.items()
            for tenant in sorted(dispatcher.held_tenants)
        ],
    )
    counters: dict[str, list[Sample]] = {}
    for name, dispatcher in dispatchers.items():
        stats = getattr(dispatcher.destination, "stats", None)
        if stats is None or not dataclasses.is_dataclass(stats):
            continue
        for field in dataclasses.fields(stats):
            value = getattr(stats, field.name)
            if isinstance(value, int):
                counters.setdefault(field.name, []).append(({"destination": name}, value))
    for stat, samples in sorted(counters.items()):
        add(f"destination_{stat}_total", "counter", f"Destination counter: {stat}.", samples)
    unknown: list[Sample] = []
    for name, dispatcher in dispatchers.items():
        counter = getattr(dispatcher.destination, "unknown_actions", None)
        if isinstance(counter, UnknownActionCounter):
            unknown.extend(
                ({"destination": name, "event_type": event_type, "action": action}, count)
                for (event_type, action), count in sorted(counter.counts().items())
            )
    add(
        "unknown_actions_total",
        "counter",
        "Events rendered whose action is not in the catalog (forwarded as an 'other' entry).",
        unknown,
    )
    add("state_bytes", "gauge", "Size of the state database.", [({}, store.size_bytes())])
    return "\n".join(lines) + "\n"


class MetricsServer:
    """`GET /metrics` and `GET /healthz` over plain HTTP/1.1 on `host:port`."""

    def __init__(self, agent: Agent, host: str, port: int) -> None:
        self._agent = agent
        self._host, self._port = host, port
        self._server: asyncio.Server | None = None

    @property
    def url(self) -> str:
        assert self._server is not None  # noqa: S101 - only after start()
        host, port = self._server.sockets[0].getsockname()[:2]
        return f"http://{host if ':' not in host else f'[{host}]'}:{port}"

    async def start(self) -> str:
        self._server = await asyncio.start_server(self._serve, self._host, self._port)
        _log.info("metrics listening", url=self.url)
        return self.url

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            async with asyncio.timeout(_READ_TIMEOUT_SECONDS):
                head = await reader.readuntil(b"\r\n\r\n")
            status, content_type, body = self._answer(head[:_MAX_REQUEST_BYTES])
        except (TimeoutError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            status, content_type, body = "400 Bad Request", "text/plain", b"bad request\n"
        except Exception:  # noqa: BLE001 - a scrape must never take the agent down
            _log.exception("metrics request failed")
            status, content_type, body = "500 Internal Server Error", "text/plain", b"error\n"
        writer.write(
            f"HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\n"
            f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode()
            + body
        )
        with contextlib.suppress(OSError):
            await writer.drain()
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()

    def _answer(self, head: bytes) -> tuple[str, str, bytes]:
        method, _, rest = head.split(b"\r\n", 1)[0].decode("latin-1").partition(" ")
        if method != "GET":
            return "405 Method Not Allowed", "text/plain", b"GET /metrics or /healthz\n"
        path = rest.partition(" ")[0].partition("?")[0]
        if path == "/metrics":
            return "200 OK", _CONTENT_TYPE, render_metrics(self._agent).encode()
        if path == "/healthz":
            failing = sorted(n for n, d in self._agent.dispatchers.items() if d.fatal)
            status = {"status": "ok", "version": __version__, "fatal_destinations": failing}
            return "200 OK", "application/json", json.dumps(status).encode() + b"\n"
        return "404 Not Found", "text/plain", b"GET /metrics or /healthz\n"
