"""Hands a tenant's new events to each of its destinations, in batches, and waits for confirmation.

This is the direct path: the caller commits fingerprint counts (and the watermark) only after every
destination confirmed, so a failure means the window is read and offered again later.
"""

from __future__ import annotations

from collections.abc import Sequence

from agent.errors import FatalError
from connectors.base import Destination, OutboundEvent

__all__ = ["Fanout"]


class Fanout:
    def __init__(self, destinations: Sequence[Destination], *, batch_size: int = 1000) -> None:
        self._destinations = list(destinations)
        self._batch_size = batch_size
        self.delivered: dict[str, int] = {destination.name: 0 for destination in destinations}

    @property
    def names(self) -> list[str]:
        return [destination.name for destination in self._destinations]

    async def deliver(self, events: Sequence[OutboundEvent]) -> None:
        for destination in self._destinations:
            for start in range(0, len(events), self._batch_size):
                batch = events[start : start + self._batch_size]
                report = await destination.send(batch)
                if report.poisoned:
                    # Dead-lettering arrives with the durable log; until then refuse to skip.
                    raise FatalError(
                        f"destination '{destination.name}' rejected {len(report.poisoned)} "
                        f"event(s) as undeliverable: {next(iter(report.poisoned.values()))}"
                    )
                self.delivered[destination.name] += report.delivered
