"""Many tenants on one agent: 1,000 organisations polled every 60 s, 990 quiet and 10 busy.

    python -m bench.tenants [--quick] [--tenants N] [--busy N] [--minutes M] [--no-write]

The agent runs as a real `nordpass-agent run` process; the emulated NordPass API and Splunk HEC
share another process, so the CPU (utime + stime from /proc) and memory measured are the
agent's alone. Quiet tenants make about one event a minute, busy ones ten a second.

Poll drift is read from the emulator's request log, not from the agent: a tenant's cycle starts
with the first request after a pause of more than half an interval, and the k-th cycle is due
at `phase + k * interval`, where `phase` is the earliest `start_k - k * interval` the tenant
showed. Lateness is how far each cycle started behind that: a constant offset is not drift, a
cycle that slips (or a skipped one, a whole interval) is. The times include the HTTP hop, so a
poll held up in the agent's queues counts as late too.
"""

from __future__ import annotations

import argparse
import math
import tempfile
import time
from collections import defaultdict
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

__all__ = ["main", "percentile", "poll_lateness"]

QUIET_EVENTS_PER_SECOND = 1 / 60
BUSY_EVENTS_PER_SECOND = 10.0
_TARGET_CPU_PERCENT = 15.0
_TARGET_RSS_MB = 300.0
_TARGET_LATENESS_SECONDS = 5.0


def poll_lateness(
    requests: Sequence[tuple[str, float]], interval: float, window: tuple[float, float]
) -> list[float]:
    """Seconds each cycle that began within `window` started behind its tenant's schedule."""
    arrivals: dict[str, list[float]] = defaultdict(list)
    for tenant, received_at in requests:
        arrivals[tenant].append(received_at)
    lateness = []
    for times in arrivals.values():
        times.sort()
        gaps = zip([-math.inf, *times], times, strict=False)
        starts = [t for previous, t in gaps if t - previous > interval / 2]
        phase = min(start - k * interval for k, start in enumerate(starts))
        lateness += [
            start - (phase + k * interval)
            for k, start in enumerate(starts)
            if window[0] <= start <= window[1]
        ]
    return lateness


@dataclass(frozen=True, slots=True)
class Scenario:
    tenants: int
    busy: int
    interval: float
    settle_delay: float
    minutes: float
    quick: bool

    def organizations(self) -> tuple[tuple[str, float], ...]:
        busy = [(f"busy-{i:03d}", BUSY_EVENTS_PER_SECOND) for i in range(self.busy)]
        quiet = [
            (f"quiet-{i:04d}", QUIET_EVENTS_PER_SECOND) for i in range(self.tenants - self.busy)
        ]
        return tuple(busy + quiet)

    def context(self) -> dict[str, Any]:
        return {
            "tenants": self.tenants,
            "busy_tenants": self.busy,
            "poll_interval_seconds": self.interval,
            "settle_delay_seconds": self.settle_delay,
            "minutes": self.minutes,
            "quick": self.quick,
        }


@dataclass(frozen=True, slots=True)
class Measurement:
    window: tuple[float, float]
    cpu_seconds: tuple[float, float]  # user, system
    startup_seconds: float
    startup_cpu_seconds: float
    peak_rss_bytes: int
    exit_code: int
    log_levels: dict[str, int]
    recording: Recording


def measure(scenario: Scenario, root: Path) -> Measurement:
    """Run the agent against the emulators for the scenario's length; the raw measurements."""
    now = math.floor(time.time())
    # The first cycle reads one interval, like every later one; nothing exists before it.
    start = now - math.ceil(scenario.settle_delay + scenario.interval)
    with serve_emulators(scenario.organizations(), history_start=start) as emulators:
        config = agent_config(
            root,
            emulators.ready,
            poll_interval=scenario.interval,
            settle_delay=scenario.settle_delay,
            start=start,
        )
        agent = AgentProcess(config, root / "agent.log")
        try:
            startup = agent.wait_ready(scenario.tenants)
            began, cpu_began = time.time(), agent.cpu_seconds()
            time.sleep(scenario.minutes * 60)
            ended, cpu_ended = time.time(), agent.cpu_seconds()
            _, peak = agent.memory_bytes()
        finally:
            code = agent.stop()
        recording = stop_emulators(emulators)
    return Measurement(
        window=(began, ended),
        cpu_seconds=(cpu_ended[0] - cpu_began[0], cpu_ended[1] - cpu_began[1]),
        startup_seconds=startup,
        startup_cpu_seconds=sum(cpu_began),
        peak_rss_bytes=peak,
        exit_code=code,
        log_levels=agent.log_levels(),
        recording=recording,
    )


def figures(scenario: Scenario, measured: Measurement) -> list[dict[str, Any]]:
    began, ended = measured.window
    minutes = (ended - began) / 60
    recording = measured.recording
    nordpass = sum(began <= at <= ended for _, at in recording.nordpass)
    hec = sum(began <= at <= ended for at, _, _ in recording.hec)
    lateness = poll_lateness(recording.nordpass, scenario.interval, measured.window)
    context = {
        **scenario.context(),
        "agent_exit_code": measured.exit_code,
        "agent_log_lines_by_level": measured.log_levels,
        "emulators_cpu_seconds": round(recording.cpu_seconds, 1),
    }
    hec_target = 2 * scenario.busy + 60
    return [
        figure("tenants.agent_cpu", 100 * sum(measured.cpu_seconds) / (ended - began),
               "% of one core (average)", target=_TARGET_CPU_PERCENT, higher_is_better=False,
               user_cpu_seconds=round(measured.cpu_seconds[0], 2),
               system_cpu_seconds=round(measured.cpu_seconds[1], 2),
               startup_seconds=round(measured.startup_seconds, 2),
               startup_cpu_seconds=round(measured.startup_cpu_seconds, 2), **context),
        figure("tenants.agent_peak_rss", measured.peak_rss_bytes / 1_000_000, "MB (VmHWM)",
               target=_TARGET_RSS_MB, higher_is_better=False, **context),
        figure("tenants.nordpass_requests_per_minute", nordpass / minutes, "requests/min",
               requests=nordpass, **context),
        figure("tenants.hec_requests_per_minute", hec / minutes, "requests/min",
               target=hec_target, higher_is_better=False, requests=hec,
               events_indexed=sum(n for _, _, n in recording.hec), **context),
        figure("tenants.poll_lateness_p99", percentile(lateness, 0.99), "s behind schedule",
               target=_TARGET_LATENESS_SECONDS, higher_is_better=False,
               p50=round(percentile(lateness, 0.5), 3), max=round(max(lateness, default=0), 3),
               cycles=len(lateness), **context),
    ]  # fmt: skip


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="200 tenants, 10 s interval, 15 s")
    parser.add_argument("--tenants", type=int, help="default 1000 (quick: 200)")
    parser.add_argument("--busy", type=int, help="busy tenants among them; default 10 (quick: 2)")
    parser.add_argument("--minutes", type=float, help="measured run; default 5 (quick: 1/4)")
    parser.add_argument("--interval", type=float, help="poll interval, s; default 60 (quick: 10)")
    parser.add_argument("--settle-delay", type=float, default=60.0)
    parser.add_argument("--results", type=Path, default=RESULTS)
    parser.add_argument("--no-write", action="store_true", help="print only")
    args = parser.parse_args(argv)
    quick = args.quick
    scenario = Scenario(
        tenants=args.tenants or (200 if quick else 1000),
        busy=args.busy if args.busy is not None else (2 if quick else 10),
        interval=args.interval or (10.0 if quick else 60.0),
        settle_delay=args.settle_delay,
        minutes=args.minutes or (1 / 4 if quick else 5.0),
        quick=quick,
    )
    print(f"{scenario.tenants} tenants ({scenario.busy} busy at {BUSY_EVENTS_PER_SECOND:g} "
          f"events/s, the rest about 1 a minute), poll interval {scenario.interval:g} s, "
          f"{scenario.minutes:g} min; load average {load_average()}")  # fmt: skip
    with tempfile.TemporaryDirectory(prefix="bench-tenants-") as root:
        measured = measure(scenario, Path(root))
    results = figures(scenario, measured)
    print_table(results)
    if not args.no_write:
        merge_results(results, args.results)


if __name__ == "__main__":
    main()
