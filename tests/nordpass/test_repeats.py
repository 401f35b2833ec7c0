"""Which rows a pass received twice: equality of rows is JSON equality, whatever the values hold."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from agent.nordpass.models import RawEvent
from agent.nordpass.repeats import RepeatedRows, find_repeats


def _find_repeats_by_stdlib_text(
    events: Sequence[RawEvent], page_sizes: Sequence[int]
) -> RepeatedRows:
    """The classification with rows compared by their `json.dumps(sort_keys=True)` text."""
    first_page: dict[str, int] = {}
    positions: dict[int, list[int]] = {}
    repeated: dict[int, int] = {}
    pages = (page for page, size in enumerate(page_sizes, start=1) for _ in range(size))
    for position, (event, page) in enumerate(zip(events, pages, strict=True)):
        second = event["timestamp"]
        positions.setdefault(second, []).append(position)
        if first_page.setdefault(json.dumps(event, sort_keys=True), page) != page:
            repeated.setdefault(second, page)
    found = RepeatedRows()
    for second, page in repeated.items():
        spread = positions[second]
        contiguous = spread[-1] - spread[0] + 1 == len(spread)
        (found.straddling if contiguous else found.drifted)[second] = page
    return found


# Values that one serializer or another writes alike: null, NaN and the infinities; 1, 1.0 and
# true; 0.0 and -0.0; integers beyond 64 bits; a lone surrogate.
_LEAVES: st.SearchStrategy[Any] = st.sampled_from(
    [None, float("nan"), float("inf"), -float("inf"), 1, 1.0, True, 0, 0.0, -0.0, 2**64, 2**64 + 1,
     "\ud800", "null", "", "é", [], {}]
)  # fmt: skip
_ROWS = st.builds(
    lambda second, value, nested: {"timestamp": second, "v": value, "m": {"w": nested}},
    st.integers(1, 3),
    _LEAVES,
    st.one_of(_LEAVES, st.lists(_LEAVES, max_size=2)),
)


@settings(max_examples=1500)
@given(st.lists(_ROWS, min_size=1, max_size=12), st.integers(1, 4))
def test_repeats_are_found_exactly_as_by_comparing_json_texts(
    rows: list[dict[str, Any]], page_size: int
) -> None:
    rows.sort(key=lambda row: row["timestamp"])
    full, rest = divmod(len(rows), page_size)
    page_sizes = [page_size] * full + ([rest] if rest else [])

    assert find_repeats(rows, page_sizes) == _find_repeats_by_stdlib_text(rows, page_sizes)


def test_rows_that_differ_only_by_null_and_nan_are_different_rows() -> None:
    rows: list[RawEvent] = [{"timestamp": 1, "v": None}, {"timestamp": 1, "v": float("nan")}]

    assert find_repeats(rows, [1, 1]) == RepeatedRows()


def test_a_row_on_two_pages_is_a_repeat_even_with_nan_or_a_lone_surrogate() -> None:
    row: RawEvent = {"timestamp": 1, "v": float("nan"), "s": "\ud800", "n": 2**70}

    assert find_repeats([row, dict(row)], [1, 1]) == RepeatedRows(straddling={1: 2})


@settings(max_examples=1500)
@given(st.lists(_ROWS, min_size=1, max_size=12), st.integers(1, 4))
def test_repeats_are_found_as_by_comparing_json_texts_in_any_row_order(
    rows: list[dict[str, Any]], page_size: int
) -> None:
    # Drift can bring rows of an earlier second back on a later page: no order is assumed.
    full, rest = divmod(len(rows), page_size)
    page_sizes = [page_size] * full + ([rest] if rest else [])

    assert find_repeats(rows, page_sizes) == _find_repeats_by_stdlib_text(rows, page_sizes)
