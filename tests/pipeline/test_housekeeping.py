"""Housekeeping runs on its own while the agent runs: delivered log rows go without anyone
calling it, and rows a destination has not confirmed stay."""

from __future__ import annotations

import asyncio

from agent.errors import RetryableError
from agent.runtime import Agent
from tests.pipeline.conftest import IMMEDIATE_RETRIES, Deployment, eventually
from tests.support import MemoryDestination


def _log_rows(agent: Agent) -> int:
    (count,) = agent.store.database.connection.execute("SELECT COUNT(*) FROM event_log").fetchone()
    return int(count)


async def test_delivered_rows_are_pruned_periodically_and_undelivered_ones_kept(
    deployment: Deployment,
) -> None:
    siem = MemoryDestination("siem", latency=0.001)
    down = MemoryDestination("down", latency=0.001)
    down.fail_with(RetryableError("HTTP 503 from the collector"))
    agent = deployment.open([siem, down], policy=IMMEDIATE_RETRIES, housekeeping_seconds=0.02)
    agent.start()

    await deployment.poll()
    await deployment.drained("siem")
    appended = _log_rows(agent)
    assert appended == len(siem.ids()) > 0
    await asyncio.sleep(0.2)  # about ten rounds: none removes a row `down` has not confirmed
    assert down.failed_attempts > 0
    assert _log_rows(agent) == appended

    down.recover()
    await deployment.drained("down")
    await eventually(lambda: _log_rows(agent) == 0)  # nobody called housekeeping()
    assert sorted(down.ids()) == sorted(siem.ids())
