"""The sorted rows one query can see, kept up to date as the clock moves and growth lands.

Offset paging over a million rows must not rescan the history per page, so each distinct query
(organisation, bounds, member filter, visibility knobs) keeps its result set and refreshes it
incrementally: newly arrived seconds are appended, late rows are inserted when their time comes,
injected growth rows are inserted where they belong. A clock that moves backwards rebuilds.
"""

from __future__ import annotations

import heapq
import math
import random
from bisect import bisect_left, bisect_right
from collections import OrderedDict

from agent.nordpass.emulator.knobs import OrderMode, VisibilityRules
from agent.nordpass.emulator.timeline import PendingRow, Timeline

__all__ = ["QueryCache", "ResultSet"]

_CacheKey = tuple[str, int, int, frozenset[int] | None, VisibilityRules]


class ResultSet:
    """Rows of `[lo, hi)` visible at the last `refresh`, ascending by (timestamp, key)."""

    def __init__(
        self,
        timeline: Timeline,
        lo: int,
        hi: int,
        members: frozenset[int] | None,
        rules: VisibilityRules,
    ) -> None:
        self.timeline = timeline
        self.lo = lo
        self.hi = hi
        self.members = members
        self.rules = rules
        self._reset()

    def _reset(self) -> None:
        self.stamps: list[int] = []
        self.keys: list[int] = []
        self._pending: list[PendingRow] = []
        self._scanned_hi = self.lo
        self._refreshed_at = -math.inf

    def __len__(self) -> int:
        return len(self.keys)

    def refresh(self, now: float) -> None:
        if now < self._refreshed_at:
            self._reset()
        self._refreshed_at = now
        target = min(self.hi, math.floor(now) + 1)
        if target > self._scanned_hi:
            self.timeline.scan(
                self._scanned_hi,
                target,
                now=now,
                rules=self.rules,
                members=self.members,
                stamps=self.stamps,
                keys=self.keys,
                pending=self._pending,
            )
            for stamp, key, member in self.timeline.growth_between(self._scanned_hi, target):
                self._insert_if_wanted(stamp, key, member)
            self._scanned_hi = target
        while self._pending and self._pending[0][0] <= now:
            _, stamp, key = heapq.heappop(self._pending)
            self._insert(stamp, key)

    def offer_growth(self, stamp: int, key: int, member: int) -> None:
        """Take an injected row if it falls in the part of the range already scanned."""
        # Rows beyond `_scanned_hi` are picked up by the next refresh's `growth_between`.
        if self.lo <= stamp < self._scanned_hi:
            self._insert_if_wanted(stamp, key, member)

    def _insert_if_wanted(self, stamp: int, key: int, member: int) -> None:
        if self.members is None or member in self.members:
            self._insert(stamp, key)

    def _insert(self, stamp: int, key: int) -> None:
        first = bisect_left(self.stamps, stamp)
        last = bisect_right(self.stamps, stamp, first)
        position = bisect_right(self.keys, key, first, last)
        self.stamps.insert(position, stamp)
        self.keys.insert(position, key)

    def page(self, order: OrderMode, page: int, per_page: int, shuffle: random.Random) -> list[int]:
        """Keys of one offset page; `shuffle` reorders each second for the "unstable" order."""
        count = len(self.keys)
        start = (page - 1) * per_page
        end = min(start + per_page, count)
        if start >= count:
            return []
        if order == "oldest_first":
            return self.keys[start:end]
        # Newest first: descending position p is ascending index count - 1 - p.
        low, high = count - end, count - start
        if order == "newest_first":
            return self.keys[low:high][::-1]
        # Widen to whole seconds, shuffle each second, then cut the page back out.
        low = bisect_left(self.stamps, self.stamps[low])
        high = bisect_right(self.stamps, self.stamps[high - 1])
        keys = self.keys[low:high][::-1]
        stamps = self.stamps[low:high][::-1]
        group = 0
        for position in range(1, len(keys) + 1):
            if position == len(keys) or stamps[position] != stamps[group]:
                second = keys[group:position]
                shuffle.shuffle(second)
                keys[group:position] = second
                group = position
        offset = count - high
        return keys[start - offset : end - offset]


class QueryCache:
    """Least-recently-used result sets by query; growth is pushed into every live one.

    Bounded by entries and by rows held, so a client walking many large windows cannot make the
    emulator hold every one of them (a million-row set costs some tens of megabytes).
    """

    def __init__(self, capacity: int = 64, max_rows: int = 4_000_000) -> None:
        self._capacity = capacity
        self._max_rows = max_rows
        self._entries: OrderedDict[_CacheKey, ResultSet] = OrderedDict()

    def get(
        self,
        timeline: Timeline,
        lo: int,
        hi: int,
        members: frozenset[int] | None,
        rules: VisibilityRules,
    ) -> ResultSet:
        key: _CacheKey = (timeline.profile.uuid, lo, hi, members, rules)
        result = self._entries.get(key)
        if result is None:
            result = self._entries[key] = ResultSet(timeline, lo, hi, members, rules)
        else:
            self._entries.move_to_end(key)
        self._evict()
        return result

    def _evict(self) -> None:
        rows = sum(len(result) for result in self._entries.values())
        # The newest entry always stays: it is the one about to be served.
        while len(self._entries) > 1 and (
            len(self._entries) > self._capacity or rows > self._max_rows
        ):
            _, evicted = self._entries.popitem(last=False)
            rows -= len(evicted)

    def offer_growth(self, organization_uuid: str, stamp: int, key: int, member: int) -> None:
        for (org, *_), result in self._entries.items():
            if org == organization_uuid:
                result.offer_growth(stamp, key, member)
