"""The emulators of an end-to-end benchmark, each served from a process of its own, so the process
under test is measured alone.

    python -m bench.emulators nordpass --history-start S --history-end E --events-per-second R
        [--latency SECONDS] [--rate-limit PER_SECOND] [--page-cap N] [--seed N]
    python -m bench.emulators hec --token T [--index nordpass]

One JSON line on stdout says where it listens (and, for NordPass, the token, the organisation
and how many events its history holds). Each `stats` line on stdin is answered with one JSON
line of counters; end of input stops the server.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections import Counter
from typing import Any

from agent.clock import SystemClock
from agent.nordpass.emulator import EmulatorKnobs, NordPassEmulator
from connectors.splunk_hec.emulator import HecEmulator, HecKnobs

ORGANIZATION_NAME = "acme"
ORGANIZATION_UUID = "101b4232-0688-4599-bca8-4636c91cd687"
NORDPASS_TOKEN = "bench-nordpass-token"  # noqa: S105 - a sandbox token
HEC_TOKEN = "bench-hec-token"  # noqa: S105 - an emulator token
HEC_INDEX = "nordpass"


def nordpass_emulator(args: argparse.Namespace) -> NordPassEmulator:
    """The sandbox API with one organisation whose whole history lies in the past, so every
    reader (agent, reference loop, pre-rendering) sees the same fixed set of events."""
    knobs = EmulatorKnobs(
        per_page_cap=args.page_cap,
        latency_seconds=args.latency,
        rate_limit_per_second=args.rate_limit,
    )
    emulator = NordPassEmulator(clock=SystemClock(), knobs=knobs, seed=args.seed)
    emulator.add_organization(
        ORGANIZATION_NAME,
        token=NORDPASS_TOKEN,
        organization_uuid=ORGANIZATION_UUID,
        events_per_second=args.events_per_second,
        history_start=args.history_start,
        history_end=args.history_end,
    )
    return emulator


def _nordpass_stats(emulator: NordPassEmulator) -> dict[str, Any]:
    statuses = Counter(record.status for record in emulator.requests)
    return {
        "requests": len(emulator.requests),
        "statuses": {str(status): count for status, count in sorted(statuses.items())},
        # 429s the emulator's own rate limit gave (not scripted or random throttling).
        "rate_limited": sum(1 for r in emulator.requests if r.fault_source == "rate_limit"),
        "events_served": sum(r.events_returned or 0 for r in emulator.requests),
    }


def _hec_stats(emulator: HecEmulator) -> dict[str, Any]:
    statuses = Counter(record.status for record in emulator.requests)
    return {
        "requests": len(emulator.requests),
        "statuses": {str(status): count for status, count in sorted(statuses.items())},
        "indexed": emulator.indexed_count,
        "distinct_event_ids": len(emulator.distinct_event_ids),
        "wire_bytes": sum(record.wire_bytes for record in emulator.requests),
        "body_bytes": sum(record.body_bytes for record in emulator.requests),
    }


async def _serve(args: argparse.Namespace) -> None:
    loop = asyncio.get_running_loop()
    if args.kind == "nordpass":
        nordpass = nordpass_emulator(args)
        url = await nordpass.start()
        total = nordpass.visible_count(
            ORGANIZATION_UUID, int(args.history_start), int(args.history_end) + 1
        )
        ready: dict[str, Any] = {
            "url": url,
            "token": NORDPASS_TOKEN,
            "organization_uuid": ORGANIZATION_UUID,
            "events": total,
        }

        def stats() -> dict[str, Any]:
            return _nordpass_stats(nordpass)

        stop = nordpass.stop
    else:
        hec = HecEmulator(knobs=HecKnobs(record="event_ids"))
        hec.add_token(args.token, default_index=args.index, indexes=[args.index])
        ready = {"url": await hec.start(), "token": args.token, "index": args.index}

        def stats() -> dict[str, Any]:
            return _hec_stats(hec)

        stop = hec.stop
    print(json.dumps(ready), flush=True)
    try:
        while line := await loop.run_in_executor(None, sys.stdin.readline):
            if line.strip() == "stats":
                print(json.dumps(stats()), flush=True)
    finally:
        await stop()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    kinds = parser.add_subparsers(dest="kind", required=True)
    nordpass = kinds.add_parser("nordpass")
    nordpass.add_argument("--history-start", type=float, required=True)
    nordpass.add_argument("--history-end", type=float, required=True)
    nordpass.add_argument("--events-per-second", type=float, required=True)
    nordpass.add_argument("--latency", type=float, default=0.0)
    nordpass.add_argument("--rate-limit", type=float, default=None)
    nordpass.add_argument("--page-cap", type=int, default=100)
    nordpass.add_argument("--seed", type=int, default=0)
    hec = kinds.add_parser("hec")
    hec.add_argument("--token", default=HEC_TOKEN)
    hec.add_argument("--index", default=HEC_INDEX)
    asyncio.run(_serve(parser.parse_args(argv)))


if __name__ == "__main__":
    main()
