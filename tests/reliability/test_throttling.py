"""Throttling on both sides: the NordPass API answers 429 to 30 % of its requests and HEC to 30 %
of its event requests, half of each with `Retry-After`. A backfill must still deliver every event
exactly once.
"""

from __future__ import annotations

from pathlib import Path

from connectors.splunk_hec.emulator import FaultKind, HecEmulator
from tests.reliability.deployment import Source
from tests.reliability.installation import Installation, hec_receipts
from tests.reliability.scale import Scale
from tests.reliability.scoreboard import Outcome, Scoreboard, Tally
from tests.reliability.sources import hec_destination, organisation

ORGANIZATION = "7a7a0000-0000-4000-8000-000000000030"
TOKEN = "tok-throttling"
T0 = 1_767_225_600 + 20 * 86400
RANGE = (T0, T0 + 86400)
THROTTLED = 0.3
WITH_RETRY_AFTER = 0.5
RETRY_AFTER_SECONDS = 1


async def test_throttling_on_both_sides_costs_latency_only(
    tmp_path: Path, scale: Scale, scoreboard: Scoreboard, hec: HecEmulator
) -> None:
    async with organisation(
        ORGANIZATION, TOKEN, events=scale.throttling_events, since=RANGE[0], until=RANGE[1]
    ) as source:
        await run_throttling(tmp_path, scale, scoreboard, hec, source)


async def run_throttling(
    tmp_path: Path, scale: Scale, scoreboard: Scoreboard, hec: HecEmulator, source: Source
) -> None:
    nordpass = source.emulator
    nordpass.knobs.throttle_fraction = THROTTLED
    nordpass.knobs.retry_after_fraction = WITH_RETRY_AFTER
    nordpass.knobs.throttle_retry_after = RETRY_AFTER_SECONDS
    nordpass.knobs.fault_seed = 3
    hec.knobs.throttle_fraction = THROTTLED
    hec.knobs.retry_after_fraction = WITH_RETRY_AFTER
    hec.knobs.retry_after = RETRY_AFTER_SECONDS
    truth = source.ground_truth()
    installation = Installation(
        tmp_path,
        source,
        destinations={"splunk": hec_destination(hec, max_in_flight=2)},
        batch_max_events=250,
        defaults="{page_size: 100, backfill_slice: 2h, backfill_concurrency: 4}",
    )
    code = await installation.backfill(within=scale.liveness(180))

    tally = Tally.count(truth, hec_receipts(hec))
    api_429 = [r for r in nordpass.requests if r.fault == "429"]
    api_hinted = sum(1 for r in api_429 if r.retry_after is not None)
    hec_429 = [r for r in hec.requests if r.fault is FaultKind.THROTTLE]
    hec_hinted = sum(1 for r in hec_429 if r.retry_after is not None)
    outcome = Outcome(
        "throttling",
        tally,
        notes=(
            f"API: {len(api_429)} of {len(nordpass.requests)} requests answered 429 "
            f"({api_hinted} with Retry-After); HEC: {len(hec_429)} of {len(hec.requests)} event "
            f"requests answered 429 ({hec_hinted} with Retry-After)"
        ),
    )
    outcome.check("the backfill completes (exit 0)", code, code == 0)
    for side, throttled, hinted in (("API", api_429, api_hinted), ("HEC", hec_429, hec_hinted)):
        outcome.check(
            f"{side}: 429s both with and without Retry-After",
            f"{hinted} of {len(throttled)}",
            0 < hinted < len(throttled),
        )
    outcome.check("lost 0", tally.lost, tally.lost == 0)
    outcome.check("duplicates 0", tally.duplicates, tally.duplicates == 0)
    outcome.check("nothing foreign, one event per id", tally.unexpected, tally.unexpected == 0)
    scoreboard.add(outcome)
    assert not outcome.broken, outcome.failure_message() + "\n" + installation.log_tail()
