"""`naive`: the loop of the public reference connector, what users run today, pointed at HEC.

    python -m bench.naive --api URL --token T --since S --hec URL [--hec-token T]

Pages 1, 2, ... of 100 with `timestamp_from` only, until a page comes back empty; each page is
posted to HEC (gzip, one envelope per event) before the next is asked for. No state, no ids, no
verification, one request at a time. The reference has no 429 handling at all (a 429 fails the
run, which starts over on the next timer tick); here a 429 waits for `Retry-After` (or 1 s) and
asks for the same page again, which only ever flatters this loop. Prints a JSON summary line.
"""

from __future__ import annotations

import argparse
import gzip
import json
import time
import uuid
from typing import Any

import httpx

from connectors.splunk_hec.config import EVENT_PATH

_PER_PAGE = 100


def _envelopes(events: list[dict[str, Any]], index: str) -> bytes:
    return b"".join(
        json.dumps(
            {
                "time": event.get("timestamp"),
                "index": index,
                "sourcetype": "nordpass:activity",
                "source": "nordpass",
                "event": event,
            },
            separators=(",", ":"),
        ).encode()
        + b"\n"
        for event in events
    )


def _page(api: httpx.Client, args: argparse.Namespace, page: int, counts: dict[str, int]) -> Any:
    body = {"timestamp_from": args.since, "page": page, "per_page": _PER_PAGE}
    while True:
        response = api.post(args.api, json=body, headers={"Authorization": args.token})
        counts["api_requests"] += 1
        if response.status_code != 429:
            response.raise_for_status()
            return response.json()
        counts["api_429"] += 1
        time.sleep(float(response.headers.get("Retry-After", "1")))


def run(args: argparse.Namespace) -> dict[str, Any]:
    counts = {"events": 0, "pages": 0, "api_requests": 0, "api_429": 0, "hec_requests": 0}
    hec_url = args.hec.rstrip("/") + EVENT_PATH
    hec_headers = {
        "Authorization": f"Splunk {args.hec_token}",
        "Content-Encoding": "gzip",
        "X-Splunk-Request-Channel": str(uuid.uuid4()),
    }
    began = time.perf_counter()
    # The reference's HTTP timeout is 10 s.
    with httpx.Client(timeout=10.0) as api, httpx.Client(timeout=10.0) as hec:
        page = 1
        while events := _page(api, args, page, counts)["data"]:
            body = gzip.compress(_envelopes(events, args.index), 1)
            hec.post(hec_url, content=body, headers=hec_headers).raise_for_status()
            counts["hec_requests"] += 1
            counts["events"] += len(events)
            counts["pages"] += 1
            page += 1
    return {**counts, "seconds": time.perf_counter() - began}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--api", required=True)
    parser.add_argument("--token", required=True)
    parser.add_argument("--since", type=int, required=True)
    parser.add_argument("--hec", required=True)
    parser.add_argument("--hec-token", default="bench-hec-token")
    parser.add_argument("--index", default="nordpass")
    print(json.dumps(run(parser.parse_args(argv))))


if __name__ == "__main__":
    main()
