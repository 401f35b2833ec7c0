"""The many-tenants benchmark runs end to end at a tiny size and reads drift from a request log
(timings themselves are never asserted)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench import tenants


def test_a_tiny_run_prints_and_merges_every_figure(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    results = tmp_path / "results.json"
    tenants.main(["--tenants", "4", "--busy", "1", "--interval", "2", "--settle-delay", "1",
                  "--minutes", "0.1", "--results", str(results)])  # fmt: skip
    names = {item["name"] for item in json.loads(results.read_text())["figures"]}
    assert names == {
        "tenants.agent_cpu",
        "tenants.agent_peak_rss",
        "tenants.nordpass_requests_per_minute",
        "tenants.hec_requests_per_minute",
        "tenants.poll_lateness_p99",
    }
    assert "tenants.poll_lateness_p99" in capsys.readouterr().out


def test_cycles_on_time_are_not_late_and_a_slipped_cycle_is() -> None:
    requests = [("a", 100.0), ("a", 100.4), ("a", 160.0), ("a", 221.5), ("a", 221.9)]
    assert tenants.poll_lateness(requests, 60, (0, 1000)) == [0.0, 0.0, 1.5]


def test_a_constant_offset_is_not_drift_and_only_cycles_in_the_window_count() -> None:
    requests = [("a", 107.0), ("a", 167.0), ("b", 30.0), ("b", 90.0), ("b", 150.0)]
    assert tenants.poll_lateness(requests, 60, (100, 1000)) == [0.0, 0.0, 0.0]


def test_a_skipped_cycle_is_a_whole_interval_late() -> None:
    requests = [("a", 0.0), ("a", 120.0)]
    assert tenants.poll_lateness(requests, 60, (0, 1000)) == [0.0, 60.0]


def test_percentiles_are_nearest_rank() -> None:
    values = [float(v) for v in range(1, 101)]
    assert tenants.percentile(values, 0.99) == 99.0
    assert tenants.percentile(values, 0.5) == 50.0
