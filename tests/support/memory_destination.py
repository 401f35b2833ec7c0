"""A scriptable in-memory SIEM: keeps what it accepted, in order, and misbehaves on request.

It implements the destination protocol of `connectors.base` and nothing more, so the engine
treats it exactly like a real connector. A test can make it refuse every batch for a while
(`fail_with`, `recover`), declare single events undeliverable (`poison_when`, `cure`), or refuse
one tenant's events with a fatal error of that tenant's own (`hold_tenant`, `release_tenant`).
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable, Sequence

from agent.errors import FatalError, RetryableError
from connectors.base import DeliveryReport, Health, OutboundEvent

__all__ = ["MemoryDestination"]

# Returns the reason an event is undeliverable, or None to accept it.
PoisonRule = Callable[[OutboundEvent], str | None]


class MemoryDestination:
    def __init__(
        self, name: str, *, latency: float = 0.0, max_in_flight: int = 1, linger: float = 0.0
    ) -> None:
        """`latency` (real seconds) is spent on every send, as a network round trip would, so a
        dispatcher retrying a failing destination does not spin the event loop."""
        self.name = name
        self.max_in_flight = max_in_flight
        self.linger = linger
        self.batch_sizes: list[int] = []
        self.held: dict[str, str] = {}
        self.received: list[OutboundEvent] = []
        self.refused: list[tuple[OutboundEvent, str]] = []
        self.attempts = 0
        self.failed_attempts = 0
        self.closed = False
        self._latency = latency
        self._failure: RetryableError | FatalError | None = None
        self._failures_left: int | None = None
        self._poison: PoisonRule | None = None

    # -- scripting ----------------------------------------------------------------------------

    def fail_with(self, error: RetryableError | FatalError, *, times: int | None = None) -> None:
        """Refuse the next `times` batches with `error`, or every batch until `recover()`."""
        self._failure, self._failures_left = error, times

    def recover(self) -> None:
        self._failure, self._failures_left = None, None

    def poison_when(self, rule: PoisonRule) -> None:
        """Declare the events `rule` gives a reason for undeliverable, as a SIEM rejecting one
        malformed record of a batch does."""
        self._poison = rule

    def cure(self) -> None:
        self._poison = None

    def hold_tenant(self, tenant: str, reason: str) -> None:
        """Refuse `tenant`'s events as a SIEM refuses a token or index set for that tenant only."""
        self.held[tenant] = reason

    def release_tenant(self, tenant: str) -> None:
        self.held.pop(tenant, None)

    # -- the destination protocol ------------------------------------------------------------

    async def send(self, batch: Sequence[OutboundEvent]) -> DeliveryReport:
        self.attempts += 1
        self.batch_sizes.append(len(batch))
        if self._latency:
            await asyncio.sleep(self._latency)
        if self._failure is not None:
            error = self._failure
            if self._failures_left is not None:
                self._failures_left -= 1
                if self._failures_left <= 0:
                    self.recover()
            self.failed_attempts += 1
            raise error
        poisoned: dict[int, str] = {}
        held: dict[str, str] = {}
        for index, event in enumerate(batch):
            if event.tenant in self.held:
                held[event.tenant] = self.held[event.tenant]
                continue
            reason = None if self._poison is None else self._poison(event)
            if reason is None:
                self.received.append(event)
            else:
                poisoned[index] = reason
                self.refused.append((event, reason))
        refused = len(poisoned) + sum(event.tenant in held for event in batch)
        return DeliveryReport(delivered=len(batch) - refused, poisoned=poisoned, held=held)

    async def check(self) -> Health:
        if self._failure is not None:
            return Health(ok=False, detail=str(self._failure))
        return Health(ok=True, detail=f"{len(self.received)} events received")

    async def close(self) -> None:
        self.closed = True

    # -- what arrived -------------------------------------------------------------------------

    def ids(self, tenant: str | None = None) -> list[str]:
        """Event ids in arrival order, of one tenant or all."""
        return [e.event_id for e in self.received if tenant is None or e.tenant == tenant]

    def copies(self) -> Counter[str]:
        """How many times each event id arrived."""
        return Counter(event.event_id for event in self.received)
