"""Tenant sync against the sandbox emulator over a real socket, on an injected clock."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from pydantic import SecretStr

from agent.clock import Clock, ManualClock
from agent.config.durations import StartPoint
from agent.errors import TenantMismatchError
from agent.nordpass.client import ActivityClient
from agent.nordpass.emulator import EmulatorKnobs, Fault, NordPassEmulator
from agent.nordpass.retry import RetryPolicy
from agent.pipeline.backfill import Slicer
from agent.pipeline.dispatcher import Dispatcher
from agent.pipeline.identity import EventIdentity
from agent.pipeline.sync import TenantSettings, TenantSync
from agent.state import SqliteStateStore
from connectors.file import FileDestination, FileDestinationConfig

ORG = "101b4232-0688-4599-bca8-4636c91cd687"
T0 = 1_767_225_600  # 2026-01-01T00:00:00Z
HOUR = 3600


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(start=T0 + 6 * HOUR)


@pytest.fixture
async def emulator(clock: ManualClock) -> AsyncIterator[NordPassEmulator]:
    emu = NordPassEmulator(clock=clock, knobs=EmulatorKnobs(), seed=7)
    emu.add_organization(
        "acme", token="tok-acme", organization_uuid=ORG, events_per_second=0.2, history_start=T0
    )
    await emu.start()
    yield emu
    await emu.stop()


class Harness:
    def __init__(self, tmp_path: Path, clock: ManualClock, url: str, http: httpx.AsyncClient):
        self.output = tmp_path / "events.ndjson"
        self.store = SqliteStateStore(tmp_path / "state.db")
        self.destination = FileDestination(
            "file", FileDestinationConfig(type="file", path=self.output, fsync=False)
        )
        self.clock = clock
        self.url = url
        self.http = http
        self.store.outbox.set_routes({"acme": ["file"]})
        self.dispatcher = Dispatcher(self.destination, self.store.outbox, clock=clock)

    def sync(
        self,
        *,
        organization_uuid: str | None = ORG,
        settle: float = 60,
        start: int | StartPoint = T0,
        lookback: float = 900,
        clock: Clock | None = None,
    ) -> TenantSync:
        """The tenant's sync; `clock` is the agent's own, if it is not the server's."""
        client = ActivityClient(
            "acme",
            self.url,
            SecretStr("tok-acme"),
            http=self.http,
            retry=RetryPolicy.from_clock(self.clock),
        )
        settings = TenantSettings(
            name="acme",
            organization_uuid=organization_uuid,
            start=start if isinstance(start, StartPoint) else StartPoint(at=start),
            settle_delay=settle,
            lookback=lookback,
        )
        return TenantSync(
            settings,
            source=client,
            store=self.store,
            identity=EventIdentity(b"k" * 32),
            clock=clock or self.clock,
        )

    async def cycle(self, sync: TenantSync) -> int:
        """One live cycle as the runtime runs it: poll, catch up a long gap, deliver."""
        report = await sync.poll_cycle()
        if report.catch_up is not None:
            await Slicer(self.store, self.clock).catch_up(sync, *report.catch_up)
        await self.deliver()
        watermark = self.store.watermark("acme")
        assert watermark is not None
        return watermark

    async def deliver(self) -> None:
        while await self.dispatcher.deliver_once() is not None:
            pass

    def lines(self) -> list[dict[str, object]]:
        if not self.output.exists():
            return []
        return [json.loads(line) for line in self.output.read_text().splitlines()]


@pytest.fixture
async def harness(
    tmp_path: Path, clock: ManualClock, emulator: NordPassEmulator
) -> AsyncIterator[Harness]:
    async with httpx.AsyncClient() as http:
        built = Harness(tmp_path, clock, emulator.url, http)
        yield built
        await built.destination.close()
        built.store.close()


def strip(line: dict[str, object]) -> dict[str, object]:
    return {key: value for key, value in line.items() if key not in ("event_id", "tenant")}


def as_multiset(events: list[dict[str, object]]) -> list[str]:
    return sorted(json.dumps(event, sort_keys=True) for event in events)


async def test_a_window_delivers_exactly_the_ground_truth(
    harness: Harness, emulator: NordPassEmulator
) -> None:
    outcome = await harness.sync().sync_window(T0, T0 + 2 * HOUR)
    await harness.deliver()
    truth = emulator.ground_truth(ORG, T0, T0 + 2 * HOUR)
    assert outcome.appended == len(truth) > 1000
    assert outcome.verified_until == T0 + 2 * HOUR
    assert as_multiset([strip(line) for line in harness.lines()]) == as_multiset(truth)


async def test_reading_windows_again_delivers_nothing_twice(
    harness: Harness, emulator: NordPassEmulator
) -> None:
    sync = harness.sync()
    await sync.sync_window(T0, T0 + HOUR)
    assert (await sync.sync_window(T0, T0 + HOUR)).appended == 0
    assert (await sync.sync_window(T0 - 10, T0 + 2 * HOUR)).appended > 0  # overlaps the first
    await harness.deliver()
    truth = emulator.ground_truth(ORG, T0 - 10, T0 + 2 * HOUR)
    assert as_multiset([strip(line) for line in harness.lines()]) == as_multiset(truth)


async def test_identical_events_in_one_second_get_distinct_stable_ids(
    tmp_path: Path, harness: Harness, emulator: NordPassEmulator
) -> None:
    emulator.knobs.duplicate_fraction = 0.2
    await harness.sync().sync_window(T0, T0 + HOUR)
    await harness.deliver()
    lines = harness.lines()
    ids = [line["event_id"] for line in lines]
    assert len(ids) == len(set(ids))
    assert len(lines) == len(emulator.ground_truth(ORG, T0, T0 + HOUR))
    twins = len(lines) - len({json.dumps(strip(line), sort_keys=True) for line in lines})
    assert twins > 10
    # A fresh state with the same key reproduces every id.
    again = Harness(tmp_path / "again", harness.clock, emulator.url, harness.http)
    await again.sync().sync_window(T0, T0 + HOUR)
    await again.deliver()
    assert sorted(line["event_id"] for line in again.lines()) == sorted(ids)  # type: ignore[type-var]
    await again.destination.close()
    again.store.close()


@pytest.mark.parametrize("lower", ["inclusive", "exclusive"])
@pytest.mark.parametrize("upper", ["inclusive", "exclusive"])
@pytest.mark.parametrize("order", ["newest_first", "oldest_first", "unstable"])
async def test_adjacent_windows_are_complete_under_every_bound_convention_and_order(
    harness: Harness, emulator: NordPassEmulator, lower: str, upper: str, order: str
) -> None:
    emulator.knobs.lower_bound = lower  # type: ignore[assignment]
    emulator.knobs.upper_bound = upper  # type: ignore[assignment]
    emulator.knobs.order = order  # type: ignore[assignment]
    emulator.knobs.per_page_cap = 50
    sync = harness.sync()
    for start in range(T0, T0 + HOUR, 600):
        await sync.sync_window(start, start + 600)
    await harness.deliver()
    truth = emulator.ground_truth(ORG, T0, T0 + HOUR)
    assert as_multiset([strip(line) for line in harness.lines()]) == as_multiset(truth)


async def test_live_cycles_follow_the_server_clock_and_pick_up_late_events(
    harness: Harness, emulator: NordPassEmulator, clock: ManualClock
) -> None:
    emulator.knobs.late_fraction = 0.2
    emulator.knobs.late_max_seconds = 600  # lookback 900 s minus settle 60 s covers it
    sync = harness.sync()
    for _ in range(12):
        await harness.cycle(sync)
        clock.advance(300)
    clock.advance(3600)  # everything made visible, then one more cycle collects the stragglers
    watermark = await harness.cycle(sync)
    truth = emulator.ground_truth(ORG, T0, watermark - 900)
    delivered = [strip(line) for line in harness.lines()]
    in_range = [line for line in delivered if line["timestamp"] < watermark - 900]  # type: ignore[operator]
    assert as_multiset(in_range) == as_multiset(truth)
    ids = [line["event_id"] for line in harness.lines()]
    assert len(ids) == len(set(ids))


class _Ahead:
    """A host clock running `seconds` ahead of `clock` (the server's)."""

    def __init__(self, clock: ManualClock, seconds: float) -> None:
        self._clock, self._seconds = clock, seconds

    def now(self) -> float:
        return self._clock.now() + self._seconds

    async def sleep(self, seconds: float) -> None:
        await self._clock.sleep(seconds)


async def _assert_complete_from(
    start: int, harness: Harness, sync: TenantSync, emulator: NordPassEmulator, clock: ManualClock
) -> None:
    """Once every late event has surfaced and one more cycle ran, exactly the ground truth from
    `start` to the watermark was delivered."""
    clock.advance(3600)
    watermark = await harness.cycle(sync)
    delivered = [strip(line) for line in harness.lines()]
    assert as_multiset(delivered) == as_multiset(emulator.ground_truth(ORG, start, watermark))


@pytest.mark.parametrize("behind", [600, 2 * HOUR], ids=["live", "catch-up"])
async def test_a_host_clock_running_ahead_never_moves_the_watermark_past_the_servers_edge(
    harness: Harness, emulator: NordPassEmulator, clock: ManualClock, behind: int
) -> None:
    # No lookback, so no probe tells the server's time before the first window: its end is
    # planned on a host clock two minutes ahead, a minute beyond the server's present (a start
    # two hours back is more than a live window: the slicer catches up to that end).
    emulator.knobs.late_fraction = 0.3
    emulator.knobs.late_max_seconds = 50  # within the settle delay, on the server's clock
    start = round(clock.now()) - behind
    sync = harness.sync(start=start, lookback=0, clock=_Ahead(clock, 120))
    for _ in range(10):
        watermark = await harness.cycle(sync)
        assert watermark <= clock.now() - 60  # the server's settled edge, not the host's
        clock.advance(60)
    await _assert_complete_from(start, harness, sync, emulator, clock)


@pytest.mark.parametrize("lookback", [0, 900])
async def test_start_now_is_the_servers_now_on_a_host_clock_running_ahead(
    harness: Harness, emulator: NordPassEmulator, clock: ManualClock, lookback: float
) -> None:
    emulator.knobs.late_fraction = 0.3
    emulator.knobs.late_max_seconds = 50
    started = round(clock.now())  # the server's clock; the host's says two minutes later
    sync = harness.sync(start=StartPoint(ago=timedelta(0)), lookback=lookback,
                        clock=_Ahead(clock, 120))  # fmt: skip
    for _ in range(6):
        await harness.cycle(sync)
        clock.advance(60)
    await _assert_complete_from(started, harness, sync, emulator, clock)


async def test_a_split_live_window_stays_at_the_servers_edge_when_its_first_half_stopped_there(
    harness: Harness, emulator: NordPassEmulator, clock: ManualClock
) -> None:
    emulator.knobs.late_fraction = 0.3
    emulator.knobs.late_max_seconds = 50
    start = round(clock.now()) - 600
    sync = harness.sync(start=start, lookback=0, clock=_Ahead(clock, 120))
    await harness.cycle(sync)
    clock.advance(60)
    # Every pass of the next window drifts (its total grows on both of its pages), so it is
    # split in halves: the first ends past the server's settled edge, the second starts past it.
    emulator.knobs.scripted = [Fault("total_bump")] * 6
    emulator.requests.clear()
    watermark = await harness.cycle(sync)
    assert len({(r.timestamp_from, r.timestamp_to) for r in emulator.requests}) == 3  # halves
    assert watermark <= clock.now() - 60
    await _assert_complete_from(start, harness, sync, emulator, clock)


async def test_the_lookback_recheck_never_reaches_before_the_tenants_start(
    harness: Harness, emulator: NordPassEmulator, clock: ManualClock
) -> None:
    start = round(clock.now())  # `start: now`; the history holds events from T0, none may come
    sync = harness.sync(start=start)
    for _ in range(4):
        await harness.cycle(sync)
        clock.advance(300)
    watermark = await harness.cycle(sync)
    delivered = [strip(line) for line in harness.lines()]
    timestamps = [line["timestamp"] for line in delivered]
    assert timestamps
    assert all(isinstance(second, int) and second >= start for second in timestamps)
    assert as_multiset(delivered) == as_multiset(emulator.ground_truth(ORG, start, watermark))


async def test_a_quiet_overlap_costs_one_probe_request(
    harness: Harness, emulator: NordPassEmulator, clock: ManualClock
) -> None:
    sync = harness.sync()
    await harness.cycle(sync)  # catches up from T0
    clock.advance(60)
    await harness.cycle(sync)  # a normal cycle: the bound convention is known by now
    assert sync.bounds.probe_seconds(0, 10) is not None
    emulator.requests.clear()
    await harness.cycle(sync)  # no time has passed: nothing new anywhere
    assert len(emulator.requests) == 1
    assert emulator.requests[0].per_page == 1


async def test_an_unverifiable_window_raises_and_commits_nothing(
    harness: Harness, emulator: NordPassEmulator
) -> None:
    emulator.knobs.per_page_cap = 100
    emulator.knobs.scripted.extend([Fault("empty_page")] * 1000)
    sync = harness.sync()
    outcome = await sync.sync_window(T0, T0 + HOUR, advance_watermark=True)
    await harness.deliver()
    assert outcome.verified_until == T0
    assert harness.store.watermark("acme") is None
    assert harness.lines() == []


async def test_a_drifting_window_is_split_and_its_drifting_part_deferred(
    harness: Harness, emulator: NordPassEmulator
) -> None:
    emulator.knobs.per_page_cap = 20
    emulator.knobs.growth_per_request = 1  # total grows between every two pages, forever
    sync = harness.sync()
    outcome = await sync.sync_window(T0, T0 + HOUR, advance_watermark=True)
    await harness.deliver()
    deferred_from = outcome.verified_until
    assert T0 < deferred_from < T0 + HOUR  # halves verified up to a point, the rest deferred
    assert harness.store.watermark("acme") == deferred_from
    # Rows grown into parts already read are not there yet (the lookback re-read finds them);
    # what was delivered is all real and nothing twice.
    delivered = as_multiset([strip(line) for line in harness.lines()])
    truth_before = as_multiset(emulator.ground_truth(ORG, T0, deferred_from))
    assert not set(delivered) - set(truth_before)
    assert len(delivered) == len(set(delivered))

    emulator.knobs.growth_per_request = 0  # the drift ends; the next cycle resumes there
    outcome = await sync.sync_window(deferred_from, T0 + HOUR, advance_watermark=True)
    assert outcome.verified_until == T0 + HOUR
    await sync.sync_window(T0, T0 + HOUR)  # what the lookback overlap re-read does
    await harness.deliver()
    truth = emulator.ground_truth(ORG, T0, T0 + HOUR)
    assert as_multiset([strip(line) for line in harness.lines()]) == as_multiset(truth)


async def test_events_of_another_organisation_stop_the_tenant(harness: Harness) -> None:
    sync = harness.sync(organization_uuid="00000000-0000-4000-8000-000000000000")
    with pytest.raises(TenantMismatchError, match="another organisation"):
        await sync.sync_window(T0, T0 + HOUR)
    assert harness.lines() == []


async def test_replay_resends_with_the_same_ids(harness: Harness) -> None:
    sync = harness.sync()
    await sync.sync_window(T0, T0 + HOUR)
    await harness.deliver()
    first = [line["event_id"] for line in harness.lines()]
    await sync.sync_window(T0, T0 + HOUR, target="file")
    await harness.deliver()
    assert [line["event_id"] for line in harness.lines()] == first + first
