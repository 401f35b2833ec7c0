"""The emulators of an end-to-end benchmark, served from a process of their own, so the process
under test is measured alone.

    python -m bench.emulators nordpass --history-start S --history-end E --events-per-second R
        [--latency SECONDS] [--rate-limit PER_SECOND] [--page-cap N] [--seed N]
    python -m bench.emulators hec --token T [--index nordpass]
    python -m bench.emulators live --history-start S --organizations NAME=RATE ... [--seed N]

`nordpass` holds one organisation whose whole history lies in the past, `hec` counts what it
indexes; `live` serves both in one process, for an agent that runs: organisations whose history
grows as the run goes and an HEC that keeps every event. One JSON line on stdout says where they
listen (and with which tokens, organisations and, for `nordpass`, how many events its history
holds). Each `stats` line on stdin is answered with one JSON line of what they saw (for `live`,
`stats LO HI` adds how many events each organisation held in [LO, HI)); end of input stops them.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections import Counter
from collections.abc import Callable, Sequence
from contextlib import AsyncExitStack
from typing import Any

from agent.clock import SystemClock
from agent.nordpass.emulator import EmulatorKnobs, NordPassEmulator
from connectors.splunk_hec.emulator import HecEmulator, HecKnobs

ORGANIZATION_NAME = "acme"
ORGANIZATION_UUID = "101b4232-0688-4599-bca8-4636c91cd687"
NORDPASS_TOKEN = "bench-nordpass-token"  # noqa: S105 - a sandbox token
HEC_TOKEN = "bench-hec-token"  # noqa: S105 - an emulator token
HEC_INDEX = "nordpass"

# What a `stats` line is answered with, given the words after `stats`.
_Stats = Callable[[Sequence[str]], dict[str, Any]]


def _nordpass_emulator(args: argparse.Namespace) -> NordPassEmulator:
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
    # A reply still being held back (page latency) has no status yet.
    statuses = Counter(
        "pending" if record.status is None else str(record.status) for record in emulator.requests
    )
    return {
        "requests": len(emulator.requests),
        "statuses": dict(sorted(statuses.items())),
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


async def _serve_nordpass(
    args: argparse.Namespace, stack: AsyncExitStack
) -> tuple[dict[str, Any], _Stats]:
    nordpass = _nordpass_emulator(args)
    url = await nordpass.start()
    stack.push_async_callback(nordpass.stop)
    total = nordpass.visible_count(
        ORGANIZATION_UUID, int(args.history_start), int(args.history_end) + 1
    )
    ready = {
        "url": url,
        "token": NORDPASS_TOKEN,
        "organization_uuid": ORGANIZATION_UUID,
        "events": total,
    }
    return ready, lambda _: _nordpass_stats(nordpass)


async def _serve_hec(
    args: argparse.Namespace, stack: AsyncExitStack
) -> tuple[dict[str, Any], _Stats]:
    hec = HecEmulator(knobs=HecKnobs(record="event_ids"))
    hec.add_token(args.token, default_index=args.index, indexes=[args.index])
    ready = {"url": await hec.start(), "token": args.token, "index": args.index}
    stack.push_async_callback(hec.stop)
    return ready, lambda _: _hec_stats(hec)


async def _serve_live(
    args: argparse.Namespace, stack: AsyncExitStack
) -> tuple[dict[str, Any], _Stats]:
    nordpass = NordPassEmulator(clock=SystemClock(), seed=args.seed)
    organizations: dict[str, dict[str, str]] = {}
    for name, rate in args.organizations:
        token = f"bench-token-{name}"
        added = nordpass.add_organization(
            name, token=token, events_per_second=rate, history_start=args.history_start
        )
        organizations[name] = {"uuid": added.uuid, "token": token}
    hec = HecEmulator(seed=args.seed)
    hec.add_token(HEC_TOKEN, name="bench")
    ready: dict[str, Any] = {"nordpass_url": await nordpass.start()}
    stack.push_async_callback(nordpass.stop)
    ready |= {"hec_url": await hec.start(), "hec_token": HEC_TOKEN, "organizations": organizations}
    stack.push_async_callback(hec.stop)
    uuids = {name: organization["uuid"] for name, organization in organizations.items()}
    return ready, lambda visible_range: _live_recording(nordpass, hec, uuids, visible_range)


def _live_recording(
    nordpass: NordPassEmulator,
    hec: HecEmulator,
    uuids: dict[str, str],
    visible_range: Sequence[str],
) -> dict[str, Any]:
    """NordPass requests: (organisation, arrival); HEC event requests: (arrival, indexed at or
    None, events indexed); events: (tenant, timestamp, indexed at, event id); `visible`: per
    organisation, the events it holds in [LO, HI) when `stats LO HI` asked for them."""
    by_number = {r.number: r.indexed_at for r in hec.requests}
    events = []
    for event in hec.indexed:
        body = event.event if isinstance(event.event, dict) else {}
        indexed_at = by_number.get(event.request)
        if indexed_at is not None and event.event_id is not None:
            stamp = int(body.get("timestamp", event.time or 0))
            events.append((str(body.get("tenant")), stamp, indexed_at, event.event_id))
    visible = {}
    if visible_range:
        lo, hi = (int(bound) for bound in visible_range)
        visible = {name: nordpass.visible_count(uuid, lo, hi) for name, uuid in uuids.items()}
    return {
        "nordpass": [(r.organization, r.received_at) for r in nordpass.requests if r.organization],
        "hec": [(r.received_at, r.indexed_at, r.indexed) for r in hec.requests],
        "events": events,
        "visible": visible,
    }


_KINDS = {"nordpass": _serve_nordpass, "hec": _serve_hec, "live": _serve_live}


async def _serve(args: argparse.Namespace) -> None:
    loop = asyncio.get_running_loop()
    async with AsyncExitStack() as stack:
        ready, stats = await _KINDS[args.kind](args, stack)
        print(json.dumps(ready), flush=True)
        while line := await loop.run_in_executor(None, sys.stdin.readline):
            command, *arguments = line.split() or [""]
            if command == "stats":
                print(json.dumps(stats(arguments)), flush=True)


def _organization(text: str) -> tuple[str, float]:
    name, _, rate = text.rpartition("=")
    return name, float(rate)


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
    live = kinds.add_parser("live")
    live.add_argument("--history-start", type=float, required=True)
    live.add_argument("--organizations", type=_organization, nargs="+", required=True,
                      metavar="NAME=RATE", help="a name and its events per second")  # fmt: skip
    live.add_argument("--seed", type=int, default=0)
    asyncio.run(_serve(parser.parse_args(argv)))


if __name__ == "__main__":
    main()
