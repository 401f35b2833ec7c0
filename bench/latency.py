"""Latency: an event visible in the emulated NordPass API until it is indexed by the emulated HEC.

    python -m bench.latency [--quick] [--tenants N] [--minutes M] [--no-write]

The agent runs as a real `nordpass-agent run` process at `poll_interval` 10 s and `settle_delay`
5 s against the emulators in a process of their own (see `bench.tenants`). Late arrivals are off,
so the emulator shows an event from the first instant of its second: latency is measured from
there to the moment the HEC emulator indexed the request that carried it (first copy, if sent
twice). Every event of the measured range is accounted for: one never indexed counts as
infinitely late. The range ends early enough for an event within target to arrive before the
agent stops.

Target: p99 <= poll_interval + settle_delay + 2 s (a second is read once the server's clock minus
`settle_delay` has passed its end, by the tenant's next cycle).
"""

from __future__ import annotations

import argparse
import math
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.common import figure, load_average, print_table
from bench.live import (
    AgentProcess,
    Recording,
    agent_config,
    percentile,
    serve_emulators,
    stop_emulators,
)
from bench.render import RESULTS, merge_results

__all__ = ["main"]

# Beyond the target, how long the agent keeps running after the measured range ends, as a share
# of the target.
_MARGIN = 0.5


@dataclass(frozen=True, slots=True)
class Scenario:
    tenants: int
    events_per_second: float
    interval: float
    settle_delay: float
    minutes: float
    quick: bool

    @property
    def target(self) -> float:
        return self.interval + self.settle_delay + 2

    def context(self) -> dict[str, Any]:
        return {
            "tenants": self.tenants,
            "events_per_second_per_tenant": self.events_per_second,
            "poll_interval_seconds": self.interval,
            "settle_delay_seconds": self.settle_delay,
            "minutes": self.minutes,
            "quick": self.quick,
        }


@dataclass(frozen=True, slots=True)
class Latencies:
    seconds: list[float]  # of the events indexed
    missing: int  # visible in the measured range, never indexed
    duplicates: int  # copies indexed more than once


def latencies(recording: Recording, measured_range: tuple[int, int]) -> Latencies:
    """Per event of the measured range, seconds from visible to indexed (first copy)."""
    lo, hi = measured_range
    first: dict[str, tuple[str, int, float]] = {}
    copies = 0
    for tenant, stamp, indexed_at, event_id in recording.events:
        seen = first.get(event_id)
        copies += seen is not None
        if seen is None or indexed_at < seen[2]:
            first[event_id] = (tenant, stamp, indexed_at)
    seconds = [at - stamp for _, stamp, at in first.values() if lo <= stamp < hi]
    missing = sum(recording.visible.values()) - len(seconds)
    return Latencies(seconds, missing, copies)


def measure(scenario: Scenario, root: Path) -> tuple[Latencies, tuple[int, int]]:
    now = math.floor(time.time())
    start = now - math.ceil(scenario.settle_delay + scenario.interval)
    organizations = tuple(
        (f"tenant-{i:03d}", scenario.events_per_second) for i in range(scenario.tenants)
    )
    with serve_emulators(organizations, history_start=start) as emulators:
        config = agent_config(
            root,
            emulators.ready,
            poll_interval=scenario.interval,
            settle_delay=scenario.settle_delay,
            start=start,
        )
        agent = AgentProcess(config, root / "agent.log")
        try:
            agent.wait_ready(scenario.tenants)
            began = math.ceil(time.time())
            time.sleep(scenario.minutes * 60)
            ended = time.time()
        finally:
            agent.stop()
        measured_range = (began, math.floor(ended - scenario.target * (1 + _MARGIN)))
        if measured_range[1] <= measured_range[0]:
            raise ValueError("the run is too short to measure anything: raise --minutes")
        recording = stop_emulators(emulators, measured_range)
    return latencies(recording, measured_range), measured_range


def figures(scenario: Scenario, result: Latencies, measured_range: tuple[int, int]) -> list[Any]:
    # An event never indexed is infinitely late: it weighs on the percentiles as such.
    seconds: Sequence[float] = result.seconds + [math.inf] * max(0, result.missing)
    context = {
        **scenario.context(),
        "events": len(seconds),
        "never_indexed": result.missing,
        "indexed_twice": result.duplicates,
        "measured_seconds": measured_range[1] - measured_range[0],
    }
    return [
        figure("latency.visible_to_indexed_p50", percentile(seconds, 0.5), "s", **context),
        figure("latency.visible_to_indexed_p99", percentile(seconds, 0.99), "s",
               target=scenario.target, higher_is_better=False,
               min=round(min(seconds, default=math.nan), 3),
               max=round(max(seconds, default=math.nan), 3), **context),
    ]  # fmt: skip


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    # Quick keeps the real interval and settle delay (the target depends on them) and makes up
    # for the short run with more events a second.
    parser.add_argument("--quick", action="store_true", help="a 30 s run at 4 events/s a tenant")
    parser.add_argument("--tenants", type=int, default=10)
    parser.add_argument("--events-per-second", type=float, help="per tenant; 1 (quick: 4)")
    parser.add_argument("--interval", type=float, default=10.0, help="poll interval, s")
    parser.add_argument("--settle-delay", type=float, default=5.0, help="s")
    parser.add_argument("--minutes", type=float, help="run length; default 3 (quick: 0.5)")
    parser.add_argument("--results", type=Path, default=RESULTS)
    parser.add_argument("--no-write", action="store_true", help="print only")
    args = parser.parse_args(argv)
    quick = args.quick
    scenario = Scenario(
        tenants=args.tenants,
        events_per_second=args.events_per_second or (4.0 if quick else 1.0),
        interval=args.interval,
        settle_delay=args.settle_delay,
        minutes=args.minutes or (0.5 if quick else 3.0),
        quick=quick,
    )
    print(f"{scenario.tenants} tenants at {scenario.events_per_second:g} events/s, poll interval "
          f"{scenario.interval:g} s, settle delay {scenario.settle_delay:g} s, "
          f"{scenario.minutes * 60:g} s; load average {load_average()}")  # fmt: skip
    with tempfile.TemporaryDirectory(prefix="bench-latency-") as root:
        result, measured_range = measure(scenario, Path(root))
    results = figures(scenario, result, measured_range)
    print_table(results)
    if not args.no_write:
        merge_results(results, args.results)


if __name__ == "__main__":
    main()
