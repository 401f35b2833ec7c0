"""The emulators of the live benchmarks in their own process: what they recorded comes back
through `stats`, with the events visible in the range asked for."""

from __future__ import annotations

import math
import time

from bench.live import serve_emulators, stop_emulators


def test_the_live_emulators_count_the_events_visible_in_the_range_asked_for() -> None:
    now = math.floor(time.time())
    organizations = [("busy", 2.0), ("quiet", 1 / 60)]
    with serve_emulators(organizations, history_start=now - 60) as emulators:
        assert set(emulators.ready["organizations"]) == {"busy", "quiet"}
        recording = stop_emulators(emulators, (now - 60, now - 30))
    assert set(recording.visible) == {"busy", "quiet"}
    assert recording.visible["busy"] > 0
    assert (recording.nordpass, recording.hec, recording.events) == ([], [], [])
    assert recording.cpu_seconds > 0
