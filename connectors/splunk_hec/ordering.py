"""Posting order across concurrent batches: one batch posts at a time, in the order `send` was
called, and a batch that failed keeps its place.

The dispatcher has up to `max_in_flight` batches under way and retries each one on its own
schedule. Without this, a later batch could reach HEC while an earlier one waits out a backoff,
and a tenant's events would arrive out of log order. So a failed batch is "owed" its turn: every
other batch waits until its retry (the same batch, recognised by its first event) got through.
If the owed batch is never retried (its dispatcher stopped), the wait ends once it has not been
attempted for `stale_after` seconds, so nothing can wait forever. A batch that fails only while
waiting for acknowledgement holds nobody: its events were already posted in order.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import structlog

from agent.clock import Clock

__all__ = ["PostingOrder"]

_log = structlog.get_logger("connectors.splunk_hec")
_BatchKey = tuple[str, str]


@dataclass(slots=True)
class _Owed:
    last_attempt: float
    done: asyncio.Event = field(default_factory=asyncio.Event)


class PostingOrder:
    def __init__(self, clock: Clock, *, stale_after: float = 900.0, recheck: float = 5.0) -> None:
        self._clock = clock
        self._stale_after = stale_after
        self._recheck = recheck
        self._lock = asyncio.Lock()  # fair: waiters acquire it in the order they asked
        self._owed: dict[_BatchKey, _Owed] = {}

    @contextlib.asynccontextmanager
    async def turn(self, batch: _BatchKey) -> AsyncIterator[None]:
        """Hold the right to post for `batch`; a failure inside makes the batch owed."""
        await self._acquire(batch)
        try:
            yield
        except Exception:
            owed = self._owed.setdefault(batch, _Owed(self._clock.now()))
            owed.last_attempt = self._clock.now()
            raise
        else:
            settled = self._owed.pop(batch, None)
            if settled is not None:
                settled.done.set()
        finally:
            self._lock.release()

    async def _acquire(self, batch: _BatchKey) -> None:
        while True:
            await self._lock.acquire()
            if batch in self._owed:
                self._owed[batch].last_attempt = self._clock.now()
            blocking = next((owed for key, owed in self._owed.items() if key != batch), None)
            if blocking is None:
                return
            self._lock.release()
            await self._wait_for(blocking)

    async def _wait_for(self, owed: _Owed) -> None:
        while not owed.done.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(owed.done.wait(), timeout=self._recheck)
            if self._clock.now() - owed.last_attempt > self._stale_after:
                _log.warning("an earlier batch was not retried; posting without waiting for it")
                for key, candidate in list(self._owed.items()):
                    if candidate is owed:
                        del self._owed[key]
                owed.done.set()
