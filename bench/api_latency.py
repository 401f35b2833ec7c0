"""Backfill at a realistic API: every page takes 50 ms and the API allows 10 requests/s per token
(429 beyond). The agent at `backfill_concurrency` 1, 4 and 8 against `naive`, the reference
connector's loop, side by side in one run.

    python -m bench.api_latency [--events 200000] [--quick] [--concurrency 1 4 8]

The reference asks for pages of 100; the agent asks for `--page-size` (default 1,000, its
configured maximum) and pages at whatever size the server reports. The real API's maximum page
size is unknown, so the emulator here allows `--page-cap` (default 1,000); at a cap of 100 no
client can exceed 10 x 100 = 1,000 events/s under this rate limit, and `--page100` adds an agent
run at pages of 100 to show how much of the gain is page size. The agent paces itself at the
limit (`requests_per_second: 10`); every 429 it meets is counted. Prints a table and merges the
figures into bench/results.json.
"""

from __future__ import annotations

import argparse
from typing import Any

from bench.common import figure, load_average, print_table
from bench.render import merge_results
from bench.scenario import AgentSettings, History, Outcome, run_agent, run_naive

LATENCY_SECONDS = 0.05
RATE_LIMIT = 10.0
TARGET_OVER_NAIVE = 6.0
_PREFIX = "api_latency"


def _agent_figures(name: str, outcome: Outcome, naive: Outcome) -> list[dict[str, Any]]:
    context: dict[str, Any] = {
        "events": outcome.delivered,
        "expected_events": outcome.expected_events,
        "complete": outcome.complete,
        "wall_seconds": round(outcome.process.wall_seconds, 2),
        "api_requests": outcome.api.get("requests"),
    }
    return [
        figure(f"{name}.events_per_second", outcome.events_per_second, "events/s (wall clock)",
               **context),
        figure(f"{name}.over_naive", outcome.events_per_second / naive.events_per_second,
               "ratio of events/s", **context),
        figure(f"{name}.rate_limited", int(outcome.api.get("rate_limited", 0)),
               "429 replies (the API's rate limit)", target=0, higher_is_better=False, **context),
    ]  # fmt: skip


def run(args: argparse.Namespace) -> list[dict[str, Any]]:
    history = History.about(
        args.events, latency=LATENCY_SECONDS, rate_limit=RATE_LIMIT, page_cap=args.page_cap
    )
    print(f"api_latency: ~{args.events:,} events over {history.days} days, page latency "
          f"{LATENCY_SECONDS * 1000:.0f} ms, {RATE_LIMIT:g} requests/s per token, page cap "
          f"{args.page_cap}; load average {load_average()}")  # fmt: skip
    naive = run_naive(history)
    print(naive.describe())
    figures = [
        figure(f"{_PREFIX}.naive.events_per_second", naive.events_per_second,
               "events/s (wall clock)", events=naive.delivered, complete=naive.complete,
               wall_seconds=round(naive.process.wall_seconds, 2)),
        figure(f"{_PREFIX}.naive.rate_limited", int(naive.api.get("rate_limited", 0)),
               "429 replies (the API's rate limit)"),
    ]  # fmt: skip
    runs: dict[str, Outcome] = {}
    settings = [(f"c{c}", AgentSettings(c, args.page_size, RATE_LIMIT)) for c in args.concurrency]
    if args.page100:
        settings.append(("c4.page100", AgentSettings(4, 100, RATE_LIMIT)))
    for label, agent_settings in settings:
        outcome = run_agent(history, agent_settings, label=f"agent {label}")
        print(outcome.describe())
        runs[label] = outcome
        figures += _agent_figures(f"{_PREFIX}.agent.{label}", outcome, naive)
    tried = [label for label in runs if not label.endswith("page100")]
    best = max(tried, key=lambda label: runs[label].events_per_second)
    figures += [
        figure(f"{_PREFIX}.agent.best_over_naive",
               runs[best].events_per_second / naive.events_per_second, "ratio of events/s",
               target=TARGET_OVER_NAIVE, best_setting=f"backfill_concurrency {best[1:]}",
               page_size=args.page_size),
        figure(f"{_PREFIX}.agent.rate_limited_total",
               sum(int(o.api.get("rate_limited", 0)) for o in runs.values()),
               "429 replies over every agent run", target=0, higher_is_better=False),
        figure(f"{_PREFIX}.complete", int(naive.complete and all(o.complete
               for o in runs.values())), "1 if every run delivered every event", target=1),
    ]  # fmt: skip
    print_table(figures)
    print(f"load average after: {load_average()}")
    return figures


def arguments(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--quick", action="store_true", help="10k events, no page-100 run")
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 4, 8])
    parser.add_argument("--page-size", type=int, default=1000, help="the agent's page_size")
    parser.add_argument("--page-cap", type=int, default=1000, help="the emulator's page cap")
    parser.add_argument("--page100", action=argparse.BooleanOptionalAction, default=True,
                        help="also run the agent at pages of 100")  # fmt: skip
    parser.add_argument("--no-write", action="store_true", help="print only")
    args = parser.parse_args(argv)
    if args.quick:
        args.events, args.page100 = 10_000, False
    return args


def main(argv: list[str] | None = None) -> None:
    args = arguments(argv)
    figures = run(args)
    if not args.no_write:
        merge_results(figures)


if __name__ == "__main__":
    main()
