"""What HEC already confirmed (or rejected for good) of batches the dispatcher has not committed.

When a batch fails part-way (one request keeps getting 503 after others were indexed), the
dispatcher sends the whole batch again; events found here are not sent a second time. Entries
leave when their batch is reported back. Those of batches being sent stay until then; beyond
`capacity` the oldest of the others go first, so memory stays bounded. The cache lives in
memory: after a restart the engine's own at-least-once resend applies. An event can also be
`Held`: not delivered, because HEC refused the token or index its tenant has of its own; it goes
back to the backlog, not to the dead letters.
"""

from __future__ import annotations

from collections import Counter, OrderedDict
from collections.abc import Iterator, Sequence
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
        # Entries of batches being sent, never pushed out, and the rest, oldest first.
        self._pins: Counter[_EventKey] = Counter()
        self._held: dict[_EventKey, Outcome] = {}
        self._known: OrderedDict[_EventKey, Outcome] = OrderedDict()

    def __len__(self) -> int:
        return len(self._held) + len(self._known)

    def get(self, key: _EventKey) -> Outcome | None:
        """DELIVERED, a rejection reason, Held, or None when HEC has not settled the event yet."""
        held = self._held.get(key)
        return self._known.get(key) if held is None else held

    def record(self, key: _EventKey, reason: Outcome = DELIVERED) -> None:
        if key in self._pins:
            self._known.pop(key, None)
            self._held[key] = reason
        else:
            self._remember(key, reason)

    def _remember(self, key: _EventKey, reason: Outcome) -> None:
        self._known[key] = reason
        self._known.move_to_end(key)
        while len(self._known) > self._capacity:
            self._known.popitem(last=False)

    @contextmanager
    def sending(self, keys: Sequence[_EventKey]) -> Iterator[None]:
        """While a batch with these events is being sent and its report read: its entries stay,
        whatever else is recorded meanwhile. Those left afterwards (a batch that failed keeps
        them for its retry) join the others."""
        for key in keys:
            if not self._pins[key]:  # entries left by an earlier attempt of this batch: kept too
                known = self._known.pop(key, None)
                if known is not None:
                    self._held[key] = known
            self._pins[key] += 1
        try:
            yield
        finally:
            self._pins.subtract(keys)
            for key in keys:
                if self._pins[key] <= 0:
                    del self._pins[key]
                    reason = self._held.pop(key, None)
                    if reason is not None:
                        self._remember(key, reason)

    def forget(self, keys: Sequence[_EventKey]) -> None:
        """Drop the entries of a batch reported back (while it is still `sending`); an event
        that another batch being sent also holds keeps its entry for that one."""
        own = Counter(keys)
        for key in own:
            if self._pins[key] > own[key]:
                continue
            self._held.pop(key, None)
            self._known.pop(key, None)
