"""A live agent and its emulators for the benchmarks that run `nordpass-agent run`
(`tenants`, `latency`): the emulated NordPass API and Splunk HEC in one process of their own
(`python -m bench.emulators live`, started and stopped as in `bench.common`) and what they
recorded, the agent's configuration for a set of organisations, and the agent as a real process
whose CPU time and memory are read from /proc.
"""

from __future__ import annotations

import json
import math
import os
import signal
import subprocess
import time
from collections import defaultdict
from collections.abc import Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.common import EVENT_ID_KEY, EmulatorProcess, agent_command, start_emulator

__all__ = [
    "AgentProcess",
    "Recording",
    "agent_config",
    "percentile",
    "serve_emulators",
    "stop_emulators",
]

_READY_TIMEOUT = 120.0
_CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


# -- the emulators, in a process of their own ------------------------------------------------


@dataclass(slots=True)
class Recording:
    """What the emulators saw. NordPass requests: (tenant, arrival); HEC event requests:
    (arrival, indexed at or None, events indexed); events: (tenant, timestamp, indexed at,
    event id); `visible`: per tenant, events the API held in the range asked for at stop;
    `cpu_seconds`: the emulators' process, user + system, reaped at its exit."""

    nordpass: list[tuple[str, float]] = field(default_factory=list)
    hec: list[tuple[float, float | None, int]] = field(default_factory=list)
    events: list[tuple[str, int, float, str]] = field(default_factory=list)
    visible: dict[str, int] = field(default_factory=dict)
    cpu_seconds: float = 0.0


def serve_emulators(
    organizations: Sequence[tuple[str, float]], history_start: float, seed: int = 0
) -> AbstractContextManager[EmulatorProcess]:
    """The NordPass API, with these organisations (name, events per second) from
    `history_start` on, and the HEC, in a process of their own for the duration of the block."""
    rates = [f"{name}={rate!r}" for name, rate in organizations]
    options = ["--history-start", repr(history_start), "--seed", str(seed)]
    return start_emulator("live", *options, "--organizations", *rates)


def stop_emulators(
    emulators: EmulatorProcess, visible_range: tuple[int, int] | None = None
) -> Recording:
    """Fetch what the emulators recorded, counting the events visible in `visible_range`,
    and stop them."""
    seen = emulators.stats(*(visible_range or ()))
    cpu_seconds, _ = emulators.stop()
    return Recording(
        nordpass=[(tenant, at) for tenant, at in seen["nordpass"]],
        hec=[(at, indexed_at, indexed) for at, indexed_at, indexed in seen["hec"]],
        events=[(tenant, stamp, at, event_id) for tenant, stamp, at, event_id in seen["events"]],
        visible=seen["visible"],
        cpu_seconds=cpu_seconds,
    )


# -- the agent, as a real process ------------------------------------------------------------


def agent_config(
    root: Path,
    emulators: dict[str, Any],
    *,
    poll_interval: float,
    settle_delay: float,
    start: int,
) -> Path:
    """A configuration with one tenant per emulated organisation, all sending to the HEC;
    `emulators` is their `ready` line."""
    config = {
        "state": f"sqlite:///{root / 'state.db'}",
        "event_id_key": EVENT_ID_KEY,
        "defaults": {"poll_interval": f"{poll_interval:g}s", "settle_delay": f"{settle_delay:g}s"},
        "destinations": {
            "splunk": {
                "type": "splunk_hec",
                "url": emulators["hec_url"],
                "token": emulators["hec_token"],
            }
        },
        "tenants": {
            name: {
                "nordpass": {
                    "url": emulators["nordpass_url"],
                    "token": organization["token"],
                    "organization_uuid": organization["uuid"],
                },
                "destinations": ["splunk"],
                "start": start,
            }
            for name, organization in emulators["organizations"].items()
        },
    }
    path = root / "agent.yaml"
    path.write_text(json.dumps(config, indent=1))  # JSON is YAML
    return path


class AgentProcess:
    """`nordpass-agent run` with its JSON log in a file; CPU and memory read from /proc."""

    def __init__(self, config: Path, log: Path) -> None:
        self.log = log
        environment = {**os.environ, "NORDPASS_AGENT_LOG_FORMAT": "json"}
        environment.pop("NORDPASS_AGENT_LOG_LEVEL", None)
        with log.open("wb") as handle:
            self._process = subprocess.Popen(  # noqa: S603 - our own entry point
                [*agent_command(), "run", "-c", str(config)],
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
