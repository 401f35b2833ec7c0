"""Slow SIEM: a share of HEC's replies come later than the agent's request timeout, and HEC
indexes those requests all the same, as Splunk does. Nothing may be lost, the copies may not
exceed the events of the timed-out requests, and the agent's memory must stay bounded.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import random
import time
from collections.abc import Iterator
from pathlib import Path

from connectors.splunk_hec.emulator import Fault, FaultKind, HecEmulator
from tests.reliability.deployment import Source
from tests.reliability.installation import Installation, hec_receipts, until
from tests.reliability.scale import Scale
from tests.reliability.scoreboard import Outcome, Scoreboard, Tally
from tests.reliability.sources import hec_destination, organisation

ORGANIZATION = "5104e000-0000-4000-8000-000000000050"
TOKEN = "tok-slow-siem"
T0 = 1_767_225_600 + 40 * 86400
RANGE = (T0, T0 + 86400)
# Well apart, and the timeout well above any pause of the test process's own event loop (which
# serves both emulators): only the scripted replies may be late.
TIMEOUT_SECONDS = 2.0
SLOW_REPLY_SECONDS = 2.5
SLOW_SHARE = 0.25
BATCH = 500
# Peak resident memory of the agent process, whatever the size of the backfill: the log is on
# disk and at most `max_in_flight` batches are held in memory.
MEMORY_BOUND_BYTES = 300 * 1024 * 1024
MEMORY_SAMPLE_SECONDS = 0.1
STALL_PROBE_SECONDS = 0.05


def peak_memory(pid: int) -> int | None:
    """The process's peak resident set (VmHWM) in bytes; None once it is gone."""
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    return None


@contextlib.contextmanager
def _collector_paused() -> Iterator[None]:
    """No cyclic garbage collection in this process for a while. At the full size it holds
    hundreds of thousands of received events, and a full collection over them pauses the
    emulators for seconds: as long as the agent's timeout, which would make prompt replies late.
    The emulators allocate no reference cycles worth collecting meanwhile."""
    was_enabled = gc.isenabled()
    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


async def longest_stall(process: asyncio.subprocess.Process) -> float:
    """The longest pause of this event loop (which serves the emulators) while `process` runs."""
    longest = 0.0
    while process.returncode is None:
        before = time.monotonic()
        await asyncio.sleep(STALL_PROBE_SECONDS)
        longest = max(longest, time.monotonic() - before - STALL_PROBE_SECONDS)
    return longest


async def test_a_siem_slower_than_the_timeout_costs_only_the_timed_out_requests_again(
    tmp_path: Path, scale: Scale, scoreboard: Scoreboard, hec: HecEmulator
) -> None:
    async with organisation(
        ORGANIZATION, TOKEN, events=scale.slow_siem_events, since=RANGE[0], until=RANGE[1]
    ) as source:
        await run_slow_siem(tmp_path, scale, scoreboard, hec, source)


async def run_slow_siem(
    tmp_path: Path, scale: Scale, scoreboard: Scoreboard, hec: HecEmulator, source: Source
) -> None:
    truth = source.ground_truth()
    rng = random.Random(50)
    # Enough scripted replies for every first try and its retries; later requests are prompt.
    hec.script(
        *(
            Fault(FaultKind.SLOW, delay=SLOW_REPLY_SECONDS)
            if rng.random() < SLOW_SHARE
            else Fault(FaultKind.NONE)
            for _ in range(3 * len(truth) // BATCH + 10)
        )
    )
    installation = Installation(
        tmp_path,
        source,
        destinations={
            "splunk": hec_destination(hec, timeout=f"{TIMEOUT_SECONDS:g}s", max_in_flight=2)
        },
        batch_max_events=BATCH,
    )
    with _collector_paused():
        process = await installation.start_backfill()
        stalls = asyncio.create_task(longest_stall(process))
        peak = 0
        deadline = time.monotonic() + scale.liveness(180)
        while process.returncode is None and time.monotonic() < deadline:
            peak = max(peak, peak_memory(process.pid) or 0)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(process.wait(), MEMORY_SAMPLE_SECONDS)
        code = await installation.finish(process, within=MEMORY_SAMPLE_SECONDS)
        stall = await stalls
    # The slow replies still being held finish indexing before anything is counted.
    await until(lambda: all(r.status for r in hec.requests), within=10, what="HEC to reply")

    tally = Tally.count(truth, hec_receipts(hec))
    timed_out = [r for r in hec.requests if r.fault is FaultKind.SLOW]
    bound = sum(r.indexed for r in timed_out)
    outcome = Outcome(
        "slow SIEM",
        tally,
        notes=(
            f"{len(timed_out)} of {len(hec.requests)} requests replied after "
            f"{SLOW_REPLY_SECONDS:g} s (timeout {TIMEOUT_SECONDS:g} s), holding {bound} events; "
            f"agent peak memory {peak / 2**20:.0f} MiB; the emulators' longest pause "
            f"{stall:.2f} s"
        ),
    )
    # A pause of the emulators as long as the timeout would time out a prompt request too, and
    # the receiver could not count it: say so rather than blame the agent.
    outcome.check("the emulators never paused as long as the timeout", f"{stall:.2f} s",
                  stall < TIMEOUT_SECONDS)  # fmt: skip
    outcome.check("the backfill completes (exit 0)", code, code == 0)
    outcome.check("some requests timed out", len(timed_out), len(timed_out) > 0)
    outcome.check("lost 0", tally.lost, tally.lost == 0)
    outcome.check(
        f"duplicates <= timed-out requests x their events ({bound})",
        tally.duplicates,
        tally.duplicates <= bound,
    )
    outcome.check("nothing foreign, one event per id", tally.unexpected, tally.unexpected == 0)
    outcome.check(
        f"agent peak memory <= {MEMORY_BOUND_BYTES // 2**20} MiB",
        f"{peak / 2**20:.0f} MiB",
        0 < peak <= MEMORY_BOUND_BYTES,
    )
    scoreboard.add(outcome)
    assert not outcome.broken, outcome.failure_message() + "\n" + installation.log_tail()
