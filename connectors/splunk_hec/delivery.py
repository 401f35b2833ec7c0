"""Delivering one batch to HEC: requests posted in order, transient failures retried, bad events
isolated and dead-lettered, oversized requests halved, and with indexer acknowledgement each
request confirmed by its ackId or sent again.

Requests are posted one after another, so HEC receives each token's events in batch order; with
acks several requests wait for their acknowledgement at once (up to `max_in_flight` across every
batch in progress). What one reply means is decided by the reply table in `replies`, nowhere else.

A fatal reply stops the whole destination, unless it is about a token or an index that only some
tenants use (set in their overrides): then only those tenants' events are held back, and the
other tenants' events in the same batch are delivered.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import structlog
from pydantic import SecretStr

from agent.clock import Clock
from agent.errors import FatalError, RetryableError
from connectors.splunk_hec.acks import AckChannel, AckOutcome
from connectors.splunk_hec.client import HecClient
from connectors.splunk_hec.config import SplunkHecConfig
from connectors.splunk_hec.envelopes import Envelope, cut_requests
from connectors.splunk_hec.ordering import PostingOrder
from connectors.splunk_hec.outcomes import DELIVERED, Held, Outcomes
from connectors.splunk_hec.replies import Action, HecReply, Scope

__all__ = ["BatchDelivery", "DeliveryContext", "HecStats"]

_log = structlog.get_logger("connectors.splunk_hec")
_BASE_DELAY = 0.5
_MAX_DELAY = 30.0
# Longer waits go back to the dispatcher, whose waits a shutdown can interrupt.
_LONGEST_WAIT_INSIDE = 30.0
_SMALLEST_REQUEST = 1024


@dataclass(slots=True)
class HecStats:
    """Counters of what the destination did; `fatal_errors` is the one to alert on."""

    requests: int = 0
    retries: int = 0
    resends: int = 0  # after a lost acknowledgement or a forgotten channel
    split_requests: int = 0  # halved after HTTP 413
    delivered: int = 0
    poisoned: int = 0
    fatal_errors: int = 0
    held: int = 0  # events held back by a fatal error of their tenant's own token or index


@dataclass(slots=True)
class DeliveryContext:
    """Everything batches in progress share: one per destination."""

    name: str
    config: SplunkHecConfig
    client: HecClient
    tokens: Sequence[SecretStr]
    token_label: Callable[[int], str]
    channels: dict[int, AckChannel]
    clock: Clock
    jitter: Callable[[], float]
    outcomes: Outcomes
    slots: asyncio.Semaphore  # requests posted and not yet acknowledged
    order: PostingOrder
    own_index: frozenset[str] = frozenset()  # tenants whose overrides name their own index
    stats: HecStats = field(default_factory=HecStats)
    max_request_bytes: int = 0

    def __post_init__(self) -> None:
        self.max_request_bytes = self.max_request_bytes or self.config.batch_max_bytes


@dataclass(slots=True)
class _Pending:
    """A request HEC took, waiting for its acknowledgement."""

    part: list[Envelope]
    ack: asyncio.Future[AckOutcome]


class BatchDelivery:
    def __init__(self, context: DeliveryContext) -> None:
        self._context = context
        self._acks = context.config.indexer_ack

    async def run(self, batch: tuple[str, str], envelopes: Sequence[Envelope]) -> None:
        """Settle every envelope in `context.outcomes`, or raise and leave the rest unsettled.
        `batch` names the batch (its first event) for the posting order."""
        context = self._context
        requests = cut_requests(
            envelopes, context.max_request_bytes, context.config.batch_max_events
        )
        confirmations: list[asyncio.Task[None]] = []
        try:
            try:
                # Batches post one at a time in log order (see `ordering`); waiting for acks
                # overlaps freely.
                async with context.order.turn(batch):
                    for request in requests:
                        _raise_first_failure(confirmations)
                        await context.slots.acquire()
                        try:
                            pending = await self._post(request)
                        except BaseException:
                            context.slots.release()
                            raise
                        task = asyncio.create_task(self._confirm_all(pending, resends=0))
                        task.add_done_callback(lambda _: context.slots.release())
                        confirmations.append(task)
            except Exception:
                # Requests already posted are confirmed (or not) whatever happened to a later
                # one, so that what HEC acknowledges is recorded and not sent again with the
                # retried batch. A cancellation (shutdown) does not wait.
                await asyncio.gather(*confirmations, return_exceptions=True)
                raise
            outcomes = await asyncio.gather(*confirmations, return_exceptions=True)
            for outcome in outcomes:
                if isinstance(outcome, BaseException):
                    raise outcome
        finally:
            for task in confirmations:
                task.cancel()
            await asyncio.gather(*confirmations, return_exceptions=True)

    async def _post(self, part: list[Envelope]) -> list[_Pending]:
        """Post `part` until HEC took it; returns what still awaits acknowledgement."""
        context = self._context
        slot = part[0].token_slot
        channel = context.channels[slot]
        body = b"".join(envelope.body for envelope in part)
        attempt = 0
        while True:
            context.stats.requests += 1
            # The reply concerns the channel the request went out on, which a reset (by the ack
            # poller or another request's reply) may have replaced meanwhile.
            sent_on = channel.guid
            reply = await context.client.post_events(context.tokens[slot], sent_on, body)
            action = reply.rule.action
            if action is Action.DELIVERED:
                return self._accepted(part, channel, sent_on, reply)
            if action is Action.POISON:
                return await self._isolate(part, reply)
            if action is Action.SPLIT:
                return await self._split(part, len(body), reply)
            if action is Action.NEW_CHANNEL:
                channel.reset(forgotten=sent_on)
            elif action is Action.FATAL:
                return await self._refused(part, reply)
            elif action is not Action.RETRY:
                raise self._fatal(slot, reply.describe())
            attempt += 1
            if attempt >= context.config.max_attempts:
                raise self._retryable(slot, f"{reply.describe()} after {attempt} attempts", reply)
            if action is Action.RETRY:
                await self._back_off(slot, attempt, reply)

    def _accepted(
        self, part: list[Envelope], channel: AckChannel, sent_on: str, reply: HecReply
    ) -> list[_Pending]:
        if not self._acks:
            self._delivered(part)
            return []
        if reply.ack_id is None:
            detail = (
                "HEC accepted a request without an ackId: indexer acknowledgement is off on the "
                "token; enable it there or set indexer_ack: false"
            )
            slot = part[0].token_slot
            if slot == 0:
                raise self._fatal(slot, detail)
            # Its events are indexed, but unconfirmed: held back and sent again later, when
            # acknowledgement is on.
            self._hold(part, self._message(slot, detail))
            return []
        return [_Pending(part, channel.expect(reply.ack_id, sent_on))]

    async def _refused(self, part: list[Envelope], reply: HecReply) -> list[_Pending]:
        """A fatal reply. About a token some tenants have of their own (not the destination's),
        or about an index a tenant set for itself, or one that such a token may not write to:
        those tenants' events are held back and the rest goes on. Anything else stops the
        destination."""
        slot, scope = part[0].token_slot, reply.rule.scope
        message = self._message(slot, reply.describe())
        if scope is Scope.TOKEN and slot != 0:
            self._hold(part, message)
            return []
        culprit = _culprit(reply, part)
        if scope is Scope.INDEX and culprit is not None:
            tenant = part[culprit].tenant
            if tenant in self._context.own_index:
                self._delivered(part[:culprit])  # HEC indexed what preceded the culprit
                rest = part[culprit:]
                self._hold([e for e in rest if e.tenant == tenant], f"tenant {tenant!r}: {message}")
                others = [envelope for envelope in rest if envelope.tenant != tenant]
                return await self._post(others) if others else []
        if scope is Scope.INDEX and slot != 0:
            # The tenants' own token may not write to the index: theirs to fix, not everyone's.
            if culprit is not None:
                self._delivered(part[:culprit])
                part = part[culprit:]
            self._hold(part, message)
            return []
        raise self._fatal(slot, reply.describe())

    async def _isolate(self, part: list[Envelope], reply: HecReply) -> list[_Pending]:
        """Find the event HEC refused: HEC indexed what preceded `invalid-event-number`; the
        culprit goes alone (dead-lettered if refused again), the rest is sent again. Without a
        usable number the request is bisected down to single events."""
        if len(part) == 1:
            self._poison(part[0], reply.describe())
            return []
        culprit = _culprit(reply, part)
        if culprit is not None:
            self._delivered(part[:culprit])
            return await self._post_each([part[culprit : culprit + 1], part[culprit + 1 :]])
        middle = len(part) // 2
        return await self._post_each([part[:middle], part[middle:]])

    async def _split(self, part: list[Envelope], size: int, reply: HecReply) -> list[_Pending]:
        if len(part) == 1:
            self._poison(part[0], f"{reply.describe()}: this event alone is {size} bytes")
            return []
        context = self._context
        context.stats.split_requests += 1
        # Remember the lower limit so later batches are cut small enough from the start.
        limit = min(context.max_request_bytes, size // 2)
        context.max_request_bytes = max(_SMALLEST_REQUEST, limit)
        middle = len(part) // 2
        return await self._post_each([part[:middle], part[middle:]])

    async def _post_each(self, parts: Sequence[list[Envelope]]) -> list[_Pending]:
        """Post the non-empty `parts` one after another. If one fails, what the earlier ones
        await is still confirmed (or not) before the failure goes up, as in `run`, so that what
        HEC acknowledges is recorded and not sent again with the retried batch."""
        pending: list[_Pending] = []
        try:
            for part in parts:
                if part:
                    pending += await self._post(part)
        except Exception:
            await asyncio.gather(self._confirm_all(pending, resends=0), return_exceptions=True)
            raise
        return pending

    async def _confirm_all(self, pending: list[_Pending], *, resends: int) -> None:
        await asyncio.gather(*(self._confirm(item, resends) for item in pending))

    async def _confirm(self, pending: _Pending, resends: int) -> None:
        outcome = await pending.ack
        if outcome is AckOutcome.ACKED:
            self._delivered(pending.part)
            return
        context = self._context
        slot = pending.part[0].token_slot
        if resends + 1 >= context.config.max_attempts:
            raise self._retryable(
                slot, f"HEC did not acknowledge a request after {resends + 1} resends", None
            )
        context.stats.resends += 1
        _log.warning("resending a request HEC did not acknowledge", destination=context.name,
                     reason=outcome.value, events=len(pending.part))  # fmt: skip
        await self._confirm_all(await self._post(pending.part), resends=resends + 1)

    async def _back_off(self, slot: int, attempt: int, reply: HecReply) -> None:
        """Wait before the next attempt: the server's Retry-After, else exponential backoff with
        full jitter. A wait too long to hold the batch goes back to the dispatcher instead."""
        context = self._context
        if reply.retry_after is not None:
            delay = reply.retry_after
        else:
            delay = context.jitter() * min(_MAX_DELAY, _BASE_DELAY * 2 ** (attempt - 1))
        if delay > _LONGEST_WAIT_INSIDE:
            raise self._retryable(slot, reply.describe(), reply)
        context.stats.retries += 1
        await context.clock.sleep(delay)

    def _delivered(self, part: Sequence[Envelope]) -> None:
        for envelope in part:
            self._context.outcomes.record(envelope.key, DELIVERED)
        self._context.stats.delivered += len(part)

    def _poison(self, envelope: Envelope, reason: str) -> None:
        context = self._context
        context.outcomes.record(envelope.key, reason)
        context.stats.poisoned += 1
        _log.warning("HEC refused an event; it becomes a dead letter", destination=context.name,
                     tenant=envelope.tenant, event_id=envelope.event_id, reason=reason)  # fmt: skip

    def _hold(self, part: Sequence[Envelope], message: str) -> None:
        context = self._context
        context.stats.fatal_errors += 1
        context.stats.held += len(part)
        for envelope in part:
            context.outcomes.record(envelope.key, Held(message))

    def _fatal(self, slot: int, detail: str) -> FatalError:
        self._context.stats.fatal_errors += 1
        return FatalError(self._message(slot, detail))

    def _retryable(self, slot: int, detail: str, reply: HecReply | None) -> RetryableError:
        retry_after = None if reply is None else reply.retry_after
        return RetryableError(self._message(slot, detail), retry_after=retry_after)

    def _message(self, slot: int, detail: str) -> str:
        context = self._context
        return f"destination {context.name!r} ({context.token_label(slot)}): {detail}"


def _raise_first_failure(tasks: Sequence[asyncio.Task[None]]) -> None:
    for task in tasks:
        if task.done() and not task.cancelled() and task.exception() is not None:
            task.result()


def _culprit(reply: HecReply, part: Sequence[Envelope]) -> int | None:
    """The position in `part` of the event HEC refused (`invalid-event-number`), if it names
    one of them."""
    culprit = reply.invalid_event_number
    return culprit if culprit is not None and 0 <= culprit < len(part) else None
