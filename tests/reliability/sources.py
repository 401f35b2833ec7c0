"""The emulated ends of a reliability scenario: a NordPass organisation with a chosen number of
events in a range, and the destination settings that point the agent at a HEC emulator."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from agent.clock import SystemClock
from agent.nordpass.emulator import NordPassEmulator
from connectors.splunk_hec.emulator import HecEmulator
from tests.reliability.deployment import Source
from tests.reliability.installation import HEC_TOKEN

__all__ = ["hec_destination", "organisation"]


@contextlib.asynccontextmanager
async def organisation(
    uuid: str,
    token: str,
    *,
    events: int,
    since: int,
    until: int,
    history: tuple[float, float] | None = None,
    seed: int = 11,
) -> AsyncIterator[Source]:
    """A running emulator with one organisation of about `events` events in `[since, until)`,
    whose history spans `history` (default: an hour either side, so a read must cut exactly)."""
    emulator = NordPassEmulator(clock=SystemClock(), seed=seed)
    start, end = history if history is not None else (since - 3600, until + 3600)
    emulator.add_organization(
        f"org-{uuid[:8]}",
        token=token,
        organization_uuid=uuid,
        events_per_second=events / (until - since),
        history_start=start,
        history_end=end,
    )
    emulator.knobs.per_page_cap = 1000
    await emulator.start()
    try:
        yield Source(emulator, uuid, token, since, until)
    finally:
        await emulator.stop()


def hec_destination(hec: HecEmulator, **settings: object) -> str:
    """A `splunk_hec` destination for the emulator, as a YAML flow mapping."""
    extra = "".join(f", {key}: {value}" for key, value in settings.items())
    return f'{{type: splunk_hec, url: "{hec.url}", token: {HEC_TOKEN}, index: nordpass{extra}}}'
