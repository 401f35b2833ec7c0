"""The benchmark's emulator processes answer `stats` at any moment, also while a reply is being
held back by the emulated page latency."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import httpx

from bench.common import start_emulator
from bench.scenario import History


def test_stats_count_a_reply_held_back_by_the_page_latency_as_pending() -> None:
    history = History.about(1000, latency=1.0)
    with start_emulator("nordpass", *history.nordpass_options()) as nordpass:
        api = nordpass.ready
        body = {"timestamp_from": history.start, "page": 1, "per_page": 100}
        with ThreadPoolExecutor(1) as pool:
            reply = pool.submit(
                httpx.post, api["url"], json=body, headers={"Authorization": api["token"]},
                timeout=30,
            )  # fmt: skip
            deadline = time.monotonic() + 10
            while (stats := nordpass.stats())["requests"] == 0:
                assert time.monotonic() < deadline, "the request never reached the emulator"
                time.sleep(0.02)
            assert stats["statuses"] == {"pending": 1}
            assert reply.result().status_code == 200
        assert nordpass.stats()["statuses"] == {"200": 1}
