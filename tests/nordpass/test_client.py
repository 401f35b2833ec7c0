"""One request of the Activity Log client: its shape, the reply's validation, errors and retries."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest
import respx

from agent.clock import ManualClock
from agent.errors import AuthError, FatalError, ResponseFormatError, RetryableError
from agent.nordpass import REGION_URLS, ActivityClient, RetryPolicy, TransientHTTPError, api_url
from tests.nordpass.conftest import (
    API_URL,
    SERVER_DATE,
    SERVER_DATE_SECONDS,
    TOKEN_VALUE,
    make_event,
    page_reply,
)


def _exception_texts(error: BaseException) -> str:
    """str and repr of an exception and of everything chained to it."""
    texts: list[str] = []
    current: BaseException | None = error
    while current is not None:
        texts += [str(current), repr(current)]
        current = current.__cause__ or current.__context__
    return "\n".join(texts)


def _ok(events: list[dict[str, Any]] | None = None, **options: Any) -> httpx.Response:
    rows = events or []
    return page_reply(rows, total=len(rows), per_page=100, page=1, **options)


# --- the request ---------------------------------------------------------------------------------


async def test_request_posts_json_with_the_raw_token_and_only_the_given_fields(
    respx_mock: respx.MockRouter, client: ActivityClient
) -> None:
    route = respx_mock.post(API_URL).mock(return_value=_ok())

    await client.fetch_page(1)
    await client.fetch_page(2, timestamp_from=10, timestamp_to=20, user_uuids=["u-1", "u-2"])

    first, second = (call.request for call in route.calls)
    assert first.headers["Authorization"] == TOKEN_VALUE
    assert first.headers["Content-Type"] == "application/json"
    assert json.loads(first.content) == {"page": 1, "per_page": 100}
    assert json.loads(second.content) == {
        "page": 2,
        "per_page": 100,
        "timestamp_from": 10,
        "timestamp_to": 20,
        "user_uuids": ["u-1", "u-2"],
    }


async def test_per_page_is_configurable(
    respx_mock: respx.MockRouter, make_client: Callable[..., ActivityClient]
) -> None:
    route = respx_mock.post(API_URL).mock(return_value=_ok())

    await make_client(per_page=250).fetch_page(1)

    assert json.loads(route.calls.last.request.content)["per_page"] == 250


async def test_more_than_500_user_uuids_are_refused_before_sending(client: ActivityClient) -> None:
    with pytest.raises(ValueError, match="500"):
        await client.fetch_page(1, user_uuids=[f"u-{n}" for n in range(501)])


def test_api_url_prefers_an_explicit_url_then_the_region() -> None:
    assert api_url(region="US") == REGION_URLS["us"]
    assert api_url(region="eu", url="http://127.0.0.1:8080/q") == "http://127.0.0.1:8080/q"
    with pytest.raises(ValueError, match="known regions: eu, us"):
        api_url(region="apac")


# --- the reply -----------------------------------------------------------------------------------


async def test_events_are_kept_exactly_as_sent_including_unknown_fields(
    respx_mock: respx.MockRouter, client: ActivityClient
) -> None:
    sent = [
        make_event(1_700_000_000, future_field={"nested": [1, None, "x"]}),
        make_event(1_700_000_001, metadata={"msp": {"user_role": "admin"}, "new": True}),
        {"timestamp": 1_700_000_002},
    ]
    reply = {
        "data": sent,
        "metadata": {"total": 3, "per_page": 100, "current_page": 1, "total_pages": 1, "x": 1},
        "links": {"next": None},
    }
    respx_mock.post(API_URL).mock(return_value=httpx.Response(200, json=reply))

    page = await client.fetch_page(1)

    assert page.events == sent
    assert page.metadata.extra == {"x": 1}
    assert page.extra == {"links": {"next": None}}
    assert (page.metadata.total, page.metadata.per_page, page.page) == (3, 100, 1)


async def test_the_date_header_becomes_the_server_time(
    respx_mock: respx.MockRouter, client: ActivityClient
) -> None:
    respx_mock.post(API_URL).mock(return_value=_ok(date=SERVER_DATE))

    assert (await client.fetch_page(1)).server_time == SERVER_DATE_SECONDS


@pytest.mark.parametrize("date", [None, "not a date"])
async def test_a_missing_or_unreadable_date_gives_no_server_time(
    respx_mock: respx.MockRouter, client: ActivityClient, date: str | None
) -> None:
    respx_mock.post(API_URL).mock(return_value=_ok(date=date))

    assert (await client.fetch_page(1)).server_time is None


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        (b'{"data": [}', "not valid JSON"),
        (b'{"data": [{"timestamp": 1700000000, "act', "truncated"),
        (b"", "the body is empty"),
        (b"\xff\xfe\x00garbage", "not valid JSON"),
    ],
)
async def test_malformed_or_truncated_json_names_tenant_and_page(
    respx_mock: respx.MockRouter, client: ActivityClient, body: bytes, problem: str
) -> None:
    route = respx_mock.post(API_URL).mock(return_value=httpx.Response(200, content=body))

    with pytest.raises(ResponseFormatError) as caught:
        await client.fetch_page(3)

    assert "tenant 'acme' page 3" in str(caught.value)
    assert problem in str(caught.value)
    assert route.call_count == 1  # a bad reply is the caller's to re-read, not retried here


_METADATA = {"total": 1, "per_page": 100, "current_page": 1, "total_pages": 1}


@pytest.mark.parametrize(
    ("reply", "problem"),
    [
        ([], "reply is an array, not an object"),
        ({"metadata": _METADATA}, "'data' is missing"),
        ({"data": {"0": {}}, "metadata": _METADATA}, "'data' is an object, not an array"),
        ({"data": ["login"], "metadata": _METADATA}, "event 0 of 'data' is a string"),
        ({"data": [{"action": "x"}], "metadata": _METADATA}, "'timestamp' null"),
        ({"data": [{"timestamp": "1700000000"}], "metadata": _METADATA}, "'timestamp' a string"),
        ({"data": [{"timestamp": 1.7e9}], "metadata": _METADATA}, "'timestamp' a number"),
        ({"data": [{"timestamp": True}], "metadata": _METADATA}, "'timestamp' a boolean"),
        ({"data": []}, "'metadata' is missing"),
        ({"data": [], "metadata": [1]}, "'metadata' is an array"),
        ({"data": [], "metadata": {**_METADATA, "total": "1"}}, "'metadata.total' is a string"),
        ({"data": [], "metadata": {**_METADATA, "total": -1}}, "'metadata.total' is negative"),
        ({"data": [], "metadata": {"total": 1}}, "'metadata.per_page' is missing"),
        ({"data": [], "metadata": {**_METADATA, "per_page": 0}}, "'metadata.per_page' is 0"),
        ({"data": [], "metadata": {**_METADATA, "total_pages": None}}, "total_pages' is null"),
    ],
)
async def test_a_reply_of_the_wrong_shape_is_a_format_error_saying_what_is_wrong(
    respx_mock: respx.MockRouter, client: ActivityClient, reply: Any, problem: str
) -> None:
    respx_mock.post(API_URL).mock(return_value=httpx.Response(200, json=reply))

    with pytest.raises(ResponseFormatError) as caught:
        await client.fetch_page(2)

    assert str(caught.value).startswith("tenant 'acme' page 2: ")
    assert problem in str(caught.value)


# --- errors --------------------------------------------------------------------------------------


@pytest.mark.parametrize("status", [401, 403])
async def test_a_refused_token_is_an_auth_error_naming_the_tenant_never_the_token(
    respx_mock: respx.MockRouter, client: ActivityClient, status: int
) -> None:
    route = respx_mock.post(API_URL).mock(
        return_value=httpx.Response(status, json={"error": f"invalid token {TOKEN_VALUE}"})
    )

    with pytest.raises(AuthError) as caught:
        await client.fetch_page(1)

    message = str(caught.value)
    assert message.startswith(f"tenant 'acme': NordPass rejected the API token (HTTP {status})")
    assert "expired or been revoked" in message
    assert "Integrations → Events reporting" in message
    assert isinstance(caught.value, FatalError)
    assert route.call_count == 1
    assert TOKEN_VALUE not in _exception_texts(caught.value)
    assert TOKEN_VALUE not in repr(client) + str(client)


@pytest.mark.parametrize("padding", [780, 790, 799, 800])
async def test_a_token_echoed_where_the_excerpt_is_cut_leaves_none_of_it(
    respx_mock: respx.MockRouter, client: ActivityClient, padding: int
) -> None:
    body = "bad request:" + " " * padding + TOKEN_VALUE + " trailing"
    respx_mock.post(API_URL).mock(return_value=httpx.Response(400, text=body))

    with pytest.raises(FatalError) as caught:
        await client.fetch_page(1)

    texts = _exception_texts(caught.value)
    assert TOKEN_VALUE[:8] not in texts
    assert "bad request:" in texts


async def test_another_client_error_is_fatal_with_status_and_a_short_secret_free_excerpt(
    respx_mock: respx.MockRouter, client: ActivityClient
) -> None:
    body = f"timestamp_from out of range\n\n(request token={TOKEN_VALUE}) " + "x" * 5000
    respx_mock.post(API_URL).mock(return_value=httpx.Response(422, text=body))

    with pytest.raises(FatalError) as caught:
        await client.fetch_page(4)

    message = str(caught.value)
    assert message.startswith("tenant 'acme' page 4: NordPass refused the request (HTTP 422): ")
    assert "timestamp_from out of range (request token=**********)" in message
    assert len(message) < 400
    assert not isinstance(caught.value, AuthError)
    assert TOKEN_VALUE not in _exception_texts(caught.value)


async def test_server_errors_are_retried_with_backoff_then_succeed(
    respx_mock: respx.MockRouter, client: ActivityClient, clock: ManualClock
) -> None:
    event = make_event(1_700_000_000)
    route = respx_mock.post(API_URL).mock(
        side_effect=[httpx.Response(503), httpx.Response(500), _ok([event])]
    )

    page = await client.fetch_page(1)

    assert page.events == [event]
    assert route.call_count == 3
    # Full jitter with the fixture's draw of 0.5 over ceilings of 1 s and 2 s.
    assert clock.sleeps == [0.5, 1.0]


async def test_transport_errors_timeouts_and_408_are_retried(
    respx_mock: respx.MockRouter, make_client: Callable[..., ActivityClient], clock: ManualClock
) -> None:
    route = respx_mock.post(API_URL).mock(
        side_effect=[
            httpx.ConnectError("connection refused"),
            httpx.ReadTimeout(""),
            httpx.Response(408),
            _ok(),
        ]
    )
    client = make_client(retry=_policy(clock, attempts=4))

    await client.fetch_page(1)

    assert route.call_count == 4
    assert len(clock.sleeps) == 3


async def test_retry_after_in_seconds_is_honoured(
    respx_mock: respx.MockRouter, client: ActivityClient, clock: ManualClock
) -> None:
    respx_mock.post(API_URL).mock(
        side_effect=[httpx.Response(429, headers={"Retry-After": "7"}), _ok()]
    )

    await client.fetch_page(1)

    assert clock.sleeps == [7.0]


async def test_retry_after_as_a_date_is_measured_from_the_reply_date(
    respx_mock: respx.MockRouter, client: ActivityClient, clock: ManualClock
) -> None:
    clock.advance(3600)  # our clock is an hour ahead of the server's; the reply's Date wins
    throttled = httpx.Response(
        429, headers={"Date": SERVER_DATE, "Retry-After": "Thu, 01 Jan 2026 00:00:12 GMT"}
    )
    respx_mock.post(API_URL).mock(side_effect=[throttled, _ok()])

    await client.fetch_page(1)

    assert clock.sleeps == [12.0]


async def test_retry_after_as_a_date_without_a_reply_date_is_measured_from_now(
    respx_mock: respx.MockRouter, client: ActivityClient, clock: ManualClock
) -> None:
    # The manual clock starts at 2026-01-01T00:00:00Z.
    throttled = httpx.Response(503, headers={"Retry-After": "Thu, 01 Jan 2026 00:00:20 GMT"})
    respx_mock.post(API_URL).mock(side_effect=[throttled, _ok()])

    await client.fetch_page(1)

    assert clock.sleeps == [20.0]


async def test_retry_after_is_capped(
    respx_mock: respx.MockRouter, client: ActivityClient, clock: ManualClock
) -> None:
    respx_mock.post(API_URL).mock(
        side_effect=[httpx.Response(429, headers={"Retry-After": "86400"}), _ok()]
    )

    await client.fetch_page(1)

    assert clock.sleeps == [120.0]  # the fixture policy's retry_after_cap


async def test_after_the_last_attempt_a_retryable_error_carries_status_and_retry_after(
    respx_mock: respx.MockRouter, client: ActivityClient, clock: ManualClock
) -> None:
    route = respx_mock.post(API_URL).mock(
        return_value=httpx.Response(503, headers={"Retry-After": "5"})
    )

    with pytest.raises(TransientHTTPError) as caught:
        await client.fetch_page(6)

    error = caught.value
    assert isinstance(error, RetryableError)
    assert (error.status, error.retry_after) == (503, 5.0)
    assert str(error) == (
        "tenant 'acme' page 6: NordPass still failing after 3 attempts; "
        "last failure: HTTP 503, Retry-After 5 s"
    )
    assert route.call_count == 3
    assert clock.sleeps == [5.0, 5.0]
    assert TOKEN_VALUE not in _exception_texts(error)


async def test_a_transport_failure_that_persists_has_no_status(
    respx_mock: respx.MockRouter, client: ActivityClient
) -> None:
    respx_mock.post(API_URL).mock(side_effect=httpx.ReadTimeout(""))

    with pytest.raises(TransientHTTPError) as caught:
        await client.fetch_page(1)

    assert caught.value.status is None
    assert "could not reach NordPass (ReadTimeout)" in str(caught.value)
    assert TOKEN_VALUE not in _exception_texts(caught.value)


def _policy(clock: ManualClock, *, attempts: int) -> RetryPolicy:
    return RetryPolicy.from_clock(clock, attempts=attempts, jitter_source=lambda: 0.5)
