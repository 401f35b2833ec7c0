"""The lossless delivery engine end to end: live cycles of the assembled agent against the
sandbox API over real sockets, late and identical events, every bound convention and order,
targeted replays and the API cost of a quiet cycle."""

from __future__ import annotations

import json
import math
from typing import Any

import httpx
import pytest

from agent.clock import ManualClock
from agent.nordpass.emulator import BoundMode, Fault, NordPassEmulator, OrderMode
from tests.pipeline.conftest import (
    HOUR,
    LOOKBACK,
    ORG,
    POLL,
    SETTLE,
    T0,
    Deployment,
    multiset,
    raw_before,
)
from tests.support import MemoryDestination


class WallClockCursor:
    """The public reference connector's strategy: page `timestamp_from = cursor` (no upper bound,
    100 a page) until an empty page, then store the wall-clock time as the next cursor."""

    def __init__(self, url: str, token: str, *, cursor: int) -> None:
        self.url = url
        self.token = token
        self.cursor = cursor
        self.collected: list[dict[str, Any]] = []

    async def run(self, http: httpx.AsyncClient, clock: ManualClock) -> None:
        page = 1
        while True:
            body = {"timestamp_from": self.cursor, "page": page, "per_page": 100}
            reply = await http.post(self.url, json=body, headers={"Authorization": self.token})
            reply.raise_for_status()
            events = reply.json()["data"]
            if not events:
                break
            self.collected.extend(events)
            page += 1
        self.cursor = math.floor(clock.now())


async def test_late_events_are_delivered_exactly_once_where_a_wall_clock_cursor_loses_them(
    deployment: Deployment, emulator: NordPassEmulator, clock: ManualClock
) -> None:
    emulator.knobs.late_fraction = 0.3
    emulator.knobs.late_max_seconds = LOOKBACK - SETTLE  # the documented limit
    siem = MemoryDestination("siem")
    deployment.open([siem])
    reference = WallClockCursor(emulator.url, "tok-acme", cursor=T0)
    clock.advance(2 * HOUR)  # the first cycle catches two hours up through the slicer
    recovered_late = 0
    async with httpx.AsyncClient() as http:
        for _ in range(50):
            before = deployment.agent.store.watermark("acme")
            seen = len(siem.received)
            await deployment.cycle()
            await reference.run(http, clock)
            if before is not None:
                recovered_late += sum(e.raw["timestamp"] < before for e in siem.received[seen:])
            clock.advance(POLL)
        watermark = deployment.watermark()
        clock.advance(LOOKBACK)  # every late event before the watermark has surfaced by now
        await deployment.cycle()
        await reference.run(http, clock)

    truth = multiset(emulator.ground_truth(ORG, T0, watermark))
    ours = multiset(raw_before(siem.received, watermark))
    theirs = multiset(e for e in reference.collected if e["timestamp"] < watermark)
    assert truth.total() > 1500
    assert recovered_late > 10  # found by re-checking the lookback, behind the watermark
    assert ours == truth
    assert max(siem.copies().values()) == 1
    assert (truth - theirs).total() > 0  # lost for good by the wall-clock cursor


async def test_identical_events_of_one_second_are_delivered_once_each_with_distinct_ids(
    deployment: Deployment, emulator: NordPassEmulator, clock: ManualClock
) -> None:
    emulator.knobs.duplicate_fraction = 0.2
    siem = MemoryDestination("siem")
    deployment.open([siem])
    for _ in range(10):
        await deployment.cycle()
        clock.advance(POLL)
    watermark = deployment.watermark()

    truth = multiset(emulator.ground_truth(ORG, T0, watermark))
    twins = [event for event, count in truth.items() if count == 2]
    assert len(twins) > 20
    assert multiset(raw_before(siem.received, watermark)) == truth
    ids_of: dict[str, set[str]] = {}
    for event in siem.received:
        ids_of.setdefault(json.dumps(event.raw, sort_keys=True), set()).add(event.event_id)
    assert all(len(ids_of[twin]) == 2 for twin in twins)

    await deployment.cycle()  # reads the last minute
    received = len(siem.received)
    for _ in range(3):  # polling again with no time passed finds nothing new
        await deployment.cycle()
    assert len(siem.received) == received


async def test_twins_split_across_a_page_boundary_keep_their_multiplicity(
    deployment: Deployment, emulator: NordPassEmulator, clock: ManualClock
) -> None:
    # Every event has a twin and a page holds three rows: the first page boundary of every pass
    # with two or more pairs cuts a pair in two.
    emulator.knobs.duplicate_fraction = 1.0
    emulator.knobs.per_page_cap = 3
    clock.set(T0 + 5 * 60)
    siem = MemoryDestination("siem")
    deployment.open([siem])
    for _ in range(4):
        await deployment.cycle()
        clock.advance(POLL)
    watermark = deployment.watermark()

    assert any(request.page and request.page >= 2 for request in emulator.requests)
    truth = multiset(emulator.ground_truth(ORG, T0, watermark))
    assert set(truth.values()) == {2}
    assert multiset(raw_before(siem.received, watermark)) == truth
    assert len(set(siem.ids())) == len(siem.received)


async def test_the_late_copy_of_an_identical_pair_gets_its_own_id_and_the_first_keeps_its(
    deployment: Deployment, emulator: NordPassEmulator, clock: ManualClock
) -> None:
    clock.set(T0 + 12 * 60)
    siem = MemoryDestination("siem")
    deployment.open([siem])
    await deployment.cycle()  # reads [T0, now - settle): all within the lookback from here on
    first = {e.event_id: e.raw for e in siem.received}
    watermark = deployment.watermark()

    emulator.knobs.duplicate_fraction = 0.3  # the second copy of some events surfaces now
    clock.advance(POLL)
    await deployment.cycle()

    late_copies = [e for e in siem.received[len(first) :] if e.raw["timestamp"] < watermark]
    assert len(late_copies) > 5
    assert not {e.event_id for e in late_copies} & first.keys()
    assert multiset(e.raw for e in late_copies) <= multiset(first.values())
    assert max(siem.copies().values()) == 1
    truth = multiset(emulator.ground_truth(ORG, T0, watermark))
    assert multiset(raw_before(siem.received, watermark)) == truth


async def test_a_page_repeated_by_drift_never_becomes_a_second_event(
    deployment: Deployment, emulator: NordPassEmulator, clock: ManualClock
) -> None:
    emulator.knobs.per_page_cap = 2
    siem = MemoryDestination("siem")
    deployment.open([siem])
    for _ in range(2):  # the second cycle learns the bound convention
        await deployment.cycle()
        clock.advance(POLL)
    assert deployment.agent.syncs["acme"].bounds.probe_seconds(T0, T0 + 1) is not None
    # Next cycle: the probe, page 1 of the new window, then page 2 repeats page 1's rows.
    emulator.knobs.scripted = [Fault("none"), Fault("none"), Fault("repeat_previous_page")]
    await deployment.cycle()
    clock.advance(POLL)
    await deployment.cycle()
    watermark = deployment.watermark()

    (repeated,) = [r for r in emulator.requests if r.fault == "repeat_previous_page"]
    assert (repeated.page, repeated.events_returned) == (2, 2)
    assert max(siem.copies().values()) == 1
    truth = multiset(emulator.ground_truth(ORG, T0, watermark))
    assert multiset(raw_before(siem.received, watermark)) == truth


@pytest.mark.parametrize("lower", ["inclusive", "exclusive"])
@pytest.mark.parametrize("upper", ["inclusive", "exclusive"])
@pytest.mark.parametrize("order", ["newest_first", "oldest_first", "unstable"])
async def test_live_cycles_are_complete_and_duplicate_free_under_every_convention_and_order(
    deployment: Deployment, lower: BoundMode, upper: BoundMode, order: OrderMode
) -> None:
    emulator, clock = deployment.emulator, deployment.clock
    knobs = emulator.knobs
    knobs.lower_bound, knobs.upper_bound, knobs.order = lower, upper, order
    knobs.per_page_cap = 4
    knobs.duplicate_fraction = 0.1
    knobs.late_fraction = 0.2
    knobs.late_max_seconds = 300
    siem = MemoryDestination("siem")
    deployment.open([siem])
    for _ in range(8):
        await deployment.cycle()
        clock.advance(POLL)
    watermark = deployment.watermark()
    clock.advance(LOOKBACK)
    await deployment.cycle()

    truth = multiset(emulator.ground_truth(ORG, T0, watermark))
    assert multiset(raw_before(siem.received, watermark)) == truth
    assert max(siem.copies().values()) == 1


async def test_a_quiet_cycle_costs_one_probe_per_window_part_not_a_reread_of_the_lookback(
    deployment: Deployment, emulator: NordPassEmulator, clock: ManualClock
) -> None:
    siem = MemoryDestination("siem")
    deployment.open([siem])
    for _ in range(2):  # the second cycle learns the bound convention
        await deployment.cycle()
        clock.advance(POLL)
    assert deployment.agent.syncs["acme"].bounds.probe_seconds(T0, T0 + 1) is not None

    for _ in range(10):  # nothing late: the overlap is probed, only the new minute is read
        clock.advance(POLL)
        watermark, received = deployment.watermark(), len(siem.received)
        emulator.requests.clear()
        await deployment.cycle()
        probe, new_window = emulator.requests
        assert (probe.per_page, probe.page) == (1, 1)
        assert (probe.timestamp_from, probe.timestamp_to) == (
            watermark - LOOKBACK - 1,
            watermark - 1,
        )
        assert (new_window.page, new_window.timestamp_from) == (1, watermark - 1)
        assert len(siem.received) > received

    emulator.requests.clear()
    received = len(siem.received)
    await deployment.cycle()  # no time passed: only the overlap's probe
    assert [(r.per_page, r.timestamp_to) for r in emulator.requests] == [
        (1, deployment.watermark() - 1)
    ]
    assert len(siem.received) == received


async def test_a_destination_replay_delivers_to_that_destination_only_with_the_original_ids(
    deployment: Deployment, emulator: NordPassEmulator, clock: ManualClock
) -> None:
    emulator.knobs.duplicate_fraction = 0.1
    first, second = MemoryDestination("first"), MemoryDestination("second")
    deployment.open([first, second])
    for _ in range(5):
        await deployment.cycle()
        clock.advance(POLL)
    watermark = deployment.watermark()
    original = {e.event_id: e.raw for e in first.received}

    report = await deployment.agent.backfill(T0, watermark, destinations=["second"])
    assert report.complete
    assert first.ids() == list(original)  # nothing more for the other destination
    replayed = second.received[len(original) :]
    assert {e.event_id: e.raw for e in replayed} == original
    assert len(replayed) == len(original)


async def test_a_new_destination_gets_history_by_replay_with_the_ids_the_others_got(
    deployment: Deployment, clock: ManualClock
) -> None:
    first = MemoryDestination("first")
    deployment.open([first])
    for _ in range(5):
        await deployment.cycle()
        clock.advance(POLL)
    watermark = deployment.watermark()
    await deployment.close()

    again, added = MemoryDestination("first"), MemoryDestination("added")
    agent = deployment.open([again, added])  # same state, one more destination configured
    report = await agent.backfill(T0, watermark, destinations=["added"])
    assert report.complete
    assert report.tenants[0].delivered == {"added": len(first.received)}
    assert sorted(added.ids()) == sorted(first.ids())
    assert again.received == []

    clock.advance(POLL)  # live delivery goes on for both, without repeating history
    await deployment.poll()
    await deployment.drained()
    assert again.ids() == added.ids()[len(first.received) :]
    assert again.ids()
    assert not set(again.ids()) & set(first.ids())
