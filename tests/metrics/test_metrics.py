"""The metrics tell what the state store and dispatchers hold: backlogs, delivered totals, dead
letters, watermark lag, failing and held destinations, destination counters. Read at scrape time,
so each figure here is checked against the store, not against a copy of its own."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import socket
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from agent.clock import SystemClock
from agent.errors import FatalError
from agent.metrics import render_metrics
from agent.nordpass.emulator import NordPassEmulator
from tests.pipeline.conftest import HOUR, ORG, Deployment, eventually
from tests.support import MemoryDestination

SAMPLE = re.compile(r"^(\w+)(?:\{(.*)\})? (\S+)$")


def samples(text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    """Every sample of an exposition, keyed by metric name and label set."""
    found = {}
    for line in text.splitlines():
        if line.startswith("#") or not line:
            continue
        match = SAMPLE.match(line)
        assert match, f"not a sample line: {line!r}"
        name, labels, value = match.groups()
        pairs = frozenset(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', labels or ""))
        found[(name, pairs)] = float(value)
    return found


def value(
    found: dict[tuple[str, frozenset[tuple[str, str]]], float], name: str, **labels: str
) -> float:
    return found[(f"nordpass_agent_{name}", frozenset(labels.items()))]


async def test_the_figures_match_the_store_after_delivery_and_refusals(
    deployment: Deployment,
) -> None:
    siem = MemoryDestination("siem")
    siem.poison_when(lambda event: "poisoned" if event.event_id.endswith("0") else None)
    siem.hold_tenant("globex", "the token set for tenant 'globex' was rejected")
    archive = MemoryDestination("archive")
    archive.fail_with(FatalError("HEC rejected the token"))
    agent = deployment.open([siem, archive], tenants=("acme", "globex"))
    deployment.clock.advance(HOUR)
    await deployment.poll()
    agent.start()
    outbox = agent.store.outbox
    await eventually(lambda: outbox.backlog("acme", "siem") == 0)
    await eventually(lambda: agent.dispatchers["archive"].fatal)
    await eventually(lambda: "globex" in agent.dispatchers["siem"].held_tenants)

    found = samples(render_metrics(agent))
    dead = agent.store.dead_letters.counts()
    assert dead[("acme", "siem")] > 0
    assert value(found, "dead_letters", tenant="acme", destination="siem") == dead[("acme", "siem")]
    for tenant in ("acme", "globex"):
        for destination in ("siem", "archive"):
            labels = {"tenant": tenant, "destination": destination}
            assert value(found, "backlog_events", **labels) == outbox.backlog(tenant, destination)
            assert value(found, "delivered_events_total", **labels) == outbox.delivered(
                tenant, destination
            )
            assert value(found, "backlog_full", **labels) == 0
    assert value(found, "delivered_events_total", tenant="acme", destination="siem") == len(
        siem.ids("acme")
    )
    assert value(found, "backlog_events", tenant="globex", destination="siem") > 0
    assert value(found, "tenant_held", tenant="globex", destination="siem") == 1
    assert value(found, "destination_fatal", destination="archive") == 1
    assert value(found, "destination_fatal", destination="siem") == 0
    assert value(found, "destination_failing", destination="archive") == 1
    watermark = agent.store.watermark("acme")
    assert watermark is not None
    assert value(found, "watermark_timestamp_seconds", tenant="acme") == watermark
    assert (
        value(found, "watermark_lag_seconds", tenant="acme") == deployment.clock.now() - watermark
    )
    assert value(found, "state_bytes") == agent.store.size_bytes()
    assert "k" * 32 not in render_metrics(agent)  # the event-id key
    assert "tok-acme" not in render_metrics(agent)


async def test_a_full_backlog_shows(deployment: Deployment) -> None:
    siem = MemoryDestination("siem")
    siem.fail_with(FatalError("down"))
    agent = deployment.open([siem], max_backlog_events=5)
    deployment.clock.advance(HOUR)
    await deployment.poll()
    found = samples(render_metrics(agent))
    assert value(found, "backlog_events", tenant="acme", destination="siem") >= 5
    assert value(found, "backlog_full", tenant="acme", destination="siem") == 1


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
async def live_api() -> AsyncIterator[NordPassEmulator]:
    clock = SystemClock()
    api = NordPassEmulator(clock=clock, seed=3)
    api.add_organization(
        "acme",
        token="tok-acme",
        organization_uuid=ORG,
        events_per_second=0.2,
        history_start=clock.now() - 2 * HOUR,
    )
    await api.start()
    yield api
    await api.stop()


async def test_the_running_agent_serves_metrics_and_health(
    tmp_path: Path, live_api: NordPassEmulator
) -> None:
    port = free_port()
    config = tmp_path / "agent.yaml"
    config.write_text(
        f"""
state: sqlite:///{tmp_path}/state.db
metrics: {{listen: "127.0.0.1:{port}"}}
defaults: {{poll_interval: 1s, settle_delay: 1s, lookback: 5m}}
destinations:
  local-file: {{type: file, path: {tmp_path}/out.ndjson}}
tenants:
  acme:
    nordpass: {{url: "{live_api.url}", token: "${{ACME_TOKEN}}", organization_uuid: "{ORG}"}}
    destinations: [local-file]
    start: 1h
"""
    )
    log = tmp_path / "agent.log"  # a file, not a pipe nobody reads while the agent runs
    with log.open("wb") as sink:
        runner = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "agent", "run", "-c", str(config), stderr=sink,
            env={**os.environ, "ACME_TOKEN": "tok-acme", "NORDPASS_AGENT_LOG_FORMAT": "json"},
        )  # fmt: skip
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
            delivered = 0.0
            for _ in range(300):  # at most 30 s for the first cycle's events to go out
                try:
                    reply = await client.get("/metrics")
                except httpx.TransportError:
                    reply = None
                if reply is not None and reply.status_code == 200:
                    found = samples(reply.text)
                    labels = {"tenant": "acme", "destination": "local-file"}
                    delivered = value(found, "delivered_events_total", **labels)
                    if delivered:
                        break
                await asyncio.sleep(0.1)
            assert reply is not None
            assert reply.headers["content-type"].startswith("text/plain; version=0.0.4")
            lines = (tmp_path / "out.ndjson").read_text().splitlines()
            assert 0 < delivered <= len(lines)
            health = await client.get("/healthz")
            assert health.status_code == 200
            assert health.json()["status"] == "ok"
            assert (await client.get("/nothing")).status_code == 404
            assert (await client.post("/metrics")).status_code == 405
            assert "tok-acme" not in reply.text
    finally:
        runner.send_signal(signal.SIGTERM)
        await asyncio.wait_for(runner.wait(), timeout=30)
    assert runner.returncode == 0, log.read_text()[-2000:]
    assert "metrics listening" in log.read_text()
