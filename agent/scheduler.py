"""The long-running mode: one APScheduler interval job per tenant, plus housekeeping, until asked
to stop.

Jobs never overlap (`max_instances=1`), missed runs collapse into one (`coalesce`), and a little
jitter keeps many tenants on one interval from hitting the API in the same second.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import structlog
from apscheduler.schedulers.asyncio import AsyncIOScheduler

from agent.runtime import Agent

__all__ = ["run_forever"]

_log = structlog.get_logger("agent.scheduler")
_HOUSEKEEPING_SECONDS = 60


async def run_forever(agent: Agent, stop: asyncio.Event, *, grace: float = 30.0) -> None:
    """Poll every enabled tenant on its interval until `stop` is set; then let cycles in flight
    finish for up to `grace` seconds before cancelling them (a cancelled cycle has committed
    nothing it did not finish, so it is read again on the next start)."""
    agent.start()
    scheduler = AsyncIOScheduler(timezone=UTC)
    in_flight: set[asyncio.Task[object]] = set()

    async def poll(name: str) -> None:
        task = asyncio.current_task()
        assert task is not None  # noqa: S101 - always inside a task under the scheduler
        in_flight.add(task)
        try:
            await agent.poll_tenant(name)
        finally:
            in_flight.discard(task)

    for name, tenant in agent.config.tenants.items():
        if not tenant.enabled:
            continue
        interval = agent.poll_interval(name)
        scheduler.add_job(
            poll,
            "interval",
            args=(name,),
            seconds=interval,
            jitter=min(interval * 0.1, 10.0),
            max_instances=1,
            coalesce=True,
            misfire_grace_time=max(1, int(interval)),
            next_run_time=datetime.now(UTC),
            id=f"poll:{name}",
        )
        _log.info("tenant scheduled", tenant=name, poll_interval=interval)
    scheduler.add_job(
        agent.housekeeping, "interval", seconds=_HOUSEKEEPING_SECONDS, id="housekeeping"
    )
    scheduler.start()
    try:
        await stop.wait()
    finally:
        scheduler.shutdown(wait=False)
        _log.info("agent stopping", cycles_in_flight=len(in_flight))
        if in_flight:
            _, unfinished = await asyncio.wait(set(in_flight), timeout=grace)
            for task in unfinished:
                task.cancel()
            await asyncio.gather(*unfinished, return_exceptions=True)
