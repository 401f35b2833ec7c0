"""One agent installation for the reliability scenarios, driven as a real process: a configuration
with any destinations, the state file, the agent's log, and what the state file and the receivers
hold at a given moment (read from copies, so the test never recovers the agent's WAL itself).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import signal
import sqlite3
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from agent.failpoints import ENVIRONMENT_VARIABLE
from agent.normalize.render_native import ADDED_FIELDS
from agent.state.schema import SCHEMA_VERSION
from connectors.splunk_hec.emulator import HecEmulator
from tests.reliability.deployment import EVENT_ID_KEY, Source, wait_or_kill

__all__ = [
    "HEC_TOKEN",
    "Installation",
    "StateView",
    "file_receipts",
    "hec_receipts",
    "received_canonical",
    "until",
]

HEC_TOKEN = "5e1ab1e0-0000-4000-8000-00000000beef"
_POLL_SECONDS = 0.02


def received_canonical(record: dict[str, Any]) -> str:
    """A received record as NordPass sent it: without every field the agent adds (the native
    format adds the Sentinel columns too), comparable with the ground truth's `canonical`."""
    return json.dumps(
        {key: value for key, value in record.items() if key not in ADDED_FIELDS}, sort_keys=True
    )


def hec_receipts(hec: HecEmulator) -> list[tuple[str, str]]:
    """(event_id, canonical event) for everything HEC indexed, copies included."""
    return [(str(event.event_id), received_canonical(event.event)) for event in hec.indexed]


def file_receipts(path: Path) -> list[tuple[str, str]]:
    """The complete lines of an NDJSON output file, copies included."""
    data = path.read_bytes() if path.exists() else b""
    complete = data[: data.rfind(b"\n") + 1].splitlines()
    return [(r["event_id"], received_canonical(r)) for r in map(json.loads, complete)]


async def until(
    condition: Callable[[], bool], *, within: float, what: str, log: Callable[[], str] = str
) -> None:
    """A bounded liveness wait: poll `condition` until it holds, or fail naming `what`."""
    deadline = time.monotonic() + within
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {within:.0f} s: {what}\n{log()}")
        await asyncio.sleep(_POLL_SECONDS)


@dataclass(frozen=True, slots=True)
class StateView:
    """What the state file held at one moment (zeros before the agent created its schema)."""

    committed: dict[str, int]  # deliveries each destination confirmed, by destination
    dead_letters: int
    watermark: int | None
    counted_below_watermark: int  # occurrences recorded as seen in seconds before the watermark

    @property
    def committed_total(self) -> int:
        return sum(self.committed.values())


class Installation:
    """A configuration and a state file under `root`, for one tenant reading `source`."""

    def __init__(
        self,
        root: Path,
        source: Source,
        *,
        destinations: dict[str, str],
        batch_max_events: int = 1000,
        defaults: str = "{page_size: 1000, backfill_slice: 1h, backfill_concurrency: 4}",
        tenant_settings: Sequence[str] = (),
    ) -> None:
        """`destinations`: YAML flow mappings by name, all routed to the one tenant."""
        self.root = root
        self.source = source
        self.state = root / "state" / "state.db"
        self.log = root / "agent.log"
        self.config = root / "agent.yaml"
        root.mkdir(parents=True, exist_ok=True)
        named = "\n".join(f"  {name}: {spec}" for name, spec in destinations.items())
        extra = "".join(f"\n    {line}" for line in tenant_settings)
        self.config.write_text(
            f"""
state: sqlite:///{self.state}
event_id_key: {EVENT_ID_KEY}
batch_max_events: {batch_max_events}
defaults: {defaults}
destinations:
{named}
tenants:
  acme:
    nordpass:
      url: "{source.emulator.url}"
      token: "{source.token}"
      organization_uuid: "{source.organization_uuid}"
      requests_per_second: 100
    destinations: [{", ".join(destinations)}]{extra}
"""
        )

    # -- the process ------------------------------------------------------------------------

    async def start(self, *arguments: str, **options: Any) -> asyncio.subprocess.Process:
        """`python -m agent <arguments> -c <config>`, its output appended to `self.log`."""
        environment = {**os.environ, "NORDPASS_AGENT_LOG_FORMAT": "json"}
        environment.pop(ENVIRONMENT_VARIABLE, None)
        with self.log.open("ab") as log:
            return await asyncio.create_subprocess_exec(
                sys.executable, "-m", "agent", *arguments, "-c", str(self.config),
                stdout=log, stderr=log, env=environment, **options,
            )  # fmt: skip

    async def backfill(self, *, within: float) -> int:
        """One backfill of the source's range, to its end; its exit code."""
        return await self.finish(await self.start_backfill(), within=within)

    async def start_backfill(self) -> asyncio.subprocess.Process:
        return await self.start(
            "backfill", "--since", str(self.source.since), "--until", str(self.source.until)
        )

    async def finish(self, process: asyncio.subprocess.Process, *, within: float) -> int:
        """The process's exit code; one still running after `within` seconds is killed and
        the scenario fails."""
        return await wait_or_kill(process, within, "agent", self.log_tail)

    async def terminate(self, process: asyncio.subprocess.Process, *, within: float) -> int:
        """SIGTERM, as an operator stops `run`; its exit code."""
        with contextlib.suppress(ProcessLookupError):
            process.send_signal(signal.SIGTERM)
        return await self.finish(process, within=within)

    async def kill(self, process: asyncio.subprocess.Process) -> int:
        with contextlib.suppress(ProcessLookupError):  # it ended just now
            process.kill()
        return await process.wait()

    # -- what it left -----------------------------------------------------------------------

    def state_view(self) -> StateView:
        with self._state_copy() as database:
            (version,) = database.execute("PRAGMA user_version").fetchone()
            if version < SCHEMA_VERSION:
                return StateView({}, 0, None, 0)
            committed = {
                str(name): int(count)
                for name, count in database.execute(
                    "SELECT destination, SUM(delivered) FROM offsets GROUP BY destination"
                )
            }
            (dead,) = database.execute("SELECT COUNT(*) FROM dead_letters").fetchone()
            row = database.execute("SELECT watermark FROM watermarks").fetchone()
            watermark = None if row is None else int(row[0])
            (counted,) = database.execute(
                "SELECT COALESCE(SUM(count), 0) FROM fingerprints WHERE second < ?",
                (watermark if watermark is not None else -1,),
            ).fetchone()
        return StateView(committed, int(dead), watermark, int(counted))

    @contextlib.contextmanager
    def _state_copy(self) -> Iterator[sqlite3.Connection]:
        with tempfile.TemporaryDirectory() as scratch:
            copy = Path(scratch) / "state.db"
            for suffix in ("", "-wal"):
                original = self.state.with_name(self.state.name + suffix)
                with contextlib.suppress(FileNotFoundError):  # not created yet
                    shutil.copyfile(original, copy.with_name(copy.name + suffix))
            database = sqlite3.connect(copy)
            try:
                yield database
            finally:
                database.close()

    def log_records(self) -> list[dict[str, Any]]:
        """The agent's JSON log lines (anything else it printed is left out)."""
        records = []
        text = self.log.read_text(errors="replace") if self.log.exists() else ""
        for line in text.splitlines():
            with contextlib.suppress(ValueError):
                record = json.loads(line)
                if isinstance(record, dict):
                    records.append(record)
        return records

    def log_tail(self, characters: int = 3000) -> str:
        return self.log.read_text(errors="replace")[-characters:] if self.log.exists() else ""
