"""Half-open time windows over the Activity Log API, with no I/O.

The agent reasons in half-open windows `[start, end)` of whole Unix seconds. The API's bound
convention is undocumented, so a window is queried one second wider on each side and the rows are
trimmed back to the window here; windows the API would refuse (over 90 days) are split first.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from agent.nordpass.models import MAX_QUERY_SPAN_SECONDS, RawEvent

__all__ = ["HalfOpenWindow", "keep_in_window", "split_window"]


@dataclass(frozen=True, slots=True)
class HalfOpenWindow:
    """The seconds `start <= t < end`, and the query bounds that cover it under any convention.

    Querying `timestamp_from = start - 1` and `timestamp_to = end` returns every row of the window
    whether each bound is inclusive or exclusive; `contains` then drops the extra edge rows.
    """

    start: int
    end: int

    def __post_init__(self) -> None:
        _require_seconds("start", self.start)
        _require_seconds("end", self.end)
        if self.start > self.end:
            raise ValueError(f"window start {self.start} is after its end {self.end}")

    @property
    def query_from(self) -> int:
        return self.start - 1

    @property
    def query_to(self) -> int:
        return self.end

    @property
    def query_span(self) -> int:
        """Seconds between the query bounds: what the API's 90-day limit is checked against."""
        return self.query_to - self.query_from

    def contains(self, timestamp: int) -> bool:
        return self.start <= timestamp < self.end


def split_window(
    start: int, end: int, *, max_query_span: int = MAX_QUERY_SPAN_SECONDS
) -> list[HalfOpenWindow]:
    """Cut `[start, end)` into consecutive windows whose queries each span at most `max_query_span`.

    The pieces are contiguous (each one's `end` is the next one's `start`), cover exactly the
    given window and are all full-length but the last. An empty window (`start == end`) gives none.
    """
    whole = HalfOpenWindow(start, end)
    # A query is one second wider than its window (see HalfOpenWindow), so the window may be
    # at most `max_query_span - 1` seconds long for the query to stay within the limit.
    longest = max_query_span - 1
    if longest < 1:
        raise ValueError(f"max_query_span must be at least 2 seconds, got {max_query_span}")
    return [
        HalfOpenWindow(piece_start, min(piece_start + longest, whole.end))
        for piece_start in range(whole.start, whole.end, longest)
    ]


def keep_in_window(events: Iterable[RawEvent], window: HalfOpenWindow) -> list[RawEvent]:
    """The events whose `timestamp` falls in the window, in the order received, unchanged."""
    return [event for event in events if window.contains(event["timestamp"])]


def _require_seconds(name: str, value: object) -> None:
    # bool is an int subclass; a True start is a bug upstream, not second 1.
    if not isinstance(value, int) or isinstance(value, bool):
        raise TypeError(f"window {name} must be whole Unix seconds (int), got {value!r}")
