"""A backfill waits for its destinations: until they confirmed the tenant's backlog, or one
refuses it for good. The agent runs its dispatchers as in production (`Agent.start`)."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from agent.errors import FatalError, RetryableError
from agent.runtime import Agent
from connectors.base import DeliveryReport, OutboundEvent
from tests.pipeline.conftest import HOUR, IMMEDIATE_RETRIES, T0, Deployment, eventually
from tests.support import MemoryDestination


def _started(deployment: Deployment) -> tuple[MemoryDestination, Agent]:
    siem = MemoryDestination("siem", latency=0.001)
    agent = deployment.open([siem], policy=IMMEDIATE_RETRIES)
    agent.start()
    return siem, agent


async def test_a_backfill_waits_until_a_destination_that_recovers_confirmed_everything(
    deployment: Deployment,
) -> None:
    siem, agent = _started(deployment)
    siem.fail_with(RetryableError("HTTP 503 from the collector"), times=40)

    report = await agent.backfill(T0, T0 + HOUR)

    assert report.complete
    assert siem.failed_attempts == 40
    assert agent.store.outbox.backlog("acme", "siem") == 0
    assert len(siem.ids()) == report.tenants[0].fetched > 0


async def test_a_backfill_stops_waiting_when_the_destination_refuses_for_good(
    deployment: Deployment,
) -> None:
    siem, agent = _started(deployment)
    siem.fail_with(FatalError("HTTP 403: token rejected"))

    async with asyncio.timeout(30):  # a guard only: a wait that never ends fails here
        report = await agent.backfill(T0, T0 + HOUR)

    (outcome,) = report.tenants
    backlog = agent.store.outbox.backlog("acme", "siem")
    assert backlog == outcome.fetched > 0
    assert outcome.error == (
        f"destination 'siem' holds {backlog} undelivered events: HTTP 403: token rejected"
    )


async def test_a_backfill_is_incomplete_while_events_of_its_range_are_dead_letters(
    deployment: Deployment,
) -> None:
    siem, agent = _started(deployment)
    siem.poison_when(lambda event: "field too long" if event.event_id[0] in "01" else None)

    report = await agent.backfill(T0, T0 + HOUR)

    (outcome,) = report.tenants
    refused = len(siem.refused)
    assert refused > 0
    assert not report.complete
    assert outcome.dead_lettered == {"siem": refused}
    assert outcome.delivered == {"siem": outcome.fetched - refused}
    assert outcome.error == (
        f"destination 'siem' refused {refused} events of the range, kept as dead letters "
        "(nordpass-agent dead-letters list)"
    )
    # Run again before a replay: nothing new to send, and the range is still not delivered.
    siem.cure()
    again = await agent.backfill(T0, T0 + HOUR)
    assert not again.complete
    assert again.tenants[0].dead_lettered == {"siem": refused}
    # Once the letters are replayed and confirmed, the range is complete.
    assert agent.store.dead_letters.replay() == refused
    assert (await agent.backfill(T0, T0 + HOUR)).complete
    assert len(set(siem.ids())) == outcome.fetched


async def test_a_replay_into_a_destination_counts_only_the_events_it_saw_refused(
    deployment: Deployment,
) -> None:
    siem, agent = _started(deployment)
    siem.poison_when(lambda event: "field too long" if event.event_id[0] in "01" else None)
    assert not (await agent.backfill(T0, T0 + HOUR)).complete
    refused = len(siem.refused)

    siem.cure()  # the replay sends the whole range again, the refused events included
    deployment.clock.advance(60)
    replay = await agent.backfill(T0, T0 + HOUR, destinations=["siem"])
    assert replay.complete
    assert replay.tenants[0].dead_lettered == {}
    assert set(siem.ids()) >= {event.event_id for event, _ in siem.refused}

    siem.poison_when(lambda event: "still too long" if event.event_id[0] == "0" else None)
    deployment.clock.advance(60)
    again = await agent.backfill(T0, T0 + HOUR, destinations=["siem"])
    assert 0 < again.tenants[0].dead_lettered["siem"] < refused


async def test_a_resumed_replay_still_counts_the_letters_of_the_slices_it_skips(
    deployment: Deployment,
) -> None:
    siem = MemoryDestination("siem", latency=0.001)

    def start() -> Agent:
        agent = deployment.open(
            [siem], policy=IMMEDIATE_RETRIES, backfill_slice="15m", backfill_concurrency=1
        )
        agent.start()
        return agent

    agent = start()
    assert (await agent.backfill(T0, T0 + HOUR)).complete
    siem.poison_when(lambda event: "field too long" if event.event_id[0] in "01" else None)
    deployment.clock.advance(60)
    deployment.emulator.knobs.latency_seconds = 0.05  # slices take a moment to read

    async def stop_once_a_slice_was_refused() -> None:
        store = agent.store
        await eventually(
            lambda: bool(store.completed_slices("acme", "siem") and store.dead_letters.list())
        )
        agent.stop()

    stopping = asyncio.create_task(stop_once_a_slice_was_refused())
    first = await agent.backfill(T0, T0 + HOUR, destinations=["siem"])
    await stopping
    assert not first.complete
    await deployment.close()

    # Resumed: the slices the first replay completed are skipped, so what was refused in them
    # is still undelivered.
    deployment.emulator.knobs.latency_seconds = 0.0
    siem.cure()
    deployment.clock.advance(60)
    agent = start()
    second = await agent.backfill(T0, T0 + HOUR, destinations=["siem"])
    assert not second.complete
    assert second.tenants[0].dead_lettered["siem"] > 0


async def test_a_backfill_does_not_linger_once_every_tenant_was_read(
    deployment: Deployment,
) -> None:
    siem = MemoryDestination("siem", linger=60)
    agent = deployment.open([siem], tenants=("acme", "globex"), policy=IMMEDIATE_RETRIES)
    agent.start()

    async with asyncio.timeout(30):  # a guard only: a lingering last batch would wait 60 s
        report = await agent.backfill(T0, T0 + HOUR)

    assert report.complete
    assert len(siem.ids()) == sum(outcome.fetched for outcome in report.tenants) > 0
    assert min(siem.batch_sizes) < IMMEDIATE_RETRIES.batch_max_events  # a partial one went too


class GarbledReportDestination(MemoryDestination):
    """A connector with a bug: its first report names an event the batch does not hold."""

    garbled = False

    async def send(self, batch: Sequence[OutboundEvent]) -> DeliveryReport:
        report = await super().send(batch)
        if not self.garbled:
            self.garbled = True
            return DeliveryReport(delivered=0, poisoned={len(batch) + 7: "no such event"})
        return report


async def test_a_dispatcher_that_fails_unexpectedly_starts_again_and_skips_nothing(
    deployment: Deployment,
) -> None:
    siem = GarbledReportDestination("siem")
    agent = deployment.open([siem], policy=IMMEDIATE_RETRIES)
    agent.start()

    # A guard only: without a restart the backfill would wait for a dispatcher that is gone.
    async with asyncio.timeout(30):
        report = await agent.backfill(T0, T0 + HOUR)

    assert siem.garbled
    assert report.complete
    assert len(set(siem.ids())) == report.tenants[0].fetched > 0  # every event, none skipped
    assert agent.store.outbox.backlog("acme", "siem") == 0
