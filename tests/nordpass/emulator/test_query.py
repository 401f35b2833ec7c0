"""Query bodies: validation, and their translation into one half-open range of seconds."""

from __future__ import annotations

from typing import Any

import pytest

from agent.nordpass.emulator.knobs import BoundMode
from agent.nordpass.emulator.query import (
    OPEN_END,
    ActivityQuery,
    QueryError,
    parse_query,
    query_range,
)
from agent.nordpass.models import MAX_QUERY_SPAN_SECONDS

NOW = 1_767_225_600.0 + 12 * 3600 + 0.5  # 2026-01-01T12:00:00.5Z
MIDNIGHT = 1_767_225_600


def _range(
    lower: BoundMode = "inclusive", upper: BoundMode = "inclusive", **body: Any
) -> tuple[int, int]:
    return query_range(parse_query(body), NOW, lower, upper)


def test_an_empty_body_asks_for_page_one_of_one_hundred() -> None:
    assert parse_query({}) == ActivityQuery(None, None, page=1, per_page=100, user_uuids=None)


def test_unknown_fields_are_ignored() -> None:
    assert parse_query({"page": 2, "cursor": "x"}).page == 2


@pytest.mark.parametrize(
    ("lower", "upper", "expected"),
    [
        ("inclusive", "inclusive", (1000, 2001)),
        ("inclusive", "exclusive", (1000, 2000)),
        ("exclusive", "inclusive", (1001, 2001)),
        ("exclusive", "exclusive", (1001, 2000)),
    ],
)
def test_each_bound_convention_maps_to_its_half_open_range(
    lower: BoundMode, upper: BoundMode, expected: tuple[int, int]
) -> None:
    start, end = MIDNIGHT - 100_000, MIDNIGHT - 99_000
    lo, hi = _range(lower, upper, timestamp_from=start, timestamp_to=end)
    assert (lo - start + 1000, hi - start + 1000) == expected


def test_no_bounds_mean_the_last_seven_full_days() -> None:
    assert _range() == (MIDNIGHT - 7 * 86400, MIDNIGHT)


def test_a_lower_bound_alone_runs_up_to_now() -> None:
    assert _range(timestamp_from=MIDNIGHT) == (MIDNIGHT, OPEN_END)


def test_an_upper_bound_alone_reaches_seven_days_back() -> None:
    lo, hi = _range(timestamp_to=MIDNIGHT)
    assert (lo, hi) == (MIDNIGHT + 1 - 7 * 86400, MIDNIGHT + 1)


def test_a_window_of_exactly_ninety_days_is_accepted() -> None:
    lo, hi = _range(timestamp_from=MIDNIGHT - MAX_QUERY_SPAN_SECONDS, timestamp_to=MIDNIGHT)
    assert hi - lo == MAX_QUERY_SPAN_SECONDS + 1


@pytest.mark.parametrize(
    "body",
    [
        {"timestamp_from": MIDNIGHT - MAX_QUERY_SPAN_SECONDS - 1, "timestamp_to": MIDNIGHT},
        {"timestamp_from": int(NOW) - MAX_QUERY_SPAN_SECONDS - 1},
        {"timestamp_from": MIDNIGHT, "timestamp_to": MIDNIGHT - 1},
    ],
)
def test_windows_over_ninety_days_or_reversed_are_refused(body: dict[str, Any]) -> None:
    with pytest.raises(QueryError):
        _range(**body)


@pytest.mark.parametrize(
    "body",
    [
        [],
        None,
        "page=1",
        {"page": 0},
        {"page": "2"},
        {"page": True},
        {"per_page": 0},
        {"per_page": 2.5},
        {"timestamp_from": -1},
        {"timestamp_to": "yesterday"},
        {"user_uuids": "abc"},
        {"user_uuids": [1, 2]},
        {"user_uuids": [f"u{i}" for i in range(501)]},
    ],
)
def test_malformed_bodies_are_refused(body: object) -> None:
    with pytest.raises(QueryError):
        parse_query(body)


def test_five_hundred_user_uuids_are_accepted_and_an_empty_list_filters_nothing() -> None:
    assert parse_query({"user_uuids": [f"u{i}" for i in range(500)]}).user_uuids is not None
    assert parse_query({"user_uuids": []}).user_uuids is None
