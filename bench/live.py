"""A live agent and its emulators for the benchmarks that run `nordpass-agent run`
(`tenants`, `latency`): the emulated NordPass API and Splunk HEC in one process of their own,
the agent's configuration for a set of organisations, and the agent as a real process whose CPU
time and memory are read from /proc.
"""

from __future__ import annotations

import asyncio
import json
import math
import multiprocessing
import os
import signal
import subprocess
import sys
import time
from collections import defaultdict
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path

__all__ = [
    "EVENT_ID_KEY",
    "HEC_TOKEN",
    "AgentProcess",
    "EmulatorHandle",
    "EmulatorPlan",
    "Recording",
    "agent_config",
    "percentile",
    "serve_emulators",
]

HEC_TOKEN = "bench-hec-token"  # noqa: S105 - the emulator's, made up for the run
EVENT_ID_KEY = "bench-event-id-key-0123456789abcdef"
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


# -- percentiles ------------------------------------------------------------------------------


def percentile(values: Sequence[float], share: float) -> float:
    """The nearest-rank percentile (`share` in 0..1); NaN for no values."""
    if not values:
        return math.nan
    ordered = sorted(values)
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]
