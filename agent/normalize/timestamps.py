"""Event time in the two spellings the output schemas use: ISO-8601 UTC text and epoch milliseconds.

These run for every event of every destination, so all of the ISO text but the seconds is memoised
per minute (events arrive in time order, so the last few hundred minutes cover nearly all of
them). The memo is a bounded cache of a pure function: it changes no result, only the cost.
"""

from __future__ import annotations

import functools
import time

__all__ = ["epoch_ms", "iso_utc"]

_SECONDS_PER_DAY = 86_400
_MINUTES_PER_DAY = 1440
_TWO_DIGITS = tuple(f"{number:02d}" for number in range(60))
_WHOLE_SECONDS = tuple(f"{number:02d}Z" for number in range(60))


@functools.lru_cache(maxsize=64)
def _day_prefix(day: int) -> str:
    return time.strftime("%Y-%m-%dT", time.gmtime(day * _SECONDS_PER_DAY))


@functools.lru_cache(maxsize=256)
def _minute_prefix(minute: int) -> str:
    """The ISO text up to the seconds, e.g. `2025-01-30T16:39:`, of a minute since the epoch."""
    day, minute_of_day = divmod(minute, _MINUTES_PER_DAY)
    hour, minute_of_hour = divmod(minute_of_day, 60)
    return f"{_day_prefix(day)}{_TWO_DIGITS[hour]}:{_TWO_DIGITS[minute_of_hour]}:"


def iso_utc(seconds: float) -> str:
    """`1738255186` -> `2025-01-30T16:39:46Z`; fractions of a second keep milliseconds."""
    whole = seconds if type(seconds) is int else int(seconds)
    minute, second = divmod(whole, 60)
    if whole == seconds:
        return _minute_prefix(minute) + _WHOLE_SECONDS[second]
    millis = min(999, round((seconds - whole) * 1000))
    return f"{_minute_prefix(minute)}{_TWO_DIGITS[second]}.{millis:03d}Z"


def epoch_ms(seconds: float) -> int:
    """Unix seconds -> Unix milliseconds, as CEF `rt` and OCSF `time` want."""
    return seconds * 1000 if type(seconds) is int else round(seconds * 1000)
