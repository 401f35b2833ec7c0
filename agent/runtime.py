"""Assembles the agent from its configuration: one reader per tenant, one dispatcher per
destination, the durable log between them, and the live and backfill modes on top.

Each tenant has its own API client (sharing the process's connection pools) and its own error
handling, and each destination its own dispatcher, so one tenant's expired token or one SIEM's
outage never stops the rest.
"""

from __future__ import annotations

import asyncio
import math
import secrets
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from types import TracebackType

import structlog

from agent.clock import Clock
from agent.config.model import AgentConfig, NordPassSource
from agent.errors import AgentError, FatalError
from agent.failpoints import Failpoints
from agent.nordpass.client import ActivityClient
from agent.nordpass.http import HttpClientPool, HttpTimeouts
from agent.nordpass.pacing import RequestPacer
from agent.nordpass.retry import RetryPolicy
from agent.pipeline.backfill import Slicer
from agent.pipeline.cursor import BoundKnowledge
from agent.pipeline.dispatcher import Dispatcher, DispatchPolicy, first_of
from agent.pipeline.identity import EventIdentity
from agent.pipeline.sync import TenantSettings, TenantSync
from agent.state import PRUNE_CHUNK, Gap, SqliteStateStore
from connectors import Destination, build_destination

__all__ = ["Agent", "BackfillReport", "TenantOutcome", "activity_client"]

_log = structlog.get_logger("agent")
_EVENT_ID_KEY = "event_id_key"
_DRAIN_CHECK_SECONDS = 1.0
_DISPATCH_RESTART_SECONDS = 1.0  # the first pause before a failed dispatcher starts again
_DISPATCH_RESTART_MAX_SECONDS = 60.0
# How often delivered log rows are deleted, expired dead letters dropped and the WAL folded back.
_HOUSEKEEPING_SECONDS = 60
_STALE_WATERMARK_DAYS = 75


@dataclass(slots=True)
class TenantOutcome:
    tenant: str
    fetched: int = 0
    delivered: dict[str, int] = field(default_factory=dict)
    # Events of the range each destination refused, kept as dead letters.
    dead_lettered: dict[str, int] = field(default_factory=dict)
    error: str | None = None


@dataclass(slots=True)
class BackfillReport:
    since: int
    until: int
    tenants: list[TenantOutcome] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        return all(outcome.error is None for outcome in self.tenants)


def activity_client(
    name: str,
    source: NordPassSource,
    *,
    pool: HttpClientPool,
    retry: RetryPolicy,
    per_page: int = 100,
    pacer: RequestPacer | None = None,
    failpoints: Failpoints | None = None,
    one_second: Callable[[int], tuple[int, int] | None] | None = None,
) -> ActivityClient:
    """The API client for one tenant's `nordpass:` settings, on the process's shared pools."""
    return ActivityClient(
        name,
        source.endpoint,
        source.token,
        http=pool.client_for(proxy=source.proxy, ca_file=source.ca_file, verify=source.verify_tls),
        retry=retry,
        per_page=per_page,
        pacer=pacer,
        failpoints=failpoints,
        timeout=source.timeout.total_seconds(),
        one_second=one_second,
    )


class Agent:
    def __init__(
        self,
        config: AgentConfig,
        *,
        clock: Clock,
        failpoints: Failpoints | None = None,
        dispatch_policy: DispatchPolicy | None = None,
        destinations: Mapping[str, Destination] | None = None,
        housekeeping_seconds: float = _HOUSEKEEPING_SECONDS,
    ) -> None:
        """`destinations` supplies ready-made instances by configured name, used instead of
        building those from the configuration (tests stand an in-memory SIEM in for one).
        Housekeeping runs every `housekeeping_seconds` of real time."""
        supplied = dict(destinations or {})
        if unknown := sorted(supplied.keys() - config.destinations.keys()):
            raise ValueError(f"destinations not in the configuration: {', '.join(unknown)}")
        self.config = config
        self._clock = clock
        self._failpoints = failpoints or Failpoints()
        self.store = SqliteStateStore(config.state_path)
        self._http = HttpClientPool(timeouts=HttpTimeouts())
        self._identity = EventIdentity(self._event_id_key())
        self.routes = {
            name: [ref.name for ref in tenant.destinations]
            for name, tenant in config.tenants.items()
        }
        self.store.outbox.set_routes(self.routes)
        policy = dispatch_policy or DispatchPolicy(batch_max_events=config.batch_max_events)
        self.dispatchers = {
            name: Dispatcher(
                supplied[name]
                if name in supplied
                else build_destination(name, settings, config.tenant_overrides(name)),
                self.store.outbox,
                clock=clock,
                policy=policy,
                failpoints=self._failpoints,
                on_delivered=self._delivered,
            )
            for name, settings in config.destinations.items()
        }
        # The bound convention is the API's, not a tenant's: learnt once per endpoint and shared,
        # so a thousand tenants do not each spend two calibration requests (and, until one of
        # their seconds is isolated enough to calibrate on, a re-read of the overlap per cycle).
        self._bounds: dict[str, BoundKnowledge] = {}
        self.syncs = {name: self._tenant_sync(name) for name in config.tenants}
        defaults = config.defaults
        self._stop_reading = asyncio.Event()
        self.slicer = Slicer(
            self.store,
            clock,
            slice_seconds=math.ceil(defaults.backfill_slice.total_seconds()),
            concurrency=defaults.backfill_concurrency,
            stopping=self._stop_reading,
        )
        self._stop = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._housekeeping: asyncio.Task[None] | None = None
        self._housekeeping_seconds = housekeeping_seconds
        self._refills: dict[str, asyncio.Task[None]] = {}

    async def __aenter__(self) -> Agent:
        self.start()
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        await self.close()

    def start(self) -> None:
        """Start one dispatcher task per destination, and housekeeping every minute (in `run`
        and during a backfill alike: the log stays about as large as the backlog)."""
        if not self._tasks:
            self._tasks = [
                asyncio.create_task(self._dispatch(dispatcher), name=f"dispatch:{name}")
                for name, dispatcher in self.dispatchers.items()
            ]
        if self._housekeeping is None:
            self._housekeeping = asyncio.create_task(self._keep_house(), name="housekeeping")

    async def _dispatch(self, dispatcher: Dispatcher) -> None:
        """Run `dispatcher` until the agent stops. An unexpected error (the state database
        failing for a moment, say) is logged, shown as the destination's failure, and the
        dispatcher starts again after a pause; it resumes from the confirmed offsets, so what was
        under way is sent again and nothing is skipped."""
        pause = _DISPATCH_RESTART_SECONDS
        while not self._stop.is_set():
            try:
                await dispatcher.run(self._stop)
            except Exception as error:  # noqa: BLE001 - delivery must never stop silently
                _log.exception("dispatcher failed; it starts again", destination=dispatcher.name,
                               retry_in_seconds=pause)  # fmt: skip
                dispatcher.failure = f"dispatcher failed: {type(error).__name__}: {error}"
                await first_of(self._stop.wait(), asyncio.sleep(pause), within=pause + 1)
                pause = min(pause * 2, _DISPATCH_RESTART_MAX_SECONDS)
            else:
                return

    def stop_reading(self) -> None:
        """Start no further backfill or catch-up slices; those under way finish."""
        self._stop_reading.set()

    def stop(self) -> None:
        """Stop a backfill (on a signal): no further slices, delivery ends after the batches
        under way, and the backfill reports what is left undelivered as stopped. Everything read
        stays in the state; running the backfill again goes on from there."""
        self._stop_reading.set()
        self._stop.set()

    async def close(self, grace: float = 30.0) -> None:
        """Let batches in flight finish (up to `grace` seconds), then release everything."""
        self._stop_reading.set()
        self._stop.set()
        if self._housekeeping is not None:  # before the store closes under it
            self._housekeeping.cancel()
            await asyncio.gather(self._housekeeping, return_exceptions=True)
        pending = [*self._tasks, *self._refills.values()]
        if pending:
            _, unfinished = await asyncio.wait(pending, timeout=grace)
            for task in unfinished:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
        for dispatcher in self.dispatchers.values():
            await dispatcher.destination.close()
        await self._http.aclose()
        self.store.close()

    def _event_id_key(self) -> bytes:
        if self.config.event_id_key is not None:
            return self.config.event_id_key.get_secret_value().encode()
        stored = self.store.meta_value(_EVENT_ID_KEY)
        if stored is None:
            stored = secrets.token_bytes(32)
            self.store.set_meta_value(_EVENT_ID_KEY, stored)
        return stored

    def _tenant_sync(self, name: str) -> TenantSync:
        tenant = self.config.tenants[name]
        defaults = self.config.defaults
        source = tenant.nordpass
        bounds = self._bounds.setdefault(source.endpoint, BoundKnowledge())
        client = activity_client(
            name,
            source,
            pool=self._http,
            retry=RetryPolicy.from_clock(self._clock),
            per_page=tenant.page_size or defaults.page_size,
            pacer=RequestPacer(source.requests_per_second, clock=self._clock),
            failpoints=self._failpoints,
            one_second=bounds.one_second,
        )
        settings = TenantSettings(
            name=name,
            organization_uuid=str(source.organization_uuid) if source.organization_uuid else None,
            start=tenant.start,
            settle_delay=(tenant.settle_delay or defaults.settle_delay).total_seconds(),
            lookback=(tenant.lookback or defaults.lookback).total_seconds(),
            max_live_window=defaults.max_live_window.total_seconds(),
        )
        return TenantSync(
            settings,
            source=client,
            store=self.store,
            identity=self._identity,
            clock=self._clock,
            notify=self._notify,
            failpoints=self._failpoints,
            bounds=bounds,
        )

    def _notify(self, tenant: str) -> None:
        for name in self.routes.get(tenant, ()):
            self.dispatchers[name].wake()

    def _delivered(self, destination: str, tenant: str) -> None:
        """A destination confirmed a batch: if it was detached, re-fetch the gap it missed."""
        if destination in self._refills or self._stop.is_set():
            return
        if self.store.outbox.gaps(destination):
            task = asyncio.create_task(self._refill(destination), name=f"refill:{destination}")
            self._refills[destination] = task

    async def _refill(self, destination: str) -> None:
        try:
            for gap in self.store.outbox.gaps(destination):
                if gap.tenant not in self.syncs:  # the tenant left the configuration
                    self.store.outbox.close_gap(gap)
                    continue
                await self._refetch_gap(gap)
        except AgentError as error:
            _log.warning(
                "gap re-fetch failed; will retry", destination=destination, error=str(error)
            )
        except Exception:  # noqa: BLE001 - a bug must not end the re-fetch without a word
            _log.exception("gap re-fetch failed unexpectedly; will retry", destination=destination)
        finally:
            self._refills.pop(destination, None)

    async def _refetch_gap(self, gap: Gap) -> None:
        _log.info("re-fetching the gap of a detached destination", tenant=gap.tenant,
                  destination=gap.destination, gap=(gap.start, gap.end))  # fmt: skip
        left: Gap | None = gap

        def shrink(until: int) -> None:
            # What was re-fetched is in the log for the destination: a re-fetch cut short (a
            # stop, an API failure) resumes after it.
            nonlocal left
            if left is not None and until < left.end:
                left = self.store.outbox.shrink_gap(left, until)

        sync = self.syncs[gap.tenant]
        outcome = await self.slicer.refetch(sync, gap.start, gap.end, gap.destination, shrink)
        if outcome.complete and (left is None or not self.store.outbox.close_gap(left)):
            _log.warning("the gap grew while it was re-fetched; it is re-fetched again",
                         tenant=gap.tenant, destination=gap.destination)  # fmt: skip

    def poll_interval(self, tenant: str) -> float:
        configured = self.config.tenants[tenant].poll_interval or self.config.defaults.poll_interval
        return configured.total_seconds()

    async def poll_tenant(self, name: str) -> None:
        """One scheduled live cycle; errors are logged here so other tenants carry on."""
        if not self._room_for(name):
            return
        sync = self.syncs[name]
        try:
            report = await sync.poll_cycle()
            if report.catch_up is not None:
                _log.info("catching up", tenant=name, window=report.catch_up)
                outcome = await self.slicer.catch_up(sync, *report.catch_up)
                report.appended += outcome.appended
        except FatalError as error:
            _log.error("tenant cycle failed; needs attention", tenant=name, error=str(error))
        except AgentError as error:
            _log.warning("tenant cycle failed; will retry", tenant=name, error=str(error))
        except Exception:  # noqa: BLE001 - a bug must not go unlogged nor stop the other tenants
            _log.exception("tenant cycle failed unexpectedly; will retry", tenant=name)
        else:
            if report.appended:
                _log.info("new events", tenant=name, events=report.appended,
                          watermark=self.store.watermark(name))  # fmt: skip
        self._warn_if_stale(name)

    def _warn_if_stale(self, name: str) -> None:
        """NordPass does not publish its retention (a query spans at most 90 days): a watermark
        this old risks losing data for good, so say it loudly every cycle."""
        watermark = self.store.watermark(name)
        if watermark is None:
            return
        age_days = (self._clock.now() - watermark) / 86400
        if age_days > _STALE_WATERMARK_DAYS:
            _log.error("tenant is far behind: events older than the API's retention will be lost",
                       tenant=name, watermark_age_days=round(age_days, 1))  # fmt: skip

    @property
    def clock(self) -> Clock:
        return self._clock

    def backlog_limit(self, name: str) -> int:
        """Events waiting for one destination before the tenant's `on_backlog_full` applies."""
        return (
            self.config.tenants[name].max_backlog_events or self.config.defaults.max_backlog_events
        )

    def _room_for(self, name: str) -> bool:
        """Backpressure: may this tenant be polled now? Detaches a lagging destination if so
        configured."""
        tenant, defaults = self.config.tenants[name], self.config.defaults
        limit = tenant.max_backlog_events or defaults.max_backlog_events
        policy = tenant.on_backlog_full or defaults.on_backlog_full
        for destination in self.routes[name]:
            backlog = self.store.outbox.backlog(name, destination)
            if backlog < limit:
                continue
            if policy == "pause" or destination in self._refills:
                # While a destination's gap is being re-fetched its backlog is that gap: skipping
                # it would only widen the gap, so the tenant waits, as with `pause`.
                _log.warning("polling paused: destination backlog full", tenant=name,
                             destination=destination, backlog=backlog, limit=limit)  # fmt: skip
                return False
            gap = self.store.outbox.detach(name, destination, now=self._clock.now())
            _log.warning("destination detached: backlog full; its gap will be re-fetched",
                         tenant=name, destination=destination, backlog=backlog,
                         gap=None if gap is None else (gap.start, gap.end))  # fmt: skip
        size = self.store.size_bytes()
        if size > self.config.max_state_bytes:
            _log.warning("polling paused: state file over max_state_bytes", tenant=name,
                         size=size, limit=self.config.max_state_bytes)  # fmt: skip
            return False
        return True

    async def housekeeping(self) -> None:
        """Delete delivered log rows and expired dead letters; fold the WAL back. Rows go a
        chunk at a time, letting the event loop run in between."""
        removed = 0
        while (chunk := self.store.outbox.prune_chunk()) == PRUNE_CHUNK:
            removed += chunk
            await asyncio.sleep(0)
        removed += chunk
        ttl = self.config.dead_letter_ttl.total_seconds()
        expired = self.store.dead_letters.expire(self._clock.now() - ttl)
        self.store.checkpoint()
        if removed or expired:
            _log.debug("housekeeping", log_rows_removed=removed, dead_letters_expired=expired)

    async def backfill(
        self,
        since: float,
        until: float,
        *,
        tenants: Sequence[str] | None = None,
        destinations: Sequence[str] | None = None,
    ) -> BackfillReport:
        """Deliver everything in `[since, until)` and wait until every target destination
        confirmed it. With `destinations` named, replay into those only, bypassing the
        already-seen check (same ids), e.g. to give a new SIEM its history."""
        self.start()
        report = BackfillReport(since=math.floor(since), until=math.ceil(until))
        names = (
            list(tenants) if tenants else [n for n, t in self.config.tenants.items() if t.enabled]
        )
        reading = set(names)

        def done_reading(name: str) -> None:
            reading.discard(name)
            if not reading:  # nothing more will be appended: no batch needs to wait for company
                for dispatcher in self.dispatchers.values():
                    dispatcher.flush()

        outcomes = await asyncio.gather(
            *(self._backfill_tenant(name, report, destinations, done_reading) for name in names)
        )
        report.tenants.extend(outcomes)
        await self.housekeeping()
        return report

    async def _keep_house(self) -> None:
        while True:  # real time, not the agent's clock: this is about disk space, not events
            await asyncio.sleep(self._housekeeping_seconds)
            try:
                await self.housekeeping()
            except Exception:  # noqa: BLE001 - try again next time; say so now
                _log.exception("housekeeping failed; delivered rows are kept")

    async def _backfill_tenant(
        self,
        name: str,
        report: BackfillReport,
        destinations: Sequence[str] | None,
        done_reading: Callable[[str], None],
    ) -> TenantOutcome:
        sync = self.syncs[name]
        outcome = TenantOutcome(tenant=name)
        targets = [d for d in self.routes[name] if not destinations or d in destinations]
        before = {d: self.store.outbox.delivered(name, d) for d in targets}
        replays: list[str | None] = list(targets) if destinations else [None]
        problems = []
        # When each replay into a destination began (earlier, if it resumes one cut short).
        replay_began: dict[str, float] = {}
        for target in replays:
            if target is not None:
                replay_began[target] = self._replay_began(name, target)
            sliced = await self.slicer.backfill(sync, report.since, report.until, target)
            outcome.fetched += sliced.appended
            problems += sliced.incomplete
            if target is not None and sliced.complete:
                self.store.forget_slices(name, target)  # a later replay starts afresh
        done_reading(name)
        problems += await self.drain(name, targets)
        outcome.delivered = {d: self.store.outbox.delivered(name, d) - before[d] for d in targets}
        outcome.dead_lettered = self._dead_lettered(name, targets, report, replay_began)
        problems += [
            f"destination {target!r} refused {refused} events of the range, kept as dead "
            "letters (nordpass-agent dead-letters list)"
            for target, refused in outcome.dead_lettered.items()
        ]
        if problems:
            outcome.error = "; ".join(problems[:3]) + (" …" if len(problems) > 3 else "")
            _log.error("backfill incomplete for tenant", tenant=name, problems=problems[:10])
        return outcome

    def _dead_lettered(
        self,
        tenant: str,
        targets: Sequence[str],
        report: BackfillReport,
        replay_began: Mapping[str, float],
    ) -> dict[str, int]:
        """Events of the range each target keeps as dead letters: a refused event is not
        delivered, and the range is complete once its letter is replayed. A replay into a
        destination sends the range again and counts only what it saw refused (since
        `replay_began`): older letters may be of events it has just delivered."""
        counts = {
            target: self.store.dead_letters.count_in_range(
                tenant, target, report.since, report.until, since=replay_began.get(target)
            )
            for target in targets
        }
        return {target: count for target, count in counts.items() if count}

    def _replay_began(self, tenant: str, target: str) -> float:
        """When this replay into `target` began: now, or when the replay it resumes began (its
        completed slices are skipped, so the letters refused then still count)."""
        key = f"replay_began:{tenant}:{target}"
        if not self.store.completed_slices(tenant, target):
            now = self._clock.now()
            self.store.set_meta_value(key, repr(now).encode())
            return now
        stored = self.store.meta_value(key)
        # Resuming a replay an earlier version began: every letter of the range counts.
        return float("-inf") if stored is None else float(stored.decode())

    async def drain(self, tenant: str, targets: Sequence[str]) -> list[str]:
        """Wait until each target confirmed the tenant's backlog, or stopped on a fatal error.

        Each batch confirmed with rows of the tenant wakes the wait for a cheap check (is any
        row left above the offset?); a failure, which confirms nothing, is noticed within
        `_DRAIN_CHECK_SECONDS`, and a stop ends the wait at once."""
        problems = []
        outbox = self.store.outbox
        for name in targets:
            dispatcher = self.dispatchers[name]
            while not outbox.caught_up(tenant, name):
                failure = dispatcher.failure_for(tenant)
                if failure is not None or self._stop.is_set():
                    backlog = outbox.backlog(tenant, name)
                    problems.append(
                        f"destination {name!r} holds {backlog} undelivered events: "
                        f"{failure or 'stopped'}"
                    )
                    break
                progressed = dispatcher.progressed(tenant)
                await first_of(self._stop.wait(), progressed.wait(), within=_DRAIN_CHECK_SECONDS)
        return problems
