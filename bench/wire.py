"""`wire`, the ceiling of an end-to-end backfill: the same events, already rendered as HEC
envelopes, POSTed in the agent's batch sizes with httpx. No polling, no state, no rendering.

    python -m bench.wire --spool FILE --url URL [--token T] [--in-flight 4] [--gzip-level 1]

`write_spool` renders the events beforehand into a file of batches (a 4-byte big-endian length,
then the batch's envelopes), so this process holds one batch at a time and its CPU seconds and
peak RSS are those of sending alone: read, gzip (as the agent does), POST, check the reply.
Prints a JSON summary line.
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import json
import struct
import time
import uuid
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import httpx

from agent.normalize import Formatter, default_codec
from connectors.base import OutboundEvent
from connectors.splunk_hec.config import EVENT_PATH, SplunkHecConfig
from connectors.splunk_hec.envelopes import EnvelopeWriter

__all__ = ["hec_headers", "native_writer", "write_spool"]

_LENGTH = struct.Struct(">I")


def native_writer() -> EnvelopeWriter:
    """The envelopes of the agent's `splunk_hec` destination as the benchmarks configure it
    (native format, the `nordpass` index)."""
    config = SplunkHecConfig(
        type="splunk_hec",
        url="http://127.0.0.1:1",
        token="unused",  # noqa: S106 - never sent
        index="nordpass",
    )
    return EnvelopeWriter(config, {}, Formatter(config.format, config.privacy.profile()),
                          default_codec())  # fmt: skip


def hec_headers(token: str) -> dict[str, str]:
    """The headers of a gzipped HEC request on a channel of its own."""
    return {
        "Authorization": f"Splunk {token}",
        "Content-Encoding": "gzip",
        "Content-Type": "application/json",
        "X-Splunk-Request-Channel": str(uuid.uuid4()),
    }


def write_spool(
    events: Iterable[dict[str, Any]], path: Path, *, tenant: str, batch_events: int
) -> int:
    """Render `events` as the agent's `splunk_hec` destination does (native format, the
    destination's index) into batches of `batch_events`; returns the number of events."""
    writer = native_writer()
    count = 0
    batch: list[bytes] = []
    with path.open("wb") as spool:
        for raw in events:
            # A fresh id per event, of the agent's length; which id it is does not matter here.
            event_id = str(uuid.UUID(int=count + 1))
            batch.append(writer.envelope(OutboundEvent(tenant, event_id, raw), count).body)
            count += 1
            if len(batch) == batch_events:
                _write_batch(spool, batch)
                batch = []
        if batch:
            _write_batch(spool, batch)
    return count


def _write_batch(spool: Any, batch: list[bytes]) -> None:
    body = b"".join(batch)
    spool.write(_LENGTH.pack(len(body)) + body)


def _batches(path: Path) -> Iterator[tuple[bytes, int]]:
    with path.open("rb") as spool:
        while header := spool.read(_LENGTH.size):
            (length,) = _LENGTH.unpack(header)
            body = spool.read(length)
            yield body, body.count(b"\n")


async def _send_all(args: argparse.Namespace) -> dict[str, Any]:
    headers = hec_headers(args.token)
    url = args.url.rstrip("/") + EVENT_PATH
    gate = asyncio.Semaphore(args.in_flight)
    failures: list[str] = []
    counts = {"events": 0, "requests": 0}

    async def post(client: httpx.AsyncClient, body: bytes, events: int) -> None:
        try:
            response = await client.post(url, content=body, headers=headers)
            if response.status_code != 200:
                failures.append(f"HTTP {response.status_code}: {response.text[:200]}")
            else:
                counts["events"] += events
                counts["requests"] += 1
        finally:
            gate.release()

    began = time.perf_counter()
    async with httpx.AsyncClient(timeout=60.0) as client:
        tasks = set()
        for body, events in _batches(args.spool):
            await gate.acquire()
            task = asyncio.create_task(post(client, gzip.compress(body, args.gzip_level), events))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
        await asyncio.gather(*tasks)
    return {**counts, "seconds": time.perf_counter() - began, "failures": failures[:5]}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spool", type=Path, required=True)
    parser.add_argument("--url", required=True)
    parser.add_argument("--token", default="bench-hec-token")
    parser.add_argument("--in-flight", type=int, default=4, help="the agent's max_in_flight")
    parser.add_argument("--gzip-level", type=int, default=1, help="the agent's gzip_level")
    summary = asyncio.run(_send_all(parser.parse_args(argv)))
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
