"""Destinations fail on their own: one SIEM's outage, full backlog or refused events never cost
another SIEM an event, and the failing one gets everything once it recovers.

The agent runs its dispatchers as in production (`Agent.start`); in-memory SIEMs stand in for
real ones and are told when to fail.
"""

from __future__ import annotations

import asyncio

import pytest

from agent.clock import ManualClock
from agent.errors import FatalError, RetryableError
from agent.nordpass.emulator import NordPassEmulator
from agent.pipeline.dispatcher import DispatchPolicy
from agent.runtime import Agent
from agent.state import Gap, SqliteStateStore
from tests.pipeline.conftest import (
    LOOKBACK,
    ORG,
    OTHER_ORG,
    POLL,
    T0,
    Deployment,
    eventually,
    multiset,
    raw_before,
)
from tests.support import MemoryDestination

# Retry at once: the injected clock must not race ahead while a SIEM is down (the failing
# destination's own latency keeps the retries from spinning).
IMMEDIATE_RETRIES = DispatchPolicy(
    batch_max_events=25, base_delay=0.0, max_delay=0.0, fatal_retry_interval=0.0
)


async def cycles(deployment: Deployment, count: int, *, drained: str) -> None:
    """`count` scheduled cycles, each waiting until destination `drained` confirmed it all."""
    for _ in range(count):
        await deployment.poll()
        await deployment.drained(drained)
        deployment.clock.advance(POLL)


@pytest.mark.parametrize(
    "failure",
    [RetryableError("HTTP 503 from the collector"), FatalError("HTTP 403: token rejected")],
    ids=["retryable", "fatal"],
)
async def test_a_failing_destination_holds_no_other_back_and_drains_in_log_order_later(
    deployment: Deployment, emulator: NordPassEmulator, failure: RetryableError | FatalError
) -> None:
    down, up = MemoryDestination("down", latency=0.001), MemoryDestination("up")
    agent = deployment.open([down, up], tenants=("acme", "globex"), policy=IMMEDIATE_RETRIES)
    agent.start()
    down.fail_with(failure)
    await cycles(deployment, 5, drained="up")

    dispatcher = agent.dispatchers["down"]
    assert down.received == []
    assert down.failed_attempts > 5
    assert (dispatcher.failure, dispatcher.fatal) == (str(failure), isinstance(failure, FatalError))
    for tenant, organization in (("acme", ORG), ("globex", OTHER_ORG)):
        watermark = deployment.watermark(tenant)
        truth = multiset(emulator.ground_truth(organization, T0, watermark))
        assert multiset(raw_before(up.received, watermark, tenant)) == truth
        assert agent.store.outbox.backlog(tenant, "down") == len(up.ids(tenant)) > 50

    down.recover()
    await deployment.drained("down")
    for tenant in ("acme", "globex"):
        assert down.ids(tenant) == up.ids(tenant)  # same events, same ids, in log order
    assert dispatcher.failure is None


async def test_with_pause_a_full_backlog_stops_polling_until_it_drains_and_nothing_is_lost(
    deployment: Deployment, emulator: NordPassEmulator, clock: ManualClock
) -> None:
    emulator.knobs.late_fraction = 0.2
    emulator.knobs.late_max_seconds = 300
    down, up = MemoryDestination("down", latency=0.001), MemoryDestination("up")
    agent = deployment.open(
        [down, up], policy=IMMEDIATE_RETRIES, max_backlog_events=40, on_backlog_full="pause"
    )
    agent.start()
    await cycles(deployment, 1, drained="down")
    down.fail_with(RetryableError("HTTP 503 from the collector"))
    paused = 0
    for _ in range(8):
        requests, received = len(emulator.requests), len(up.received)
        watermark = agent.store.watermark("acme")
        await cycles(deployment, 1, drained="up")
        if len(emulator.requests) == requests:  # not polled: the API keeps the events meanwhile
            paused += 1
            assert (agent.store.watermark("acme"), len(up.received)) == (watermark, received)
    assert paused >= 3
    assert agent.store.outbox.backlog("acme", "down") >= 40

    down.recover()
    await deployment.drained("down")
    await cycles(deployment, 2, drained="down")  # polling resumes and catches up
    watermark = deployment.watermark()
    clock.advance(LOOKBACK)  # the late events before the watermark have all surfaced
    await cycles(deployment, 1, drained="down")
    await deployment.drained()

    truth = multiset(emulator.ground_truth(ORG, T0, watermark))
    for destination in (down, up):
        assert multiset(raw_before(destination.received, watermark)) == truth
        assert max(destination.copies().values()) == 1
    assert down.ids() == up.ids()


async def test_with_detach_the_others_go_on_and_the_gap_is_refetched_for_the_lagging_one(
    deployment: Deployment, emulator: NordPassEmulator, clock: ManualClock
) -> None:
    emulator.knobs.late_fraction = 0.2
    emulator.knobs.late_max_seconds = 300
    down, up = MemoryDestination("down", latency=0.001), MemoryDestination("up")
    agent = deployment.open(
        [down, up], policy=IMMEDIATE_RETRIES, max_backlog_events=40, on_backlog_full="detach"
    )
    agent.start()
    await cycles(deployment, 1, drained="down")
    down.fail_with(RetryableError("HTTP 503 from the collector"))
    gaps: list[Gap] = []
    for _ in range(8):
        requests = len(emulator.requests)
        await cycles(deployment, 1, drained="up")
        assert len(emulator.requests) > requests  # polling never pauses
        gaps = agent.store.outbox.gaps("down")
        if gaps:
            break
    assert gaps
    assert agent.store.outbox.backlog("acme", "down") < 40  # the skipped backlog is gone

    down.recover()  # its next confirmed batch starts the targeted re-fetch of the gap
    await cycles(deployment, 2, drained="down")
    await eventually(lambda: not agent.store.outbox.gaps("down"))
    await deployment.drained()
    watermark = deployment.watermark()
    clock.advance(LOOKBACK)
    await cycles(deployment, 1, drained="down")
    await deployment.drained()

    truth = multiset(emulator.ground_truth(ORG, T0, watermark))
    assert multiset(raw_before(up.received, watermark)) == truth
    assert max(up.copies().values()) == 1
    assert multiset(raw_before(down.received, watermark)).keys() == truth.keys()
    assert set(down.ids()) == set(up.ids())
    # The re-fetch resends whole seconds of the gap, so a copy `down` already had before the
    # detach (or got live after it) may come twice; nothing outside the gap, nothing thrice.
    seconds = {e.event_id: e.raw["timestamp"] for e in down.received}
    twice = [event_id for event_id, count in down.copies().items() if count > 1]
    assert max(down.copies().values()) <= 2
    assert all(any(g.start <= seconds[i] < g.end for g in gaps) for i in twice)


async def test_poisoned_events_become_dead_letters_and_a_replay_delivers_them_with_their_ids(
    deployment: Deployment, clock: ManualClock
) -> None:
    picky, other = MemoryDestination("picky"), MemoryDestination("other")
    reason = "field exceeds the index's limit"
    picky.poison_when(lambda event: reason if event.event_id[0] in "01" else None)
    agent = deployment.open([picky, other])
    await deployment.cycle()
    for _ in range(2):
        clock.advance(POLL)
        await deployment.cycle()

    poisoned = [event for event, _ in picky.refused]
    assert len(poisoned) > 10
    assert len(picky.received) + len(poisoned) == len(other.received)
    letters = agent.store.dead_letters.list(destination="picky")
    assert [(d.tenant, d.event_id, d.error, d.attempts) for d in letters] == [
        ("acme", event.event_id, reason, 1) for event in poisoned
    ]
    assert agent.store.outbox.backlog("acme", "picky") == 0  # the offset moved past them
    assert agent.store.dead_letters.list(destination="other") == []

    picky.cure()
    assert agent.store.dead_letters.replay(destination="picky") == len(poisoned)
    received_by_other = len(other.received)
    await deployment.cycle()  # no time passed: only the replayed dead letters are pending
    assert picky.received[-len(poisoned) :] == poisoned  # same ids, same events
    assert sorted(picky.ids()) == sorted(other.ids())
    assert len(other.received) == received_by_other
    assert agent.store.dead_letters.list() == []


@pytest.mark.parametrize(("asked", "waited"), [(7.0, 7.0), (10_000.0, 300.0)])
async def test_a_refused_batch_is_retried_after_the_wait_the_destination_asked_for(
    deployment: Deployment, clock: ManualClock, asked: float, waited: float
) -> None:
    siem = MemoryDestination("siem")
    agent = deployment.open([siem])
    await deployment.poll()
    siem.fail_with(RetryableError("HTTP 429", retry_after=asked), times=2)
    clock.sleeps.clear()
    assert await agent.dispatchers["siem"].deliver_once() is True
    assert clock.sleeps == [waited, waited]  # the Retry-After, capped at retry_after_cap
    assert agent.store.outbox.backlog("acme", "siem") == 0
    assert len(siem.received) > 0


async def test_a_fatal_failure_keeps_the_backlog_and_retries_slowly_until_it_is_fixed(
    deployment: Deployment, clock: ManualClock
) -> None:
    siem = MemoryDestination("siem", latency=0.001)
    agent = deployment.open([siem])
    await deployment.poll()
    backlog = agent.store.outbox.backlog("acme", "siem")
    siem.fail_with(FatalError("HTTP 403: token rejected"))
    clock.sleeps.clear()
    dispatcher = agent.dispatchers["siem"]
    delivery = asyncio.create_task(dispatcher.deliver_once())
    await eventually(lambda: siem.failed_attempts >= 3)
    assert dispatcher.fatal
    assert set(clock.sleeps) == {300.0}  # the slow schedule, not a tight loop
    assert agent.store.outbox.backlog("acme", "siem") == backlog

    siem.recover()  # e.g. the token was fixed: no restart needed
    assert await delivery is True
    assert not dispatcher.fatal
    assert agent.store.outbox.backlog("acme", "siem") == 0
    assert len(siem.received) == backlog


async def test_a_gap_refetch_cut_short_by_a_stop_resumes_where_it_stopped(
    deployment: Deployment, emulator: NordPassEmulator
) -> None:
    down, up = MemoryDestination("down", latency=0.001), MemoryDestination("up")

    def start() -> Agent:
        started = deployment.open(
            [down, up], policy=IMMEDIATE_RETRIES, max_backlog_events=40,
            on_backlog_full="detach", backfill_slice="30s", backfill_concurrency=1,
        )  # fmt: skip
        started.start()
        return started

    agent = start()
    await cycles(deployment, 1, drained="down")
    down.fail_with(RetryableError("HTTP 503 from the collector"))
    for _ in range(8):
        await cycles(deployment, 1, drained="up")
        if agent.store.outbox.gaps("down"):
            break
    (gap,) = agent.store.outbox.gaps("down")
    assert gap.end - gap.start > 90  # several slices

    # Slow API replies: the re-fetch that the recovery starts is still reading when the agent
    # stops, which lets the slice under way finish and starts no other.
    emulator.knobs.latency_seconds = 0.2
    down.recover()

    def shrunk() -> bool:
        gaps = agent.store.outbox.gaps("down")
        return bool(gaps) and gaps[0].start > gap.start

    await eventually(shrunk)
    await deployment.close()
    stopped = SqliteStateStore(deployment.tmp_path / "state.db")
    try:
        (rest,) = stopped.outbox.gaps("down")
    finally:
        stopped.close()
    assert gap.start < rest.start < rest.end == gap.end

    emulator.knobs.latency_seconds = 0.0
    agent = start()
    await cycles(deployment, 2, drained="down")  # a confirmed batch starts the re-fetch again
    await eventually(lambda: not agent.store.outbox.gaps("down"))
    await deployment.drained()
    assert set(down.ids()) == set(up.ids())
    # A batch under way when the detach came may still have gone once `down` recovered, and the
    # re-fetch sends its events again: two copies at most. What the first re-fetch read is not
    # read again (a third copy).
    assert max(down.copies().values()) <= 2


async def test_a_full_backlog_pauses_polling_instead_of_detaching_while_a_gap_is_refetched(
    deployment: Deployment, emulator: NordPassEmulator
) -> None:
    down, up = MemoryDestination("down", latency=0.001), MemoryDestination("up")
    agent = deployment.open(
        [down, up], policy=IMMEDIATE_RETRIES, max_backlog_events=40, on_backlog_full="detach"
    )
    agent.start()
    await cycles(deployment, 1, drained="down")
    outage = RetryableError("HTTP 503 from the collector")
    down.fail_with(outage)
    for _ in range(30):  # two detaches: two gaps, re-fetched one after the other
        await cycles(deployment, 1, drained="up")
        if len(agent.store.outbox.gaps("down")) >= 2:
            break
    gaps = agent.store.outbox.gaps("down")
    assert len(gaps) >= 2

    # Every API reply now takes half a second, so the re-fetch is still reading the second gap
    # when the first one's rows fill the backlog again: `down` fails again as soon as its
    # recovery delivered a batch (which started the re-fetch).
    emulator.knobs.latency_seconds = 0.5
    delivered = len(down.received)
    down.recover()
    await eventually(lambda: len(down.received) > delivered)
    down.fail_with(outage)
    await eventually(lambda: agent.store.outbox.backlog("acme", "down") >= 40)
    assert agent.store.outbox.gaps("down") == gaps[1:]  # the first one was re-fetched

    await agent.poll_tenant("acme")  # a full backlog, detach configured, a re-fetch running

    # Detaching now would skip the re-fetched rows: the tenant waits, as with `pause`.
    assert agent.store.outbox.backlog("acme", "down") >= 40
    assert agent.store.outbox.gaps("down") == gaps[1:]
    emulator.knobs.latency_seconds = 0.0
    down.recover()
    await eventually(lambda: not agent.store.outbox.gaps("down"))
    await deployment.drained()
    assert set(down.ids()) == set(up.ids())
