"""Smoke tests of the end-to-end benchmarks at tiny sizes: every contender runs as its own
process against emulators in their own, delivers every event, and every figure has the shape of
bench/results.json. Nothing here asserts a timing."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from bench import api_latency, backfill, bare
from bench.common import start_emulator
from bench.scenario import AgentSettings, History, run_bare

pytestmark = pytest.mark.slow

FIGURE_KEYS = {"name", "value", "unit", "target", "pass", "load_average"}


def _by_name(figures: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    assert all(figure.keys() >= FIGURE_KEYS for figure in figures)
    return {figure["name"]: figure for figure in figures}


def test_the_backfill_benchmark_delivers_every_event_with_each_contender() -> None:
    figures = _by_name(
        backfill.run(backfill.arguments(["--events", "2000", "--small-events", "500"]))
    )
    assert figures["backfill.complete"]["value"] == 1
    for contender in ("agent", "wire", "naive", "bare"):
        assert figures[f"backfill.{contender}.events_per_second"]["value"] > 0
        assert figures[f"backfill.{contender}.peak_rss_mb"]["value"] > 0
    assert figures["backfill.agent_over_wire"]["target"] == backfill.TARGET_AGENT_OVER_WIRE
    assert figures["backfill.agent.rss_growth"]["pass"] in (True, False)
    assert figures["backfill.bare_over_wire"]["target"] is None


def test_bare_reads_every_page_when_the_server_caps_the_page_size() -> None:
    # Asked for pages of 1,000, served pages of 100: a page of 100 is full, not the last.
    outcome = run_bare(History.about(3000, page_cap=100), AgentSettings(page_size=1000))
    assert outcome.complete


def test_bare_ends_with_the_error_when_hec_refuses_a_batch() -> None:
    history = History.about(3000)
    with start_emulator("nordpass", *history.nordpass_options()) as nordpass, \
            start_emulator("hec", "--token", "the-right-token") as hec:  # fmt: skip
        api = nordpass.ready
        argv = ["--api", api["url"], "--token", api["token"], "--since", str(history.start),
                "--until", str(history.end), "--hec", hec.ready["url"],
                "--hec-token", "a-wrong-token"]  # fmt: skip
        with pytest.raises(httpx.HTTPStatusError, match="403"):
            bare.main(argv)


def test_the_api_latency_benchmark_counts_the_rate_limited_replies() -> None:
    argv = ["--events", "1500", "--concurrency", "1", "--no-page100"]
    figures = _by_name(api_latency.run(api_latency.arguments(argv)))
    assert figures["api_latency.complete"]["value"] == 1
    assert figures["api_latency.agent.c1.rate_limited"]["unit"].startswith("429")
    assert figures["api_latency.agent.best_over_naive"]["best_setting"] == "backfill_concurrency 1"
