"""Assembles the agent from its configuration and runs it: live polling or a one-off backfill.

Each tenant gets its own API client (sharing the process's connection pools), its own sync and
its own error handling, so one tenant's expired token or one SIEM's outage never stops the rest.
"""

from __future__ import annotations

import asyncio
import math
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field
from types import TracebackType

import structlog

from agent.clock import Clock
from agent.config.model import AgentConfig, Tenant
from agent.errors import AgentError, FatalError
from agent.nordpass.client import ActivityClient
from agent.nordpass.http import HttpClientPool, HttpTimeouts
from agent.nordpass.retry import RetryPolicy
from agent.pipeline.delivery import Fanout
from agent.pipeline.identity import EventIdentity
from agent.pipeline.sync import DAY, TenantSettings, TenantSync
from agent.state import SqliteStateStore
from connectors import Destination, build_destination

__all__ = ["Agent", "BackfillReport", "TenantOutcome"]

_log = structlog.get_logger("agent")
_EVENT_ID_KEY = "event_id_key"


@dataclass(slots=True)
class TenantOutcome:
    tenant: str
    fetched: int = 0
    delivered: dict[str, int] = field(default_factory=dict)
    error: str | None = None


@dataclass(slots=True)
class BackfillReport:
    since: int
    until: int
    tenants: list[TenantOutcome] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        return all(outcome.error is None for outcome in self.tenants)


class Agent:
    def __init__(self, config: AgentConfig, *, clock: Clock) -> None:
        self.config = config
        self._clock = clock
        self._store = SqliteStateStore(config.state_path)
        self._http = HttpClientPool(timeouts=HttpTimeouts())
        self._identity = EventIdentity(self._event_id_key())
        self._destinations: dict[str, Destination] = {
            name: build_destination(name, settings)
            for name, settings in config.destinations.items()
        }

    async def __aenter__(self) -> Agent:
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        await self.close()

    async def close(self) -> None:
        for destination in self._destinations.values():
            await destination.close()
        await self._http.aclose()
        self._store.close()

    def _event_id_key(self) -> bytes:
        if self.config.event_id_key is not None:
            return self.config.event_id_key.get_secret_value().encode()
        stored = self._store.meta_value(_EVENT_ID_KEY)
        if stored is None:
            stored = secrets.token_bytes(32)
            self._store.set_meta_value(_EVENT_ID_KEY, stored)
        return stored

    def tenant_sync(self, name: str, only_destinations: Sequence[str] | None = None) -> TenantSync:
        tenant = self.config.tenants[name]
        targets = [ref.name for ref in tenant.destinations]
        if only_destinations:
            targets = [target for target in targets if target in only_destinations]
        defaults = self.config.defaults
        source = tenant.nordpass
        client = ActivityClient(
            name,
            source.endpoint,
            source.token,
            http=self._http.client_for(
                proxy=source.proxy, ca_file=source.ca_file, verify=source.verify_tls
            ),
            retry=RetryPolicy.from_clock(self._clock),
            per_page=tenant.page_size or defaults.page_size,
        )
        settings = TenantSettings(
            name=name,
            organization_uuid=str(source.organization_uuid) if source.organization_uuid else None,
            start=tenant.start,
            settle_delay=(tenant.settle_delay or defaults.settle_delay).total_seconds(),
            lookback=(tenant.lookback or defaults.lookback).total_seconds(),
        )
        return TenantSync(
            settings,
            source=client,
            store=self._store,
            identity=self._identity,
            fanout=Fanout([self._destinations[target] for target in targets]),
            clock=self._clock,
        )

    def poll_interval(self, tenant: Tenant) -> float:
        return (tenant.poll_interval or self.config.defaults.poll_interval).total_seconds()

    async def backfill(
        self,
        since: float,
        until: float,
        *,
        tenants: Sequence[str] | None = None,
        destinations: Sequence[str] | None = None,
    ) -> BackfillReport:
        """Deliver everything in `[since, until)` once. With `destinations` named, replay into
        those only, bypassing the already-seen check (same ids), e.g. to seed a new SIEM."""
        report = BackfillReport(since=math.floor(since), until=math.ceil(until))
        names = (
            list(tenants) if tenants else [n for n, t in self.config.tenants.items() if t.enabled]
        )
        outcomes = await asyncio.gather(
            *(self._backfill_tenant(name, report, destinations) for name in names)
        )
        report.tenants.extend(outcomes)
        return report

    async def _backfill_tenant(
        self, name: str, report: BackfillReport, destinations: Sequence[str] | None
    ) -> TenantOutcome:
        sync = self.tenant_sync(name, destinations)
        outcome = TenantOutcome(tenant=name)
        replay = bool(destinations)
        start = report.since
        try:
            while start < report.until:
                end = min(report.until, start + DAY)
                outcome.fetched += await sync.sync_window(start, end, replay=replay)
                start = end
        except AgentError as error:
            outcome.error = str(error)
            _log.error("backfill stopped for tenant", tenant=name, error=str(error))
        outcome.delivered = dict(sync.delivered)
        return outcome

    async def poll_tenant(self, name: str, sync: TenantSync) -> None:
        """One scheduled live cycle; errors are logged here so other tenants carry on."""
        try:
            report = await sync.poll_cycle()
        except FatalError as error:
            _log.error("tenant cycle failed; needs attention", tenant=name, error=str(error))
        except AgentError as error:
            _log.warning("tenant cycle failed; will retry", tenant=name, error=str(error))
        else:
            if report.delivered:
                _log.info(
                    "cycle delivered events",
                    tenant=name,
                    delivered=report.delivered,
                    watermark=report.watermark,
                )
