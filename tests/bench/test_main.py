"""`python -m bench --quick` runs the latency benchmark beside the others: its figures reach the
shared results file only once it is collected, and stopping it ends what it started."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from bench.__main__ import Beside

TINY_LATENCY = ["--tenants", "2", "--events-per-second", "2", "--interval", "1",
                "--settle-delay", "1", "--minutes", "0.15"]  # fmt: skip
# Liveness bounds, not timings.
DEADLINE = 30.0


@pytest.fixture
def beside() -> Iterator[Beside]:
    running = Beside("latency", TINY_LATENCY)
    yield running
    running.stop()


def _wait_until(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + DEADLINE
    while not condition():
        assert time.monotonic() < deadline, f"still waiting for {what}"
        time.sleep(0.1)


def _members(session: int) -> int:
    """How many processes of this session are alive (zombies excluded)."""
    count = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        count += fields[3] == str(session) and fields[0] != "Z"
    return count


def test_its_figures_are_merged_only_when_it_is_collected(beside: Beside, tmp_path: Path) -> None:
    results = tmp_path / "results.json"
    before = {"figures": [{"name": "render.native.admin", "value": 1}]}
    results.write_text(json.dumps(before))
    _wait_until(lambda: beside.poll() is not None, "the latency run to end")
    assert json.loads(results.read_text()) == before
    beside.collect(results)
    names = {item["name"] for item in json.loads(results.read_text())["figures"]}
    assert names == {
        "render.native.admin",
        "latency.visible_to_indexed_p50",
        "latency.visible_to_indexed_p99",
    }


def test_stopping_it_ends_its_agent_and_emulators_too(beside: Beside) -> None:
    # Under way: the benchmark's own process, its emulators' and its agent's.
    _wait_until(lambda: _members(beside.session) >= 3, "the agent and emulators to start")
    beside.stop()
    _wait_until(lambda: _members(beside.session) == 0, "the session to end")
