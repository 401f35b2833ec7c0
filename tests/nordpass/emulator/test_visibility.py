"""What a query can see: late events, exact duplicates, growth while paging, the moving clock."""

from __future__ import annotations

from collections import Counter

from agent.clock import ManualClock
from agent.nordpass.emulator import EmulatorKnobs, NordPassEmulator

from .conftest import START, Api, canonical

HOUR_AGO = int(START) - 3600


def _full(emulator: NordPassEmulator, org: str, start: int, end: int) -> list[str]:
    """The window as it will be once every late event has surfaced."""
    knobs = emulator.knobs
    saved = knobs.late_fraction
    knobs.late_fraction = 0.0
    try:
        return sorted(map(canonical, emulator.ground_truth(org, start, end)))
    finally:
        knobs.late_fraction = saved


def test_lateness_is_mostly_short_with_a_tail_up_to_the_maximum() -> None:
    rules = EmulatorKnobs(late_fraction=0.5, late_max_seconds=600).visibility_rules()
    draws = [(i + 0.5) / 10_000 for i in range(10_000)]
    delays = [rules.lateness(d) for d in draws]
    late = [d for d in delays if d > 0]
    assert len(late) == 5000
    assert sum(1 for d in late if d <= 30) / len(late) >= 0.84
    assert max(late) <= 600
    assert max(late) > 590


async def test_late_events_surface_only_once_the_clock_passes_their_lateness(
    api: Api, acme: str, knobs: EmulatorKnobs, clock: ManualClock
) -> None:
    knobs.late_fraction, knobs.late_max_seconds = 0.9, 3600
    window = {"timestamp_from": HOUR_AGO - 3600, "timestamp_to": int(START) - 1}
    full = _full(api.emulator, acme, HOUR_AGO - 3600, int(START))
    visible = sorted(map(canonical, await api.read_all(**window)))
    assert set(visible) < set(full)
    truth = api.emulator.ground_truth(acme, HOUR_AGO - 3600, int(START))
    assert visible == sorted(map(canonical, truth))
    clock.advance(1800)
    halfway = sorted(map(canonical, await api.read_all(**window)))
    assert set(visible) < set(halfway) < set(full)
    clock.advance(1800)
    assert sorted(map(canonical, await api.read_all(**window))) == full


async def test_late_events_are_the_same_events_whatever_the_query_time(
    api: Api, acme: str, knobs: EmulatorKnobs, clock: ManualClock
) -> None:
    knobs.late_fraction, knobs.late_max_seconds = 0.3, 300
    clock.advance(300)
    settled = sorted(map(canonical, api.emulator.ground_truth(acme, HOUR_AGO, int(START))))
    assert settled == _full(api.emulator, acme, HOUR_AGO, int(START))


async def test_duplicates_are_identical_twins_in_the_same_second(
    api: Api, acme: str, knobs: EmulatorKnobs
) -> None:
    knobs.duplicate_fraction = 0.2
    truth = api.emulator.ground_truth(acme, HOUR_AGO - 2 * 3600)
    counts = Counter(map(canonical, truth))
    twins = [event for event, count in counts.items() if count == 2]
    assert set(counts.values()) == {1, 2}
    assert 0.1 < len(twins) / len(counts) < 0.3
    events = await api.read_all(timestamp_from=HOUR_AGO - 2 * 3600)
    assert Counter(map(canonical, events)) == counts


async def test_growth_adds_events_inside_the_range_on_every_request(
    api: Api, acme: str, knobs: EmulatorKnobs
) -> None:
    before = len(api.emulator.ground_truth(acme, HOUR_AGO))
    knobs.growth_per_request = 3
    totals = [
        (await api.page(timestamp_from=HOUR_AGO, page=page, per_page=20))["metadata"]["total"]
        for page in (1, 2, 3)
    ]
    knobs.growth_per_request = 0
    assert totals == [before + 3, before + 6, before + 9]
    truth = api.emulator.ground_truth(acme, HOUR_AGO)
    assert len(truth) == before + 9
    assert all(HOUR_AGO <= e["timestamp"] <= START for e in truth)
    assert sorted(map(canonical, await api.read_all(timestamp_from=HOUR_AGO))) == sorted(
        map(canonical, truth)
    )


async def test_growth_lands_inside_the_member_filter(
    api: Api, acme: str, knobs: EmulatorKnobs
) -> None:
    member = api.emulator.organization("acme").members[1]
    body = {"timestamp_from": HOUR_AGO, "user_uuids": [member.uuid]}
    first = (await api.page(**body))["metadata"]["total"]
    knobs.growth_per_request = 5
    grown = (await api.page(**body))["metadata"]["total"]
    assert grown == first + 5


async def test_growth_shifts_offset_pages_so_a_naive_read_repeats_rows(
    api: Api, knobs: EmulatorKnobs
) -> None:
    knobs.growth_per_request = 2
    events = await api.read_all(timestamp_from=HOUR_AGO - 3 * 3600, per_page=20)
    knobs.growth_per_request = 0
    # Rows inserted behind the reader push older rows onto the next page a second time.
    assert len(events) > len(set(map(canonical, events)))


async def test_an_open_query_follows_the_clock_both_ways(api: Api, clock: ManualClock) -> None:
    total = (await api.page(timestamp_from=HOUR_AGO))["metadata"]["total"]
    clock.advance(3600)
    later = (await api.page(timestamp_from=HOUR_AGO))["metadata"]["total"]
    clock.advance(-3600)
    again = (await api.page(timestamp_from=HOUR_AGO))["metadata"]["total"]
    assert later > total
    assert again == total
