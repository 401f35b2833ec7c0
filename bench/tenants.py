"""Many tenants on one agent: 1,000 organisations polled every 60 s, 990 quiet and 10 busy.

    python -m bench.tenants [--quick] [--tenants N] [--busy N] [--minutes M] [--no-write]

The agent runs as a real `nordpass-agent run` process; the emulated NordPass API and Splunk HEC
share another process, so the CPU (utime + stime from /proc) and memory measured are the
agent's alone. Quiet tenants make about one event a minute, busy ones ten a second.

Poll drift is read from the emulator's request log, not from the agent: a tenant's cycle starts
with the first request after a pause of more than half an interval, and the k-th cycle is due
at `phase + k * interval`, where `phase` is the earliest `start_k - k * interval` the tenant
showed. Lateness is how far each cycle started behind that: a constant offset is not drift, a
cycle that slips (or a skipped one, a whole interval) is. The times include the HTTP hop, so a
poll held up in the agent's queues counts as late too.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import multiprocessing
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from bench.common import figure, load_average, print_table
from bench.render import RESULTS, merge_results

__all__ = [
    "AgentProcess",
    "EmulatorPlan",
    "Recording",
    "agent_config",
    "main",
    "percentile",
    "poll_lateness",
    "serve_emulators",
]

QUIET_EVENTS_PER_SECOND = 1 / 60
BUSY_EVENTS_PER_SECOND = 10.0
HEC_TOKEN = "bench-hec-token"  # noqa: S105 - the emulator's, made up for the run
EVENT_ID_KEY = "bench-event-id-key-0123456789abcdef"
_TARGET_CPU_PERCENT = 15.0
_TARGET_RSS_MB = 300.0
_TARGET_LATENESS_SECONDS = 5.0
_READY_TIMEOUT = 120.0
_CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


# -- the emulators, in a process of their own ------------------------------------------------


@dataclass(frozen=True, slots=True)
class EmulatorPlan:
    """Organisations (name, events per second) whose history begins at `history_start`."""

    organizations: tuple[tuple[str, float], ...]
    history_start: float
    seed: int = 0


@dataclass(slots=True)
class Recording:
    """What the emulators saw. NordPass requests: (tenant, arrival); HEC event requests:
    (arrival, indexed at or None, events indexed); events: (tenant, timestamp, indexed at,
    event id); `visible`: per tenant, events the API held in the range asked for at stop."""

    nordpass: list[tuple[str, float]] = field(default_factory=list)
    hec: list[tuple[float, float | None, int]] = field(default_factory=list)
    events: list[tuple[str, int, float, str]] = field(default_factory=list)
    visible: dict[str, int] = field(default_factory=dict)
    cpu_seconds: float = 0.0


@dataclass(frozen=True, slots=True)
class Endpoints:
    nordpass_url: str
    hec_url: str
    organizations: dict[str, str]  # name -> organisation uuid


def _token(name: str) -> str:
    return f"bench-token-{name}"


def _serve_in_child(connection: Connection, plan: EmulatorPlan) -> None:
    asyncio.run(_serve(connection, plan))


async def _serve(connection: Connection, plan: EmulatorPlan) -> None:
    # Imported here: the parent never loads the servers, only this child does.
    from agent.clock import SystemClock
    from agent.nordpass.emulator import NordPassEmulator
    from connectors.splunk_hec.emulator import HecEmulator

    nordpass = NordPassEmulator(clock=SystemClock(), seed=plan.seed)
    uuids = {
        name: nordpass.add_organization(
            name, token=_token(name), events_per_second=rate, history_start=plan.history_start
        ).uuid
        for name, rate in plan.organizations
    }
    hec = HecEmulator(seed=plan.seed)
    hec.add_token(HEC_TOKEN, name="bench")
    nordpass_url = await nordpass.start()
    hec_url = await hec.start()
    connection.send(Endpoints(nordpass_url, hec_url, uuids))
    # The request to stop names the range whose visible events to count, or None.
    visible_range = await asyncio.get_running_loop().run_in_executor(None, connection.recv)
    await nordpass.stop()
    await hec.stop()
    recording = Recording(
        nordpass=[(r.organization, r.received_at) for r in nordpass.requests if r.organization],
        hec=[(r.received_at, r.indexed_at, r.indexed) for r in hec.requests],
    )
    by_number = {r.number: r.indexed_at for r in hec.requests}
    for event in hec.indexed:
        body = event.event if isinstance(event.event, dict) else {}
        indexed_at = by_number.get(event.request)
        if indexed_at is not None and event.event_id is not None:
            stamp = int(body.get("timestamp", event.time or 0))
            recording.events.append((str(body.get("tenant")), stamp, indexed_at, event.event_id))
    if visible_range is not None:
        lo, hi = visible_range
        recording.visible = {name: nordpass.visible_count(uuids[name], lo, hi) for name in uuids}
    usage = os.times()
    recording.cpu_seconds = usage.user + usage.system
    connection.send(recording)


class EmulatorHandle:
    def __init__(self, connection: Connection, endpoints: Endpoints) -> None:
        self._connection = connection
        self.endpoints = endpoints
        self.recording: Recording | None = None

    def stop(self, visible_range: tuple[int, int] | None = None) -> Recording:
        """Stop both servers and fetch what they recorded."""
        if self.recording is None:
            self._connection.send(visible_range)
            self.recording = self._connection.recv()
        return self.recording


@contextmanager
def serve_emulators(plan: EmulatorPlan) -> Iterator[EmulatorHandle]:
    """The NordPass API and HEC emulators in a child process for the duration of the block."""
    context = multiprocessing.get_context("spawn")
    parent, child = context.Pipe()
    process = context.Process(target=_serve_in_child, args=(child, plan), daemon=True)
    process.start()
    try:
        if not parent.poll(_READY_TIMEOUT):
            raise RuntimeError("the emulators did not start")
        handle = EmulatorHandle(parent, parent.recv())
        yield handle
        handle.stop()
    finally:
        process.join(timeout=30)
        if process.is_alive():
            process.kill()
            process.join()


# -- the agent, as a real process ------------------------------------------------------------


def agent_config(
    root: Path,
    endpoints: Endpoints,
    *,
    poll_interval: float,
    settle_delay: float,
    start: int,
) -> Path:
    """A configuration with one tenant per emulated organisation, all sending to the HEC."""
    config = {
        "state": f"sqlite:///{root / 'state.db'}",
        "event_id_key": EVENT_ID_KEY,
        "defaults": {"poll_interval": f"{poll_interval:g}s", "settle_delay": f"{settle_delay:g}s"},
        "destinations": {
            "splunk": {"type": "splunk_hec", "url": endpoints.hec_url, "token": HEC_TOKEN}
        },
        "tenants": {
            name: {
                "nordpass": {
                    "url": endpoints.nordpass_url,
                    "token": _token(name),
                    "organization_uuid": uuid,
                },
                "destinations": ["splunk"],
                "start": start,
            }
            for name, uuid in endpoints.organizations.items()
        },
    }
    path = root / "agent.yaml"
    path.write_text(json.dumps(config, indent=1))  # JSON is YAML
    return path


def _agent_command() -> list[str]:
    script = Path(sys.executable).with_name("nordpass-agent")
    return [str(script)] if script.exists() else [sys.executable, "-m", "agent"]


class AgentProcess:
    """`nordpass-agent run` with its JSON log in a file; CPU and memory read from /proc."""

    def __init__(self, config: Path, log: Path) -> None:
        self.log = log
        environment = {**os.environ, "NORDPASS_AGENT_LOG_FORMAT": "json"}
        environment.pop("NORDPASS_AGENT_LOG_LEVEL", None)
        with log.open("wb") as handle:
            self._process = subprocess.Popen(  # noqa: S603 - our own entry point
                [*_agent_command(), "run", "-c", str(config)],
                stdout=handle,
                stderr=handle,
                env=environment,
            )
        self.pid = self._process.pid

    def wait_ready(self, tenants: int, timeout: float = _READY_TIMEOUT) -> float:
        """Wait until every tenant is scheduled; the wall-clock time it took."""
        began = time.time()
        while self.count_log("tenant scheduled") < tenants:
            if self._process.poll() is not None:
                raise RuntimeError(f"the agent exited with {self._process.returncode}: {self.log}")
            if time.time() - began > timeout:
                raise RuntimeError(f"the agent was not ready within {timeout} s: {self.log}")
            time.sleep(0.1)
        return time.time() - began

    def count_log(self, message: str) -> int:
        needle = f'"event": "{message}"'
        with self.log.open(encoding="utf-8", errors="replace") as handle:
            return sum(needle in line for line in handle)

    def log_levels(self) -> dict[str, int]:
        levels: dict[str, int] = defaultdict(int)
        with self.log.open(encoding="utf-8", errors="replace") as handle:
            for line in handle:
                try:
                    levels[str(json.loads(line).get("level"))] += 1
                except ValueError:
                    levels["unparsed"] += 1
        return dict(levels)

    def cpu_seconds(self) -> tuple[float, float]:
        """User and system CPU seconds of the agent process (all its threads) so far."""
        stat = Path(f"/proc/{self.pid}/stat").read_text()
        # The command name may hold spaces; the fields after its closing parenthesis do not.
        fields = stat[stat.rindex(")") + 2 :].split()
        return int(fields[11]) / _CLOCK_TICKS, int(fields[12]) / _CLOCK_TICKS

    def memory_bytes(self) -> tuple[int, int]:
        """Resident memory now and its peak (VmRSS, VmHWM)."""
        values = {}
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            key, _, rest = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                values[key] = int(rest.split()[0]) * 1024
        return values["VmRSS"], values["VmHWM"]

    def stop(self, timeout: float = 60.0) -> int:
        if self._process.poll() is None:
            self._process.send_signal(signal.SIGTERM)
            try:
                self._process.wait(timeout)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        return self._process.returncode


# -- the figures -----------------------------------------------------------------------------


def percentile(values: Sequence[float], share: float) -> float:
    """The nearest-rank percentile (`share` in 0..1); NaN for no values."""
    if not values:
        return math.nan
    ordered = sorted(values)
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]


def poll_lateness(
    requests: Sequence[tuple[str, float]], interval: float, window: tuple[float, float]
) -> list[float]:
    """Seconds each cycle that began within `window` started behind its tenant's schedule."""
    arrivals: dict[str, list[float]] = defaultdict(list)
    for tenant, received_at in requests:
        arrivals[tenant].append(received_at)
    lateness = []
    for times in arrivals.values():
        times.sort()
        gaps = zip([-math.inf, *times], times, strict=False)
        starts = [t for previous, t in gaps if t - previous > interval / 2]
        phase = min(start - k * interval for k, start in enumerate(starts))
        lateness += [
            start - (phase + k * interval)
            for k, start in enumerate(starts)
            if window[0] <= start <= window[1]
        ]
    return lateness


@dataclass(frozen=True, slots=True)
class Scenario:
    tenants: int
    busy: int
    interval: float
    settle_delay: float
    minutes: float
    quick: bool

    def organizations(self) -> tuple[tuple[str, float], ...]:
        busy = [(f"busy-{i:03d}", BUSY_EVENTS_PER_SECOND) for i in range(self.busy)]
        quiet = [
            (f"quiet-{i:04d}", QUIET_EVENTS_PER_SECOND) for i in range(self.tenants - self.busy)
        ]
        return tuple(busy + quiet)

    def context(self) -> dict[str, Any]:
        return {
            "tenants": self.tenants,
            "busy_tenants": self.busy,
            "poll_interval_seconds": self.interval,
            "settle_delay_seconds": self.settle_delay,
            "minutes": self.minutes,
            "quick": self.quick,
        }


@dataclass(frozen=True, slots=True)
class Measurement:
    window: tuple[float, float]
    cpu_seconds: tuple[float, float]  # user, system
    startup_seconds: float
    startup_cpu_seconds: float
    peak_rss_bytes: int
    exit_code: int
    log_levels: dict[str, int]
    recording: Recording


def measure(scenario: Scenario, root: Path) -> Measurement:
    """Run the agent against the emulators for the scenario's length; the raw measurements."""
    now = math.floor(time.time())
    # The first cycle reads one interval, like every later one; nothing exists before it.
    start = now - math.ceil(scenario.settle_delay + scenario.interval)
    plan = EmulatorPlan(scenario.organizations(), history_start=start)
    with serve_emulators(plan) as emulators:
        config = agent_config(
            root,
            emulators.endpoints,
            poll_interval=scenario.interval,
            settle_delay=scenario.settle_delay,
            start=start,
        )
        agent = AgentProcess(config, root / "agent.log")
        try:
            startup = agent.wait_ready(scenario.tenants)
            began, cpu_began = time.time(), agent.cpu_seconds()
            time.sleep(scenario.minutes * 60)
            ended, cpu_ended = time.time(), agent.cpu_seconds()
            _, peak = agent.memory_bytes()
        finally:
            code = agent.stop()
        recording = emulators.stop()
    return Measurement(
        window=(began, ended),
        cpu_seconds=(cpu_ended[0] - cpu_began[0], cpu_ended[1] - cpu_began[1]),
        startup_seconds=startup,
        startup_cpu_seconds=sum(cpu_began),
        peak_rss_bytes=peak,
        exit_code=code,
        log_levels=agent.log_levels(),
        recording=recording,
    )


def figures(scenario: Scenario, measured: Measurement) -> list[dict[str, Any]]:
    began, ended = measured.window
    minutes = (ended - began) / 60
    recording = measured.recording
    nordpass = sum(began <= at <= ended for _, at in recording.nordpass)
    hec = sum(began <= at <= ended for at, _, _ in recording.hec)
    lateness = poll_lateness(recording.nordpass, scenario.interval, measured.window)
    context = {
        **scenario.context(),
        "agent_exit_code": measured.exit_code,
        "agent_log_lines_by_level": measured.log_levels,
        "emulators_cpu_seconds": round(recording.cpu_seconds, 1),
    }
    hec_target = 2 * scenario.busy + 60
    return [
        figure("tenants.agent_cpu", 100 * sum(measured.cpu_seconds) / (ended - began),
               "% of one core (average)", target=_TARGET_CPU_PERCENT, higher_is_better=False,
               user_cpu_seconds=round(measured.cpu_seconds[0], 2),
               system_cpu_seconds=round(measured.cpu_seconds[1], 2),
               startup_seconds=round(measured.startup_seconds, 2),
               startup_cpu_seconds=round(measured.startup_cpu_seconds, 2), **context),
        figure("tenants.agent_peak_rss", measured.peak_rss_bytes / 1_000_000, "MB (VmHWM)",
               target=_TARGET_RSS_MB, higher_is_better=False, **context),
        figure("tenants.nordpass_requests_per_minute", nordpass / minutes, "requests/min",
               requests=nordpass, **context),
        figure("tenants.hec_requests_per_minute", hec / minutes, "requests/min",
               target=hec_target, higher_is_better=False, requests=hec,
               events_indexed=sum(n for _, _, n in recording.hec), **context),
        figure("tenants.poll_lateness_p99", percentile(lateness, 0.99), "s behind schedule",
               target=_TARGET_LATENESS_SECONDS, higher_is_better=False,
               p50=round(percentile(lateness, 0.5), 3), max=round(max(lateness, default=0), 3),
               cycles=len(lateness), **context),
    ]  # fmt: skip


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="200 tenants, 10 s interval, 20 s")
    parser.add_argument("--tenants", type=int, help="default 1000 (quick: 200)")
    parser.add_argument("--busy", type=int, help="busy tenants among them; default 10 (quick: 2)")
    parser.add_argument("--minutes", type=float, help="measured run; default 5 (quick: 1/3)")
    parser.add_argument("--interval", type=float, help="poll interval, s; default 60 (quick: 10)")
    parser.add_argument("--settle-delay", type=float, default=60.0)
    parser.add_argument("--results", type=Path, default=RESULTS)
    parser.add_argument("--no-write", action="store_true", help="print only")
    args = parser.parse_args(argv)
    quick = args.quick
    scenario = Scenario(
        tenants=args.tenants or (200 if quick else 1000),
        busy=args.busy if args.busy is not None else (2 if quick else 10),
        interval=args.interval or (10.0 if quick else 60.0),
        settle_delay=args.settle_delay,
        minutes=args.minutes or (1 / 3 if quick else 5.0),
        quick=quick,
    )
    print(f"{scenario.tenants} tenants ({scenario.busy} busy at {BUSY_EVENTS_PER_SECOND:g} "
          f"events/s, the rest about 1 a minute), poll interval {scenario.interval:g} s, "
          f"{scenario.minutes:g} min; load average {load_average()}")  # fmt: skip
    with tempfile.TemporaryDirectory(prefix="bench-tenants-") as root:
        measured = measure(scenario, Path(root))
    results = figures(scenario, measured)
    print_table(results)
    if not args.no_write:
        merge_results(results, args.results)


if __name__ == "__main__":
    main()
