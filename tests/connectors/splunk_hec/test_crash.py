"""A real agent process killed (SIGKILL) while HEC holds its requests unacknowledged loses
nothing: the next run sends what was never acknowledged again, under the same event ids."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from agent.nordpass.emulator import NordPassEmulator
from agent.normalize.render_native import ADDED_FIELDS
from connectors.splunk_hec.emulator import HecEmulator
from tests.connectors.contract import until
from tests.connectors.splunk_hec.conftest import nordpass_history

ORG = "5a1e0000-0000-4000-8000-0000000000c1"
NORDPASS_TOKEN = "tok-crash"
HEC_TOKEN = "feed0000-1111-4222-8333-444455556666"
T0 = 1_767_225_600
SINCE, UNTIL = T0, T0 + 2 * 3600


@pytest.fixture
async def nordpass() -> AsyncIterator[NordPassEmulator]:
    organizations = {"acme": (NORDPASS_TOKEN, ORG)}
    async with nordpass_history(organizations, SINCE, UNTIL, events_per_second=0.25, seed=4) as api:
        yield api


@pytest.fixture
async def splunk() -> AsyncIterator[HecEmulator]:
    emulator = HecEmulator(seed=2)
    emulator.add_token(HEC_TOKEN, name="nordpass", default_index="nordpass", ack=True)
    await emulator.start()
    yield emulator
    await emulator.stop()


def write_config(tmp_path: Path, nordpass_url: str, hec_url: str) -> Path:
    path = tmp_path / "agent.yaml"
    path.write_text(
        f"""
state: sqlite:///{tmp_path}/state.db
event_id_key: hec-crash-test-event-id-key
batch_max_events: 200
defaults: {{page_size: 500}}
destinations:
  splunk:
    type: splunk_hec
    url: {hec_url}
    token: {HEC_TOKEN}
    indexer_ack: true
    ack_poll_interval: 20ms
    ack_timeout: 1h
tenants:
  acme:
    nordpass:
      url: "{nordpass_url}"
      token: {NORDPASS_TOKEN}
      organization_uuid: "{ORG}"
      requests_per_second: 100
    destinations: [splunk]
"""
    )
    return path


async def start_backfill(config: Path) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", "agent", "backfill", "--config", str(config),
        "--since", str(SINCE), "--until", str(UNTIL),
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
        env={**os.environ, "NORDPASS_AGENT_LOG_FORMAT": "json"},
    )  # fmt: skip


def canonical(record: Any) -> str:
    return json.dumps(
        {key: value for key, value in record.items() if key not in ADDED_FIELDS}, sort_keys=True
    )


async def test_a_kill_while_acks_are_pending_loses_nothing(
    tmp_path: Path, nordpass: NordPassEmulator, splunk: HecEmulator
) -> None:
    config = write_config(tmp_path, nordpass.url, splunk.url)
    splunk.knobs.hold_acks = True
    first = await start_backfill(config)
    await until(lambda: len(splunk.indexed) >= 400 and splunk.ack_queries >= 2)
    first.kill()
    await first.wait()
    indexed_before_the_kill = set(splunk.event_ids())
    assert splunk.acks.pending() > 0  # the killed process had requests awaiting their ack

    splunk.knobs.hold_acks = False
    second = await start_backfill(config)
    assert await second.wait() == 0

    by_id = {event.event_id: canonical(event.event) for event in splunk.indexed}
    truth = nordpass.ground_truth(ORG, SINCE, UNTIL)
    assert sorted(by_id.values()) == sorted(map(canonical, truth))
    duplicated = {event_id for event_id, n in Counter(splunk.event_ids()).items() if n > 1}
    assert duplicated
    assert duplicated <= indexed_before_the_kill
