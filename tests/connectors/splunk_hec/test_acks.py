"""Indexer acknowledgement against the emulator: a batch is confirmed only once HEC acknowledged
every request; acks may complete out of order; lost acks and forgotten channels mean resends."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Sequence

import pytest

from agent.clock import ManualClock
from agent.errors import FatalError, RetryableError
from connectors.splunk_hec.acks import AckChannel, AckOutcome
from connectors.splunk_hec.emulator import Fault, FaultKind, HecEmulator
from connectors.splunk_hec.replies import HecReply
from tests.connectors.contract import until
from tests.connectors.splunk_hec.conftest import TOKEN, Build, batch_of

SMALL = {"gzip": False, "batch_max_bytes": 2048}  # about four events per request


@pytest.fixture(autouse=True)
def acks_on(emulator: HecEmulator) -> None:
    emulator.tokens[TOKEN].ack = True


async def test_a_batch_is_confirmed_only_after_hec_acknowledged_it(
    build: Build, emulator: HecEmulator
) -> None:
    emulator.knobs.hold_acks = True
    destination = build(indexer_ack=True, ack_timeout="1h")
    sending = asyncio.create_task(destination.send(batch_of(10)))
    await until(lambda: emulator.ack_queries >= 3)
    assert len(emulator.indexed) == 10
    assert not sending.done()
    emulator.knobs.hold_acks = False
    assert (await sending).delivered == 10
    assert destination.stats.resends == 0


async def test_acks_completing_out_of_order_confirm_every_request_once(
    build: Build, emulator: HecEmulator
) -> None:
    emulator.knobs.queries_per_ack = (1, 5)
    destination = build(indexer_ack=True, **SMALL)
    batch = batch_of(40)
    assert (await destination.send(batch)).delivered == 40
    completed = [ack_id for _, ack_id in emulator.acks.completed]
    assert sorted(completed) == list(range(len(emulator.requests)))
    assert completed != sorted(completed)
    assert emulator.event_ids() == [event.event_id for event in batch]
    assert destination.stats.resends == 0


async def test_a_request_that_fails_does_not_abandon_the_acks_its_batch_still_awaits(
    build: Build, emulator: HecEmulator
) -> None:
    destination = build(indexer_ack=True, **SMALL)
    batch = batch_of(8)
    # The first request is taken (its ack pending), the second is refused with a wait too long
    # to hold the batch: the dispatcher will send the batch again later.
    emulator.script(Fault(FaultKind.NONE), Fault(FaultKind.BUSY, retry_after=60))
    with pytest.raises(RetryableError):
        await destination.send(batch)
    taken = len(emulator.indexed)
    assert 0 < taken < 8
    assert (await destination.send(batch)).delivered == 8
    assert emulator.event_ids() == [event.event_id for event in batch]  # each once


async def test_a_half_that_fails_does_not_abandon_the_ack_the_other_half_awaits(
    build: Build, emulator: HecEmulator
) -> None:
    destination = build(indexer_ack=True, gzip=False)
    batch = batch_of(4)
    emulator.knobs.max_content_length = 2000  # events of about 650 bytes: two fit, four do not
    # The whole request is too large, its first half is taken (its ack pending), the second is
    # refused with a wait too long to hold the batch: the dispatcher will send it again later.
    emulator.script(
        Fault(FaultKind.NONE), Fault(FaultKind.NONE), Fault(FaultKind.BUSY, retry_after=60)
    )
    with pytest.raises(RetryableError):
        await destination.send(batch)
    assert len(emulator.indexed) == 2
    assert (await destination.send(batch)).delivered == 4
    assert emulator.event_ids() == [event.event_id for event in batch]  # each once


async def test_several_requests_wait_for_their_acks_at_once(
    build: Build, emulator: HecEmulator
) -> None:
    emulator.knobs.hold_acks = True
    destination = build(indexer_ack=True, ack_timeout="1h", max_in_flight=3, **SMALL)
    sending = asyncio.create_task(destination.send(batch_of(40)))
    await until(lambda: emulator.ack_queries >= 2)
    assert len(emulator.requests) == 3  # the in-flight limit: three unacknowledged requests
    emulator.knobs.hold_acks = False
    assert (await sending).delivered == 40


async def test_a_lost_ack_resends_exactly_that_requests_events(
    build: Build, emulator: HecEmulator, clock: ManualClock
) -> None:
    emulator.script(Fault(FaultKind.NONE), Fault(FaultKind.LOSE_ACK))
    destination = build(indexer_ack=True, **SMALL)
    started = clock.now()
    batch = batch_of(12)
    assert (await destination.send(batch)).delivered == 12
    lost = {event.fields["event_id"] for event in emulator.indexed if event.request == 2}
    counts = Counter(emulator.event_ids())
    assert lost
    assert {event_id for event_id, count in counts.items() if count == 2} == lost
    assert set(counts.values()) == {1, 2}
    assert set(counts) == {event.event_id for event in batch}
    assert destination.stats.resends == 1
    assert clock.now() - started >= 300  # resent only after ack_timeout


async def test_a_forgotten_channel_resends_every_pending_request_on_a_new_one(
    build: Build, emulator: HecEmulator
) -> None:
    emulator.knobs.hold_acks = True
    destination = build(indexer_ack=True, ack_timeout="1h", **SMALL)
    sending = asyncio.create_task(destination.send(batch_of(12)))
    await until(lambda: len(emulator.indexed) == 12)
    pending = len(emulator.requests)
    assert emulator.forget_channels() == 1
    emulator.knobs.hold_acks = False
    assert (await sending).delivered == 12
    assert destination.stats.resends == pending > 1
    assert set(Counter(emulator.event_ids()).values()) == {2}
    assert len({request.channel for request in emulator.requests}) == 2


async def test_a_success_without_ack_id_means_acks_are_off_on_the_token(
    build: Build, emulator: HecEmulator
) -> None:
    emulator.tokens[TOKEN].ack = False
    with pytest.raises(FatalError, match="without an ackId: indexer acknowledgement is off"):
        await build(indexer_ack=True).send(batch_of(3))
    assert len(emulator.requests) == 1  # no endless resends


async def test_acks_turned_off_while_requests_wait_are_reported_clearly(
    build: Build, emulator: HecEmulator
) -> None:
    emulator.knobs.hold_acks = True
    destination = build(indexer_ack=True, ack_timeout="1h")
    sending = asyncio.create_task(destination.send(batch_of(3)))
    await until(lambda: emulator.ack_queries >= 1)
    emulator.tokens[TOKEN].ack = False
    with pytest.raises(FatalError, match="code 14"):
        await sending


async def test_closing_while_acks_are_pending_cancels_the_poller(
    build: Build, emulator: HecEmulator
) -> None:
    emulator.knobs.hold_acks = True
    destination = build(indexer_ack=True, ack_timeout="1h")
    sending = asyncio.create_task(destination.send(batch_of(3)))
    await until(lambda: emulator.ack_queries >= 1)
    sending.cancel()
    await asyncio.gather(sending, return_exceptions=True)
    await destination.close()
    queries = emulator.ack_queries
    await asyncio.sleep(0.05)
    assert emulator.ack_queries == queries


async def _never_answered(guid: str, ack_ids: Sequence[int]) -> HecReply:
    await asyncio.Event().wait()
    raise AssertionError("unreachable")


async def test_a_reply_from_a_channel_reset_meanwhile_is_not_applied_to_the_new_one() -> None:
    channel = AckChannel(_never_answered, clock=ManualClock(), poll_interval=1.0,
                         ack_timeout=60.0, label="splunk")  # fmt: skip
    old = channel.guid
    waiting = channel.expect(0, old)
    channel.reset()  # the poller learnt HEC forgot the old channel
    new = channel.guid
    assert waiting.result() is AckOutcome.CHANNEL_RESET
    resent = channel.expect(0, new)  # the resend took ackId 0 on the new channel
    # A request still under way on the old channel now gets its answer: code 11 resets nothing,
    # and a success's ackId (the old channel's) means a resend, not a wait for the new one's id.
    channel.reset(forgotten=old)
    assert channel.guid == new
    assert not resent.done()
    assert channel.expect(0, old).result() is AckOutcome.CHANNEL_RESET
    assert not resent.done()  # the new channel's id 0 still waits for its own ack
    assert channel.pending == 1
    await channel.close()
