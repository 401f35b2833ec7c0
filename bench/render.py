"""Render throughput per output format, from raw API bytes to serialized output bytes.

    python -m bench.render [--events N] [--privacy admin] [--codec auto|json|orjson]

Each event goes the whole way a destination takes it: JSON decoding of the API page it came in
(100 events a page, as the API sends them), the privacy profile, canonicalization, rendering and
serialization to bytes. One process pinned to one core. Prints a table and merges the figures
into bench/results.json.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from agent.normalize import CATALOG, OUTPUT_FORMATS, ActionSpec, Formatter, PrivacyProfile
from agent.normalize.serialization import JsonCodec, OrjsonCodec, StdlibJsonCodec, default_codec

RESULTS = Path(__file__).with_name("results.json")
TARGET_EVENTS_PER_SECOND = 100_000
TARGETED_FORMATS = ("native", "cef", "asim")
PAGE_SIZE = 100
TENANT = "bench-tenant"
ORGANIZATION = "101b4232-0688-4599-bca8-4636c91cd687"
# Real traffic is mostly sign-ins, vault unlocks and item use; admin actions are rare.
WEIGHTS = {"logon": 30, "read": 12, "create": 3, "update": 3}


def _metadata(spec: ActionSpec, rng: random.Random, index: int) -> dict[str, Any]:
    metadata: dict[str, Any] = {}
    if spec.kind.name in ("logon", "read", "create", "update") or spec.area == "Login":
        if index % 4:
            metadata["ip_address"] = f"203.0.{rng.randrange(256)}.{rng.randrange(256)}"
        else:
            metadata["ip_address"] = f"2001:db8::{rng.randrange(65536):x}"
        metadata["platform"] = rng.choice(("chrome_extension", "windows", "ios", "android"))
    if spec.kind.name == "logon":
        metadata["provider"] = rng.choice(("password", "google", "azure_ad"))
    if spec.object_name in ("Vault item", "Shared item", "Shared folder", "Vault item 2FA code"):
        metadata["items"] = [
            {
                "uuid": str(uuid.UUID(int=rng.getrandbits(128))),
                "name": "Bank login",
                "type": "password",
            }
        ]
    if spec.event_type in ("invites", "groups"):
        metadata["emails"] = [f"member{rng.randrange(500)}@example.com"]
    if index % 10 == 0:
        metadata["msp"] = {
            "user_uuid": ORGANIZATION,
            "user_email": "admin@msp.example",
            "user_role": "admin",
        }
    return metadata


def sample_events(count: int, seed: int = 7) -> Iterator[dict[str, Any]]:
    """Plausible API events over the whole catalog, weighted towards everyday traffic."""
    rng = random.Random(seed)
    specs = list(CATALOG)
    weights = [WEIGHTS.get(spec.kind.name, 1) for spec in specs]
    start = 1_767_225_600
    for index in range(count):
        spec = rng.choices(specs, weights)[0]
        member = rng.randrange(500)
        yield {
            "type": spec.event_type,
            "action": spec.action,
            "timestamp": start + index // 20,
            "organization_uuid": ORGANIZATION,
            "user": {"uuid": str(uuid.UUID(int=member)), "email": f"member{member}@example.com"},
            "initiator": f"member{member}@example.com",
            "metadata": _metadata(spec, rng, index),
        }


def api_pages(count: int) -> list[bytes]:
    events = list(sample_events(count))
    return [
        json.dumps({"data": events[start : start + PAGE_SIZE], "metadata": {}}).encode()
        for start in range(0, len(events), PAGE_SIZE)
    ]


def measure(
    formatter: Formatter, pages: list[bytes], codec: JsonCodec, event_ids: list[str]
) -> float:
    """Events per second over all pages."""
    to_bytes = formatter.to_bytes
    loads = codec.loads
    position = 0
    began = time.perf_counter()
    for page in pages:
        for raw in loads(page)["data"]:
            to_bytes(raw, tenant=TENANT, event_id=event_ids[position])
            position += 1
    return position / (time.perf_counter() - began)


def _codec(name: str) -> JsonCodec:
    if name == "json":
        return StdlibJsonCodec()
    if name == "orjson":
        return OrjsonCodec()
    return default_codec()


def _profile(name: str) -> PrivacyProfile:
    key = b"bench-pseudonymize-key-0123456789" if name == "pseudonymize" else None
    return PrivacyProfile.from_config(name, pseudonymize_key=key)


def _figure(fmt: str, rate: float, codec: JsonCodec, privacy: str) -> dict[str, Any]:
    target = TARGET_EVENTS_PER_SECOND if fmt in TARGETED_FORMATS else None
    return {
        "name": f"render.{fmt}",
        "value": round(rate),
        "unit": "events/s",
        "target": target,
        "pass": None if target is None else rate >= target,
        "codec": codec.name,
        "privacy": privacy,
    }


def merge_results(figures: list[dict[str, Any]], path: Path = RESULTS) -> None:
    """Replaces this benchmark's figures in the shared results file, keeping everyone else's."""
    existing: dict[str, Any] = {"figures": []}
    if path.exists():
        loaded = json.loads(path.read_text())
        existing = loaded if isinstance(loaded, dict) else {"figures": loaded}
    names = {figure["name"] for figure in figures}
    kept = [figure for figure in existing.get("figures", []) if figure.get("name") not in names]
    existing["figures"] = kept + figures
    path.write_text(json.dumps(existing, indent=2) + "\n")


def _pin_to_one_core() -> None:
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--privacy", default="admin", choices=("full", "admin", "pseudonymize"))
    parser.add_argument("--codec", default="auto", choices=("auto", "json", "orjson"))
    parser.add_argument("--formats", nargs="*", default=list(OUTPUT_FORMATS))
    parser.add_argument("--no-write", action="store_true", help="print only")
    args = parser.parse_args(argv)
    _pin_to_one_core()
    codec = _codec(args.codec)
    pages = api_pages(args.events)
    event_ids = [str(uuid.UUID(int=index)) for index in range(args.events)]
    figures = []
    print(f"{args.events:,} events, privacy {args.privacy}, JSON codec {codec.name}, one core")
    print(f"{'format':8} {'events/s':>12} {'target':>10}  pass")
    for fmt in args.formats:
        formatter = Formatter(fmt, _profile(args.privacy), codec=codec)
        measure(formatter, pages[:20], codec, event_ids)  # warm-up: memo tables, allocator
        figure = _figure(fmt, measure(formatter, pages, codec, event_ids), codec, args.privacy)
        figures.append(figure)
        target = f"{figure['target']:,}" if figure["target"] else "-"
        verdict = {True: "yes", False: "NO", None: "-"}[figure["pass"]]
        print(f"{fmt:8} {figure['value']:>12,} {target:>10}  {verdict}")
    if not args.no_write:
        merge_results(figures)


if __name__ == "__main__":
    main()
