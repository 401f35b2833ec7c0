"""Properties of the incremental result sets behind offset paging (no sockets needed)."""

from __future__ import annotations

import random

from hypothesis import given, settings
from hypothesis import strategies as st

from agent.nordpass.emulator.generator import make_profile
from agent.nordpass.emulator.knobs import OrderMode, VisibilityRules
from agent.nordpass.emulator.query import OPEN_END
from agent.nordpass.emulator.resultset import ResultSet
from agent.nordpass.emulator.timeline import Timeline

from .conftest import START

ORGANIZATION = "101b4232-0688-4599-bca8-4636c91cd687"
NOW = int(START)
LO = NOW - 1800


def _timeline() -> Timeline:
    profile = make_profile(0, ORGANIZATION, "acme")
    return Timeline(
        profile, seed=0, events_per_second=0.5, history_start=NOW - 3600, history_end=None
    )


@settings(max_examples=30, deadline=None)
@given(
    late_fraction=st.sampled_from([0.0, 0.3, 1.0]),
    duplicate_fraction=st.sampled_from([0.0, 0.2]),
    data=st.data(),
)
def test_a_result_set_kept_up_to_date_equals_one_built_afresh(
    late_fraction: float, duplicate_fraction: float, data: st.DataObject
) -> None:
    timeline = _timeline()
    rules = VisibilityRules(late_fraction, 300.0, duplicate_fraction)
    live = ResultSet(timeline, LO, OPEN_END, None, rules)
    now = float(NOW)
    for _ in range(data.draw(st.integers(1, 6), label="steps")):
        now += data.draw(st.floats(0, 400), label="advance")
        live.refresh(now)
        offsets = data.draw(st.lists(st.integers(0, int(now) - LO), max_size=3), label="growth")
        for offset in offsets:
            member = data.draw(st.integers(0, len(timeline.profile.members) - 1))
            stamp, key = timeline.add_growth(LO + offset, member)
            live.offer_growth(stamp, key, member)
    live.refresh(now)
    fresh = ResultSet(timeline, LO, OPEN_END, None, rules)
    fresh.refresh(now)
    assert live.stamps == sorted(live.stamps)
    assert (live.stamps, live.keys) == (fresh.stamps, fresh.keys)


@settings(max_examples=40, deadline=None)
@given(
    per_page=st.integers(1, 120),
    order=st.sampled_from(["newest_first", "oldest_first", "unstable"]),
)
def test_offset_pages_tile_the_result_set(per_page: int, order: OrderMode) -> None:
    result = ResultSet(_timeline(), LO, OPEN_END, None, VisibilityRules(0.0, 0.0, 0.2))
    result.refresh(float(NOW))
    shuffle = random.Random(0)
    pages: list[int] = []
    for page in range(1, -(-len(result) // per_page) + 1):
        rows = result.page(order, page, per_page, shuffle)
        assert len(rows) == min(per_page, len(result) - (page - 1) * per_page)
        pages += rows
    if order == "oldest_first":
        assert pages == result.keys
    elif order == "newest_first":
        assert pages == result.keys[::-1]
    else:
        # Whatever the shuffle, seconds still come newest first and in the right number.
        stamp_of = dict(zip(result.keys, result.stamps, strict=True))
        assert [stamp_of[key] for key in pages] == result.stamps[::-1]
