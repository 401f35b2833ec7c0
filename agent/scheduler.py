"""The long-running mode: one APScheduler interval job per tenant until asked to stop (the agent
runs its own housekeeping).

Jobs never overlap (`max_instances=1`) and missed runs collapse into one (`coalesce`). Tenants
that share an interval are spread evenly over it, each at a fixed phase: a thousand tenants on
60 s start about 17 cycles a second instead of all in the same few seconds, and every cycle starts
on time. (Random jitter would spread them too, but APScheduler adds it to the previous, already
jittered run: the schedule drifts later by half the jitter every cycle.)
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta

import structlog
from apscheduler.schedulers.asyncio import AsyncIOScheduler

from agent.runtime import Agent

__all__ = ["run_forever"]

_log = structlog.get_logger("agent.scheduler")


async def run_forever(agent: Agent, stop: asyncio.Event, *, grace: float = 30.0) -> None:
    """Poll every enabled tenant on its interval until `stop` is set; then let cycles in flight
    finish for up to `grace` seconds before cancelling them (a cancelled cycle has committed
    nothing it did not finish, so it is read again on the next start)."""
    agent.start()
    scheduler = AsyncIOScheduler(timezone=UTC)
    in_flight: set[asyncio.Task[None]] = set()

    async def poll(name: str) -> None:
        # The cycle runs in a task of its own: at shutdown APScheduler cancels its jobs' tasks at
        # once (and logs each as a failure), while a cycle in flight is to get `grace` seconds.
        cycle = asyncio.create_task(agent.poll_tenant(name), name=f"poll:{name}")
        in_flight.add(cycle)
        cycle.add_done_callback(in_flight.discard)
        try:
            await asyncio.shield(cycle)
        except asyncio.CancelledError:
            if not stop.is_set():
                raise

    intervals = {
        name: agent.poll_interval(name)
        for name, tenant in agent.config.tenants.items()
        if tenant.enabled
    }
    began = datetime.now(UTC)
    for name, phase in _phases(intervals).items():
        interval = intervals[name]
        scheduler.add_job(
            poll,
            "interval",
            args=(name,),
            seconds=interval,
            start_date=began + timedelta(seconds=phase),
            next_run_time=began + timedelta(seconds=phase),
            max_instances=1,
            coalesce=True,
            misfire_grace_time=max(1, int(interval)),
            id=f"poll:{name}",
        )
        _log.info(
            "tenant scheduled", tenant=name, poll_interval=interval, first_poll_in=round(phase, 3)
        )

    scheduler.start()
    try:
        await stop.wait()
    finally:
        scheduler.shutdown(wait=False)
        agent.stop_reading()  # a long catch-up ends after the slices under way
        _log.info("agent stopping", cycles_in_flight=len(in_flight))
        if in_flight:
            _, unfinished = await asyncio.wait(set(in_flight), timeout=grace)
            for task in unfinished:
                task.cancel()
            await asyncio.gather(*unfinished, return_exceptions=True)


def _phases(intervals: Mapping[str, float]) -> dict[str, float]:
    """Seconds after start-up of each tenant's first cycle: the tenants of one interval evenly
    spread over it, in name order (the first starts at once)."""
    groups: dict[float, list[str]] = defaultdict(list)
    for name, interval in intervals.items():
        groups[interval].append(name)
    return {
        name: interval * rank / len(names)
        for interval, names in groups.items()
        for rank, name in enumerate(sorted(names))
    }
