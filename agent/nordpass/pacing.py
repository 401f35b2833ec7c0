"""Client-side pacing: a token bucket per API token, so concurrent backfill slices and live polls of
one tenant stay under the API's request budget instead of collecting 429s."""

from __future__ import annotations

import asyncio
import math

from agent.clock import Clock

__all__ = ["RequestPacer"]


class RequestPacer:
    """Allows `rate` requests per second on average, `burst` at once."""

    def __init__(self, rate: float, *, clock: Clock, burst: int = 1) -> None:
        if rate <= 0:
            raise ValueError("rate must be positive")
        self._rate = rate
        self._burst = max(1, burst)
        self._clock = clock
        self._tokens = float(self._burst)
        self._updated = clock.now()
        self._lock = asyncio.Lock()

    async def acquire(self) -> None:
        async with self._lock:  # one waiter at a time keeps requests in arrival order
            while True:
                now = self._clock.now()
                self._tokens = min(self._burst, self._tokens + (now - self._updated) * self._rate)
                self._updated = now
                # Sleeping exactly the computed wait can leave the bucket short of a whole token by
                # the rounding of an epoch-sized clock (under one tick's worth), and a wait that
                # short does not move a manual clock at all: that much counts as whole.
                if self._tokens >= 1 - self._rate * math.ulp(now):
                    self._tokens = max(0.0, self._tokens - 1)
                    return
                await self._clock.sleep((1 - self._tokens) / self._rate)
