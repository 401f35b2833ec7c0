"""Client-side pacing: a token bucket per API token, so concurrent backfill slices and live polls of
one tenant stay under the API's request budget instead of collecting 429s."""

from __future__ import annotations

import asyncio
import math

from agent.clock import Clock

__all__ = ["RequestPacer", "catch_up_slots"]

# A caller the event loop hands its slot late (it was busy parsing or storing a page) may make up
# for up to this much missed time, so pacing overlaps that work instead of adding to it; a few
# slots at most, so the API never sees more than a small burst above the configured rate.
_CATCH_UP_SECONDS = 0.2
_MAX_CATCH_UP_SLOTS = 4


def catch_up_slots(rate: float) -> int:
    """How many missed slots a late caller may still use at `rate` requests per second."""
    return min(_MAX_CATCH_UP_SLOTS, max(1, round(rate * _CATCH_UP_SECONDS)))


class RequestPacer:
    """Allows `rate` requests per second in the long run. Slots nobody used right away are kept
    up to `catch_up` of them (by default `catch_up_slots(rate)`) and may then be used back to
    back, so any one second holds at most `rate + catch_up` requests."""

    def __init__(self, rate: float, *, clock: Clock, catch_up: int | None = None) -> None:
        if rate <= 0:
            raise ValueError("rate must be positive")
        self._rate = rate
        # The slot due now plus the missed ones.
        self._capacity = 1 + max(0, catch_up_slots(rate) if catch_up is None else catch_up)
        self._clock = clock
        self._tokens = float(self._capacity)
        self._updated = clock.now()
        self._lock = asyncio.Lock()

    async def acquire(self) -> None:
        async with self._lock:  # one waiter at a time keeps requests in arrival order
            while True:
                now = self._clock.now()
                self._tokens = min(
                    self._capacity, self._tokens + (now - self._updated) * self._rate
                )
                self._updated = now
                # Sleeping exactly the computed wait can leave the bucket short of a whole token by
                # the rounding of an epoch-sized clock (under one tick's worth), and a wait that
                # short does not move a manual clock at all: that much counts as whole.
                if self._tokens >= 1 - self._rate * math.ulp(now):
                    self._tokens = max(0.0, self._tokens - 1)
                    return
                await self._clock.sleep((1 - self._tokens) / self._rate)
