"""Crash safety of the delivery engine, end to end: the real agent process is SIGKILLed at fixed
crash points (test-only failpoints) and at random moments of a ~50,000-event backfill, restarted,
and the receiver's file is checked against the emulator's ground truth and an uninterrupted run.

The promise under test: no event lost, ids identical to an uninterrupted run, and duplicates only
where the destination had received lines whose offsets were not committed yet. That amount is
measured after each kill: lines the run left in the receiver's file minus deliveries it committed.
"""

from __future__ import annotations

import random
import signal
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import pytest

from agent.nordpass.emulator import NordPassEmulator
from tests.reliability.conftest import (
    HOUR,
    LARGE_BATCH,
    LARGE_PAGE,
    SMALL_BATCH,
    large_source,
    small_deployment,
    small_source,
)
from tests.reliability.deployment import Deployment, Receipt, StateSnapshot

KILLED = -signal.SIGKILL
PLANNED_KILLS = 22
REQUIRED_KILLS = 20
# The mean delay before a random kill, as a share of the work left per run still to come; the
# final, uninterrupted run counts as this many runs.
KILLS_COVER = 0.8
FINAL_RUN_SHARES = 2


@dataclass(frozen=True, slots=True)
class Kill:
    """What the receiver and the state held right after one kill."""

    lines: int  # complete lines in the receiver's file
    state: StateSnapshot
    uncommitted: int  # lines this run wrote whose offsets it had not committed
    fetching: bool  # the run had been reading the API
    mid_line: bool  # the kill cut a write in the middle of a line


def report(scenario: str, expected: int, receipt: Receipt, kills: int, bound: int) -> None:
    distinct = len(set(receipt.ids))
    print(  # noqa: T201 - the one-line summary a reviewer reads with `pytest -s`
        f"\n[{scenario}] expected {expected}, delivered {distinct}, lost {expected - distinct}, "
        f"duplicates {len(receipt.ids) - distinct} (bound {bound}), kills {kills}"
    )


@dataclass(frozen=True, slots=True)
class Crash:
    """What a failpoint kill left behind."""

    state: StateSnapshot
    uncommitted: list[str]  # ids the receiver had got whose offsets were not committed


async def crash(deployment: Deployment, failpoint: str) -> Crash:
    """Run until the failpoint kills the agent."""
    code = await deployment.run(failpoint)
    assert code == KILLED, f"{failpoint} did not kill the agent: {deployment.log_tail()}"
    state = deployment.snapshot()
    # Seen and logged move together: no occurrence is counted without its log row, or vice versa.
    assert state.counted == state.logged
    # One destination taking one batch at a time: committed deliveries are the file's first lines.
    return Crash(state, deployment.receipt().ids[state.committed : deployment.line_count()])


async def recover(deployment: Deployment) -> Receipt:
    """Run again, without failpoints, until the backfill is done."""
    assert await deployment.run() == 0, deployment.log_tail()
    return deployment.receipt()


async def kill_at_random_moments(
    deployment: Deployment, *, busy: float, expected: int
) -> tuple[list[Kill], bool]:
    """SIGKILL backfill runs at random moments, up to PLANNED_KILLS times, measuring each kill.
    Returns the kills and whether a run finished on its own before the last one was due.

    Each kill comes a random delay after the run started working (its first request or output),
    so it lands in work, never in the interpreter's start-up. Delays are drawn around a share of
    the work still left (the uninterrupted run's `busy` time, scaled by what is not delivered
    yet) divided by the kills still planned plus a reserve for the final run: the kills spread
    over the whole backfill, and it is still unfinished when the last kill is due, even on a
    machine a few times faster than during the reference run.
    """
    rng = random.Random(2026)
    emulator = deployment.source.emulator
    kills: list[Kill] = []
    last = Kill(0, StateSnapshot(), 0, fetching=False, mid_line=False)
    for planned in range(PLANNED_KILLS, 0, -1):
        left = busy * (1 - last.state.committed / expected)
        delay = rng.uniform(0.1, 1.9) * KILLS_COVER * left / (planned + FINAL_RUN_SHARES)
        requests_before = len(emulator.requests)
        code = await deployment.run_killed(delay)
        if code == 0:
            return kills, True
        assert code == KILLED, deployment.log_tail()
        lines, state = deployment.line_count(), deployment.snapshot()
        written, confirmed = lines - last.lines, state.committed - last.state.committed
        last = Kill(
            lines,
            state,
            uncommitted=written - confirmed,
            fetching=len(emulator.requests) > requests_before,
            mid_line=deployment.ends_mid_line(),
        )
        kills.append(last)
        assert state.counted == state.logged, kills
        # The file destination takes one batch at a time (max_in_flight = 1): at most one batch
        # can have reached the receiver without its offset committed.
        assert 0 <= last.uncommitted <= deployment.batch_max_events, kills
    return kills, False


@pytest.mark.parametrize("hit", [1, 3])
async def test_a_kill_inside_the_append_transaction_loses_nothing_and_adds_no_duplicate(
    tmp_path: Path, emulator: NordPassEmulator, small_reference: dict[str, str], hit: int
) -> None:
    deployment = small_deployment(tmp_path, small_source(emulator))
    uncommitted = (await crash(deployment, f"after_append={hit}")).uncommitted
    receipt = await recover(deployment)
    report(f"after_append={hit}", len(small_reference), receipt, 1, len(uncommitted))
    assert receipt.events() == small_reference
    if hit == 1:  # the first append comes before any delivery: nothing can be in flight
        assert not uncommitted
    # Later, the dispatcher may have had a batch in flight when the append killed the process:
    # that batch, and nothing else, comes twice.
    assert receipt.duplicates == Counter(uncommitted)


async def test_a_kill_after_the_destination_confirmed_resends_only_that_batch(
    tmp_path: Path, emulator: NordPassEmulator, small_reference: dict[str, str]
) -> None:
    deployment = small_deployment(tmp_path, small_source(emulator))
    uncommitted = (await crash(deployment, "after_send=3")).uncommitted
    receipt = await recover(deployment)
    report("after_send=3", len(small_reference), receipt, 1, len(uncommitted))
    assert 0 < len(uncommitted) <= SMALL_BATCH
    assert receipt.events() == small_reference
    assert receipt.duplicates == Counter(uncommitted)


@pytest.mark.parametrize("hit", [1, 4])
async def test_a_kill_between_two_pages_loses_nothing_and_adds_no_duplicate(
    tmp_path: Path, emulator: NordPassEmulator, small_reference: dict[str, str], hit: int
) -> None:
    deployment = small_deployment(tmp_path, small_source(emulator))
    uncommitted = (await crash(deployment, f"mid_page={hit}")).uncommitted
    receipt = await recover(deployment)
    report(f"mid_page={hit}", len(small_reference), receipt, 1, len(uncommitted))
    assert receipt.events() == small_reference
    if hit == 1:  # every slice has several pages: the first page break precedes any append
        assert not uncommitted
    assert receipt.duplicates == Counter(uncommitted)


async def test_a_restarted_backfill_reads_only_the_slices_it_had_not_completed(
    tmp_path: Path, emulator: NordPassEmulator, small_reference: dict[str, str]
) -> None:
    source = small_source(emulator)
    deployment = small_deployment(tmp_path, source, backfill_concurrency=2)
    every_slice = {(start, start + HOUR) for start in range(source.since, source.until, HOUR)}
    killed = await crash(deployment, "after_append=4")
    completed = set(killed.state.completed_slices)
    assert 0 < len(completed) < len(every_slice)
    first_run = len(emulator.requests)

    receipt = await recover(deployment)
    # A slice [a, b) is queried as timestamp_from = a - 1, timestamp_to = b, on every page.
    queried = {
        (request.timestamp_from + 1, request.timestamp_to)
        for request in emulator.requests[first_run:]
        if request.timestamp_from is not None and request.timestamp_to is not None
    }
    print(  # noqa: T201 - the scenario's summary
        f"\n[restart] {len(completed)} of {len(every_slice)} slices completed before the kill; "
        f"the restart queried {len(queried)} slice windows in "
        f"{len(emulator.requests) - first_run} requests"
    )
    report("restart", len(small_reference), receipt, 1, len(killed.uncommitted))
    assert queried == every_slice - completed
    assert receipt.events() == small_reference
    assert receipt.duplicates == Counter(killed.uncommitted)


@pytest.mark.slow
@pytest.mark.timeout(180)
async def test_twenty_random_kills_during_a_large_backfill_lose_nothing_and_keep_the_ids(
    tmp_path: Path, emulator: NordPassEmulator
) -> None:
    source = large_source(emulator)
    expected = source.ground_truth()
    assert len(expected) >= 50_000

    def deploy(name: str) -> Deployment:
        return Deployment(
            tmp_path / name, source, batch_max_events=LARGE_BATCH, page_size=LARGE_PAGE
        )

    reference = deploy("reference")
    code, busy = await reference.run_timed()
    assert code == 0, reference.log_tail()
    reference_events = reference.receipt().events()
    assert sorted(reference_events.values()) == expected

    crashed = deploy("crashed")
    kills, finished = await kill_at_random_moments(crashed, busy=busy, expected=len(expected))
    if not finished:
        assert await crashed.run() == 0, crashed.log_tail()
    receipt = crashed.receipt()
    bound = sum(kill.uncommitted for kill in kills)
    report("random kills", len(expected), receipt, len(kills), bound)
    print(  # noqa: T201 - where the kills fell
        f"[random kills] reference busy {busy:.1f} s; kills while "
        f"fetching {sum(kill.fetching for kill in kills)}, with a batch unconfirmed "
        f"{sum(kill.uncommitted > 0 for kill in kills)}, mid-line "
        f"{sum(kill.mid_line for kill in kills)}; lines at the kills "
        f"{[kill.lines for kill in kills]}"
    )
    assert len(kills) >= REQUIRED_KILLS
    assert receipt.events() == reference_events
    assert len(receipt.ids) - len(reference_events) <= bound
    assert crashed.snapshot().committed == len(expected)
