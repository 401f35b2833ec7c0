"""One tenant's reading side: verified windows in, new occurrences appended to the durable log.

A pass over a window must be verified (rows = total, total stable, pages full) before anything is
recorded. An unverified pass is read again a bounded number of times, then the window is split in
halves and the part that still drifts (the most recent) is left for the next cycle; the watermark
never moves past a part that was not verified. New occurrences enter the log in the same
transaction that raises their fingerprint counts (and moves the watermark), and the destinations'
dispatchers are notified. Delivery happens there, not here.
"""

from __future__ import annotations

import math
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

import structlog

from agent.clock import Clock
from agent.config.durations import StartPoint
from agent.errors import PageInconsistencyError, TenantMismatchError
from agent.failpoints import Failpoints
from agent.nordpass.models import PassResult
from agent.normalize import JsonCodec, default_codec
from agent.pipeline.cursor import BoundKnowledge, CyclePlan, halves, plan_cycle, settled_edge
from agent.pipeline.identity import EventIdentity
from agent.pipeline.occurrences import new_occurrences, observe
from agent.state import LogEntry, StateStore

__all__ = ["CycleReport", "SourceReader", "TenantSettings", "TenantSync", "WindowOutcome"]

_log = structlog.get_logger("agent.sync")
_MAX_SPLIT_DEPTH = 8


class SourceReader(Protocol):
    def read_window(self, start: int, end: int) -> AsyncIterator[PassResult]: ...

    async def probe_total(self, start: int, end: int) -> tuple[int, float | None]: ...

    async def count(self, timestamp_from: int, timestamp_to: int) -> int: ...


@dataclass(frozen=True, slots=True)
class TenantSettings:
    name: str
    organization_uuid: str | None
    start: StartPoint
    settle_delay: float
    lookback: float
    max_live_window: float = 3600.0
    fingerprint_retention: float = 86400.0


@dataclass(slots=True)
class WindowOutcome:
    appended: int = 0
    verified_until: int = 0


@dataclass(slots=True)
class CycleReport:
    tenant: str
    appended: int = 0
    windows: list[tuple[int, int]] = field(default_factory=list)
    watermark: int | None = None
    catch_up: tuple[int, int] | None = None


class TenantSync:
    def __init__(
        self,
        settings: TenantSettings,
        *,
        source: SourceReader,
        store: StateStore,
        identity: EventIdentity,
        clock: Clock,
        notify: Callable[[str], None] = lambda tenant: None,
        failpoints: Failpoints | None = None,
        pass_attempts: int = 3,
        codec: JsonCodec | None = None,
        bounds: BoundKnowledge | None = None,
    ) -> None:
        """`bounds`: what is known of the API's bound convention, shared by the tenants of one
        endpoint (it is the API's, not a tenant's)."""
        self.settings = settings
        self.bounds = BoundKnowledge() if bounds is None else bounds
        self._source = source
        self._store = store
        self._identity = identity
        self._clock = clock
        self._notify = notify
        self._failpoints = failpoints or Failpoints()
        self._pass_attempts = pass_attempts
        # Compact UTF-8 JSON of the event as received; orjson when installed (the raw form is
        # written once per event and read back by every dispatcher).
        self._codec = codec or default_codec()

    async def poll_cycle(self) -> CycleReport:
        """Re-check the lookback overlap, then read up to the settled edge of the server's clock.

        A gap wider than `max_live_window` is not read here: the report's `catch_up` names it and
        the caller runs it through the backfill slicer, which moves the watermark as slices land."""
        name = self.settings.name
        watermark = self._store.watermark(name)
        now = self._clock.now()
        server_now: float | None = None  # the server's clock, once a reply told it
        if watermark is None:
            server_now = await self._fix_start(now)
        elif self.settings.lookback > 0:
            server_now = await self._recheck_overlap(watermark)
        plan = self._plan(now if server_now is None else server_now)
        if plan.catch_up is not None and server_now is None:
            # The slicer moves the watermark to each slice's end, so a catch-up must end at the
            # server's settled edge, not the local clock's.
            server_now = await self._server_time(plan.watermark)
            if server_now is not None:
                plan = self._plan(server_now)
        report = CycleReport(tenant=name, watermark=plan.watermark, catch_up=plan.catch_up)
        if plan.live is not None:
            outcome = await self.sync_window(*plan.live, advance_watermark=True)
            report.appended += outcome.appended
            report.windows.append(plan.live)
            report.watermark = outcome.verified_until
        self._prune_fingerprints(report.watermark)
        return report

    async def _fix_start(self, now: float) -> float | None:
        """On the first cycle, fix the start point once and start the watermark there. A relative
        start (`now`, `7d`) is taken from the server's clock: on a host clock running ahead, the
        events the API stamps until it catches up would fall before the start. Returns the
        server's time, if it was asked."""
        server_now = None
        if self.settings.start.at is None:
            server_now = await self._server_time(math.floor(now))
        start = math.floor(self.settings.start.resolve(now if server_now is None else server_now))
        self._store.set_meta_value(_start_key(self.settings.name), str(start).encode())
        self._store.append_window(self.settings.name, {}, [], watermark=start, now=now)
        return server_now

    async def _server_time(self, second: int) -> float | None:
        """The server's clock, from the `Date` of a one-row query (around `second`)."""
        _, server_time = await self._source.probe_total(second, second + 1)
        return server_time

    def _plan(self, server_now: float) -> CyclePlan:
        return plan_cycle(
            watermark=self._store.watermark(self.settings.name),
            first_start=self.settings.start.resolve(self._clock.now()),
            server_now=server_now,
            settle_delay=self.settings.settle_delay,
            lookback=self.settings.lookback,
            max_live_window=self.settings.max_live_window,
        )

    async def _recheck_overlap(self, watermark: int) -> float | None:
        """Probe `[W - lookback, W)` with one row; re-read it only when the count moved. The
        overlap never reaches before the tenant's start: those events were not asked for.
        Returns the server's time, if the probe's reply told it."""
        start = watermark - math.ceil(self.settings.lookback)
        first = self._store.meta_value(_start_key(self.settings.name))
        if first is not None:
            start = max(start, int(first))
        if start >= watermark:
            return None
        if self.bounds.probe_seconds(start, watermark) is None:
            await self._calibrate(start, watermark)
        total, server_time = await self._source.probe_total(start, watermark - 1)
        seconds = self.bounds.probe_seconds(start, watermark)
        stored = (
            None if seconds is None else self._store.count_in_range(self.settings.name, *seconds)
        )
        if stored != total:
            await self.sync_window(start, watermark)
        return server_time

    async def _calibrate(self, start: int, end: int) -> None:
        """Learn the bound convention from one already-verified second `s` with events and empty
        neighbours: the query `s .. s+1` counts them only if the lower bound is inclusive, and
        `s-1 .. s` only if the upper bound is. Two one-row requests, once per process."""
        second = self._store.isolated_second(self.settings.name, start, end - 1)
        if second is None:
            return
        expected = self._store.count_in_range(self.settings.name, second, second + 1)
        lower = await self._source.count(second, second + 1)
        upper = await self._source.count(second - 1, second)
        self.bounds.settle(lower=_verdict(lower, expected), upper=_verdict(upper, expected))
        _log.debug("bound convention", tenant=self.settings.name, bounds=self.bounds)

    async def window_size(self, start: int, end: int) -> int:
        """About how many events `[start, end)` holds (the API's count, edge seconds included):
        one request of one row."""
        total, _ = await self._source.probe_total(start, end)
        return total

    async def sync_window(
        self,
        start: int,
        end: int,
        *,
        advance_watermark: bool = False,
        target: str | None = None,
    ) -> WindowOutcome:
        """Append every not-yet-seen occurrence in `[start, end)` to the log.

        With `target`, every occurrence is appended again for that destination only, with the
        same ids, and nothing is recorded as seen: the replay that seeds a new destination."""
        outcome = WindowOutcome(verified_until=start)
        # A live part held at the server's settled edge short of its end holds every later part
        # too (halves of a split window): their rows are stored, the watermark stays, and the
        # next cycle reads on from the edge (the stored counts keep rows from coming twice).
        held = False
        async for result in self._source.read_window(start, end):
            part_start, part_end = result.timestamp_from + 1, result.timestamp_to
            async for verified in self._verified_parts(result, part_start, part_end, 0):
                watermark = None
                if advance_watermark and not held:
                    watermark = outcome.verified_until = self._settled_end(verified)
                    held = watermark < verified.timestamp_to
                elif not held:
                    outcome.verified_until = verified.timestamp_to
                outcome.appended += self._ingest(verified, watermark, target)
            if outcome.verified_until < part_end:
                break  # the rest is deferred; nothing after an unverified part is recorded
        return outcome

    def _settled_end(self, result: PassResult) -> int:
        """How far a verified live pass lets the watermark go: its end, but no further than the
        server's own clock allows (its `Date` less the settle delay). The live edge is planned
        on the local clock when no probe told the server's time (a tenant's first cycles, no
        lookback): a clock running ahead would otherwise move the watermark past seconds the
        API has not finished writing, whose later rows would then never be read."""
        end = result.timestamp_to
        if result.server_time is None:
            return end
        settled = settled_edge(result.server_time, self.settings.settle_delay)
        return max(result.timestamp_from + 1, min(end, settled))

    async def _verified_parts(
        self, result: PassResult, start: int, end: int, depth: int
    ) -> AsyncIterator[PassResult]:
        attempt = 1
        while not result.verified and attempt < self._pass_attempts:
            attempt += 1
            _log.info("window pass not verified; reading it again", tenant=self.settings.name,
                      window=(start, end), problems=_problems(result))  # fmt: skip
            result = await self._single_pass(start, end)
        if result.verified:
            yield result
            return
        if end - start < 2 or depth >= _MAX_SPLIT_DEPTH:
            _log.warning("window deferred: pages drift", tenant=self.settings.name,
                         window=(start, end), problems=_problems(result))  # fmt: skip
            return
        for part_start, part_end in halves(start, end):
            part = await self._single_pass(part_start, part_end)
            reached = part_start
            async for verified in self._verified_parts(part, part_start, part_end, depth + 1):
                reached = verified.timestamp_to
                yield verified
            if reached < part_end:
                return

    async def _single_pass(self, start: int, end: int) -> PassResult:
        async for result in self._source.read_window(start, end):
            return result
        raise PageInconsistencyError(f"tenant {self.settings.name!r}: empty window {start}..{end}")

    def _ingest(self, result: PassResult, watermark: int | None, target: str | None) -> int:
        name = self.settings.name
        self._check_organization(result)
        start, end = result.timestamp_from + 1, result.timestamp_to
        observed = observe(result.events)
        stored: dict[bytes, int] = {}
        if observed and not target:
            seconds = [seen.second for seen in observed.values()]
            stored = self._store.stored_counts(name, min(seconds), max(seconds) + 1)
        fresh = new_occurrences(observed, stored)
        entries = [
            LogEntry(
                event_id=self._identity.event_id(
                    self._organization(item.raw), item.fingerprint, item.occurrence
                ),
                second=item.second,
                raw=self._codec.dumps(item.raw),
            )
            for item in fresh
        ]
        grown = {} if target else {
            key: (seen.second, seen.count)
            for key, seen in observed.items()
            if seen.count > stored.get(key, 0)
        }  # fmt: skip
        self._store.append_window(
            name,
            grown,
            entries,
            watermark=watermark,
            target=target,
            now=self._clock.now(),
            before_commit=lambda: self._failpoints.hit("after_append"),
        )
        self.bounds.learn(
            rows_below=result.rows_below,
            rows_above=result.rows_above,
            known_below=self._store.count_in_range(name, start - 1, start),
            known_above=self._store.count_in_range(name, end, end + 1),
        )
        if entries:
            self._notify(name)
        return len(entries)

    def _prune_fingerprints(self, watermark: int | None) -> None:
        if watermark is None:
            return
        keep = max(self.settings.lookback, self.settings.fingerprint_retention)
        self._store.prune_fingerprints(self.settings.name, watermark - math.ceil(keep) - 1)

    def _organization(self, raw: dict[str, Any]) -> str:
        value = raw.get("organization_uuid")
        if isinstance(value, str):
            return value
        return self.settings.organization_uuid or self.settings.name

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


def _start_key(tenant: str) -> str:
    """Where the tenant's live start point, fixed on its first cycle, is kept."""
    return f"live_start:{tenant}"


def _verdict(counted: int, expected: int) -> bool | None:
    """Inclusive if the second's events were all counted, exclusive if none were; anything else
    (an event arrived late meanwhile) proves nothing."""
    if counted == expected:
        return True
    return False if counted == 0 else None


def _problems(result: PassResult) -> str:
    details = "; ".join(item.detail for item in result.inconsistencies)
    return details or f"{result.rows_received} rows for a total of {result.total}"
