"""What HEC already confirmed (or rejected for good) of batches the dispatcher has not committed.

When a batch fails part-way (one request keeps getting 503 after others were indexed), the
dispatcher sends the whole batch again; events found here are not sent a second time. Entries
leave when their batch is reported back, and the oldest go first beyond `capacity`, so memory
stays bounded. The cache lives in memory: after a restart the engine's own at-least-once resend
applies. An event can also be `Held`: not delivered, because HEC refused the token or index its
tenant has of its own; it goes back to the backlog, not to the dead letters.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable
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
        self._known: OrderedDict[_EventKey, Outcome] = OrderedDict()

    def __len__(self) -> int:
        return len(self._known)

    def get(self, key: _EventKey) -> Outcome | None:
        """DELIVERED, a rejection reason, Held, or None when HEC has not settled the event yet."""
        return self._known.get(key)

    def record(self, key: _EventKey, reason: Outcome = DELIVERED) -> None:
        self._known[key] = reason
        self._known.move_to_end(key)
        while len(self._known) > self._capacity:
            self._known.popitem(last=False)

    def forget(self, keys: Iterable[_EventKey]) -> None:
        for key in keys:
            self._known.pop(key, None)
