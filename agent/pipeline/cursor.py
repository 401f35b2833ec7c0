"""Where each cycle reads: pure window planning, no I/O (tested on its own).

Time is whole Unix seconds and every window is half-open, `[start, end)`. A live cycle reads from
the watermark W to the server's clock minus `settle_delay`, and re-checks `[W - lookback, W)` for
late arrivals. A gap longer than `max_live_window` (first start, long outage) is caught up in
slices. The watermark only moves over windows whose reads were verified.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

__all__ = ["BoundKnowledge", "CyclePlan", "halves", "plan_cycle", "settled_edge", "slices"]


@dataclass(frozen=True, slots=True)
class CyclePlan:
    watermark: int
    overlap: tuple[int, int] | None
    catch_up: tuple[int, int] | None
    live: tuple[int, int] | None


def plan_cycle(
    *,
    watermark: int | None,
    first_start: float,
    server_now: float,
    settle_delay: float,
    lookback: float,
    max_live_window: float,
) -> CyclePlan:
    """The windows of one live cycle. `watermark` is None before the tenant's first cycle."""
    resumed = watermark is not None
    mark = watermark if watermark is not None else math.floor(first_start)
    edge = settled_edge(server_now, settle_delay)
    overlap = (mark - math.ceil(lookback), mark) if resumed and lookback > 0 else None
    if edge <= mark:
        return CyclePlan(mark, overlap, None, None)
    if edge - mark > max_live_window:
        return CyclePlan(mark, overlap, (mark, edge), None)
    return CyclePlan(mark, overlap, None, (mark, edge))


def settled_edge(server_now: float, settle_delay: float) -> int:
    """The end of what the server has finished writing: its clock less the settle delay."""
    return math.floor(server_now - settle_delay)


def slices(start: int, end: int, size: int) -> list[tuple[int, int]]:
    """`[start, end)` cut at multiples of `size` (UTC day boundaries for a day), so the slices of
    two backfills over overlapping ranges line up and recorded progress can be reused."""
    cuts = [start]
    boundary = (start // size + 1) * size
    while boundary < end:
        cuts.append(boundary)
        boundary += size
    cuts.append(end)
    return [(a, b) for a, b in itertools.pairwise(cuts) if a < b]


def halves(start: int, end: int) -> tuple[tuple[int, int], tuple[int, int]]:
    middle = (start + end) // 2
    return (start, middle), (middle, end)


@dataclass(slots=True)
class BoundKnowledge:
    """What reads have shown about the API's bound convention (None: not yet known).

    A pass over `[a, b)` asks for `a - 1 .. b`; rows it returns at second `a - 1` prove the lower
    bound inclusive, rows at `b` prove the upper bound inclusive, and no rows where events are
    known to exist prove it exclusive. Knowing both lets a one-row probe's `total` be compared
    with stored counts exactly.
    """

    lower_inclusive: bool | None = None
    upper_inclusive: bool | None = None

    def learn(
        self, *, rows_below: int, rows_above: int, known_below: int, known_above: int
    ) -> None:
        if rows_below:
            self.lower_inclusive = True
        elif known_below:
            self.lower_inclusive = False
        if rows_above:
            self.upper_inclusive = True
        elif known_above:
            self.upper_inclusive = False

    def settle(self, *, lower: bool | None, upper: bool | None) -> None:
        if lower is not None:
            self.lower_inclusive = lower
        if upper is not None:
            self.upper_inclusive = upper

    def one_second(self, second: int) -> tuple[int, int] | None:
        """`timestamp_from`, `timestamp_to` of a query holding exactly `second`, if known."""
        if self.lower_inclusive is None or self.upper_inclusive is None:
            return None
        low = second if self.lower_inclusive else second - 1
        high = second if self.upper_inclusive else second + 1
        return low, high

    def probe_seconds(self, start: int, end: int) -> tuple[int, int] | None:
        """The seconds `[lo, hi)` a probe of the query `start - 1 .. end - 1` counts, if known.

        The probe stops one second short of `end` so that an inclusive upper bound never counts
        events of the second the watermark has not read yet."""
        if self.lower_inclusive is None or self.upper_inclusive is None:
            return None
        low = start - 1 if self.lower_inclusive else start
        high = end if self.upper_inclusive else end - 1
        return low, high
