"""Half-open windows and their split into API-sized queries (pure, no I/O)."""

from __future__ import annotations

import itertools

import pytest

from agent.nordpass import MAX_QUERY_SPAN_SECONDS, HalfOpenWindow, keep_in_window, split_window

DAY = 24 * 3600
START = 1_760_000_000


def test_a_window_is_queried_one_second_wider_on_the_left() -> None:
    window = HalfOpenWindow(100, 200)

    assert (window.query_from, window.query_to) == (99, 200)
    assert window.query_span == 101


def test_contains_is_half_open() -> None:
    window = HalfOpenWindow(100, 200)

    assert [t for t in (98, 99, 100, 101, 199, 200, 201) if window.contains(t)] == [100, 101, 199]


def test_a_window_whose_query_fits_the_limit_is_not_split() -> None:
    end = START + MAX_QUERY_SPAN_SECONDS - 1

    assert split_window(START, end) == [HalfOpenWindow(START, end)]
    assert HalfOpenWindow(START, end).query_span == MAX_QUERY_SPAN_SECONDS


def test_one_second_over_the_limit_splits_in_two() -> None:
    end = START + MAX_QUERY_SPAN_SECONDS

    assert split_window(START, end) == [
        HalfOpenWindow(START, end - 1),
        HalfOpenWindow(end - 1, end),
    ]


def test_a_long_range_splits_into_contiguous_exact_pieces_that_each_fit() -> None:
    end = START + 200 * DAY + 17

    pieces = split_window(START, end)

    longest = MAX_QUERY_SPAN_SECONDS - 1
    assert pieces == [
        HalfOpenWindow(START, START + longest),
        HalfOpenWindow(START + longest, START + 2 * longest),
        HalfOpenWindow(START + 2 * longest, end),
    ]
    assert all(piece.query_span <= MAX_QUERY_SPAN_SECONDS for piece in pieces)
    assert all(a.end == b.start for a, b in itertools.pairwise(pieces))


def test_split_respects_a_smaller_limit() -> None:
    assert split_window(0, 10, max_query_span=5) == [
        HalfOpenWindow(0, 4),
        HalfOpenWindow(4, 8),
        HalfOpenWindow(8, 10),
    ]


def test_an_empty_window_has_no_pieces() -> None:
    assert split_window(START, START) == []


def test_an_inverted_window_is_refused() -> None:
    with pytest.raises(ValueError, match="after its end"):
        split_window(START + 1, START)


@pytest.mark.parametrize("bound", [1.5, True, "100"])
def test_bounds_must_be_whole_seconds(bound: object) -> None:
    with pytest.raises(TypeError, match="whole Unix seconds"):
        HalfOpenWindow(bound, 200)  # type: ignore[arg-type]


def test_keep_in_window_keeps_order_and_the_very_same_dicts() -> None:
    events = [{"timestamp": t, "n": i} for i, t in enumerate([200, 150, 99, 100, 199, 150])]

    kept = keep_in_window(events, HalfOpenWindow(100, 200))

    expected = [events[1], events[3], events[4], events[5]]
    assert kept == expected
    assert all(a is b for a, b in zip(kept, expected, strict=True))
