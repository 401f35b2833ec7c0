"""`python -m bench --quick` runs the latency benchmark beside the others: its figures reach the
shared results file only once it is collected, and a failure in front ends it too."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

from bench.__main__ import Beside

TINY_LATENCY = ["--tenants", "2", "--events-per-second", "2", "--interval", "1",
                "--settle-delay", "1", "--minutes", "0.15"]  # fmt: skip


def test_a_benchmark_beside_the_others_merges_its_figures_when_collected(tmp_path: Path) -> None:
    results = tmp_path / "results.json"
    results.write_text(json.dumps({"figures": [{"name": "render.native.admin", "value": 1}]}))
    beside = Beside("latency", TINY_LATENCY)
    assert json.loads(results.read_text())["figures"] == [
        {"name": "render.native.admin", "value": 1}
    ]
    beside.collect(results)
    names = {item["name"] for item in json.loads(results.read_text())["figures"]}
    assert names == {
        "render.native.admin",
        "latency.visible_to_indexed_p50",
        "latency.visible_to_indexed_p99",
    }


def _session_alive(session: int) -> bool:
    try:
        os.killpg(session, 0)
    except ProcessLookupError:
        return False
    return True


def test_stopping_it_ends_its_agent_and_emulators_too() -> None:
    beside = Beside("latency", TINY_LATENCY)
    time.sleep(3)  # under way: its emulators and agent started
    assert _session_alive(beside.session)
    beside.stop()
    deadline = time.monotonic() + 10  # a liveness bound, not a timing
    while _session_alive(beside.session) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not _session_alive(beside.session)
