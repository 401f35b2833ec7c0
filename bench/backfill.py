"""End-to-end backfill throughput: sandbox NordPass API -> contender -> HEC emulator (gzip on),
all on loopback, four contenders side by side in one run:

- `agent`: `nordpass-agent backfill` (verified windows, fingerprints, ids, durable log, HEC);
- `wire`: the same events pre-rendered, POSTed in the agent's batch sizes: the ceiling;
- `naive`: the public reference connector's loop: what users have today;
- `bare`: the agent's reading, rendering and sending with none of its guarantees (no state, no
  ids, no checks), at its page size, concurrency and batch size: what any reader could reach
  here, with the emulators sharing the machine's cores.

    python -m bench.backfill [--events 1000000] [--small-events 100000] [--quick] [--profile F]

Each contender is its own process (emulators in others), measured alone: events/s over its
wall-clock time, CPU seconds per 100k events and peak RSS. A second agent run over a tenth of
the history shows how its memory grows with the backlog. Prints a table and merges the figures
into bench/results.json.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
from pathlib import Path
from typing import Any

from bench.common import figure, load_average, print_table
from bench.render import merge_results
from bench.scenario import (
    AgentSettings,
    History,
    Outcome,
    iter_history_events,
    run_agent,
    run_bare,
    run_naive,
    run_wire,
)
from bench.wire import write_spool

TARGET_AGENT_OVER_WIRE = 0.5
TARGET_PEAK_RSS_MB = 200.0
TARGET_RSS_GROWTH = 1.3
_PREFIX = "backfill"


def _contender_figures(outcome: Outcome, events_label: str) -> list[dict[str, Any]]:
    name = f"{_PREFIX}.{outcome.contender}"
    context: dict[str, Any] = {
        "events": outcome.delivered,
        "expected_events": outcome.expected_events,
        "complete": outcome.complete,
        "wall_seconds": round(outcome.process.wall_seconds, 2),
        "emulators_cpu_seconds": round(outcome.emulator_cpu_seconds, 1),
        "api_requests": outcome.api.get("requests"),
        "hec_requests": outcome.hec.get("requests"),
        "history": events_label,
    }
    peak_target = TARGET_PEAK_RSS_MB if outcome.contender == "agent" else None
    return [
        figure(f"{name}.events_per_second", outcome.events_per_second, "events/s (wall clock)",
               **context),
        figure(f"{name}.cpu_seconds_per_100k", outcome.cpu_seconds_per_100k,
               "CPU s per 100k events", higher_is_better=False, **context),
        figure(f"{name}.peak_rss_mb", outcome.process.peak_rss_mb, "MB (peak RSS)",
               target=peak_target, higher_is_better=False, **context),
    ]  # fmt: skip


def _figures(
    wire: Outcome, naive: Outcome, bare: Outcome, agent: Outcome, *, small: Outcome, label: str
) -> list[dict[str, Any]]:
    contenders = (agent, wire, naive, bare)
    figures = [item for outcome in contenders for item in _contender_figures(outcome, label)]
    figures += [
        figure(f"{_PREFIX}.agent_over_wire", agent.events_per_second / wire.events_per_second,
               "ratio of events/s", target=TARGET_AGENT_OVER_WIRE),
        figure(f"{_PREFIX}.agent_over_naive", agent.events_per_second / naive.events_per_second,
               "ratio of events/s"),
        figure(f"{_PREFIX}.bare_over_wire", bare.events_per_second / wire.events_per_second,
               "ratio of events/s"),
        figure(f"{_PREFIX}.agent_over_bare", agent.events_per_second / bare.events_per_second,
               "ratio of events/s"),
        figure(f"{_PREFIX}.agent.rss_growth", agent.process.peak_rss_bytes
               / small.process.peak_rss_bytes, "ratio of peak RSS", target=TARGET_RSS_GROWTH,
               higher_is_better=False, large_events=agent.delivered, small_events=small.delivered,
               small_peak_rss_mb=round(small.process.peak_rss_mb, 1)),
        figure(f"{_PREFIX}.complete", int(all(o.complete for o in (*contenders, small))),
               "1 if every run delivered every event", target=1),
    ]  # fmt: skip
    return figures


def run(args: argparse.Namespace) -> list[dict[str, Any]]:
    history = History.about(args.events, page_cap=args.page_cap)
    small_history = History.about(args.small_events, page_cap=args.page_cap)
    print(f"backfill: ~{args.events:,} sandbox events over {history.days} days "
          f"(agent also over ~{args.small_events:,}), loopback, gzip on; "
          f"load average {load_average()}")  # fmt: skip
    spool_dir = Path(tempfile.mkdtemp(prefix="nordpass-bench-spool-"))
    try:
        spool = spool_dir / "batches.bin"
        events = write_spool(iter_history_events(history), spool, tenant="acme",
                             batch_events=args.batch_events)  # fmt: skip
        wire = run_wire(spool, events)
    finally:
        shutil.rmtree(spool_dir, ignore_errors=True)
    print(wire.describe())
    naive = run_naive(history)
    print(naive.describe())
    settings = AgentSettings(
        page_size=args.page_size, batch_max_events=args.batch_events, profile=args.profile
    )
    bare = run_bare(history, settings)
    print(bare.describe())
    agent = run_agent(history, settings)
    print(agent.describe())
    small_settings = AgentSettings(page_size=args.page_size, batch_max_events=args.batch_events)
    small = run_agent(small_history, small_settings, label="agent (small)")
    print(small.describe())
    figures = _figures(wire, naive, bare, agent, small=small, label=f"~{args.events:,} events")
    print_table(figures)
    print(f"load average after: {load_average()}")
    return figures


def arguments(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--small-events", type=int, default=100_000)
    parser.add_argument("--quick", action="store_true", help="100k and 10k events")
    parser.add_argument("--page-size", type=int, default=100, help="the agent's page_size")
    parser.add_argument("--page-cap", type=int, default=100, help="the emulator's page cap")
    parser.add_argument("--batch-events", type=int, default=500, help="the agent's batch size")
    parser.add_argument("--profile", type=Path, help="cProfile output of the agent's run")
    parser.add_argument("--no-write", action="store_true", help="print only")
    args = parser.parse_args(argv)
    if args.quick:
        args.events, args.small_events = 100_000, 10_000
    return args


def main(argv: list[str] | None = None) -> None:
    args = arguments(argv)
    figures = run(args)
    if not args.no_write:
        merge_results(figures)


if __name__ == "__main__":
    main()
