"""The status table, Retry-After parsing and the backoff policy, without any HTTP."""

from __future__ import annotations

import pytest

from agent.clock import ManualClock
from agent.errors import RetryableError
from agent.nordpass import (
    RetryPolicy,
    StatusAction,
    TransientHTTPError,
    action_for_status,
    parse_http_date,
    parse_retry_after,
    run_with_retries,
)

DATE = "Thu, 01 Jan 2026 00:00:00 GMT"
DATE_SECONDS = 1_767_225_600.0


@pytest.mark.parametrize(
    ("status", "action"),
    [
        (200, StatusAction.ACCEPT),
        (401, StatusAction.UNAUTHORIZED),
        (403, StatusAction.UNAUTHORIZED),
        (408, StatusAction.RETRY),
        (429, StatusAction.RETRY),
        (500, StatusAction.RETRY),
        (503, StatusAction.RETRY),
        (599, StatusAction.RETRY),
        (400, StatusAction.FAIL),
        (404, StatusAction.FAIL),
        (422, StatusAction.FAIL),
        (302, StatusAction.FAIL),
        (101, StatusAction.FAIL),
    ],
)
def test_status_table(status: int, action: StatusAction) -> None:
    assert action_for_status(status) is action


def test_retry_after_delta_seconds() -> None:
    assert parse_retry_after(" 42 ", reference_time=0.0) == 42.0


@pytest.mark.parametrize("value", ["²", "٣", "1.5e", "soon"])
def test_a_retry_after_that_is_no_number_nor_date_is_ignored(value: str) -> None:
    assert parse_retry_after(value, reference_time=0.0) is None


def test_retry_after_http_date_is_measured_from_the_reference_time() -> None:
    assert parse_retry_after("Thu, 01 Jan 2026 00:01:30 GMT", reference_time=DATE_SECONDS) == 90.0


def test_retry_after_in_the_past_means_now() -> None:
    assert parse_retry_after(DATE, reference_time=DATE_SECONDS + 60) == 0.0


@pytest.mark.parametrize("value", [None, "", "soon", "-5", "1.5"])
def test_unusable_retry_after_is_ignored(value: str | None) -> None:
    assert parse_retry_after(value, reference_time=DATE_SECONDS) is None


def test_http_date_parses_gmt_and_minus_zero_offsets_alike() -> None:
    assert parse_http_date(DATE) == DATE_SECONDS
    assert parse_http_date("Thu, 01 Jan 2026 00:00:00 -0000") == DATE_SECONDS


@pytest.mark.parametrize("value", [None, "", "yesterday"])
def test_invalid_http_date_gives_none(value: str | None) -> None:
    assert parse_http_date(value) is None


def test_backoff_is_full_jitter_over_an_exponential_ceiling() -> None:
    policy = RetryPolicy.from_clock(
        ManualClock(), base_delay=2.0, max_delay=10.0, jitter_source=lambda: 0.5
    )

    assert [policy.delay_before_retry(n, None) for n in (1, 2, 3, 4)] == [1.0, 2.0, 4.0, 5.0]


def test_backoff_never_exceeds_max_delay_whatever_the_draw() -> None:
    policy = RetryPolicy.from_clock(ManualClock(), max_delay=10.0, jitter_source=lambda: 1.0)

    assert policy.delay_before_retry(30, None) == 10.0


def test_retry_after_overrides_backoff_and_is_capped() -> None:
    policy = RetryPolicy.from_clock(ManualClock(), retry_after_cap=120.0)

    assert policy.delay_before_retry(1, 30.0) == 30.0
    assert policy.delay_before_retry(1, 3600.0) == 120.0


@pytest.mark.parametrize(
    "options", [{"attempts": 0}, {"base_delay": -1.0}, {"retry_after_cap": -1.0}]
)
def test_policy_refuses_nonsense(options: dict[str, float]) -> None:
    with pytest.raises(ValueError, match=r"attempts|must not be negative"):
        RetryPolicy.from_clock(ManualClock(), **options)  # type: ignore[arg-type]


async def test_run_with_retries_sleeps_through_the_clock_and_returns_the_result() -> None:
    clock = ManualClock()
    policy = RetryPolicy.from_clock(clock, attempts=3, jitter_source=lambda: 1.0)
    failures = [TransientHTTPError("HTTP 503", status=503, retry_after=None)]

    async def operation() -> str:
        if failures:
            raise failures.pop()
        return "page"

    assert await run_with_retries(policy, operation) == "page"
    assert clock.sleeps == [1.0]


async def test_run_with_retries_raises_the_last_failure_after_the_last_attempt() -> None:
    clock = ManualClock()
    policy = RetryPolicy.from_clock(clock, attempts=3)
    calls = 0

    async def operation() -> str:
        nonlocal calls
        calls += 1
        raise TransientHTTPError(f"HTTP 429 #{calls}", status=429, retry_after=4.0)

    with pytest.raises(TransientHTTPError, match="#3") as caught:
        await run_with_retries(policy, operation)

    assert isinstance(caught.value, RetryableError)
    assert (calls, clock.sleeps) == (3, [4.0, 4.0])


async def test_run_with_retries_does_not_retry_other_errors() -> None:
    clock = ManualClock()
    calls = 0

    async def operation() -> str:
        nonlocal calls
        calls += 1
        raise ValueError("bad request")

    with pytest.raises(ValueError, match="bad request"):
        await run_with_retries(RetryPolicy.from_clock(clock), operation)

    assert (calls, clock.sleeps) == (1, [])
