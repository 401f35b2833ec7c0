"""What HEC already confirmed (or rejected for good) of batches the dispatcher has not committed.

When a batch fails part-way (one request keeps getting 503 after others were indexed), the
dispatcher sends the whole batch again; events found here are not sent a second time. Entries
leave when their batch is reported back, and beyond `capacity` (plus the events of the batches
being sent, whose entries must last until their report) the oldest go first, so memory stays
bounded. The cache lives in memory: after a restart the engine's own at-least-once resend
applies. An event can also be `Held`: not delivered, because HEC refused the token or index its
tenant has of its own; it goes back to the backlog, not to the dead letters.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

__all__ = ["DELIVERED", "Held", "Outcome", "Outcomes"]

DELIVERED = ""  # an empty reason: delivered; any other text: the reason it was rejected


@dataclass(frozen=True, slots=True)
class Held:
    """Not delivered for a reason of its tenant's own settings; kept in the backlog."""

    reason: str


Outcome = str | Held
_EventKey = tuple[str, str]


class Outcomes:
    def __init__(self, capacity: int = 200_000) -> None:
        self._capacity = capacity
        self._sending = 0  # events of the batches being sent
        self._known: OrderedDict[_EventKey, Outcome] = OrderedDict()

    def __len__(self) -> int:
        return len(self._known)

    def get(self, key: _EventKey) -> Outcome | None:
        """DELIVERED, a rejection reason, Held, or None when HEC has not settled the event yet."""
        return self._known.get(key)

    def record(self, key: _EventKey, reason: Outcome = DELIVERED) -> None:
        self._known[key] = reason
        self._known.move_to_end(key)
        while len(self._known) > self._capacity + self._sending:
            self._known.popitem(last=False)

    @contextmanager
    def sending(self, events: int) -> Iterator[None]:
        """While a batch of `events` is being sent: room for its entries on top of `capacity`."""
        self._sending += events
        try:
            yield
        finally:
            self._sending -= events

    def forget(self, keys: Iterable[_EventKey]) -> None:
        for key in keys:
            self._known.pop(key, None)
