"""Indexer acknowledgement as HEC keeps it: per token and channel the next ackId and the ids not
yet reported; an id is reported `true` once, then forgotten.

Each id needs a number of ack queries before it completes, drawn per id, so ids complete out of
order; a lost id never completes; a hold stops every completion until released. Dropping the
channels makes HEC forget them (code 11 on their next use), as an indexer restart would.
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass, field

__all__ = ["AckLedger", "is_channel_id"]

_ChannelKey = tuple[str, str]


def is_channel_id(value: str) -> bool:
    """HEC wants a GUID as the channel."""
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


@dataclass(slots=True)
class _Channel:
    next_id: int = 0
    # ackId -> ack queries still needed before it reads true; None: lost, never true.
    waiting: dict[int, int | None] = field(default_factory=dict)


class AckLedger:
    def __init__(self, seed: int = 0) -> None:
        self._rng = random.Random(f"{seed}:acks")
        self._channels: dict[_ChannelKey, _Channel] = {}
        self._forgotten: set[str] = set()
        self.completed: list[tuple[str, int]] = []  # (channel, ackId) in the order they read true

    def is_forgotten(self, channel: str) -> bool:
        return channel in self._forgotten

    def issue(
        self, token: str, channel: str, *, queries: tuple[int, int] = (1, 1), lost: bool = False
    ) -> int:
        """A new ackId for a request just indexed on this channel, reading true after a number
        of ack queries drawn from `queries` (never, when `lost`)."""
        state = self._channels.setdefault((token, channel), _Channel())
        ack_id = state.next_id
        state.next_id += 1
        state.waiting[ack_id] = None if lost else self._rng.randint(*queries)
        return ack_id

    def query(
        self, token: str, channel: str, ack_ids: list[int], *, hold: bool = False
    ) -> dict[str, bool]:
        """Which ids read true now; while `hold`, none completes."""
        state = self._channels.get((token, channel), _Channel())
        answer: dict[str, bool] = {}
        for ack_id in ack_ids:
            remaining = state.waiting.get(ack_id)
            done = False
            if remaining is not None and not hold:
                remaining -= 1
                done = remaining <= 0
                if done:
                    del state.waiting[ack_id]
                    self.completed.append((channel, ack_id))
                else:
                    state.waiting[ack_id] = remaining
            answer[str(ack_id)] = done
        return answer

    def pending(self) -> int:
        """Ids issued and not yet reported true (lost ones included)."""
        return sum(len(state.waiting) for state in self._channels.values())

    def forget_channels(self) -> int:
        """HEC forgets every channel it knows; their pending ids are gone with them."""
        forgotten = {channel for _, channel in self._channels}
        self._forgotten |= forgotten
        self._channels.clear()
        return len(forgotten)
