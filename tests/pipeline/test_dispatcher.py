"""The dispatcher pipelines batches but commits offsets only for the confirmed prefix, lets a
partial batch linger for company after a batch went out, and holds back only the tenant a fatal
error is about."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path

import pytest

from agent.clock import ManualClock
from agent.pipeline.dispatcher import Dispatcher, DispatchPolicy
from agent.state import LogEntry, SqliteStateStore
from connectors.base import DeliveryReport, Health, OutboundEvent
from tests.support.memory_destination import MemoryDestination


class OutOfOrderDestination:
    """Confirms batches in the order the test releases them, not the order they were sent."""

    max_in_flight = 3
    linger = 0.0

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


def arrived(destination: MemoryDestination, event_id: str) -> Callable[[], bool]:
    return lambda: event_id in destination.ids()


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


def append(store: SqliteStateStore, tenant: str, ids: Sequence[str], second: int) -> None:
    entries = [LogEntry(event_id, second, b"{}") for event_id in ids]
    store.append_window(tenant, {}, entries, now=0)


@pytest.fixture
def tenants(tmp_path: Path) -> Iterator[SqliteStateStore]:
    opened = SqliteStateStore(tmp_path / "tenants.db")
    opened.outbox.set_routes({"acme": ["siem"], "globex": ["siem"]})
    yield opened
    opened.close()


@asynccontextmanager
async def running(dispatcher: Dispatcher) -> AsyncIterator[None]:
    stop = asyncio.Event()
    runner = asyncio.create_task(dispatcher.run(stop))
    try:
        yield
    finally:
        stop.set()
        await asyncio.wait_for(runner, timeout=5)


def offer(store: SqliteStateStore, dispatcher: Dispatcher, tenant: str, ids: Sequence[str]) -> None:
    """Append events as a poll cycle does, and wake the dispatcher as the agent does."""
    append(store, tenant, ids, 100)
    dispatcher.wake()


async def test_after_a_batch_went_out_trickling_tenants_share_the_next_one(
    tenants: SqliteStateStore,
) -> None:
    destination = MemoryDestination("siem", linger=1.0)
    dispatcher = Dispatcher(destination, tenants.outbox, clock=ManualClock())
    async with running(dispatcher):
        offer(tenants, dispatcher, "acme", ["a0"])
        await until(lambda: destination.ids() == ["a0"])  # nothing went out before it: at once
        for tenant, ids in (("acme", ["a1", "a2"]), ("globex", ["g0"]), ("acme", ["a3"])):
            offer(tenants, dispatcher, tenant, ids)
            await asyncio.sleep(0.05)
        await until(lambda: len(destination.received) == 5)
    assert destination.batch_sizes == [1, 4]  # one request for both tenants, not three
    assert destination.ids() == ["a0", "a1", "a2", "g0", "a3"]


async def test_an_event_after_a_quiet_spell_does_not_wait_for_the_linger(
    tenants: SqliteStateStore,
) -> None:
    destination = MemoryDestination("siem", linger=3600)
    dispatcher = Dispatcher(destination, tenants.outbox, clock=ManualClock())
    async with running(dispatcher):
        offer(tenants, dispatcher, "acme", ["a0"])
        await until(lambda: destination.ids() == ["a0"])  # not an hour later
        offer(tenants, dispatcher, "globex", ["g0"])
        await asyncio.sleep(0.1)
        assert destination.ids() == ["a0"]  # the next one waits for company


async def test_after_a_flush_a_partial_batch_goes_out_at_once(tenants: SqliteStateStore) -> None:
    destination = MemoryDestination("siem", linger=3600)
    dispatcher = Dispatcher(destination, tenants.outbox, clock=ManualClock())
    async with running(dispatcher):
        offer(tenants, dispatcher, "acme", ["a0"])
        await until(lambda: destination.ids() == ["a0"])
        offer(tenants, dispatcher, "globex", ["g0"])  # would wait an hour for company
        dispatcher.flush()
        await until(lambda: destination.ids() == ["a0", "g0"])
        offer(tenants, dispatcher, "acme", ["a1"])  # and so does every later one
        await until(lambda: destination.ids() == ["a0", "g0", "a1"])
    assert destination.batch_sizes == [1, 1, 1]


async def test_without_linger_each_append_goes_out_at_once(tenants: SqliteStateStore) -> None:
    destination = MemoryDestination("siem")
    dispatcher = Dispatcher(destination, tenants.outbox, clock=ManualClock())
    async with running(dispatcher):
        for tenant, event_id in (("acme", "a0"), ("globex", "g0"), ("acme", "a1")):
            offer(tenants, dispatcher, tenant, [event_id])
            await until(arrived(destination, event_id))
    assert destination.batch_sizes == [1, 1, 1]


async def test_a_full_batch_does_not_wait_for_the_linger(tenants: SqliteStateStore) -> None:
    destination = MemoryDestination("siem", linger=3600)
    policy = DispatchPolicy(batch_max_events=3)
    dispatcher = Dispatcher(destination, tenants.outbox, clock=ManualClock(), policy=policy)
    append(tenants, "acme", ["a0", "a1", "a2", "a3"], 100)
    stop = asyncio.Event()
    runner = asyncio.create_task(dispatcher.run(stop))
    await until(lambda: len(destination.received) == 3)
    await asyncio.sleep(0.1)
    assert destination.batch_sizes == [3]  # the partial rest waits for company (an hour here)
    stop.set()
    await asyncio.wait_for(runner, timeout=5)
    assert tenants.outbox.backlog("acme", "siem") == 1  # kept for the next start


class HoldThenSlowDestination(OutOfOrderDestination):
    """Refuses acme's first batch for a setting of its own; later batches wait for the test."""

    async def send(self, batch: Sequence[OutboundEvent]) -> DeliveryReport:
        if not self.sent:
            self.sent.append([event.event_id for event in batch])
            return DeliveryReport(delivered=0, held={"acme": "acme's own index is missing"})
        return await super().send(batch)


async def test_a_batch_sent_before_a_hold_was_lifted_does_not_skip_the_held_rows(
    store: SqliteStateStore,
) -> None:
    clock = ManualClock()
    destination = HoldThenSlowDestination()
    policy = DispatchPolicy(batch_max_events=2, fatal_retry_interval=300, idle_wait=0.05)
    dispatcher = Dispatcher(destination, store.outbox, clock=clock, policy=policy)
    async with running(dispatcher):
        await until(lambda: len(destination.sent) == 3)  # e0-e1 held; e2-e3 and e4-e5 under way
        assert dispatcher.held_tenants
        clock.advance(301)  # the hold is lifted while those two batches are still under way
        await until(lambda: not dispatcher.held_tenants)
        destination.release.setdefault(1, asyncio.Event()).set()
        destination.release.setdefault(2, asyncio.Event()).set()
        await until(lambda: len(destination.sent) >= 4)  # sent again from acme's offset
        for index in range(3, 7):
            destination.release.setdefault(index, asyncio.Event()).set()
        await until(lambda: store.outbox.backlog("acme", "siem") == 0)
    # From acme's offset, in order: the held rows first (not skipped), then the rows the early
    # batches carried (sent again: their confirmation could not move the offset past e0-e1).
    resent = [event_id for batch in destination.sent[3:] for event_id in batch]
    assert resent == [f"e{index}" for index in range(6)]


async def test_a_tenant_refused_for_its_own_settings_does_not_stop_the_others(
    tenants: SqliteStateStore,
) -> None:
    clock = ManualClock()
    destination = MemoryDestination("siem")
    destination.hold_tenant("acme", "the token set for tenant 'acme' was rejected")
    policy = DispatchPolicy(fatal_retry_interval=300)
    dispatcher = Dispatcher(destination, tenants.outbox, clock=clock, policy=policy)
    append(tenants, "acme", ["a0", "a1"], 100)
    append(tenants, "globex", ["g0", "g1"], 100)
    stop = asyncio.Event()
    runner = asyncio.create_task(dispatcher.run(stop))
    await until(lambda: tenants.outbox.delivered("globex", "siem") == 2)
    assert dispatcher.held_tenants == {"acme": "the token set for tenant 'acme' was rejected"}
    assert dispatcher.failure_for("acme") == "the token set for tenant 'acme' was rejected"
    assert dispatcher.failure_for("globex") is None
    assert not dispatcher.fatal
    assert tenants.outbox.backlog("acme", "siem") == 2  # nothing of acme's skipped or lost

    # More events while the hold is on: globex's flow, acme's wait without new attempts.
    attempts = destination.attempts
    append(tenants, "globex", ["g2"], 101)
    append(tenants, "acme", ["a2"], 101)
    dispatcher.wake()
    await until(lambda: tenants.outbox.delivered("globex", "siem") == 3)
    assert destination.attempts == attempts + 1
    assert [event.tenant for event in destination.received[-1:]] == ["globex"]
    assert tenants.outbox.backlog("acme", "siem") == 3

    # The token is fixed; at the slow retry acme's backlog goes, in order, once.
    destination.release_tenant("acme")
    clock.advance(300)
    dispatcher.wake()
    await until(lambda: tenants.outbox.backlog("acme", "siem") == 0)
    assert destination.ids("acme") == ["a0", "a1", "a2"]
    assert max(destination.copies().values()) == 1
    assert dispatcher.held_tenants == {}
    stop.set()
    await asyncio.wait_for(runner, timeout=5)


async def test_a_hold_still_refused_at_the_retry_stays_on(tenants: SqliteStateStore) -> None:
    clock = ManualClock()
    destination = MemoryDestination("siem")
    destination.hold_tenant("acme", "index refused")
    policy = DispatchPolicy(fatal_retry_interval=60)
    dispatcher = Dispatcher(destination, tenants.outbox, clock=clock, policy=policy)
    append(tenants, "acme", ["a0"], 100)
    stop = asyncio.Event()
    runner = asyncio.create_task(dispatcher.run(stop))
    await until(lambda: destination.attempts == 1)
    clock.advance(60)
    dispatcher.wake()
    await until(lambda: destination.attempts == 2)
    await asyncio.sleep(0.05)
    assert destination.attempts == 2  # once per retry interval, not a busy loop
    assert dispatcher.failure_for("acme") == "index refused"
    assert tenants.outbox.backlog("acme", "siem") == 1
    stop.set()
    await asyncio.wait_for(runner, timeout=5)


async def test_a_confirmed_batch_wakes_only_those_waiting_for_its_tenants(
    tenants: SqliteStateStore,
) -> None:
    dispatcher = Dispatcher(MemoryDestination("siem"), tenants.outbox, clock=ManualClock())
    acme, globex = dispatcher.progressed("acme"), dispatcher.progressed("globex")
    append(tenants, "acme", ["a0", "a1"], 100)
    assert await dispatcher.deliver_once() is True
    assert acme.is_set()
    assert not globex.is_set()
    assert not dispatcher.progressed("acme").is_set()  # the next wait takes a fresh one
    assert dispatcher.progressed("globex") is globex
