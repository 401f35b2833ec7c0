"""Event time in the two spellings the output schemas use: ISO-8601 UTC text and epoch milliseconds.

These run for every event of every destination, so the calendar part of the ISO text is memoised
per day (events arrive in time order, so a handful of days covers a whole run). The memo is a
bounded cache of a pure function: it changes no result, only the cost.
"""

from __future__ import annotations

import functools
import time

__all__ = ["epoch_ms", "iso_utc"]

_SECONDS_PER_DAY = 86_400
_TWO_DIGITS = tuple(f"{number:02d}" for number in range(60))


@functools.lru_cache(maxsize=64)
def _day_prefix(day: int) -> str:
    return time.strftime("%Y-%m-%dT", time.gmtime(day * _SECONDS_PER_DAY))


def iso_utc(seconds: float) -> str:
    """`1738255186` -> `2025-01-30T16:39:46Z`; fractions of a second keep milliseconds."""
    whole = int(seconds)
    day, second_of_day = divmod(whole, _SECONDS_PER_DAY)
    hour, rest = divmod(second_of_day, 3600)
    minute, second = divmod(rest, 60)
    text = f"{_day_prefix(day)}{_TWO_DIGITS[hour]}:{_TWO_DIGITS[minute]}:{_TWO_DIGITS[second]}"
    if whole == seconds:
        return text + "Z"
    millis = min(999, round((seconds - whole) * 1000))
    return f"{text}.{millis:03d}Z"


def epoch_ms(seconds: float) -> int:
    """Unix seconds -> Unix milliseconds, as CEF `rt` and OCSF `time` want."""
    return seconds * 1000 if type(seconds) is int else round(seconds * 1000)
