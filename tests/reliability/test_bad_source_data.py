"""Bad source data: while `run` reads three hours of history, the NordPass API spoils pages here
and there: truncated JSON, `data` missing, numbers as strings, a page repeating the previous one,
an empty page in the middle, `total` growing while paging. Each must give a clear error in the
log, the window must be read again (or deferred), and nothing may be lost or delivered twice.

The watermark is sampled from the state file throughout: at every sample, the occurrences the
agent recorded as seen before its watermark must be exactly the events the API holds there.
"""

from __future__ import annotations

import asyncio
import bisect
import math
import random
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

from agent.nordpass.emulator import Fault, FaultKind, RecordedRequest
from tests.reliability.deployment import Source
from tests.reliability.installation import Installation, StateView, file_receipts
from tests.reliability.scale import Scale
from tests.reliability.scoreboard import Outcome, Scoreboard, Tally
from tests.reliability.sources import organisation

ORGANIZATION = "bad0da7a-0000-4000-8000-000000000060"
TOKEN = "tok-bad-source-data"
HISTORY_SECONDS = 3 * 3600
HISTORY_ENDS_AGO = 600
WATERMARK_SAMPLE_SECONDS = 0.1
PAGE_SIZE = 100
# What each spoiled body must make the agent say (in a warning's error), by fault kind.
MALFORMED: dict[FaultKind, str] = {
    "truncated": "reply is not valid JSON",
    "missing_data": "'data' is missing",
    "wrong_types": "not integer Unix seconds",
}
DRIFTING: tuple[FaultKind, ...] = ("repeat_previous_page", "empty_page", "total_bump")


def spoiled_pages(repeats: int, rng: random.Random) -> list[Fault]:
    """Each kind `repeats` times, a few requests apart: the drifting pages first, so they land in
    the first passes, where no malformed page cuts a pass short before the agent has seen that
    it does not add up."""
    script: list[Fault] = []
    for kinds in (DRIFTING, tuple(MALFORMED)):
        spoiled = [kind for kind in kinds for _ in range(repeats)]
        rng.shuffle(spoiled)
        for kind in spoiled:
            script += [Fault("none")] * rng.randint(1, 8)
            script.append(Fault(kind, amount=rng.randint(1, 5)))
    return script


def noticeable(record: RecordedRequest) -> bool:
    """A drifting page the agent can notice: not a one-row probe, and not a first page told to
    repeat the page before it (there is none: the emulator serves that same page)."""
    return (record.per_page or 0) > 1 and not (
        record.fault == "repeat_previous_page" and record.page == 1
    )


async def test_bad_source_data_is_read_again_and_the_watermark_never_passes_missing_data(
    tmp_path: Path, scale: Scale, scoreboard: Scoreboard
) -> None:
    end = math.floor(time.time()) - HISTORY_ENDS_AGO
    start = end - HISTORY_SECONDS
    async with organisation(
        ORGANIZATION,
        TOKEN,
        events=scale.bad_source_events,
        since=start,
        until=end,
        history=(start, end),
    ) as source:
        await run_bad_source_data(tmp_path, scale, scoreboard, source)


async def run_bad_source_data(
    tmp_path: Path, scale: Scale, scoreboard: Scoreboard, source: Source
) -> None:
    nordpass = source.emulator
    truth = source.ground_truth()
    seconds = sorted(
        event["timestamp"]
        for event in nordpass.ground_truth(source.organization_uuid, source.since, source.until)
    )
    repeats = max(2, scale.bad_source_events // 5000)
    nordpass.knobs.scripted = spoiled_pages(repeats, random.Random(60))
    output = tmp_path / "out" / "events.ndjson"
    installation = Installation(
        tmp_path,
        source,
        destinations={"archive": f"{{type: file, path: {output}, fsync: false}}"},
        batch_max_events=500,
        # One live window over the whole history: a spoiled page defers the rest of it to the
        # next cycle (a second later) rather than to a backfill slice's slower retry.
        defaults=(
            f"{{page_size: {PAGE_SIZE}, poll_interval: 1s, settle_delay: 1s, lookback: 10s, "
            "max_live_window: 6h}"
        ),
        tenant_settings=[f"start: {source.since}"],
    )
    samples: list[tuple[StateView, int]] = []  # (state, ground-truth events before its watermark)

    def sample() -> None:
        view = installation.state_view()
        if view.watermark is not None:
            below = bisect.bisect_left(seconds, view.watermark)
            samples.append((view, below))

    def done() -> bool:
        sample()
        watermark = samples[-1][0].watermark if samples else None
        return (
            not nordpass.knobs.scripted
            and watermark is not None
            and watermark >= source.until
            and Tally.count(truth, file_receipts(output)).lost == 0
        )

    agent = await installation.start("run")
    try:
        await _until_sampled(done, agent, within=scale.liveness(120), log=installation.log_tail)
    finally:
        code = await installation.terminate(agent, within=60)

    tally = Tally.count(truth, file_receipts(output))
    applied = Counter(
        r.fault for r in nordpass.requests if r.fault_source == "scripted" and r.fault is not None
    )
    warnings = [r for r in installation.log_records() if r.get("level") == "warning"]
    rereads = sum(
        1
        for r in installation.log_records()
        if r.get("event")
        in ("window pass not verified; reading it again", "window deferred: pages drift")
    )
    passed = [(view.watermark, view.counted_below_watermark, below) for view, below in samples
              if view.counted_below_watermark != below]  # fmt: skip
    outcome = Outcome(
        "bad source data",
        tally,
        notes=(
            f"spoiled pages served: {dict(sorted(applied.items()))}; {rereads} re-reads or "
            f"deferrals logged; {len(samples)} watermark samples"
        ),
    )
    for kind, phrase in MALFORMED.items():
        said = sum(1 for r in warnings if phrase in _text(r))
        outcome.check(
            f"{kind}: a clear warning per spoiled page ({phrase!r})",
            f"{said} for {applied[kind]}",
            applied[kind] > 0 and said >= applied[kind],
        )
    drifted = sum(
        1
        for r in nordpass.requests
        if r.fault_source == "scripted" and r.fault in DRIFTING and noticeable(r)
    )
    # A pass stops at its first problem and one log line names all it found, so a line can
    # stand for several drifting pages.
    outcome.check(
        "drifting pages make their window be read again",
        f"{rereads} re-reads logged for {drifted} drifting pages",
        drifted > 0 and rereads > 0,
    )
    outcome.check("the watermark never passed data the agent did not get", passed[:3],
                  not passed and bool(samples))  # fmt: skip
    outcome.check("lost 0", tally.lost, tally.lost == 0)
    outcome.check("duplicates 0", tally.duplicates, tally.duplicates == 0)
    outcome.check("nothing foreign, one event per id", tally.unexpected, tally.unexpected == 0)
    outcome.check("the agent stops cleanly on SIGTERM (exit 0)", code, code == 0)
    scoreboard.add(outcome)
    assert not outcome.broken, outcome.failure_message() + "\n" + installation.log_tail()


async def _until_sampled(
    condition: Callable[[], bool],
    agent: asyncio.subprocess.Process,
    *,
    within: float,
    log: Callable[[], str],
) -> None:
    """`until`, sampling the state at its own pace (a copy of the state file per sample)."""
    deadline = time.monotonic() + within
    while not condition():
        assert agent.returncode is None, f"the agent exited ({agent.returncode})\n{log()}"
        assert time.monotonic() < deadline, f"not done within {within:.0f} s\n{log()}"
        await asyncio.sleep(WATERMARK_SAMPLE_SECONDS)


def _text(record: dict[str, Any]) -> str:
    return " ".join(str(value) for value in record.values())
