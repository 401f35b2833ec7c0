"""The dispatcher pipelines batches but commits offsets only for the confirmed prefix."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import pytest

from agent.clock import ManualClock
from agent.pipeline.dispatcher import Dispatcher, DispatchPolicy
from agent.state import LogEntry, SqliteStateStore
from connectors.base import DeliveryReport, Health, OutboundEvent


class OutOfOrderDestination:
    """Confirms batches in the order the test releases them, not the order they were sent."""

    max_in_flight = 3

    def __init__(self) -> None:
        self.name = "siem"
        self.sent: list[list[str]] = []
        self.release: dict[int, asyncio.Event] = {}

    async def send(self, batch: Sequence[OutboundEvent]) -> DeliveryReport:
        index = len(self.sent)
        self.sent.append([event.event_id for event in batch])
        gate = self.release.setdefault(index, asyncio.Event())
        await gate.wait()
        return DeliveryReport(delivered=len(batch))

    async def check(self) -> Health:
        return Health(ok=True, detail="test")

    async def close(self) -> None:
        return None


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SqliteStateStore]:
    opened = SqliteStateStore(tmp_path / "state.db")
    opened.outbox.set_routes({"acme": ["siem"]})
    entries = [LogEntry(f"e{i}", 100 + i, b"{}") for i in range(6)]
    opened.append_window("acme", {}, entries, now=0)
    yield opened
    opened.close()


async def until(condition: Callable[[], bool], within: float = 5.0) -> None:
    """Bounded wait for state the dispatcher commits to the database (no event to wait on)."""
    async with asyncio.timeout(within):
        while not condition():  # noqa: ASYNC110 - the condition is a database read
            await asyncio.sleep(0.01)


async def test_batches_fly_together_and_offsets_follow_the_confirmed_prefix(
    store: SqliteStateStore,
) -> None:
    destination = OutOfOrderDestination()
    dispatcher = Dispatcher(
        destination,
        store.outbox,
        clock=ManualClock(),
        policy=DispatchPolicy(batch_max_events=2),
    )
    stop = asyncio.Event()
    runner = asyncio.create_task(dispatcher.run(stop))
    await until(lambda: len(destination.sent) == 3)  # three batches in flight at once
    assert destination.sent == [["e0", "e1"], ["e2", "e3"], ["e4", "e5"]]

    destination.release.setdefault(2, asyncio.Event()).set()  # the last one confirms first
    await asyncio.sleep(0.05)
    assert store.outbox.delivered("acme", "siem") == 0  # nothing committed past a gap

    destination.release.setdefault(0, asyncio.Event()).set()
    await until(lambda: store.outbox.delivered("acme", "siem") == 2)
    destination.release.setdefault(1, asyncio.Event()).set()
    await until(lambda: store.outbox.delivered("acme", "siem") == 6)
    assert store.outbox.backlog("acme", "siem") == 0
    stop.set()
    await asyncio.wait_for(runner, timeout=5)
