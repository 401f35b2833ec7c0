"""One organisation's event history: a lazily generated, deterministic skeleton plus injected rows.

Time is cut into hour blocks. A block's skeleton (each event's second, member and two fixed
uniform draws that decide lateness and duplication) comes from a RNG seeded by (seed, organisation,
block), so what exists at second s never depends on when or how often anyone queries. Bodies are
built on demand in chunks of 256 and kept in a bounded cache: a million events cost a few tens of
bytes each until a page actually needs them.

An event is addressed by an integer key: `block << 24 | index`, or `_GROWTH_FLAG | n` for rows
injected while clients page. Within one second, keys ascend in arrival order.
"""

from __future__ import annotations

import heapq
import random
from array import array
from bisect import bisect_left, bisect_right
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from agent.nordpass.emulator.generator import OrganizationProfile, build_event
from agent.nordpass.emulator.knobs import VisibilityRules

__all__ = ["BLOCK_SECONDS", "PendingRow", "Timeline"]

BLOCK_SECONDS = 3600
_INDEX_BITS = 24
_INDEX_MASK = (1 << _INDEX_BITS) - 1
_CHUNK_BITS = 8
_GROWTH_FLAG = 1 << 62
# A few events per thousand carry no `user` at all (system housekeeping in real logs).
_NO_USER_FRACTION = 0.004
# Upper bound on the rate: the events of one block must be numbered within `_INDEX_BITS`.
MAX_EVENTS_PER_SECOND = 4000.0

# (visible_at, timestamp, key): a generated row the clock has not reached yet.
PendingRow = tuple[float, int, int]


@dataclass(slots=True)
class _Block:
    stamps: array[int]
    members: array[int]
    late_draws: array[float]
    duplicate_draws: array[float]


@dataclass(frozen=True, slots=True)
class _GrowthRow:
    timestamp: int
    key: int
    member: int


class Timeline:
    """Every event one organisation will ever have, materialised only where someone looks."""

    def __init__(
        self,
        profile: OrganizationProfile,
        *,
        seed: int,
        events_per_second: float,
        history_start: float,
        history_end: float | None,
        body_cache_chunks: int = 512,
    ) -> None:
        if not 0 <= events_per_second <= MAX_EVENTS_PER_SECOND:
            raise ValueError(f"events_per_second must be within 0..{MAX_EVENTS_PER_SECOND}")
        self.profile = profile
        self.events_per_second = events_per_second
        self.history_start = history_start
        self.history_end = history_end
        self._seed = seed
        self._blocks: dict[int, _Block] = {}
        self._bodies: OrderedDict[int, list[dict[str, Any]]] = OrderedDict()
        self._body_cache_chunks = body_cache_chunks
        self._growth: list[_GrowthRow] = []
        self._growth_by_key: dict[int, _GrowthRow] = {}

    # -- skeleton ---------------------------------------------------------------------------

    def clip(self, lo: int, hi: int) -> tuple[int, int]:
        """`[lo, hi)` narrowed to the seconds this organisation has history for."""
        lo = max(lo, _ceil(self.history_start))
        if self.history_end is not None:
            hi = min(hi, _ceil(self.history_end))
        return lo, max(lo, hi)

    def _block(self, index: int) -> _Block:
        block = self._blocks.get(index)
        if block is None:
            block = self._generate_block(index)
            self._blocks[index] = block
        return block

    def _generate_block(self, index: int) -> _Block:
        rng = random.Random(f"{self._seed}:{self.profile.uuid}:{index}:skeleton")
        block = _Block(array("q"), array("h"), array("d"), array("d"))
        if self.events_per_second <= 0:
            return block
        start = index * BLOCK_SECONDS
        end = start + BLOCK_SECONDS
        moment = float(start)
        draw, arrival = rng.random, rng.expovariate
        pick_member = self.profile.pick_member
        while True:
            # Poisson arrivals: exponential gaps give realistic bursts and quiet spells.
            moment += arrival(self.events_per_second)
            if moment >= end:
                return block
            block.stamps.append(int(moment))
            block.members.append(-1 if draw() < _NO_USER_FRACTION else pick_member(draw()))
            block.late_draws.append(draw())
            block.duplicate_draws.append(draw())

    def scan(
        self,
        lo: int,
        hi: int,
        *,
        now: float,
        rules: VisibilityRules,
        members: frozenset[int] | None,
        stamps: list[int],
        keys: list[int],
        pending: list[PendingRow],
    ) -> None:
        """Append generated rows of `[lo, hi)` visible at `now`; heap the others into `pending`.

        Injected growth rows are not included: see `growth_between`.
        """
        lo, hi = self.clip(lo, hi)
        if lo >= hi:
            return
        plain = members is None and rules.late_fraction <= 0 and rules.duplicate_fraction <= 0
        for index in range(lo // BLOCK_SECONDS, (hi - 1) // BLOCK_SECONDS + 1):
            block = self._block(index)
            first = bisect_left(block.stamps, lo) if index * BLOCK_SECONDS < lo else 0
            last = bisect_left(block.stamps, hi, first)
            base = index << _INDEX_BITS
            if plain:
                stamps.extend(block.stamps[first:last])
                keys.extend(range(base + first, base + last))
                continue
            for position in range(first, last):
                if members is not None and block.members[position] not in members:
                    continue
                stamp = block.stamps[position]
                copies = 2 if rules.is_duplicated(block.duplicate_draws[position]) else 1
                visible_at = stamp + rules.lateness(block.late_draws[position])
                for _ in range(copies):
                    if visible_at <= now:
                        stamps.append(stamp)
                        keys.append(base + position)
                    else:
                        heapq.heappush(pending, (visible_at, stamp, base + position))

    # -- injected growth --------------------------------------------------------------------

    def add_growth(self, timestamp: int, member: int) -> tuple[int, int]:
        """Record one extra event at `timestamp`; returns its (timestamp, key)."""
        row = _GrowthRow(timestamp, _GROWTH_FLAG | len(self._growth), member)
        self._growth.insert(bisect_right(self._growth, timestamp, key=_growth_stamp), row)
        self._growth_by_key[row.key] = row
        return row.timestamp, row.key

    def growth_between(self, lo: int, hi: int) -> list[tuple[int, int, int]]:
        """Injected rows in `[lo, hi)` as (timestamp, key, member)."""
        first = bisect_left(self._growth, lo, key=_growth_stamp)
        last = bisect_left(self._growth, hi, key=_growth_stamp)
        return [(r.timestamp, r.key, r.member) for r in self._growth[first:last]]

    def member_of(self, key: int) -> int:
        if key & _GROWTH_FLAG:
            return self._growth_by_key[key].member
        return self._block(key >> _INDEX_BITS).members[key & _INDEX_MASK]

    # -- bodies -----------------------------------------------------------------------------

    def render(self, keys: list[int], *, fresh: bool = False) -> list[dict[str, Any]]:
        """Event bodies for `keys`, in order. `fresh` builds new objects, bypassing the cache.

        Cached bodies are shared between replies (they are serialised, never handed out);
        `fresh=True` is for callers that may mutate what they get.
        """
        local: dict[int, list[dict[str, Any]]] = {}
        handed_out: set[int] = set()
        bodies: list[dict[str, Any]] = []
        for key in keys:
            if key & _GROWTH_FLAG:
                bodies.append(self._growth_body(key))
                continue
            chunk_id = key >> _CHUNK_BITS
            chunk = local.get(chunk_id) if fresh else self._cached_chunk(chunk_id)
            if chunk is None:
                chunk = local[chunk_id] = self._build_chunk(chunk_id)
            body = chunk[(key & _INDEX_MASK) & ((1 << _CHUNK_BITS) - 1)]
            if fresh:
                # Twins share a key; each occurrence still gets its own object.
                if id(body) in handed_out:
                    body = _copy_event(body)
                handed_out.add(id(body))
            bodies.append(body)
        return bodies

    def _cached_chunk(self, chunk_id: int) -> list[dict[str, Any]]:
        chunk = self._bodies.get(chunk_id)
        if chunk is not None:
            self._bodies.move_to_end(chunk_id)
            return chunk
        chunk = self._bodies[chunk_id] = self._build_chunk(chunk_id)
        if len(self._bodies) > self._body_cache_chunks:
            self._bodies.popitem(last=False)
        return chunk

    def _build_chunk(self, chunk_id: int) -> list[dict[str, Any]]:
        block_index = chunk_id >> (_INDEX_BITS - _CHUNK_BITS)
        block = self._block(block_index)
        first = (chunk_id << _CHUNK_BITS) & _INDEX_MASK
        last = min(first + (1 << _CHUNK_BITS), len(block.stamps))
        rng = random.Random(f"{self._seed}:{self.profile.uuid}:{chunk_id}:bodies")
        return [
            build_event(rng, self.profile, block.stamps[i], block.members[i])
            for i in range(first, last)
        ]

    def _growth_body(self, key: int) -> dict[str, Any]:
        row = self._growth_by_key[key]
        rng = random.Random(f"{self._seed}:{self.profile.uuid}:{key}:growth")
        return build_event(rng, self.profile, row.timestamp, row.member)


def _growth_stamp(row: _GrowthRow) -> int:
    return row.timestamp


def _copy_event(event: dict[str, Any]) -> dict[str, Any]:
    copied = dict(event)
    for name in ("user", "metadata"):
        if isinstance(copied.get(name), dict):
            copied[name] = _deep_copy(copied[name])
    return copied


def _deep_copy(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _deep_copy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_deep_copy(v) for v in value]
    return value


def _ceil(value: float) -> int:
    return -int(-value // 1)
