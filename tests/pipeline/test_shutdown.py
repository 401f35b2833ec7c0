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
    """Takes each batch on arrival, as a SIEM indexes it, and answers a while later: the n-th
    batch after `delays[n]` seconds (None: never)."""

    def __init__(self, name: str, *, delays: Sequence[float | None]) -> None:
        super().__init__(name, max_in_flight=len(delays))
        self.delays = list(delays)
        self.under_way = 0
        self.answered = 0

    async def send(self, batch: Sequence[OutboundEvent]) -> DeliveryReport:
        delay = self.delays[self.attempts] if self.attempts < len(self.delays) else 0.0
        self.attempts += 1
        self.received.extend(batch)
        self.under_way += 1
        try:
            if delay is None:
                await asyncio.Event().wait()
            await asyncio.sleep(delay or 0.0)
        finally:
            self.under_way -= 1
        self.answered += len(batch)
        return DeliveryReport(delivered=len(batch))


async def test_a_stop_confirms_every_batch_the_destination_accepted(
    deployment: Deployment,
) -> None:
    siem = SlowReplies("siem", delays=[0.1, 0.3, 0.3, 0.3])
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


async def test_a_stop_confirms_each_accepted_batch_even_if_a_later_one_never_answers(
    deployment: Deployment,
) -> None:
    # The second batch is answered; the third never is, and the grace ends.
    siem = SlowReplies("siem", delays=[0.05, 0.2, None])
    agent = deployment.open([siem], policy=IMMEDIATE_RETRIES)
    await deployment.poll()
    agent.start()
    await eventually(lambda: siem.under_way == 3)
    path = agent.store.path

    await deployment.close(grace=1.0)

    assert siem.answered == 2 * IMMEDIATE_RETRIES.batch_max_events
    reopened = SqliteStateStore(path)
    try:
        assert reopened.outbox.delivered("acme", "siem") == siem.answered
    finally:
        reopened.close()
