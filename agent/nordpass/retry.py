"""When and how long to retry a request to the Activity Log API.

One table maps each HTTP status to what the client does about it; `RetryPolicy` says how many
attempts and how long to wait between them (exponential backoff with full jitter, or the server's
own `Retry-After`, capped). Sleeping goes through an injected function, so tests never wait.
"""

from __future__ import annotations

import email.utils
import enum
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC
from typing import TypeVar

from tenacity import AsyncRetrying, RetryCallState, retry_if_exception_type, stop_after_attempt

from agent.clock import Clock
from agent.errors import RetryableError

__all__ = [
    "STATUS_ACTIONS",
    "RetryPolicy",
    "StatusAction",
    "TransientHTTPError",
    "action_for_status",
    "parse_http_date",
    "parse_retry_after",
    "run_with_retries",
]

_Result = TypeVar("_Result")


class StatusAction(enum.Enum):
    """What the client does with a reply, by its HTTP status."""

    ACCEPT = "accept"  # parse the body
    RETRY = "retry"  # transient: back off and send the same request again
    UNAUTHORIZED = "unauthorized"  # token expired, revoked or lacking rights: AuthError
    FAIL = "fail"  # the request itself is wrong (bounds, size, ...): FatalError


# The one status table. Later entries override the ranges they sit in.
STATUS_ACTIONS: dict[int, StatusAction] = {
    **dict.fromkeys(range(200, 300), StatusAction.ACCEPT),
    **dict.fromkeys(range(400, 500), StatusAction.FAIL),
    **dict.fromkeys(range(500, 600), StatusAction.RETRY),
    401: StatusAction.UNAUTHORIZED,
    403: StatusAction.UNAUTHORIZED,
    408: StatusAction.RETRY,
    429: StatusAction.RETRY,
}


def action_for_status(status: int) -> StatusAction:
    """The table's action; what it does not list (1xx, 3xx: redirects are not followed) fails."""
    return STATUS_ACTIONS.get(status, StatusAction.FAIL)


class TransientHTTPError(RetryableError):
    """An attempt, or the last of them, failed in a way worth retrying.

    `status` is the HTTP status, or None for a transport fault (connect error, timeout, a reply
    cut short); `retry_after` is the server's hint in seconds, uncapped, when it gave one.
    """

    def __init__(self, message: str, *, status: int | None, retry_after: float | None) -> None:
        super().__init__(message, retry_after=retry_after)
        self.status = status


@dataclass(frozen=True, slots=True, kw_only=True)
class RetryPolicy:
    """Bounded retries: `attempts` tries in all, sleeping via `sleep` between them.

    Without a `Retry-After` the wait before retry n (n = 1, 2, ...) is uniform in
    `[0, min(max_delay, base_delay * 2**(n-1))]` ("full jitter"), drawn from `jitter_source`.
    A `Retry-After` is obeyed as given, but never longer than `retry_after_cap`.
    """

    sleep: Callable[[float], Awaitable[None]]
    now: Callable[[], float]
    attempts: int = 5
    base_delay: float = 1.0
    max_delay: float = 60.0
    retry_after_cap: float = 300.0
    jitter_source: Callable[[], float] = random.random

    def __post_init__(self) -> None:
        if self.attempts < 1:
            raise ValueError(f"attempts must be at least 1, got {self.attempts}")
        for name in ("base_delay", "max_delay", "retry_after_cap"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must not be negative")

    @classmethod
    def from_clock(
        cls,
        clock: Clock,
        *,
        attempts: int = 5,
        base_delay: float = 1.0,
        max_delay: float = 60.0,
        retry_after_cap: float = 300.0,
        jitter_source: Callable[[], float] = random.random,
    ) -> RetryPolicy:
        return cls(
            sleep=clock.sleep,
            now=clock.now,
            attempts=attempts,
            base_delay=base_delay,
            max_delay=max_delay,
            retry_after_cap=retry_after_cap,
            jitter_source=jitter_source,
        )

    def delay_before_retry(self, retry_number: int, retry_after: float | None) -> float:
        """Seconds to wait before retry `retry_number` (1 for the second attempt)."""
        if retry_after is not None:
            return min(max(0.0, retry_after), self.retry_after_cap)
        ceiling = min(self.max_delay, self.base_delay * 2.0 ** (retry_number - 1))
        return self.jitter_source() * ceiling


async def run_with_retries(
    policy: RetryPolicy, operation: Callable[[], Awaitable[_Result]]
) -> _Result:
    """Await `operation` until it succeeds, retrying only `TransientHTTPError`.

    After the last attempt the last `TransientHTTPError` is raised as it was; any other
    exception propagates at once.
    """

    def wait(state: RetryCallState) -> float:
        failure = state.outcome.exception() if state.outcome is not None else None
        retry_after = failure.retry_after if isinstance(failure, TransientHTTPError) else None
        return policy.delay_before_retry(state.attempt_number, retry_after)

    retrying = AsyncRetrying(
        sleep=policy.sleep,
        stop=stop_after_attempt(policy.attempts),
        wait=wait,
        retry=retry_if_exception_type(TransientHTTPError),
        reraise=True,
    )
    async for attempt in retrying:
        with attempt:
            return await operation()
    raise AssertionError("unreachable: tenacity either returns, raises or retries")


def parse_retry_after(value: str | None, *, reference_time: float) -> float | None:
    """Seconds to wait from a `Retry-After` header: delta-seconds or an HTTP-date (RFC 9110).

    An HTTP-date is measured from `reference_time` (the reply's own `Date` when it had one, so
    clock skew between us and the server does not matter). A date in the past gives 0; a value
    that is neither form gives None, as if the header were absent.
    """
    if value is None:
        return None
    text = value.strip()
    if text.isascii() and text.isdigit():  # str.isdigit alone also takes "²" and other digits
        return float(text)
    when = parse_http_date(text)
    if when is None:
        return None
    return max(0.0, when - reference_time)


def parse_http_date(value: str | None) -> float | None:
    """Unix seconds from an HTTP-date such as a `Date` header, or None when absent or invalid."""
    if not value:
        return None
    try:
        parsed = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if parsed.tzinfo is None:
        # RFC 9110 dates are always GMT; email.utils reads "-0000" as naive.
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.timestamp()
