"""The backfill slicer: a range cut into slices read concurrently, with progress that survives a
restart (completed slices are recorded, so a second run re-reads only the gaps).

The live cycle uses the same slicer to catch up a long gap; there the watermark moves over the
contiguous prefix of completed slices instead of recording slices. A slice whose pages keep
drifting is retried a few times, then reported: a backfill never claims a range it did not verify.

A pass is held in memory until it is verified, so a slice is first sized with a one-row probe and
a busy one is cut into parts of about `max_pass_rows` rows: memory stays bounded however dense the
tenant's history, the parts keep every concurrent reader busy, and the log (hence delivery)
starts filling after the first part rather than after the first whole day.
"""

from __future__ import annotations

import asyncio
import itertools
import math
from collections.abc import Callable
from dataclasses import dataclass, field

import structlog

from agent.clock import Clock
from agent.errors import AgentError, FatalError, RetryableError
from agent.pipeline.cursor import slices
from agent.pipeline.sync import TenantSync
from agent.state import StateStore

__all__ = ["DEFAULT_MAX_PASS_ROWS", "SliceOutcome", "Slicer", "even_parts", "uncovered"]

_log = structlog.get_logger("agent.backfill")
# About 5,000 events of 1-2 KB in memory per concurrent reader, plus their log entries.
DEFAULT_MAX_PASS_ROWS = 5_000


@dataclass(slots=True)
class SliceOutcome:
    appended: int = 0
    slices_read: int = 0
    incomplete: list[str] = field(default_factory=list)
    fatal: str | None = None

    @property
    def complete(self) -> bool:
        return not self.incomplete


def _prefix(
    todo: list[tuple[int, int]], reached: Callable[[int], None]
) -> Callable[[tuple[int, int]], None]:
    """A slice-completion callback that calls `reached(end)` each time the parts of `todo` done
    without a break from its first one reach further (slices complete in any order)."""
    finished: set[tuple[int, int]] = set()
    position = 0

    def completed(part: tuple[int, int]) -> None:
        nonlocal position
        finished.add(part)
        before = position
        while position < len(todo) and todo[position] in finished:
            position += 1
        if position > before:
            reached(todo[position - 1][1])

    return completed


def uncovered(start: int, end: int, done: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Parts of `[start, end)` not inside any of the `done` intervals (sorted by start)."""
    parts = []
    cursor = start
    for done_start, done_end in done:
        if done_end <= cursor or done_start >= end:
            continue
        if done_start > cursor:
            parts.append((cursor, done_start))
        cursor = max(cursor, done_end)
    if cursor < end:
        parts.append((cursor, end))
    return parts


def even_parts(start: int, end: int, count: int) -> list[tuple[int, int]]:
    """`[start, end)` cut into `count` parts of (nearly) equal length, at most one per second."""
    count = max(1, min(count, end - start))
    cuts = [start + (end - start) * index // count for index in range(count + 1)]
    return [(a, b) for a, b in itertools.pairwise(cuts) if a < b]


class Slicer:
    def __init__(
        self,
        store: StateStore,
        clock: Clock,
        *,
        slice_seconds: int = 86400,
        concurrency: int = 4,
        slice_attempts: int = 3,
        retry_delay: float = 5.0,
        max_pass_rows: int | None = DEFAULT_MAX_PASS_ROWS,
        stopping: asyncio.Event | None = None,
    ) -> None:
        """`max_pass_rows`: slices are sized first and cut to about this many rows a pass
        (None: read every slice whole, with no probe). Once `stopping` is set no further slice
        starts (those under way finish), so a shutdown does not wait for a long catch-up."""
        self._store = store
        self._clock = clock
        self._slice_seconds = slice_seconds
        self._concurrency = concurrency
        self._slice_attempts = slice_attempts
        self._retry_delay = retry_delay
        self._max_pass_rows = max_pass_rows
        self._stopping = stopping or asyncio.Event()

    async def backfill(
        self, sync: TenantSync, start: int, end: int, target: str | None
    ) -> SliceOutcome:
        """Read `[start, end)` once, skipping what earlier runs completed, recording progress."""
        tenant, key = sync.settings.name, target or ""
        done = self._store.completed_slices(tenant, key)
        todo = await self._sized(
            sync,
            [
                part
                for window in slices(start, end, self._slice_seconds)
                for part in uncovered(*window, done)
            ],
        )

        def completed(part: tuple[int, int]) -> None:
            self._store.complete_slice(tenant, key, *part, now=self._clock.now())

        return await self._run(sync, todo, target, completed)

    async def refetch(
        self, sync: TenantSync, start: int, end: int, target: str, progress: Callable[[int], None]
    ) -> SliceOutcome:
        """Read `[start, end)` again for `target` alone (a detached destination's gap), calling
        `progress(until)` each time the slices read without a break from `start` reach further:
        whoever keeps the gap can shrink it, so that a re-fetch cut short starts where it was."""
        todo = await self._sized(sync, slices(start, end, self._slice_seconds))
        return await self._run(sync, todo, target, _prefix(todo, progress))

    async def catch_up(self, sync: TenantSync, start: int, end: int) -> SliceOutcome:
        """Read `[start, end)` for the live path, moving the watermark over completed slices."""
        todo = await self._sized(sync, slices(start, end, self._slice_seconds))

        def advance(watermark: int) -> None:
            self._store.append_window(
                sync.settings.name, {}, [], watermark=watermark, now=self._clock.now()
            )

        return await self._run(sync, todo, None, _prefix(todo, advance))

    async def _sized(self, sync: TenantSync, parts: list[tuple[int, int]]) -> list[tuple[int, int]]:
        """`parts`, in order, each cut so one pass holds about `max_pass_rows` rows (one probe
        request per part, as many at once as slices are read). The API's count may include the
        edge seconds and events are not spread evenly: the limit is approximate by design."""
        limit = self._max_pass_rows
        if limit is None:
            return parts
        gate = asyncio.Semaphore(self._concurrency)

        async def cut(part: tuple[int, int]) -> list[tuple[int, int]]:
            try:
                async with gate:
                    if self._stopping.is_set():
                        return [part]  # not read either
                    total = await sync.window_size(*part)
            except AgentError:  # reading the part whole meets (and reports) the same error
                return [part]
            return even_parts(*part, math.ceil(total / limit))

        cut_parts = await asyncio.gather(*(cut(part) for part in parts))
        return [piece for pieces in cut_parts for piece in pieces]

    async def _run(
        self,
        sync: TenantSync,
        todo: list[tuple[int, int]],
        target: str | None,
        on_complete: Callable[[tuple[int, int]], None],
    ) -> SliceOutcome:
        outcome = SliceOutcome()
        gate = asyncio.Semaphore(self._concurrency)

        async def one(part: tuple[int, int]) -> None:
            async with gate:
                if outcome.fatal is not None or self._stopping.is_set():
                    why = "the agent is stopping" if outcome.fatal is None else "not read"
                    outcome.incomplete.append(f"[{part[0]}, {part[1]}): {why}")
                    return
                try:
                    await self._read_slice(sync, part, target, outcome, on_complete)
                except FatalError as error:  # stop this tenant's other slices, say why once
                    outcome.fatal = str(error)
                    outcome.incomplete.append(f"[{part[0]}, {part[1]}): {error}")

        await asyncio.gather(*(one(part) for part in todo))
        return outcome

    async def _read_slice(
        self,
        sync: TenantSync,
        part: tuple[int, int],
        target: str | None,
        outcome: SliceOutcome,
        on_complete: Callable[[tuple[int, int]], None],
    ) -> None:
        start, end = part
        reason = ""
        for attempt in range(1, self._slice_attempts + 1):
            try:
                result = await sync.sync_window(start, end, target=target)
            except RetryableError as error:
                reason = str(error)
            else:
                outcome.appended += result.appended
                if result.verified_until >= end:
                    outcome.slices_read += 1
                    on_complete(part)
                    return
                reason = f"pages kept drifting after {result.verified_until}"
                start = result.verified_until
            if self._stopping.is_set():
                reason = f"{reason}; not retried: the agent is stopping"
                break
            _log.warning("slice incomplete; retrying", tenant=sync.settings.name,
                         slice=(start, end), attempt=attempt, reason=reason)  # fmt: skip
            await self._clock.sleep(self._retry_delay * attempt)
        outcome.incomplete.append(f"[{part[0]}, {part[1]}): {reason}")
