"""`nordpass-agent check`: can every tenant reach its API and every destination accept data?

Each problem is one line naming the tenant or destination and what to fix, never a secret.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from agent.clock import SystemClock
from agent.config.model import AgentConfig
from agent.errors import AgentError
from agent.nordpass.http import HttpClientPool
from agent.nordpass.retry import RetryPolicy
from agent.runtime import activity_client
from connectors import build_destination

__all__ = ["ConnectivityReport", "check_connectivity"]


@dataclass(slots=True)
class ConnectivityReport:
    lines: list[str] = field(default_factory=list)
    ok: bool = True

    def record(self, subject: str, passed: bool, detail: str) -> None:
        self.ok = self.ok and passed
        self.lines.append(f"{'ok  ' if passed else 'FAIL'} {subject}: {detail}")


async def check_connectivity(config: AgentConfig) -> ConnectivityReport:
    report = ConnectivityReport()
    clock = SystemClock()
    async with HttpClientPool() as pool:
        for name, tenant in config.tenants.items():
            client = activity_client(
                name,
                tenant.nordpass,
                pool=pool,
                retry=RetryPolicy.from_clock(clock, attempts=2, max_delay=2.0),
            )
            now = math.floor(clock.now())
            try:
                total, _ = await client.probe_total(now - 86400, now)
            except AgentError as error:
                report.record(f"tenant {name}", passed=False, detail=str(error))
            else:
                report.record(
                    f"tenant {name}", passed=True, detail=f"API reachable, {total} events in 24 h"
                )
    for name, settings in config.destinations.items():
        destination = build_destination(name, settings, config.tenant_overrides(name))
        try:
            health = await destination.check()
        except AgentError as error:
            report.record(f"destination {name}", passed=False, detail=str(error))
        else:
            report.record(f"destination {name}", passed=health.ok, detail=health.detail)
        finally:
            await destination.close()
    return report
