"""SIEM outage: `run` polls a tenant with live traffic into HEC and a file; HEC goes down (its
server stopped, the port refusing connections) for a while. Polling must go on, the file must
keep receiving during the outage, and HEC's backlog must drain afterwards, nothing lost or twice.
"""

from __future__ import annotations

import asyncio
import math
import time
from pathlib import Path
from urllib.parse import urlsplit

from connectors.splunk_hec.emulator import HecEmulator
from tests.reliability.deployment import Source
from tests.reliability.installation import (
    Installation,
    file_receipts,
    hec_receipts,
    received_canonical,
    until,
)
from tests.reliability.scale import Scale
from tests.reliability.scoreboard import Outcome, Scoreboard, Tally
from tests.reliability.sources import hec_destination, organisation

ORGANIZATION = "0a7a6e00-0000-4000-8000-000000000020"
TOKEN = "tok-siem-outage"
EVENTS_PER_SECOND = 20
HISTORY_SECONDS = 30  # events before the agent starts: its first cycle reads them
LEAD_SECONDS = 3  # live traffic before the outage
TAIL_SECONDS = 3  # live traffic after it
SETTLE_DELAY = 1
POLL_INTERVAL = 1
# Settle delay, poll interval and a margin for a busy machine: how far behind the clock the file
# may be while HEC is down.
KEEP_UP_SECONDS = SETTLE_DELAY + POLL_INTERVAL + 3


async def test_a_siem_outage_holds_up_only_that_siem_and_its_backlog_drains_afterwards(
    tmp_path: Path, scale: Scale, scoreboard: Scoreboard, hec: HecEmulator
) -> None:
    now = math.floor(time.time())
    since = now - HISTORY_SECONDS
    until_ = now + LEAD_SECONDS + math.ceil(scale.outage_seconds) + TAIL_SECONDS
    events = EVENTS_PER_SECOND * (until_ - since)
    async with organisation(
        ORGANIZATION, TOKEN, events=events, since=since, until=until_, history=(since, until_)
    ) as source:
        await run_outage(tmp_path, scale, scoreboard, hec, source)


async def run_outage(
    tmp_path: Path, scale: Scale, scoreboard: Scoreboard, hec: HecEmulator, source: Source
) -> None:
    output = tmp_path / "out" / "events.ndjson"
    installation = Installation(
        tmp_path,
        source,
        destinations={
            "splunk": hec_destination(hec),
            "archive": f"{{type: file, path: {output}, fsync: false}}",
        },
        batch_max_events=200,
        defaults=(
            f"{{page_size: 500, poll_interval: {POLL_INTERVAL}s, settle_delay: {SETTLE_DELAY}s, "
            "lookback: 10s}"
        ),
        tenant_settings=[f"start: {source.since}"],
    )
    nordpass = source.emulator
    agent = await installation.start("run")
    await until(
        lambda: bool(hec.indexed) and output.exists() and output.stat().st_size > 0,
        within=60,
        what="both destinations to receive events",
        log=installation.log_tail,
    )

    port = urlsplit(hec.url).port
    assert port is not None
    await hec.stop()
    outage_started, outage_wall = time.monotonic(), time.time()
    hec_before, file_before = len(hec.indexed), len(file_receipts(output))
    requests_before = len(nordpass.requests)
    # The file must keep up while HEC is down: every event older than KEEP_UP_SECONDS before the
    # outage's end reaches it before the outage ends.
    kept_up_to = math.floor(outage_wall + scale.outage_seconds - KEEP_UP_SECONDS)
    wanted = sorted(
        received_canonical(event)
        for event in nordpass.ground_truth(source.organization_uuid, source.since, kept_up_to)
    )
    file_caught_up = True
    try:
        await until(
            lambda: Tally.count(wanted, file_receipts(output)).lost == 0,
            within=scale.outage_seconds,
            what="the file to keep up during the outage",
        )
    except AssertionError:
        file_caught_up = False
    await asyncio.sleep(max(0.0, scale.outage_seconds - (time.monotonic() - outage_started)))
    file_during = len(file_receipts(output)) - file_before
    polls_during = len(nordpass.requests) - requests_before
    await hec.start(port=port)

    # The ground truth is what the API holds once its traffic has ended.
    await asyncio.sleep(max(0.0, source.until + 1 - time.time()))
    truth = source.ground_truth()
    drained_within = scale.liveness(30) + 60  # + the dispatcher's backoff ceiling
    await until(
        lambda: (
            Tally.count(truth, hec_receipts(hec)).lost == 0
            and Tally.count(truth, file_receipts(output)).lost == 0
        ),
        within=drained_within,
        what="both destinations to hold every event",
        log=installation.log_tail,
    )
    code = await installation.terminate(agent, within=60)

    hec_tally = Tally.count(truth, hec_receipts(hec))
    file_tally = Tally.count(truth, file_receipts(output))
    outcome = Outcome(
        "SIEM outage",
        hec_tally,
        notes=(
            f"HEC down {scale.outage_seconds:g} s: {hec_before} events in HEC before it; "
            f"during it {polls_during} API requests and {file_during} events to the file; "
            f"file: delivered {file_tally.delivered}, lost {file_tally.lost}, "
            f"duplicates {file_tally.duplicates}"
        ),
    )
    outcome.check("polling went on during the outage", polls_during, polls_during > 0)
    outcome.check(
        f"the file kept up during the outage (all but its last {KEEP_UP_SECONDS} s by its end)",
        f"{file_during} events", file_caught_up and file_during > 0,
    )  # fmt: skip
    outcome.check("HEC: lost 0", hec_tally.lost, hec_tally.lost == 0)
    outcome.check("HEC: duplicates 0", hec_tally.duplicates, hec_tally.duplicates == 0)
    outcome.check("file: lost 0", file_tally.lost, file_tally.lost == 0)
    outcome.check("file: duplicates 0", file_tally.duplicates, file_tally.duplicates == 0)
    unexpected = hec_tally.unexpected + file_tally.unexpected
    outcome.check("nothing foreign, one event per id", unexpected, unexpected == 0)
    outcome.check("the agent stops cleanly on SIGTERM (exit 0)", code, code == 0)
    scoreboard.add(outcome)
    assert not outcome.broken, outcome.failure_message() + "\n" + installation.log_tail()
