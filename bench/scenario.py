"""The contenders of the end-to-end benchmarks, each run as its own measured process against
emulators in processes of their own: the agent (`nordpass-agent backfill` with a generated
configuration), `naive` (the reference connector's loop), `wire` (pre-rendered batches) and
`bare` (the agent's data path without its guarantees).

Every run gets fresh emulators, so no run inherits another's caches or indexed events.
"""

from __future__ import annotations

import math
import shutil
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agent.clock import SystemClock
from agent.nordpass.emulator import NordPassEmulator
from bench.common import (
    EVENT_ID_KEY,
    EmulatorProcess,
    Measured,
    agent_command,
    run_measured,
    start_emulator,
)
from bench.emulators import (
    HEC_INDEX,
    HEC_TOKEN,
    NORDPASS_TOKEN,
    ORGANIZATION_NAME,
    ORGANIZATION_UUID,
)

__all__ = [
    "AgentSettings",
    "History",
    "Outcome",
    "iter_history_events",
    "run_agent",
    "run_bare",
    "run_naive",
    "run_wire",
]

DAY = 86400
# A busy organisation: a million events is a month of its history.
EVENTS_PER_DAY = 33_334
_RUN_TIMEOUT = 3 * 3600.0


@dataclass(frozen=True, slots=True)
class History:
    """A fixed stretch of sandbox history, whole UTC days ending yesterday at midnight."""

    days: int
    events_per_second: float
    end: int
    latency: float = 0.0
    rate_limit: float | None = None
    page_cap: int = 100

    @classmethod
    def about(cls, events: int, **knobs: Any) -> History:
        """About `events` events at `EVENTS_PER_DAY` (the generator is random per second)."""
        days = max(1, math.ceil(events / EVENTS_PER_DAY))
        end = (math.floor(time.time() / DAY) - 1) * DAY
        return cls(days, events / (days * DAY), end, **knobs)

    @property
    def start(self) -> int:
        return self.end - self.days * DAY

    def nordpass_options(self) -> list[str]:
        options = [
            "--history-start", str(self.start), "--history-end", str(self.end),
            "--events-per-second", repr(self.events_per_second),
            "--latency", repr(self.latency), "--page-cap", str(self.page_cap),
        ]  # fmt: skip
        if self.rate_limit is not None:
            options += ["--rate-limit", repr(self.rate_limit)]
        return options


@dataclass(frozen=True, slots=True)
class AgentSettings:
    backfill_concurrency: int = 4
    page_size: int = 100
    # The loopback sandbox has no rate limit unless one is set (`History.rate_limit`), and
    # neither `naive` nor `wire` paces itself: by default the agent's pacing is at its maximum
    # so that the run measures the agent's work, not its politeness towards the real API.
    requests_per_second: float = 1000.0
    batch_max_events: int = 500
    profile: Path | None = None


@dataclass(slots=True)
class Outcome:
    """One contender's run: its process figures, what the emulators counted, whether every
    event arrived exactly once."""

    contender: str
    expected_events: int
    process: Measured
    api: dict[str, Any] = field(default_factory=dict)
    hec: dict[str, Any] = field(default_factory=dict)
    emulator_cpu_seconds: float = 0.0

    @property
    def delivered(self) -> int:
        return int(self.hec.get("indexed", 0))

    @property
    def complete(self) -> bool:
        return self.process.exit_code == 0 and self.delivered == self.expected_events

    @property
    def events_per_second(self) -> float:
        return self.delivered / self.process.wall_seconds

    @property
    def cpu_seconds_per_100k(self) -> float:
        return self.process.cpu_seconds / max(1, self.delivered) * 100_000

    def describe(self) -> str:
        problems = "" if self.complete else f"  INCOMPLETE (exit {self.process.exit_code})"
        return (
            f"{self.contender:22} {self.delivered:>9,} of {self.expected_events:,} events in "
            f"{self.process.wall_seconds:7.1f} s: {self.events_per_second:>8,.0f} events/s, "
            f"{self.cpu_seconds_per_100k:5.1f} CPU s/100k, peak RSS "
            f"{self.process.peak_rss_mb:5.0f} MB, API requests {self.api.get('requests', '-')}, "
            f"429s {self.api.get('rate_limited', '-')}, "
            f"emulators {self.emulator_cpu_seconds:.1f} CPU s{problems}"
        )


@dataclass(slots=True)
class _Emulators:
    hec: EmulatorProcess
    nordpass: EmulatorProcess | None = None


_CONFIG = """\
state: sqlite:///{state}
event_id_key: "{event_id_key}"
batch_max_events: {batch_max_events}
defaults: {{page_size: {page_size}, backfill_concurrency: {concurrency}, backfill_slice: 1d}}
destinations:
  splunk: {{type: splunk_hec, url: "{hec_url}", token: "{hec_token}", index: {index}, gzip: true}}
tenants:
  acme:
    nordpass:
      url: "{api_url}"
      token: "{api_token}"
      organization_uuid: "{organization}"
      requests_per_second: {rps}
    destinations: [splunk]
"""


def _workdir() -> Path:
    return Path(tempfile.mkdtemp(prefix="nordpass-bench-"))


def _hec_options() -> list[str]:
    return ["--token", HEC_TOKEN, "--index", HEC_INDEX]


def run_agent(history: History, settings: AgentSettings, label: str = "agent") -> Outcome:
    """`nordpass-agent backfill` over the whole history, into the HEC emulator."""
    workdir = _workdir()
    try:
        with start_emulator("nordpass", *history.nordpass_options()) as nordpass, \
                start_emulator("hec", *_hec_options()) as hec:  # fmt: skip
            api = nordpass.ready
            config = workdir / "agent.yaml"
            config.write_text(_CONFIG.format(
                state=workdir / "state.db", event_id_key=EVENT_ID_KEY,
                batch_max_events=settings.batch_max_events,
                page_size=settings.page_size, concurrency=settings.backfill_concurrency,
                hec_url=hec.ready["url"], hec_token=HEC_TOKEN, index=HEC_INDEX,
                api_url=api["url"], api_token=api["token"], organization=api["organization_uuid"],
                rps=settings.requests_per_second,
            ))  # fmt: skip
            command = [
                *agent_command(settings.profile), "backfill", "--config", str(config),
                "--since", str(history.start), "--until", str(history.end),
            ]  # fmt: skip
            measured = run_measured(
                command, stderr_path=workdir / "agent.log", timeout=_RUN_TIMEOUT
            )
            return _finish(label, api["events"], measured, _Emulators(hec, nordpass), workdir)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def run_naive(history: History) -> Outcome:
    """The reference connector's loop over the same history, into the HEC emulator."""
    with start_emulator("nordpass", *history.nordpass_options()) as nordpass, \
            start_emulator("hec", *_hec_options()) as hec:  # fmt: skip
        api = nordpass.ready
        command = [
            sys.executable, "-m", "bench.naive", "--api", api["url"], "--token", api["token"],
            "--since", str(history.start), "--hec", hec.ready["url"],
        ]  # fmt: skip
        measured = run_measured(command, timeout=_RUN_TIMEOUT)
        return _finish("naive", api["events"], measured, _Emulators(hec, nordpass), None)


def run_bare(history: History, settings: AgentSettings) -> Outcome:
    """`bench.bare` over the same history with the agent's page size, concurrency and batches."""
    with start_emulator("nordpass", *history.nordpass_options()) as nordpass, \
            start_emulator("hec", *_hec_options()) as hec:  # fmt: skip
        api = nordpass.ready
        command = [
            sys.executable, "-m", "bench.bare", "--api", api["url"], "--token", api["token"],
            "--since", str(history.start), "--until", str(history.end),
            "--hec", hec.ready["url"], "--hec-token", HEC_TOKEN,
            "--page-size", str(settings.page_size),
            "--concurrency", str(settings.backfill_concurrency),
            "--batch-events", str(settings.batch_max_events),
        ]  # fmt: skip
        measured = run_measured(command, timeout=_RUN_TIMEOUT)
        return _finish("bare", api["events"], measured, _Emulators(hec, nordpass), None)


def run_wire(spool: Path, events: int) -> Outcome:
    """Pre-rendered batches from `spool` into the HEC emulator: the ceiling."""
    with start_emulator("hec", *_hec_options()) as hec:
        command = [sys.executable, "-m", "bench.wire", "--spool", str(spool),
                   "--url", hec.ready["url"], "--token", HEC_TOKEN]  # fmt: skip
        measured = run_measured(command, timeout=_RUN_TIMEOUT)
        return _finish("wire", events, measured, _Emulators(hec), None)


def _finish(
    contender: str,
    expected: int,
    measured: Measured,
    emulators: _Emulators,
    workdir: Path | None,
) -> Outcome:
    outcome = Outcome(contender, expected, measured, hec=emulators.hec.stats())
    if emulators.nordpass is not None:
        outcome.api = emulators.nordpass.stats()
        outcome.emulator_cpu_seconds += emulators.nordpass.stop()[0]
    outcome.emulator_cpu_seconds += emulators.hec.stop()[0]
    if not outcome.complete and workdir is not None:
        log = workdir / "agent.log"
        tail = log.read_text(errors="replace").splitlines()[-20:] if log.exists() else []
        print(f"{contender}: exit {measured.exit_code}; last log lines:", *tail, sep="\n  ")
    return outcome


def iter_history_events(history: History) -> Iterator[dict[str, Any]]:
    """The history's events, oldest first, a day at a time, from an in-process emulator with
    the same seed and settings as the served one (the sandbox is deterministic)."""
    emulator = NordPassEmulator(clock=SystemClock(), seed=0)
    emulator.add_organization(
        ORGANIZATION_NAME, token=NORDPASS_TOKEN, organization_uuid=ORGANIZATION_UUID,
        events_per_second=history.events_per_second, history_start=history.start,
        history_end=history.end,
    )  # fmt: skip
    for day in range(history.start, history.end, DAY):
        yield from emulator.ground_truth(ORGANIZATION_UUID, day, day + DAY)
