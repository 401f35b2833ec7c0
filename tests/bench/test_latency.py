"""The latency benchmark runs end to end at a tiny size and accounts for every event of its
range (timings themselves are never asserted)."""

from __future__ import annotations

import json
import math
from pathlib import Path

from bench import latency
from bench.live import Recording


def test_a_tiny_run_merges_both_percentiles(tmp_path: Path) -> None:
    results = tmp_path / "results.json"
    arguments = ["--tenants", "2", "--events-per-second", "2", "--interval", "1"]
    latency.main(
        [*arguments, "--settle-delay", "1", "--minutes", "0.15", "--results", str(results)]
    )
    figures = {item["name"]: item for item in json.loads(results.read_text())["figures"]}
    assert set(figures) == {"latency.visible_to_indexed_p50", "latency.visible_to_indexed_p99"}
    assert figures["latency.visible_to_indexed_p99"]["target"] == 4
    assert figures["latency.visible_to_indexed_p99"]["events"] > 0


def test_latency_runs_from_the_events_second_to_its_first_indexing() -> None:
    recording = Recording(
        events=[("a", 100, 108.5, "id-1"), ("a", 100, 120.0, "id-1"), ("a", 101, 110.0, "id-2")],
        visible={"a": 2},
    )
    result = latency.latencies(recording, (100, 102))
    assert sorted(result.seconds) == [8.5, 9.0]
    assert (result.missing, result.duplicates) == (0, 1)


def test_an_event_never_indexed_is_missing_and_infinitely_late() -> None:
    recording = Recording(events=[("a", 100, 105.0, "id-1")], visible={"a": 3})
    result = latency.latencies(recording, (100, 110))
    assert result.missing == 2
    figures = latency.figures(latency.Scenario(1, 1.0, 10, 5, 1, quick=False), result, (100, 110))
    assert math.isinf(figures[1]["value"])
    assert figures[1]["pass"] is False
