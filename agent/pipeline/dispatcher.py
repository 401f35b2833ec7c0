"""One dispatcher per destination: reads its backlog from the log across all its tenants, sends
batches, and commits the offsets only after the destination confirmed.

Woken by an in-process notification when events are appended, never by polling the database.
Retryable failures back off (exponential, full jitter, the peer's Retry-After); a fatal one is
logged loudly once, keeps the backlog and is retried on a slow schedule, so fixing the token or
index resumes delivery without a restart. A fatal error of one tenant's own (a token or index set
for it alone) holds back only that tenant: its offset stays, its backlog is left out of batches
until the slow retry, and the other tenants keep flowing. Events a destination calls undeliverable
become dead letters in the same transaction that moves the offset past them.

A batch smaller than `batch_max_events` goes out once the destination's `linger` has passed since
the previous batch went out, gathering events from any tenant meanwhile: trickling tenants share
about one request per `linger` instead of each sending its own, and an event after a quiet spell
goes out at once. Once a one-shot command has read everything (`flush`), nothing is waited for.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections import deque
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any

import structlog

from agent.clock import Clock
from agent.errors import FatalError, RetryableError
from agent.failpoints import Failpoints
from agent.normalize.serialization import default_codec
from agent.state import LogRow, OutboxStore
from connectors.base import DeliveryReport, Destination, OutboundEvent

__all__ = ["DispatchPolicy", "Dispatcher", "first_of"]

_log = structlog.get_logger("agent.dispatcher")
_CODEC = default_codec()


@dataclass(frozen=True, slots=True)
class DispatchPolicy:
    batch_max_events: int = 500
    base_delay: float = 1.0
    max_delay: float = 60.0
    retry_after_cap: float = 300.0
    fatal_retry_interval: float = 300.0
    idle_wait: float = 30.0


class Dispatcher:
    def __init__(
        self,
        destination: Destination,
        outbox: OutboxStore,
        *,
        clock: Clock,
        policy: DispatchPolicy | None = None,
        failpoints: Failpoints | None = None,
        on_delivered: Callable[[str, str], None] | None = None,
        jitter: Callable[[], float] = random.random,
    ) -> None:
        self.destination = destination
        self.name = destination.name
        self._outbox = outbox
        self._clock = clock
        self._policy = policy or DispatchPolicy()
        self._failpoints = failpoints or Failpoints()
        self._on_delivered = on_delivered
        self._jitter = jitter
        self._wake = asyncio.Event()
        self._progressed: dict[str, asyncio.Event] = {}
        self.failure: str | None = None
        self.fatal: bool = False
        self.sent_batches = 0
        self._holds: dict[str, _Hold] = {}
        self._retrying: set[str] = set()  # released holds not yet confirmed
        # Released holds whose rows may still be in batches handed out before the release:
        # those rows lie after the held ones, so they must not move the offset (until the rewind).
        self._stale: set[str] = set()
        self._rewind = False  # released rows lie behind what was handed out: read again
        self._linger_until: float | None = None
        self._handed_out_at: float | None = None  # monotonic time the previous batch went out
        self._flushing = False  # nothing more is coming: partial batches do not linger

    @property
    def held_tenants(self) -> dict[str, str]:
        """Tenants this destination refuses for a reason of their own, with the reason."""
        return {tenant: hold.reason for tenant, hold in self._holds.items()}

    def failure_for(self, tenant: str) -> str | None:
        """Why `tenant`'s events cannot be delivered for now (a fatal error of the destination or
        of the tenant's own settings), or None."""
        if self.fatal:
            return self.failure
        hold = self._holds.get(tenant)
        return None if hold is None else hold.reason

    def wake(self) -> None:
        self._wake.set()

    def flush(self) -> None:
        """Nothing more will be appended (a backfill or a replay has read everything): from now
        on a partial batch goes out at once instead of lingering for company that never comes."""
        self._flushing = True
        self._wake.set()

    def progressed(self, tenant: str) -> asyncio.Event:
        """Set by the next confirmed batch holding rows of `tenant` (or a hold of the tenant):
        take it, check, then wait on it, and nothing in between goes unnoticed."""
        event = self._progressed.get(tenant)
        if event is None:
            event = self._progressed[tenant] = asyncio.Event()
        return event

    def _signal_progress(self, tenant: str) -> None:
        if (event := self._progressed.pop(tenant, None)) is not None:
            event.set()

    async def run(self, stop: asyncio.Event) -> None:
        """Deliver until `stop` is set, with up to the destination's `max_in_flight` batches
        under way at once. Batches may be confirmed out of order; offsets are committed for the
        contiguous prefix only, so a crash never skips an unconfirmed batch. Once `stop` is set
        no batch is handed out, and the batches under way are waited for (a request already
        sent is answered; a retry is not attempted) so that what the destination accepted is
        confirmed; the caller bounds that wait by cancelling this task."""
        in_flight: _InFlight = deque()
        last_seq = 0
        limit = self._policy.batch_max_events
        try:
            while not stop.is_set() or in_flight:
                if stop.is_set():
                    # Replies are committed in order as they come: the caller's grace may end
                    # before the last one.
                    await asyncio.wait([in_flight[0][1]])
                    if not self._commit_prefix(in_flight):
                        return
                    continue
                self._release_due_holds()
                if self._rewind and not in_flight:
                    last_seq, self._rewind = 0, False
                    self._stale.clear()
                lingering = False
                while not self._rewind and len(in_flight) < max(1, self.destination.max_in_flight):
                    rows = self._pending(limit, after=last_seq)
                    if not rows:
                        break
                    if len(rows) < limit and self._lingers():
                        lingering = True
                        break
                    self._linger_until = None
                    self._handed_out_at = time.monotonic()
                    last_seq = rows[-1].seq
                    in_flight.append((rows, asyncio.create_task(self._send(rows, stop))))
                if not in_flight:
                    self._wake.clear()
                    if lingering or self._rewind or not self._pending(1, after=last_seq):
                        await first_of(stop.wait(), self._wake.wait(), within=self._idle_wait())
                    continue
                await _next_reply(
                    in_flight, within=self._idle_wait() if lingering or self._holds else None
                )
                if not self._commit_prefix(in_flight):
                    return
        finally:
            for _, task in in_flight:
                task.cancel()
            await asyncio.gather(*(task for _, task in in_flight), return_exceptions=True)

    def _commit_prefix(self, in_flight: _InFlight) -> bool:
        """Commit the batches done at the head of `in_flight`, in order; False once one of them
        was stopped before confirmation (it and the rest are sent again on the next start)."""
        while in_flight and in_flight[0][1].done():
            rows, task = in_flight.popleft()
            sent = task.result()
            if sent is None:
                return False
            self._commit(rows, sent)
        return True

    def _pending(self, limit: int, *, after: int) -> list[LogRow]:
        return self._outbox.pending(self.name, limit, after=after, excluding=tuple(self._holds))

    def _lingers(self) -> bool:
        """Whether a partial batch should wait for more events: until `linger` has passed since
        the previous batch went out."""
        linger = self.destination.linger
        if linger <= 0 or self._handed_out_at is None or self._flushing:
            return False
        self._linger_until = self._handed_out_at + linger
        return time.monotonic() < self._linger_until

    def _idle_wait(self) -> float:
        """How long nothing needs doing: until a lingering batch is due or a hold is retried."""
        wait = self._policy.idle_wait
        if self._linger_until is not None:
            wait = min(wait, self._linger_until - time.monotonic())
        if self._holds:
            due = min(hold.until for hold in self._holds.values())
            wait = min(wait, due - self._clock.now())
        return max(0.001, wait)

    async def deliver_once(self, stop: asyncio.Event | None = None) -> bool | None:
        """Send the oldest batch, retrying until it is confirmed or `stop` is set.

        True: confirmed; False: stopped before confirmation; None: nothing was pending."""
        rows = self._outbox.pending(self.name, self._policy.batch_max_events)
        if not rows:
            return None
        sent = await self._send(rows, stop)
        if sent is None:
            return False
        self._commit(rows, sent)
        return True

    async def _send(self, rows: list[LogRow], stop: asyncio.Event | None) -> _Sent | None:
        """Send one batch until the destination confirms it; None if `stop` came first."""
        attempt = 0
        while True:
            if stop is not None and stop.is_set():
                return None
            attempt += 1
            try:
                report = await self.destination.send([_outbound(row) for row in rows])
            except RetryableError as error:
                delay = self._after_failure(str(error), attempt, error.retry_after, fatal=False)
            except FatalError as error:
                delay = self._after_failure(str(error), attempt, None, fatal=True)
            except Exception as error:  # noqa: BLE001 - a connector bug must not kill delivery
                _log.exception("destination raised an unexpected error", destination=self.name)
                message = f"unexpected {type(error).__name__} in the connector: {error}"
                delay = self._after_failure(message, attempt, None, fatal=True)
            else:
                break
            if stop is None:
                await self._clock.sleep(delay)
            else:
                await first_of(self._clock.sleep(delay), stop.wait(), within=delay + 1)
        return _Sent(report, attempt)

    def _commit(self, rows: list[LogRow], sent: _Sent) -> None:
        """Move the offsets over what the destination confirmed or dead-lettered. Rows of held
        tenants stay: their offsets do not move, even for rows another batch got through while
        the hold was on (those are sent again once the hold is lifted), nor for rows of batches
        handed out before a hold was lifted (they lie after the rows the hold kept)."""
        self._failpoints.hit("after_send")
        for tenant, reason in sent.report.held.items():
            self._hold(tenant, reason)
        if self._holds or self._stale:
            kept = self._holds.keys() | self._stale
            settled = [index for index, row in enumerate(rows) if row.tenant not in kept]
            poisoned = sent.report.poisoned
            dead = {rows[i].seq: poisoned[i] for i in settled if i in poisoned}
            rows = [rows[index] for index in settled]
        else:
            dead = {rows[index].seq: reason for index, reason in sent.report.poisoned.items()}
        self._outbox.confirm(self.name, rows, dead, attempts=sent.attempts, now=self._clock.now())
        self.sent_batches += 1
        if self.failure is not None:
            _log.warning("destination recovered", destination=self.name)
            self.failure, self.fatal = None, False
        tenants = {row.tenant for row in rows}
        for tenant in self._retrying & tenants:
            _log.warning("destination accepts the tenant's events again", destination=self.name,
                         tenant=tenant)  # fmt: skip
        self._retrying -= tenants
        for tenant in tenants:
            self._signal_progress(tenant)
        if self._on_delivered is not None:
            for tenant in tenants:
                self._on_delivered(self.name, tenant)

    def _hold(self, tenant: str, reason: str) -> None:
        """Leave `tenant` out until the slow retry; log loudly when the reason is new."""
        previous = self._holds.get(tenant)
        if previous is None or previous.reason != reason:
            _log.error(
                "destination refuses this tenant's events; its backlog is kept",
                destination=self.name,
                tenant=tenant,
                error=reason,
                retry_in_seconds=self._policy.fatal_retry_interval,
            )
        until = self._clock.now() + self._policy.fatal_retry_interval
        self._holds[tenant] = _Hold(reason, until)
        self._retrying.discard(tenant)
        self._signal_progress(tenant)  # whoever waits for this tenant learns of the hold now

    def _release_due_holds(self) -> None:
        now = self._clock.now()
        for tenant in [tenant for tenant, hold in self._holds.items() if hold.until <= now]:
            del self._holds[tenant]
            self._retrying.add(tenant)
            self._stale.add(tenant)
            self._rewind = True

    def _after_failure(
        self, message: str, attempt: int, retry_after: float | None, *, fatal: bool
    ) -> float:
        """Log a new failure once and return how long to wait before the next attempt."""
        if message != self.failure:
            log = _log.error if fatal else _log.warning
            log(
                "destination failing; backlog kept",
                destination=self.name,
                error=message,
                fatal=fatal,
            )
        self.failure, self.fatal = message, fatal
        if fatal:
            return self._policy.fatal_retry_interval
        if retry_after is not None:
            return min(retry_after, self._policy.retry_after_cap)
        ceiling = min(self._policy.max_delay, self._policy.base_delay * 2 ** (attempt - 1))
        return float(self._jitter() * ceiling)


@dataclass(frozen=True, slots=True)
class _Hold:
    reason: str
    until: float  # clock time of the next attempt


@dataclass(frozen=True, slots=True)
class _Sent:
    report: DeliveryReport
    attempts: int


# Batches handed out, oldest first, each with the task sending it (None: stopped unconfirmed).
_InFlight = deque[tuple[list[LogRow], "asyncio.Task[_Sent | None]"]]


def _outbound(row: LogRow) -> OutboundEvent:
    # The log holds the event as received; it must come back as the dict the reply parser made.
    return OutboundEvent(tenant=row.tenant, event_id=row.event_id, raw=_CODEC.loads(row.raw))


async def _next_reply(in_flight: _InFlight, *, within: float | None) -> None:
    """Wait until one more batch under way is answered (or `within` seconds pass). Only those
    still under way: one answered behind an unanswered first one would end every wait at once,
    spinning until the first is answered."""
    if waiting := [task for _, task in in_flight if not task.done()]:
        await asyncio.wait(waiting, timeout=within, return_when=asyncio.FIRST_COMPLETED)


async def first_of(*waits: Coroutine[Any, Any, Any], within: float) -> None:
    """Wait until one of `waits` finishes or `within` seconds pass; cancel the others."""
    tasks = [asyncio.ensure_future(wait) for wait in waits]
    try:
        await asyncio.wait(tasks, timeout=within, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
