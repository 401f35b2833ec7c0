"""Offset paging: the page size cap, each sort order and each bound convention, over HTTP."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest

from agent.nordpass.emulator import BoundMode, EmulatorKnobs, OrderMode

from .conftest import START, Api, canonical

WINDOW_START = int(START) - 6 * 3600


async def test_per_page_is_capped_and_the_cap_reported(api: Api, knobs: EmulatorKnobs) -> None:
    knobs.per_page_cap = 25
    payload = await api.page(timestamp_from=WINDOW_START, per_page=100)
    assert payload["metadata"]["per_page"] == 25
    assert len(payload["data"]) == 25
    assert payload["metadata"]["total_pages"] == -(-payload["metadata"]["total"] // 25)


async def test_a_small_per_page_is_kept(api: Api) -> None:
    payload = await api.page(timestamp_from=WINDOW_START, per_page=7)
    assert payload["metadata"]["per_page"] == 7
    assert len(payload["data"]) == 7


async def test_a_page_past_the_end_is_empty(api: Api) -> None:
    first = await api.page(timestamp_from=WINDOW_START)
    past = await api.page(timestamp_from=WINDOW_START, page=first["metadata"]["total_pages"] + 1)
    assert past["data"] == []
    assert past["metadata"]["total"] == first["metadata"]["total"]


@pytest.mark.parametrize("order", ["newest_first", "oldest_first"])
async def test_a_full_paged_read_equals_the_ground_truth(
    api: Api, acme: str, knobs: EmulatorKnobs, order: OrderMode
) -> None:
    knobs.order = order
    events = await api.read_all(timestamp_from=WINDOW_START, per_page=30)
    expected = api.emulator.ground_truth(acme, WINDOW_START)
    assert len(expected) > 300
    assert sorted(map(canonical, events)) == sorted(map(canonical, expected))


async def test_newest_first_pages_run_backwards_in_time(api: Api, acme: str) -> None:
    events = await api.read_all(timestamp_from=WINDOW_START, per_page=30)
    expected = api.emulator.ground_truth(acme, WINDOW_START)
    assert [canonical(e) for e in events] == [canonical(e) for e in reversed(expected)]


async def test_oldest_first_pages_run_forwards_in_time(
    api: Api, acme: str, knobs: EmulatorKnobs
) -> None:
    knobs.order = "oldest_first"
    events = await api.read_all(timestamp_from=WINDOW_START, per_page=30)
    expected = api.emulator.ground_truth(acme, WINDOW_START)
    assert [canonical(e) for e in events] == [canonical(e) for e in expected]


async def test_unstable_order_reshuffles_each_second_on_every_request(
    api: Api, knobs: EmulatorKnobs
) -> None:
    knobs.order = "unstable"
    api.emulator.add_organization(
        "busy", token="busy", events_per_second=8.0, history_start=START - 600
    )
    body: dict[str, Any] = {"token": "busy", "timestamp_from": int(START) - 600, "per_page": 100}
    first = (await api.query(**body)).json()["data"]
    second = (await api.query(**body)).json()["data"]
    stamps = [e["timestamp"] for e in first]
    assert stamps == sorted(stamps, reverse=True)
    # Same seconds on the page, same events per second, yet not in the same order.
    assert [e["timestamp"] for e in second] == stamps
    assert [canonical(e) for e in first] != [canonical(e) for e in second]
    # The page's last second may continue on page two, so only whole seconds must match.
    whole = [i for i, stamp in enumerate(stamps) if stamp != stamps[-1]]
    assert Counter(canonical(first[i]) for i in whole) == Counter(
        canonical(second[i]) for i in whole
    )


async def test_an_unstable_paged_read_keeps_counts_per_second_but_not_identity(
    api: Api, knobs: EmulatorKnobs
) -> None:
    knobs.order = "unstable"
    organization = api.emulator.add_organization(
        "busy", token="busy", events_per_second=8.0, history_start=START - 600
    )
    events = await api.read_all(token="busy", timestamp_from=int(START) - 600, per_page=50)
    expected = api.emulator.ground_truth(organization.uuid, int(START) - 600)
    assert Counter(e["timestamp"] for e in events) == Counter(e["timestamp"] for e in expected)
    # Seconds straddling a page boundary get reshuffled between requests: rows repeat or vanish.
    assert Counter(map(canonical, events)) != Counter(map(canonical, expected))


def _boundary_query(api: Api, acme: str) -> tuple[int, int]:
    """Two seconds that each hold an event, an hour or so apart."""
    stamps = sorted({e["timestamp"] for e in api.emulator.ground_truth(acme, WINDOW_START)})
    return stamps[0], stamps[len(stamps) // 4]


@pytest.mark.parametrize("lower", ["inclusive", "exclusive"])
@pytest.mark.parametrize("upper", ["inclusive", "exclusive"])
async def test_each_bound_convention_includes_or_excludes_the_edge_seconds(
    api: Api, acme: str, knobs: EmulatorKnobs, lower: BoundMode, upper: BoundMode
) -> None:
    knobs.lower_bound, knobs.upper_bound = lower, upper
    start, end = _boundary_query(api, acme)
    events = await api.read_all(timestamp_from=start, timestamp_to=end)
    stamps = {e["timestamp"] for e in events}
    assert (start in stamps) == (lower == "inclusive")
    assert (end in stamps) == (upper == "inclusive")
    lo = start if lower == "inclusive" else start + 1
    hi = end + 1 if upper == "inclusive" else end
    expected = api.emulator.ground_truth(acme, lo, hi)
    assert sorted(map(canonical, events)) == sorted(map(canonical, expected))
