"""Validation of a query body and its translation into one half-open range of seconds.

The real API documents the fields but not the bound convention, so the emulator makes the
convention a knob (`inclusive`/`exclusive` per side) and resolves it here, once, into `[lo, hi)`.
Missing bounds follow the reference: no bounds means the last 7 full (UTC) days.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from agent.nordpass.emulator.knobs import BoundMode
from agent.nordpass.models import MAX_QUERY_SPAN_SECONDS

__all__ = [
    "DEFAULT_PER_PAGE",
    "DEFAULT_WINDOW_SECONDS",
    "MAX_USER_UUIDS",
    "OPEN_END",
    "ActivityQuery",
    "QueryError",
    "parse_query",
    "query_range",
]

DEFAULT_PER_PAGE = 100
DEFAULT_WINDOW_SECONDS = 7 * 86400
MAX_USER_UUIDS = 500
# The upper end of a range with no `timestamp_to`: "whatever exists by now", as the clock moves.
# A constant rather than `now + 1`, so the same query keeps the same cached result set.
OPEN_END = 1 << 62
_DAY = 86400


class QueryError(ValueError):
    """The body is not a query the API accepts; the message goes into the 400 reply."""


@dataclass(frozen=True, slots=True)
class ActivityQuery:
    timestamp_from: int | None
    timestamp_to: int | None
    page: int
    per_page: int
    user_uuids: tuple[str, ...] | None


def _optional_integer(body: dict[str, Any], name: str, minimum: int) -> int | None:
    value = body.get(name)
    if value is None:
        return None
    # bool is an int subclass in Python; JSON `true` is not a number to the API.
    if isinstance(value, bool) or not isinstance(value, int):
        raise QueryError(f"{name} must be an integer")
    if value < minimum:
        raise QueryError(f"{name} must be at least {minimum}")
    return value


def _integer(body: dict[str, Any], name: str, default: int, minimum: int) -> int:
    value = _optional_integer(body, name, minimum)
    return default if value is None else value


def parse_query(body: object) -> ActivityQuery:
    """Check types and limits of a decoded JSON body; unknown fields are ignored."""
    if not isinstance(body, dict):
        raise QueryError("body must be a JSON object")
    user_uuids = body.get("user_uuids")
    if user_uuids is not None:
        if not isinstance(user_uuids, list) or not all(isinstance(u, str) for u in user_uuids):
            raise QueryError("user_uuids must be a list of strings")
        if len(user_uuids) > MAX_USER_UUIDS:
            raise QueryError(f"user_uuids accepts at most {MAX_USER_UUIDS} entries")
    return ActivityQuery(
        timestamp_from=_optional_integer(body, "timestamp_from", 0),
        timestamp_to=_optional_integer(body, "timestamp_to", 0),
        page=_integer(body, "page", 1, 1),
        per_page=_integer(body, "per_page", DEFAULT_PER_PAGE, 1),
        # An empty list filters nothing, like an absent one.
        user_uuids=tuple(user_uuids) if user_uuids else None,
    )


def query_range(
    query: ActivityQuery, now: float, lower: BoundMode, upper: BoundMode
) -> tuple[int, int]:
    """The `[lo, hi)` seconds a query covers at `now` under the given bound conventions."""
    start, end = query.timestamp_from, query.timestamp_to
    if start is None and end is None:
        midnight = math.floor(now / _DAY) * _DAY
        return midnight - DEFAULT_WINDOW_SECONDS, midnight
    if start is not None and end is not None and start > end:
        raise QueryError("timestamp_from must not be after timestamp_to")
    span_end = end if end is not None else math.floor(now)
    if start is not None and span_end - start > MAX_QUERY_SPAN_SECONDS:
        raise QueryError("the query window may span at most 90 days")
    if end is None:
        hi = OPEN_END  # "up to now", whatever the convention
    elif upper == "inclusive":
        hi = end + 1
    else:
        hi = end
    if start is None:
        return hi - DEFAULT_WINDOW_SECONDS, hi
    lo = start if lower == "inclusive" else start + 1
    return lo, max(lo, hi)
