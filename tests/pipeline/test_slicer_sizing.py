"""Backfill slices are sized with a one-row probe and cut so one pass holds a bounded number of
rows; the parts cover the range exactly, and a backfill over them delivers every event once."""

from __future__ import annotations

import asyncio
from collections import Counter

import pytest

from agent.nordpass.emulator import NordPassEmulator
from agent.pipeline.backfill import Slicer, even_parts
from tests.pipeline.conftest import HOUR, ORG, T0, Deployment, multiset
from tests.support import MemoryDestination


@pytest.mark.parametrize(("start", "end", "count"), [(0, 100, 3), (10, 13, 5), (0, 86400, 7)])
def test_even_parts_cover_the_range_exactly_without_overlap(
    start: int, end: int, count: int
) -> None:
    parts = even_parts(start, end, count)
    assert parts[0][0] == start
    assert parts[-1][1] == end
    assert all(a < b for a, b in parts)
    assert all(parts[i][1] == parts[i + 1][0] for i in range(len(parts) - 1))
    assert len(parts) == min(count, end - start)
    lengths = [b - a for a, b in parts]
    assert max(lengths) - min(lengths) <= 1


async def test_a_backfill_in_small_passes_delivers_every_event_once(
    deployment: Deployment, emulator: NordPassEmulator
) -> None:
    siem = MemoryDestination("siem")
    agent = deployment.open([siem])
    agent.slicer = Slicer(agent.store, deployment.clock, slice_seconds=HOUR, max_pass_rows=50)
    deployment.clock.advance(3 * HOUR)
    requests_before = len(emulator.requests)
    report = await agent.backfill(T0, T0 + 3 * HOUR)
    assert report.complete, report
    truth = emulator.ground_truth(ORG, T0, T0 + 3 * HOUR)
    assert len(truth) > 150  # enough for several passes per hour-long slice
    assert multiset(event.raw for event in siem.received) == multiset(truth)
    assert max(Counter(siem.ids()).values()) == 1
    requests = emulator.requests[requests_before:]
    probes = [r for r in requests if r.per_page == 1]
    assert len(probes) >= 3  # each slice was sized before it was read
    # ... and read in parts much shorter than the hour-long slices, none returning over a page.
    reads = [r for r in requests if r.per_page != 1 and r.timestamp_from is not None]
    spans = {(r.timestamp_from, r.timestamp_to) for r in reads}
    assert len(spans) >= len(truth) // 50
    assert all(r.total is None or r.total <= 3 * 50 for r in reads)


async def test_once_reading_stops_no_further_slice_starts_and_the_rest_is_reported(
    deployment: Deployment, emulator: NordPassEmulator
) -> None:
    siem = MemoryDestination("siem")
    agent = deployment.open([siem], backfill_slice="1h", backfill_concurrency=1)
    deployment.clock.advance(4 * HOUR)
    requests_before = len(emulator.requests)

    async def stop_once_the_first_slice_is_being_read() -> None:
        # A shutdown arrives while the first slice's pages are being read (after the sizing
        # probes, which ask for one row).
        while not any(r.per_page != 1 for r in emulator.requests[requests_before:]):  # noqa: ASYNC110 - a request log, no event
            await asyncio.sleep(0)
        agent.stop_reading()  # as the scheduler does on shutdown

    watcher = asyncio.create_task(stop_once_the_first_slice_is_being_read())
    outcome = await agent.slicer.backfill(agent.syncs["acme"], T0, T0 + 4 * HOUR, None)
    await watcher
    assert outcome.slices_read == 1
    assert outcome.incomplete == [
        f"[{T0 + hour * HOUR}, {T0 + (hour + 1) * HOUR}): the agent is stopping"
        for hour in (1, 2, 3)
    ]
    # Only the slice that was read is recorded: a later run reads the other three.
    assert agent.store.completed_slices("acme", "") == [(T0, T0 + HOUR)]
    reads = [r for r in emulator.requests[requests_before:] if r.per_page != 1]
    assert reads
    assert all(T0 - 1 <= (r.timestamp_from or 0) < T0 + HOUR for r in reads)  # the first only
