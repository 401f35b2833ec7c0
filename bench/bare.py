"""`bare`: the agent's data path with none of its guarantees, to show what this machine allows.

    python -m bench.bare --api URL --token T --since S --until U --hec URL [--hec-token T]
        [--page-size 100] [--concurrency 4] [--slice 86400] [--batch-events 500] [--in-flight 4]

Day slices read `concurrency` at a time (pages with `timestamp_from` and `timestamp_to`, the
sandbox's bounds being inclusive), every event rendered as the agent's `splunk_hec` destination
renders it, batches of `batch-events` gzipped in a worker thread and POSTed `in-flight` at a
time, as the agent does. No state, no fingerprints, no checks that a window was read whole, no
retries: an error ends the run (exit status 1). The agent does all of this and more, so on the
same machine it should not be expected to pass the rate this reaches. Prints a JSON summary line.
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import json
import time
import uuid
from typing import Any

import httpx
import orjson

from bench.wire import hec_headers, native_writer
from connectors.base import OutboundEvent
from connectors.splunk_hec.config import EVENT_PATH
from connectors.splunk_hec.envelopes import EnvelopeWriter

__all__ = ["main"]


class _Run:
    def __init__(self, args: argparse.Namespace, api: httpx.AsyncClient, hec: httpx.AsyncClient):
        self.args = args
        self.api = api
        self.hec = hec
        self.writer: EnvelopeWriter = native_writer()
        self.hec_url = args.hec.rstrip("/") + EVENT_PATH
        self.hec_headers = hec_headers(args.hec_token)
        self.api_headers = {"Authorization": args.token, "Content-Type": "application/json"}
        self.gate = asyncio.Semaphore(args.in_flight)
        self.posts: set[asyncio.Task[None]] = set()
        self.batch: list[bytes] = []
        self.failure: BaseException | None = None  # of a POST, which ends the run
        self.counts = {"events": 0, "rendered": 0, "api_requests": 0, "hec_requests": 0}

    async def read_slice(self, low: int, high: int) -> None:
        page = 1
        while True:
            body = {"timestamp_from": low, "timestamp_to": high - 1, "page": page,
                    "per_page": self.args.page_size}  # fmt: skip
            response = await self.api.post(
                self.args.api, content=orjson.dumps(body), headers=self.api_headers
            )
            self.counts["api_requests"] += 1
            response.raise_for_status()
            reply = orjson.loads(response.content)
            rows = reply["data"]
            for raw in rows:
                # An id of the agent's length, counted rather than derived: ids cost nothing here.
                position = self.counts["rendered"] = self.counts["rendered"] + 1
                event = OutboundEvent("acme", str(uuid.UUID(int=position)), raw)
                self.batch.append(self.writer.envelope(event, position).body)
                if len(self.batch) >= self.args.batch_events:
                    await self.flush()
            # The server may cap the page size: its own `per_page` says what a full page is.
            if len(rows) < reply["metadata"]["per_page"]:
                return
            page += 1

    async def flush(self) -> None:
        if self.failure is not None:
            raise self.failure
        if not self.batch:
            return
        body, events = b"".join(self.batch), len(self.batch)
        self.batch = []
        await self.gate.acquire()
        task = asyncio.create_task(self._post(body, events))
        self.posts.add(task)
        task.add_done_callback(self.posts.discard)

    async def _post(self, body: bytes, events: int) -> None:
        try:
            compressed = await asyncio.to_thread(gzip.compress, body, 1)
            response = await self.hec.post(
                self.hec_url, content=compressed, headers=self.hec_headers
            )
            response.raise_for_status()
            self.counts["events"] += events
            self.counts["hec_requests"] += 1
        except Exception as error:  # noqa: BLE001 - kept, and raised by the readers and at the end
            self.failure = self.failure or error
        finally:
            self.gate.release()


async def _read_all(args: argparse.Namespace) -> dict[str, Any]:
    slices: asyncio.Queue[int] = asyncio.Queue()
    for low in range(args.since, args.until, args.slice):
        slices.put_nowait(low)
    began = time.perf_counter()
    async with httpx.AsyncClient(timeout=60.0) as api, httpx.AsyncClient(timeout=60.0) as hec:
        run = _Run(args, api, hec)

        async def reader() -> None:
            while not slices.empty():
                low = slices.get_nowait()
                await run.read_slice(low, min(low + args.slice, args.until))

        await asyncio.gather(*(reader() for _ in range(args.concurrency)))
        await run.flush()
        await asyncio.gather(*run.posts)
        if run.failure is not None:
            raise run.failure
    return {**run.counts, "seconds": time.perf_counter() - began}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--api", required=True)
    parser.add_argument("--token", required=True)
    parser.add_argument("--since", type=int, required=True)
    parser.add_argument("--until", type=int, required=True)
    parser.add_argument("--hec", required=True)
    parser.add_argument("--hec-token", default="bench-hec-token")
    parser.add_argument("--page-size", type=int, default=100)
    parser.add_argument("--concurrency", type=int, default=4, help="slices read at once")
    parser.add_argument("--slice", type=int, default=86400, help="seconds per slice")
    parser.add_argument("--batch-events", type=int, default=500)
    parser.add_argument("--in-flight", type=int, default=4)
    print(json.dumps(asyncio.run(_read_all(parser.parse_args(argv)))))


if __name__ == "__main__":
    main()
