"""Paging one query to its total, reading half-open windows and probing a window's total."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest
import respx

from agent.errors import RequestRefusedError
from agent.nordpass import MAX_QUERY_SPAN_SECONDS, ActivityClient, PassResult
from tests.nordpass.conftest import (
    API_URL,
    SERVER_DATE_SECONDS,
    ActivityLogFake,
    make_event,
    page_reply,
)

T0 = 1_760_000_000
DAY = 24 * 3600


def _events(count: int, start: int = T0) -> list[dict[str, Any]]:
    return [make_event(start + n, sequence=n) for n in range(count)]


def _kinds(result: PassResult) -> list[tuple[str, int]]:
    return [(found.kind, found.page) for found in result.inconsistencies]


# --- read_pass -----------------------------------------------------------------------------------


async def test_pages_to_total_at_the_servers_capped_page_size(
    respx_mock: respx.MockRouter, client: ActivityClient
) -> None:
    log = ActivityLogFake(_events(35), max_per_page=10)
    route = respx_mock.post(API_URL).mock(side_effect=log)

    result = await client.read_pass(T0 - 1, T0 + 100)

    assert result.events == log.events
    assert (result.rows_received, result.total, result.pages) == (35, 35, 4)
    assert result.verified
    assert result.server_time == SERVER_DATE_SECONDS
    assert route.call_count == 4  # stops at total: no trailing empty page is asked for
    assert [query["page"] for query in log.requests] == [1, 2, 3, 4]
    assert {query["per_page"] for query in log.requests} == {100}
    assert {(q["timestamp_from"], q["timestamp_to"]) for q in log.requests} == {(T0 - 1, T0 + 100)}


async def test_an_empty_result_is_one_request_and_verified(
    respx_mock: respx.MockRouter, client: ActivityClient
) -> None:
    route = respx_mock.post(API_URL).mock(side_effect=ActivityLogFake([]))

    result = await client.read_pass(T0, T0 + 60)

    assert (result.events, result.total, result.pages, result.verified) == ([], 0, 1, True)
    assert route.call_count == 1


async def test_an_empty_page_before_total_is_recorded_and_ends_the_pass(
    respx_mock: respx.MockRouter, client: ActivityClient
) -> None:
    rows = _events(3)
    respx_mock.post(API_URL).mock(
        side_effect=[
            page_reply(rows[:2], total=5, per_page=2, page=1),
            page_reply(rows[2:], total=5, per_page=2, page=2),
            page_reply([], total=5, per_page=2, page=3),
        ]
    )

    result = await client.read_pass(T0, T0 + 60)

    assert _kinds(result) == [("short_page", 2), ("empty_page", 3)]
    assert (result.rows_received, result.total, result.pages) == (3, 5, 3)
    assert result.events == rows
    assert not result.verified


async def test_a_short_page_that_is_not_the_last_is_recorded(
    respx_mock: respx.MockRouter, client: ActivityClient
) -> None:
    rows = _events(5)
    respx_mock.post(API_URL).mock(
        side_effect=[
            page_reply(rows[:1], total=5, per_page=3, page=1),
            page_reply(rows[1:4], total=5, per_page=3, page=2),
            page_reply(rows[4:], total=5, per_page=3, page=3),
        ]
    )

    result = await client.read_pass(T0, T0 + 60)

    assert _kinds(result) == [("short_page", 1)]
    assert "1 rows on a page of 3" in result.inconsistencies[0].detail
    assert result.rows_received == result.total == 5
    assert not result.verified


async def test_a_total_that_changes_between_pages_is_recorded(
    respx_mock: respx.MockRouter, client: ActivityClient
) -> None:
    rows = _events(5)
    respx_mock.post(API_URL).mock(
        side_effect=[
            page_reply(rows[:2], total=4, per_page=2, page=1),
            page_reply(rows[2:4], total=5, per_page=2, page=2),
            page_reply(rows[4:], total=5, per_page=2, page=3),
        ]
    )

    result = await client.read_pass(T0, T0 + 60)

    assert _kinds(result) == [("total_changed", 2)]
    assert result.inconsistencies[0].detail == "total was 4 before page 2 and 5 on it"
    assert (result.rows_received, result.total, result.pages) == (5, 5, 3)
    assert not result.verified


async def test_more_rows_than_total_is_an_overrun(
    respx_mock: respx.MockRouter, client: ActivityClient
) -> None:
    rows = _events(4)
    route = respx_mock.post(API_URL).mock(
        side_effect=[
            page_reply(rows[:2], total=3, per_page=2, page=1),
            page_reply(rows[2:], total=3, per_page=2, page=2),
        ]
    )

    result = await client.read_pass(T0, T0 + 60)

    assert _kinds(result) == [("overrun", 2)]
    assert result.rows_received == 4
    assert result.events == rows
    assert route.call_count == 2
    assert not result.verified


async def test_a_server_that_never_reaches_its_total_hits_the_page_cap(
    respx_mock: respx.MockRouter, client: ActivityClient
) -> None:
    # total 10 at 5 per page needs 2 pages; the cap allows 2 more, then the pass gives up.
    def one_row_per_page(request: httpx.Request) -> httpx.Response:
        page = json.loads(request.content)["page"]
        return page_reply([make_event(T0 + page)], total=10, per_page=5, page=page)

    route = respx_mock.post(API_URL).mock(side_effect=one_row_per_page)

    result = await client.read_pass(T0, T0 + 60)

    assert route.call_count == 4
    assert _kinds(result)[-1] == ("page_limit", 4)
    assert {kind for kind, _ in _kinds(result)} == {"short_page", "page_limit"}
    assert result.rows_received == 4
    assert not result.verified


# --- read_window ---------------------------------------------------------------------------------


async def test_a_second_cut_by_unstable_order_is_read_again_alone_once_the_bounds_are_known(
    respx_mock: respx.MockRouter, make_client: Callable[..., ActivityClient]
) -> None:
    # Second T0 holds five rows, T0 + 1 three (a, b, c). The pages, three rows each, disagree on
    # the order within T0 + 1: page 2 ends with `a`, page 3 starts with it again and `c` never
    # comes, while the counts still add up.
    before = [make_event(T0, sequence=n) for n in range(5)]
    a, b, c = (make_event(T0 + 1, sequence=n) for n in range(3))
    asked: list[tuple[int, int]] = []

    def reply(request: httpx.Request) -> httpx.Response:
        query = json.loads(request.content)
        bounds = (query["timestamp_from"], query["timestamp_to"])
        asked.append(bounds)
        if bounds == (T0 + 1, T0 + 1):  # exactly the second (both bounds inclusive)
            return page_reply([a, b, c], total=3, per_page=3, page=1)
        rows = {1: before[:3], 2: [*before[3:], a], 3: [a, b]}[query["page"]]
        return page_reply(rows, total=8, per_page=3, page=query["page"])

    respx_mock.post(API_URL).mock(side_effect=reply)
    client = make_client(one_second=lambda second: (second, second))  # both bounds inclusive

    result = await client.read_pass(T0 - 1, T0 + 2)

    assert asked[-1] == (T0 + 1, T0 + 1)  # not T0 .. T0 + 2, which five rows of T0 would fill
    assert result.verified
    assert [event for event in result.events if event["timestamp"] == T0 + 1] == [a, b, c]


def _crowded_second_client(
    respx_mock: respx.MockRouter,
    make_client: Callable[..., ActivityClient],
    asked: list[dict[str, Any]],
    *,
    largest_page: int = 1000,
    refusals: list[int] | None = None,
) -> ActivityClient:
    """A client at pages of 3 (bounds known: both inclusive) over an API that records each query
    in `asked`. It holds `x` (second T0) and five rows of T0 + 1 whose order is not stable: the
    pass gets `b` twice and never `e`. The second alone comes whole in a page of 5 or more; an
    API whose `largest_page` is below that refuses such a page (HTTP 400); `refusals` are the
    statuses of one-off refusals of the next requests for more than 3 rows."""
    pending = list(refusals or [])
    x = make_event(T0, sequence=0)
    crowded = [make_event(T0 + 1, sequence=n) for n in range(5)]
    a, b, c, d, _ = crowded

    def reply(request: httpx.Request) -> httpx.Response:
        query = json.loads(request.content)
        asked.append(query)
        if query["per_page"] > largest_page:
            return httpx.Response(400, json={"error": "bad_request", "message": "per_page"})
        if query["per_page"] > 3 and pending:
            return httpx.Response(pending.pop(0), json={"error": "refused", "message": "once"})
        if (query["timestamp_from"], query["timestamp_to"]) == (T0 + 1, T0 + 1):
            size = min(query["per_page"], 1000)
            return page_reply(crowded[:size], total=5, per_page=size, page=1)
        rows = {1: [x, a, b], 2: [b, c, d]}[query["page"]]
        return page_reply(rows, total=6, per_page=3, page=query["page"])

    respx_mock.post(API_URL).mock(side_effect=reply)
    return make_client(per_page=3, one_second=lambda second: (second, second))


async def test_a_crowded_second_is_read_again_in_the_largest_page_not_at_page_size(
    respx_mock: respx.MockRouter, make_client: Callable[..., ActivityClient]
) -> None:
    asked: list[dict[str, Any]] = []
    client = _crowded_second_client(respx_mock, make_client, asked)

    result = await client.read_pass(T0 - 1, T0 + 2)

    assert asked[-1]["per_page"] == 1000
    assert [event["timestamp"] for event in result.events] == [T0] + [T0 + 1] * 5
    crowded = [event for event in result.events if event["timestamp"] == T0 + 1]
    assert crowded == [make_event(T0 + 1, sequence=n) for n in range(5)]
    assert result.verified


async def test_an_api_refusing_large_pages_is_asked_at_page_size_from_then_on(
    respx_mock: respx.MockRouter, make_client: Callable[..., ActivityClient]
) -> None:
    asked: list[dict[str, Any]] = []
    client = _crowded_second_client(respx_mock, make_client, asked, largest_page=3)

    first = await client.read_pass(T0 - 1, T0 + 2)
    second = await client.read_pass(T0 - 1, T0 + 2)

    # The refusal costs one request, once; the second cannot be shown whole at 3 rows a page,
    # so the pass keeps its rows as paged (and says so), as before there were larger pages.
    assert [query["per_page"] for query in asked] == [3, 3, 1000, 3, 3, 3, 3]
    assert first.events == second.events
    assert len(first.events) == first.total == 6


async def test_a_one_off_refusal_of_a_large_page_is_raised_and_does_not_turn_large_pages_off(
    respx_mock: respx.MockRouter, make_client: Callable[..., ActivityClient]
) -> None:
    asked: list[dict[str, Any]] = []
    client = _crowded_second_client(respx_mock, make_client, asked, refusals=[409])

    with pytest.raises(RequestRefusedError, match="HTTP 409"):
        await client.read_pass(T0 - 1, T0 + 2)  # refused, as any page could be
    result = await client.read_pass(T0 - 1, T0 + 2)

    assert [query["per_page"] for query in asked] == [3, 3, 1000, 3, 3, 1000]
    crowded = [event for event in result.events if event["timestamp"] == T0 + 1]
    assert crowded == [make_event(T0 + 1, sequence=n) for n in range(5)]
    assert result.verified


@pytest.mark.parametrize("from_inclusive", [True, False])
@pytest.mark.parametrize("to_inclusive", [True, False])
async def test_a_window_keeps_exactly_its_half_open_seconds_under_any_bound_convention(
    respx_mock: respx.MockRouter,
    client: ActivityClient,
    from_inclusive: bool,
    to_inclusive: bool,
) -> None:
    start, end = T0 + 10, T0 + 20
    stamps = [start - 2, start - 1, start, start, start + 5, end - 1, end, end, end + 1]
    log = ActivityLogFake(
        [make_event(t, sequence=n) for n, t in enumerate(stamps)],
        from_inclusive=from_inclusive,
        to_inclusive=to_inclusive,
    )
    respx_mock.post(API_URL).mock(side_effect=log)

    results = [result async for result in client.read_window(start, end)]

    (result,) = results
    assert [event["timestamp"] for event in result.events] == [
        start,
        start,
        start + 5,
        end - 1,
    ]
    assert result.verified
    assert result.rows_received == 4 + from_inclusive + 2 * to_inclusive
    assert [(q["timestamp_from"], q["timestamp_to"]) for q in log.requests] == [(start - 1, end)]


async def test_a_window_over_90_days_is_read_as_contiguous_sub_windows(
    respx_mock: respx.MockRouter, client: ActivityClient
) -> None:
    start, end = T0, T0 + 200 * DAY
    longest = MAX_QUERY_SPAN_SECONDS - 1
    boundaries = [start + longest, start + 2 * longest]
    stamps = [start, boundaries[0] - 1, boundaries[0], boundaries[1], end - 1, end]
    log = ActivityLogFake([make_event(t) for t in stamps])
    respx_mock.post(API_URL).mock(side_effect=log)

    results = [result async for result in client.read_window(start, end)]

    windows = [(r.timestamp_from + 1, r.timestamp_to) for r in results]
    assert windows == [(start, boundaries[0]), (boundaries[0], boundaries[1]), (boundaries[1], end)]
    assert all(
        q["timestamp_to"] - q["timestamp_from"] <= MAX_QUERY_SPAN_SECONDS for q in log.requests
    )
    kept = [[event["timestamp"] for event in result.events] for result in results]
    assert kept == [[start, boundaries[0] - 1], [boundaries[0]], [boundaries[1], end - 1]]
    assert all(result.verified for result in results)


async def test_an_empty_window_sends_nothing(
    respx_mock: respx.MockRouter, client: ActivityClient
) -> None:
    route = respx_mock.post(API_URL)

    assert [result async for result in client.read_window(T0, T0)] == []
    assert route.call_count == 0


# --- probe_total ---------------------------------------------------------------------------------


async def test_probe_total_asks_for_one_row_of_the_widened_window(
    respx_mock: respx.MockRouter, client: ActivityClient
) -> None:
    log = ActivityLogFake(_events(7))
    respx_mock.post(API_URL).mock(side_effect=log)

    total, server_time = await client.probe_total(T0 + 1, T0 + 5)

    # The fake counts T0 .. T0+5 (both bounds inclusive): the widened query, not just the window.
    assert (total, server_time) == (6, SERVER_DATE_SECONDS)
    assert log.requests == [
        {"page": 1, "per_page": 1, "timestamp_from": T0, "timestamp_to": T0 + 5}
    ]


async def test_probe_total_over_90_days_sums_one_probe_per_sub_window(
    respx_mock: respx.MockRouter, client: ActivityClient
) -> None:
    log = ActivityLogFake([make_event(T0 + 10), make_event(T0 + 100 * DAY)])
    respx_mock.post(API_URL).mock(side_effect=log)

    total, _ = await client.probe_total(T0, T0 + 120 * DAY)

    assert total == 2
    assert len(log.requests) == 2
