"""Indexer acknowledgement: one data channel per token, the ackIds waiting on it, and its poller.

A request sent with acks on returns an `ackId`; the events are safe only once
`POST /services/collector/ack` on the same channel reports that id `true` (reported once, then
forgotten). An id not acknowledged within `ack_timeout` is given up (its request is resent); code
11 means HEC forgot the channel, so a new one is opened and everything pending is resent; code 14
means the token does not do acks at all, a configuration error. Polling runs only while ids wait.
"""

from __future__ import annotations

import asyncio
import enum
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

import structlog

from agent.clock import Clock
from agent.errors import FatalError
from connectors.splunk_hec.replies import Action, HecReply

__all__ = ["AckChannel", "AckOutcome"]

_log = structlog.get_logger("connectors.splunk_hec")

AckPoll = Callable[[str, Sequence[int]], Awaitable[HecReply]]


class AckOutcome(enum.Enum):
    ACKED = "acked"  # indexed and replicated: the events are safe
    EXPIRED = "expired"  # not acknowledged within ack_timeout: resend
    CHANNEL_RESET = "channel_reset"  # HEC forgot the channel: resend on the new one


@dataclass(slots=True)
class _Waiter:
    future: asyncio.Future[AckOutcome]
    sent_at: float


class AckChannel:
    """One token's data channel. `expect(ack_id)` gives a future that settles with the id's fate."""

    def __init__(
        self,
        poll: AckPoll,
        *,
        clock: Clock,
        poll_interval: float,
        ack_timeout: float,
        label: str,
        new_guid: Callable[[], str] = lambda: str(uuid.uuid4()),
    ) -> None:
        self._poll = poll
        self._clock = clock
        self._poll_interval = poll_interval
        self._ack_timeout = ack_timeout
        self._label = label
        self._new_guid = new_guid
        self.guid = new_guid()
        self.resets = 0
        self._pending: dict[int, _Waiter] = {}
        self._poller: asyncio.Task[None] | None = None

    @property
    def pending(self) -> int:
        return len(self._pending)

    def expect(self, ack_id: int, sent_on: str) -> asyncio.Future[AckOutcome]:
        """The fate of `ack_id`, given by HEC to a request sent on channel `sent_on`. If the
        channel was reset while the request was under way, the id is the old channel's, which
        HEC forgot: the request must be resent, like everything pending at the reset."""
        future: asyncio.Future[AckOutcome] = asyncio.get_running_loop().create_future()
        if sent_on != self.guid:
            future.set_result(AckOutcome.CHANNEL_RESET)
            return future
        previous = self._pending.get(ack_id)
        if previous is not None:  # HEC reused an id it never acknowledged: the old one is lost
            _settle(previous.future, AckOutcome.EXPIRED)
        self._pending[ack_id] = _Waiter(future, self._clock.now())
        if self._poller is None or self._poller.done():
            self._poller = asyncio.create_task(self._run(), name=f"hec-acks:{self.guid}")
        return future

    def reset(self, forgotten: str | None = None) -> None:
        """Open a new channel; everything pending on the old one must be resent. `forgotten`:
        the channel HEC said it forgot, if a request's reply said so; a reply that comes back
        after another already reset that channel resets nothing."""
        if forgotten is not None and forgotten != self.guid:
            return
        self.guid = self._new_guid()
        self.resets += 1
        pending, self._pending = self._pending, {}
        for waiter in pending.values():
            _settle(waiter.future, AckOutcome.CHANNEL_RESET)

    async def _run(self) -> None:
        try:
            while self._pending:
                await self._clock.sleep(self._poll_interval)
                if not self._pending:
                    return
                guid = self.guid
                reply = await self._poll(guid, sorted(self._pending))
                if guid == self.guid:  # a reset while polling already settled everything
                    self._apply(reply)
                self._expire()
        except Exception as error:  # noqa: BLE001 - a dead poller must not leave waiters hanging
            # Surfaced to every waiter (their send fails with it), and logged here once.
            _log.exception("acknowledgement polling failed", token=self._label)
            self._fail_all(error)

    def _apply(self, reply: HecReply) -> None:
        action = reply.rule.action
        if action is Action.DELIVERED and reply.acks is not None:
            for ack_id, acknowledged in reply.acks.items():
                waiter = self._pending.pop(ack_id, None) if acknowledged else None
                if waiter is not None:
                    _settle(waiter.future, AckOutcome.ACKED)
        elif action is Action.NEW_CHANNEL:
            _log.warning("HEC forgot the data channel; resending its requests", token=self._label)
            self.reset()
        elif action in (Action.ACKS_DISABLED, Action.FATAL, Action.BUG):
            self._fail_all(FatalError(f"{self._label}: {reply.describe()}"))
        else:  # transient: the next poll asks again, ack_timeout still bounds the wait
            _log.info("acknowledgement poll failed; will poll again", error=reply.describe())

    def _expire(self) -> None:
        deadline = self._clock.now() - self._ack_timeout
        for ack_id, waiter in list(self._pending.items()):
            if waiter.sent_at <= deadline:
                del self._pending[ack_id]
                _settle(waiter.future, AckOutcome.EXPIRED)

    def _fail_all(self, error: BaseException) -> None:
        pending, self._pending = self._pending, {}
        for waiter in pending.values():
            if not waiter.future.done():
                waiter.future.set_exception(error)

    async def close(self) -> None:
        if self._poller is not None:
            self._poller.cancel()
            await asyncio.gather(self._poller, return_exceptions=True)
            self._poller = None
        pending, self._pending = self._pending, {}
        for waiter in pending.values():
            waiter.future.cancel()


def _settle(future: asyncio.Future[AckOutcome], outcome: AckOutcome) -> None:
    if not future.done():
        future.set_result(outcome)
