"""One tenant's synchronisation: read verified windows, keep only new occurrences, deliver, commit.

A window is `[start, end)` in whole seconds. Its pass must be verified (rows = total, total stable,
pages full) before anything is committed; an unverified pass is read again a bounded number of
times and otherwise reported, leaving the watermark where it was. The live cycle reads up to the
server's clock minus `settle_delay` and re-checks `lookback` behind the watermark for late events,
first with a one-row probe so a quiet overlap costs one request.
"""

from __future__ import annotations

import math
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Protocol

import structlog

from agent.clock import Clock
from agent.config.durations import StartPoint
from agent.errors import PageInconsistencyError, TenantMismatchError
from agent.nordpass.models import PassResult
from agent.pipeline.delivery import Fanout
from agent.pipeline.identity import EventIdentity
from agent.pipeline.occurrences import new_occurrences, observe
from agent.state import SqliteStateStore
from connectors.base import OutboundEvent

__all__ = ["CycleReport", "SourceReader", "TenantSettings", "TenantSync"]

_log = structlog.get_logger("agent.sync")
DAY = 86400


class SourceReader(Protocol):
    def read_window(self, start: int, end: int) -> AsyncIterator[PassResult]: ...

    async def probe_total(self, start: int, end: int) -> tuple[int, float | None]: ...


@dataclass(frozen=True, slots=True)
class TenantSettings:
    name: str
    organization_uuid: str | None
    start: StartPoint
    settle_delay: float
    lookback: float
    max_slice: int = DAY


@dataclass(slots=True)
class CycleReport:
    tenant: str
    delivered: int = 0
    windows: list[tuple[int, int]] = field(default_factory=list)
    watermark: int | None = None


class TenantSync:
    def __init__(
        self,
        settings: TenantSettings,
        *,
        source: SourceReader,
        store: SqliteStateStore,
        identity: EventIdentity,
        fanout: Fanout,
        clock: Clock,
        pass_attempts: int = 3,
    ) -> None:
        self.settings = settings
        self._source = source
        self._store = store
        self._identity = identity
        self._fanout = fanout
        self._clock = clock
        self._pass_attempts = pass_attempts

    async def poll_cycle(self) -> CycleReport:
        """One live cycle: re-check the lookback overlap, then read up to the settled edge."""
        name = self.settings.name
        report = CycleReport(tenant=name)
        stored_watermark = self._store.watermark(name)
        watermark = stored_watermark
        if watermark is None:
            watermark = math.floor(self.settings.start.resolve(self._clock.now()))
        overlap_start = watermark - math.ceil(self.settings.lookback)
        total, server_time = await self._source.probe_total(overlap_start, watermark)
        if stored_watermark is not None and total != self._store.count_in_range(
            name, overlap_start, watermark
        ):
            report.delivered += await self.sync_window(overlap_start, watermark)
            report.windows.append((overlap_start, watermark))
        now = server_time if server_time is not None else self._clock.now()
        edge = math.floor(now - self.settings.settle_delay)
        while watermark < edge:
            end = min(edge, watermark + self.settings.max_slice)
            report.delivered += await self.sync_window(watermark, end, advance_watermark=True)
            report.windows.append((watermark, end))
            watermark = end
        report.watermark = watermark
        return report

    @property
    def delivered(self) -> dict[str, int]:
        """Events confirmed so far, per destination."""
        return dict(self._fanout.delivered)

    async def sync_window(
        self, start: int, end: int, *, advance_watermark: bool = False, replay: bool = False
    ) -> int:
        """Deliver every not-yet-seen occurrence in `[start, end)`; return how many.

        `replay` delivers every occurrence again, with the same ids, and records nothing: the
        way to seed a new destination with history."""
        delivered = 0
        async for result in self._source.read_window(start, end):
            delivered += await self._ingest(await self._verify(result), replay=replay)
        if advance_watermark:
            self._store.commit_window(self.settings.name, {}, watermark=end, now=self._clock.now())
        return delivered

    async def _verify(self, result: PassResult) -> PassResult:
        """Read an unverified pass again (its bounds are the query's: `[from + 1, to)`)."""
        attempt = 1
        while not result.verified:
            problems = "; ".join(i.detail for i in result.inconsistencies) or (
                f"{result.rows_received} rows for a total of {result.total}"
            )
            if attempt >= self._pass_attempts:
                raise PageInconsistencyError(
                    f"tenant '{self.settings.name}': window [{result.timestamp_from + 1}, "
                    f"{result.timestamp_to}) did not read consistently in {attempt} passes: "
                    f"{problems}"
                )
            _log.info(
                "window pass not verified; reading it again",
                tenant=self.settings.name,
                problems=problems,
            )
            attempt += 1
            async for again in self._source.read_window(
                result.timestamp_from + 1, result.timestamp_to
            ):
                result = again
        return result

    async def _ingest(self, result: PassResult, *, replay: bool) -> int:
        name = self.settings.name
        self._check_organization(result)
        observed = observe(result.events)
        stored = {} if replay else self._store.stored_counts(name, observed)
        fresh = new_occurrences(observed, stored)
        if not fresh:
            return 0
        outbound = [
            OutboundEvent(
                tenant=name,
                event_id=self._identity.event_id(
                    self._organization(item.raw), item.fingerprint, item.occurrence
                ),
                raw=item.raw,
            )
            for item in fresh
        ]
        await self._fanout.deliver(outbound)
        if replay:
            return len(fresh)
        grown = {
            key: (seen.second, seen.count)
            for key, seen in observed.items()
            if seen.count > stored.get(key, 0)
        }
        self._store.commit_window(name, grown, watermark=None, now=self._clock.now())
        return len(fresh)

    def _organization(self, raw: dict[str, object]) -> str:
        value = raw.get("organization_uuid")
        return (
            value
            if isinstance(value, str)
            else (self.settings.organization_uuid or self.settings.name)
        )

    def _check_organization(self, result: PassResult) -> None:
        expected = self.settings.organization_uuid
        if expected is None:
            return
        for raw in result.events:
            if raw.get("organization_uuid") != expected:
                raise TenantMismatchError(
                    f"tenant '{self.settings.name}': the API returned events of organisation "
                    f"{raw.get('organization_uuid')!r}, not the configured {expected}; "
                    "the token probably belongs to another organisation. Nothing was forwarded "
                    "for this tenant."
                )
