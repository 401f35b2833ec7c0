"""Time values in the configuration: durations (`90s`, `15m`, `1h`, `7d`) and start points.

A start point is either "this long ago" (`7d`), an ISO-8601 date or date-time, or Unix seconds.
Messages never echo the offending value: a misplaced secret must not leak through an error.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Any

from pydantic import BeforeValidator, PlainSerializer

__all__ = ["Duration", "StartPoint", "StartPointField", "parse_duration", "parse_start_point"]

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)\s*$")
_UNIT_SECONDS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400}
_DURATION_HINT = "expected a duration such as 90s, 15m, 1h or 7d"


def parse_duration(value: Any) -> timedelta:
    """Accept `90s`/`15m`/`1h`/`7d`, a bare number of seconds, or a timedelta."""
    if isinstance(value, timedelta):
        return value
    if isinstance(value, bool):
        raise ValueError(_DURATION_HINT)  # noqa: TRY004 - pydantic reports ValueError with the path
    if isinstance(value, int | float):
        seconds = float(value)
    elif isinstance(value, str) and (match := _DURATION.match(value)):
        seconds = float(match.group(1)) * _UNIT_SECONDS[match.group(2)]
    else:
        raise ValueError(_DURATION_HINT)
    if seconds < 0:
        raise ValueError("a duration cannot be negative")
    return timedelta(seconds=seconds)


Duration = Annotated[
    timedelta,
    BeforeValidator(parse_duration),
    PlainSerializer(lambda d: f"{d.total_seconds():g}s", return_type=str),
]


@dataclass(frozen=True, slots=True)
class StartPoint:
    """Where a tenant's history begins: `ago` before the first start, or fixed `at` Unix seconds."""

    ago: timedelta | None = None
    at: float | None = None

    def resolve(self, now: float) -> float:
        if self.at is not None:
            return self.at
        assert self.ago is not None  # noqa: S101 - the constructor below always sets one of the two
        return now - self.ago.total_seconds()

    def __str__(self) -> str:
        if self.at is not None:
            return datetime.fromtimestamp(self.at, UTC).isoformat()
        return f"{self.ago} ago"


_START_HINT = "expected now, a duration ago (7d), an ISO-8601 date or date-time, or Unix seconds"


def parse_start_point(value: Any) -> StartPoint:
    if isinstance(value, StartPoint):
        return value
    if isinstance(value, bool):
        raise ValueError(_START_HINT)  # noqa: TRY004 - pydantic reports ValueError with the path
    if isinstance(value, int | float):
        return StartPoint(at=float(value))
    if isinstance(value, datetime):
        return StartPoint(at=_as_utc(value).timestamp())
    if isinstance(value, str):
        if value.strip().lower() == "now":
            value = "0s"
        if _DURATION.match(value):
            return StartPoint(ago=parse_duration(value))
        try:
            return StartPoint(at=_as_utc(datetime.fromisoformat(value)).timestamp())
        except ValueError:
            pass
    if isinstance(value, date):  # YAML reads a bare 2026-01-31 as a date: midnight UTC
        return StartPoint(at=datetime(value.year, value.month, value.day, tzinfo=UTC).timestamp())
    raise ValueError(_START_HINT)


def _as_utc(moment: datetime) -> datetime:
    # A date-time without an offset is read as UTC: the API itself speaks UTC.
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


StartPointField = Annotated[
    StartPoint, BeforeValidator(parse_start_point), PlainSerializer(str, return_type=str)
]
