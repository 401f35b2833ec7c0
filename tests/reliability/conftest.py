"""Fixtures for the crash-safety tests: the sandbox API with two fixed organisations (a small one
for the fixed crash points, a ~50,000-event one for the random kills) and an uninterrupted
reference run of the small backfill, shared by the tests that compare ids with it. And for the
reliability scenarios: their size (`RELIABILITY_SCALE`), a HEC emulator, and the scoreboard whose
table is printed at the end of the session and written to a file.

The data lies wholly in the past on fixed dates, so every emulator instance serves exactly the
same events: a reference taken on one instance is valid for the others.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import pytest_asyncio

from agent.clock import SystemClock
from agent.nordpass.emulator import NordPassEmulator
from connectors.splunk_hec.emulator import HecEmulator
from tests.reliability.deployment import Deployment, Source
from tests.reliability.installation import HEC_TOKEN
from tests.reliability.scale import Scale, scale_from_environment
from tests.reliability.scoreboard import Scoreboard

T0 = 1_767_225_600  # 2026-01-01T00:00:00Z
HOUR = 3600
DAY = 86400

SMALL_ORGANIZATION = "5a1e0000-0000-4000-8000-000000000001"
SMALL_TOKEN = "tok-small-crash"
SMALL_RANGE = (T0, T0 + 6 * HOUR)
SMALL_BATCH = 250
SMALL_PAGE = 400

LARGE_ORGANIZATION = "1a29e000-0000-4000-8000-000000000002"
LARGE_TOKEN = "tok-large-crash"
LARGE_RANGE = (T0 + DAY, T0 + 3 * DAY)
LARGE_BATCH = 1000
LARGE_PAGE = 1000


def _emulator() -> NordPassEmulator:
    emulator = NordPassEmulator(clock=SystemClock(), seed=5)
    # Events an hour either side of each range: the backfill must cut exactly at its bounds.
    for name, uuid, token, rate, (since, until) in (
        ("small", SMALL_ORGANIZATION, SMALL_TOKEN, 0.25, SMALL_RANGE),
        ("large", LARGE_ORGANIZATION, LARGE_TOKEN, 0.3, LARGE_RANGE),
    ):
        emulator.add_organization(
            name,
            token=token,
            organization_uuid=uuid,
            events_per_second=rate,
            history_start=since - HOUR,
            history_end=until + HOUR,
        )
    emulator.knobs.per_page_cap = 1000
    return emulator


def small_source(emulator: NordPassEmulator) -> Source:
    return Source(emulator, SMALL_ORGANIZATION, SMALL_TOKEN, *SMALL_RANGE)


def large_source(emulator: NordPassEmulator) -> Source:
    return Source(emulator, LARGE_ORGANIZATION, LARGE_TOKEN, *LARGE_RANGE)


def small_deployment(root: Path, source: Source, *, backfill_concurrency: int = 4) -> Deployment:
    return Deployment(
        root,
        source,
        batch_max_events=SMALL_BATCH,
        page_size=SMALL_PAGE,
        backfill_concurrency=backfill_concurrency,
    )


@pytest.fixture
async def emulator() -> AsyncIterator[NordPassEmulator]:
    emulator = _emulator()
    await emulator.start()
    yield emulator
    await emulator.stop()


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def small_reference(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """Event by id from one uninterrupted backfill of the small range: exactly its ground truth."""
    emulator = _emulator()
    await emulator.start()
    try:
        source = small_source(emulator)
        reference = small_deployment(tmp_path_factory.mktemp("reference"), source)
        assert await reference.run() == 0, reference.log_tail()
        receipt = reference.receipt()
    finally:
        await emulator.stop()
    assert not receipt.duplicates
    events = receipt.events()
    assert sorted(events.values()) == source.ground_truth()
    return events


# -- the reliability scenarios ---------------------------------------------------------------

RESULTS_VARIABLE = "RELIABILITY_RESULTS"  # where the table is written; default: pytest's tmp dir
_SCOREBOARD = pytest.StashKey[Scoreboard]()
_RESULTS_PATH = pytest.StashKey[Path]()


@pytest.fixture(scope="session")
def scale() -> Scale:
    return scale_from_environment()


@pytest.fixture(scope="session")
def scoreboard(
    request: pytest.FixtureRequest, scale: Scale, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Scoreboard]:
    board = Scoreboard(scale.name)
    request.config.stash[_SCOREBOARD] = board
    yield board
    default = tmp_path_factory.getbasetemp() / "reliability-results.txt"
    path = Path(os.environ.get(RESULTS_VARIABLE) or default)
    board.write(path)
    request.config.stash[_RESULTS_PATH] = path


def pytest_terminal_summary(
    terminalreporter: pytest.TerminalReporter, config: pytest.Config
) -> None:
    board = config.stash.get(_SCOREBOARD, None)
    if board is None or not board.outcomes:
        return
    terminalreporter.write_sep("=", "reliability scenarios")
    terminalreporter.write_line(board.table())
    path = config.stash.get(_RESULTS_PATH, None)
    if path is not None:
        terminalreporter.write_line(f"(written to {path})")


@pytest.fixture
async def hec() -> AsyncIterator[HecEmulator]:
    emulator = HecEmulator(seed=17)
    emulator.add_token(HEC_TOKEN, name="nordpass", default_index="nordpass")
    await emulator.start()
    yield emulator
    await emulator.stop()
