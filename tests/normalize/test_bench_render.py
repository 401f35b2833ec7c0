"""The render benchmark runs end to end and merges its figures without touching others'
(timings themselves are never asserted)."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import pytest

from agent.normalize.serialization import StdlibJsonCodec
from bench import render


def test_the_benchmark_runs_every_format_on_a_few_events(
    capsys: pytest.CaptureFixture[str],
) -> None:
    render.main(["--events", "300", "--repeat", "1", "--privacy", "admin", "--no-write"])
    output = capsys.readouterr().out
    for output_format in ("native", "cef", "asim", "ocsf", "ecs"):
        assert output_format in output


def test_figures_replace_their_own_names_and_keep_everyone_elses(tmp_path: Path) -> None:
    path = tmp_path / "results.json"
    other = {"name": "engine.throughput", "value": 1, "unit": "x", "target": 1, "pass": True}
    stale = {"name": "render.cef.admin.json", "value": 1, "unit": "x", "target": 1, "pass": False}
    path.write_text(json.dumps({"figures": [other, stale]}))
    fresh = {**stale, "value": 2, "pass": True}
    render.merge_results([fresh], path)
    kept, written = json.loads(path.read_text())["figures"]
    assert kept == other
    stamp = written.pop("measured_at")
    assert written == fresh
    assert datetime.fromisoformat(stamp).tzinfo is not None  # `python -m bench` selects by it


def test_sample_events_cover_the_whole_catalog() -> None:
    actions = {event["action"] for event in render.sample_events(5000)}
    assert len(actions) > 100


def test_the_target_is_judged_on_the_median_run_and_the_best_is_shown_beside() -> None:
    runs = [render.Run(1000, cpu, cpu) for cpu in (0.02, 0.008, 0.0125, 0.011, 0.009)]
    figure = render.figure("cef", "admin", runs, StdlibJsonCodec())
    assert figure["value"] == 90_909  # 1000 events in 0.011 s, the middle of the five
    assert figure["best"] == 125_000
    assert figure["pass"] is False
    assert figure["runs"] == 5
    assert {"name", "value", "unit", "target", "pass"} <= figure.keys()


def test_the_median_of_an_even_number_of_runs_is_the_slower_middle_one() -> None:
    runs = [render.Run(100, cpu, cpu) for cpu in (1.0, 2.0, 4.0, 5.0)]
    assert render.median_run(runs).cpu_seconds == 4.0
