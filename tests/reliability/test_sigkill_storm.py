"""SIGKILL storm: a backfill into HEC (indexer acknowledgement on) killed at random moments, then
run to its end. Nothing may be lost, and the copies HEC holds may not exceed what it had indexed
but the agent had not committed at the kills, counted on the receiver's side after each kill.
"""

from __future__ import annotations

import asyncio
import random
import signal
import time
from dataclasses import dataclass
from pathlib import Path

from connectors.splunk_hec.emulator import HecEmulator
from tests.reliability.deployment import Source
from tests.reliability.installation import HEC_TOKEN, Installation, hec_receipts, until
from tests.reliability.scale import Scale
from tests.reliability.scoreboard import Outcome, Scoreboard, Tally
from tests.reliability.sources import hec_destination, organisation

ORGANIZATION = "5702a000-0000-4000-8000-000000000010"
TOKEN = "tok-sigkill-storm"
T0 = 1_767_225_600 + 10 * 86400
RANGE = (T0, T0 + 2 * 86400)
KILLED = -signal.SIGKILL
# A share of the kills lands a short random delay after the run shows work (mostly while it
# reads the API); the rest when HEC has received a random share of the events (mid-delivery).
EARLY_KILL_SHARE = 0.25
EARLY_KILL_WITHIN = 0.8  # seconds
# Kills are aimed at receipts in this share of the events, so each lands before the backfill ends.
TARGET_SHARES = (0.02, 0.9)
QUIET_SECONDS = 0.3  # HEC saw no new request for this long: nothing of the killed run is pending


@dataclass(frozen=True, slots=True)
class Kill:
    indexed: int  # events HEC had indexed in all (copies included) after the kill
    committed: int  # deliveries the state had committed after the kill
    uncommitted: int  # events this run got indexed whose offsets it had not committed
    fetching: bool  # the run had been reading the API


async def quiet(hec: HecEmulator) -> None:
    """Bounded wait until HEC has taken every request the killed process had sent."""
    seen = (-1, -1)
    quiet_since = time.monotonic()

    def settled() -> bool:
        nonlocal seen, quiet_since
        now = (len(hec.requests), len(hec.indexed))
        if now != seen:
            seen, quiet_since = now, time.monotonic()
        return time.monotonic() - quiet_since >= QUIET_SECONDS

    await until(settled, within=10, what="HEC to go quiet after a kill")


async def one_killed_run(
    installation: Installation, hec: HecEmulator, rng: random.Random, target: int, expected: int
) -> bool:
    """Start the backfill and SIGKILL it at the next random moment; False if it finished first."""
    source = installation.source
    process = await installation.start_backfill()
    before = (len(source.emulator.requests), len(hec.requests))

    def busy() -> bool:
        now = (len(source.emulator.requests), len(hec.requests))
        return process.returncode is not None or now != before

    await until(busy, within=60, what="the run to start working", log=installation.log_tail)
    # Early kills only in the first half, so that the run cannot finish before the kill is due.
    if target < expected / 2 and rng.random() < EARLY_KILL_SHARE:
        await asyncio.sleep(rng.uniform(0, EARLY_KILL_WITHIN))
    else:
        # At least one request of this run gets through first, so kills spread over the work.
        target = max(target, len(hec.indexed) + 1)
        await until(
            lambda: process.returncode is not None or len(hec.indexed) >= target,
            within=600,
            what=f"HEC to hold {target} events",
            log=installation.log_tail,
        )
    if process.returncode is not None:
        assert process.returncode == 0, installation.log_tail()
        return False
    assert await installation.kill(process) == KILLED, installation.log_tail()
    return True


async def test_a_sigkill_storm_during_a_backfill_to_hec_loses_nothing(
    tmp_path: Path, scale: Scale, scoreboard: Scoreboard, hec: HecEmulator
) -> None:
    async with organisation(
        ORGANIZATION, TOKEN, events=scale.storm_events, since=RANGE[0], until=RANGE[1]
    ) as source:
        await run_storm(tmp_path, scale, scoreboard, hec, source)


async def run_storm(
    tmp_path: Path, scale: Scale, scoreboard: Scoreboard, hec: HecEmulator, source: Source
) -> None:
    truth = source.ground_truth()
    hec.tokens[HEC_TOKEN].ack = True
    installation = Installation(
        tmp_path,
        source,
        destinations={
            "splunk": hec_destination(
                hec, indexer_ack="true", ack_poll_interval="20ms", max_in_flight=4
            )
        },
        batch_max_events=1000,
    )
    rng = random.Random(5050)
    targets = sorted(
        int(rng.uniform(*TARGET_SHARES) * len(truth)) for _ in range(scale.storm_kills)
    )
    kills: list[Kill] = []
    last = Kill(0, 0, 0, fetching=False)
    for target in targets:
        requests_before = len(source.emulator.requests)
        if not await one_killed_run(installation, hec, rng, target, len(truth)):
            break
        await quiet(hec)
        committed = installation.state_view().committed_total
        indexed = len(hec.indexed)
        last = Kill(
            indexed,
            committed,
            uncommitted=(indexed - last.indexed) - (committed - last.committed),
            fetching=len(source.emulator.requests) > requests_before,
        )
        kills.append(last)
    final_code = await installation.backfill(within=scale.liveness(300))

    tally = Tally.count(truth, hec_receipts(hec))
    bound = sum(kill.uncommitted for kill in kills)
    outcome = Outcome(
        "SIGKILL storm",
        tally,
        notes=(
            f"{len(kills)} kills ({sum(k.fetching for k in kills)} while reading the API, "
            f"{sum(k.uncommitted > 0 for k in kills)} with events HEC held uncommitted); "
            f"HEC held {[k.indexed for k in kills]} events at the kills"
        ),
    )
    outcome.check(f"{scale.storm_kills} kills during the backfill", len(kills),
                  len(kills) == scale.storm_kills)  # fmt: skip
    outcome.check("the last run completes (exit 0)", final_code, final_code == 0)
    outcome.check("lost 0", tally.lost, tally.lost == 0)
    outcome.check("nothing foreign, one event per id", tally.unexpected, tally.unexpected == 0)
    outcome.check(
        "no kill left a negative uncommitted count", [k.uncommitted for k in kills],
        all(kill.uncommitted >= 0 for kill in kills),
    )  # fmt: skip
    outcome.check(
        f"duplicates <= sent-but-uncommitted at the kills ({bound})",
        tally.duplicates,
        tally.duplicates <= bound,
    )
    committed = installation.state_view().committed_total
    outcome.check("every event committed once", committed, committed == len(truth))
    scoreboard.add(outcome)
    assert not outcome.broken, outcome.failure_message() + "\n" + installation.log_tail()
