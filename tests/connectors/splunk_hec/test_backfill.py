"""End to end: the agent reads a ~50,000-event history from the sandbox NordPass API and delivers
it to the HEC emulator over real sockets, with gzip, indexer acknowledgement and 10 % of the
requests answered 503 (Server is busy). HEC must hold exactly the ground truth, once each."""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from agent.clock import SystemClock
from agent.config import parse_config
from agent.nordpass.emulator import NordPassEmulator
from agent.normalize.render_native import ADDED_FIELDS
from agent.runtime import Agent
from connectors.splunk_hec import SplunkHecDestination
from connectors.splunk_hec.emulator import HecEmulator, HecKnobs

ORG = "1a29e000-0000-4000-8000-0000000000a1"
NORDPASS_TOKEN = "tok-backfill"
HEC_TOKEN = "c0ffee00-1111-4222-8333-444455556666"
T0 = 1_767_225_600
DAY = 86400
SINCE, UNTIL = T0, T0 + 2 * DAY


@pytest.fixture
async def nordpass() -> AsyncIterator[NordPassEmulator]:
    emulator = NordPassEmulator(clock=SystemClock(), seed=21)
    emulator.add_organization(
        "acme",
        token=NORDPASS_TOKEN,
        organization_uuid=ORG,
        events_per_second=0.3,
        history_start=SINCE,
        history_end=UNTIL,
    )
    emulator.knobs.per_page_cap = 1000
    await emulator.start()
    yield emulator
    await emulator.stop()


@pytest.fixture
async def splunk() -> AsyncIterator[HecEmulator]:
    emulator = HecEmulator(knobs=HecKnobs(busy_fraction=0.1, queries_per_ack=(1, 3)), seed=9)
    emulator.add_token(HEC_TOKEN, name="nordpass", default_index="nordpass", ack=True)
    await emulator.start()
    yield emulator
    await emulator.stop()


def config_text(tmp_path: Path, nordpass_url: str, hec_url: str) -> str:
    return f"""
state: sqlite:///{tmp_path}/state.db
batch_max_events: 1000
defaults: {{page_size: 1000, backfill_slice: 6h, backfill_concurrency: 4}}
destinations:
  splunk:
    type: splunk_hec
    url: {hec_url}
    token: {HEC_TOKEN}
    index: nordpass
    indexer_ack: true
    ack_poll_interval: 20ms
    max_in_flight: 4
tenants:
  acme:
    nordpass:
      url: "{nordpass_url}"
      token: {NORDPASS_TOKEN}
      organization_uuid: "{ORG}"
      requests_per_second: 100
    destinations: [splunk]
"""


def without_agent_fields(record: dict[str, Any]) -> str:
    return json.dumps(
        {key: value for key, value in record.items() if key not in ADDED_FIELDS}, sort_keys=True
    )


@pytest.mark.slow
async def test_a_50000_event_backfill_lands_completely_once_despite_busy_replies(
    tmp_path: Path, nordpass: NordPassEmulator, splunk: HecEmulator
) -> None:
    config = parse_config(config_text(tmp_path, nordpass.url, splunk.url), {})
    truth = nordpass.ground_truth(ORG, SINCE, UNTIL)
    assert len(truth) >= 50_000
    started = time.monotonic()
    async with Agent(config, clock=SystemClock()) as agent:
        report = await agent.backfill(SINCE, UNTIL)
        destination = agent.dispatchers["splunk"].destination
        assert isinstance(destination, SplunkHecDestination)
        hec_stats = destination.stats
    elapsed = time.monotonic() - started
    assert report.complete, report
    ids = splunk.event_ids()
    assert len(ids) == len(set(ids)) == len(truth)
    indexed = sorted(without_agent_fields(event.event) for event in splunk.indexed)
    assert indexed == sorted(without_agent_fields(event) for event in truth)
    busy = Counter(request.code for request in splunk.requests)[9]
    assert busy >= 3
    assert splunk.acks.pending() == 0
    assert all(request.gzip for request in splunk.requests)
    print(  # noqa: T201 - the measurement is the point of this test
        f"\n{len(truth)} events in {elapsed:.1f} s ({len(truth) / elapsed:.0f}/s): "
        f"{len(splunk.requests)} requests, {busy} answered 503, {splunk.ack_queries} ack "
        f"queries, {hec_stats.retries} retries, "
        f"{sum(r.wire_bytes for r in splunk.requests) / 1e6:.1f} MB on the wire"
    )
