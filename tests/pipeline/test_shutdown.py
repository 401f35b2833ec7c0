"""Stopping the agent lets the batches under way finish: what a destination accepted before the
stop is confirmed, so the next start sends it no second time."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from agent.state import SqliteStateStore
from connectors.base import DeliveryReport, OutboundEvent
from tests.pipeline.conftest import IMMEDIATE_RETRIES, Deployment, eventually
from tests.support import MemoryDestination


class SlowReplies(MemoryDestination):
    """Takes each batch on arrival, as a SIEM indexes it, and answers a while later: the first
    batch after 0.1 s, the others after 0.3 s."""

    def __init__(self, name: str, *, max_in_flight: int) -> None:
        super().__init__(name, max_in_flight=max_in_flight)
        self.under_way = 0

    async def send(self, batch: Sequence[OutboundEvent]) -> DeliveryReport:
        first = not self.received
        self.received.extend(batch)
        self.under_way += 1
        try:
            await asyncio.sleep(0.1 if first else 0.3)
        finally:
            self.under_way -= 1
        return DeliveryReport(delivered=len(batch))


async def test_a_stop_confirms_every_batch_the_destination_accepted(
    deployment: Deployment,
) -> None:
    siem = SlowReplies("siem", max_in_flight=4)
    agent = deployment.open([siem], policy=IMMEDIATE_RETRIES)
    await deployment.poll()
    backlog = agent.store.outbox.backlog("acme", "siem")
    assert backlog > 4 * IMMEDIATE_RETRIES.batch_max_events
    agent.start()
    await eventually(lambda: siem.under_way == 4)
    path = agent.store.path

    await deployment.close()  # as on SIGTERM, with the default grace

    accepted = len(siem.received)
    assert accepted == 4 * IMMEDIATE_RETRIES.batch_max_events
    reopened = SqliteStateStore(path)
    try:
        assert reopened.outbox.delivered("acme", "siem") == accepted
        assert reopened.outbox.backlog("acme", "siem") == backlog - accepted
    finally:
        reopened.close()
