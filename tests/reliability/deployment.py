"""One agent installation driven as a real process, for the crash-safety tests: its configuration,
state file and NDJSON output; backfill runs that finish, die at a failpoint or are killed at a
chosen moment; and what the receiver and the state database hold after a kill.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import sqlite3
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from agent.failpoints import ENVIRONMENT_VARIABLE
from agent.nordpass.emulator import NordPassEmulator
from agent.state.schema import SCHEMA_VERSION

__all__ = [
    "EVENT_ID_KEY",
    "Deployment",
    "Receipt",
    "Source",
    "StateSnapshot",
    "canonical",
    "wait_or_kill",
]

# Fixed so that every deployment of a test, interrupted or not, derives the same ids.
EVENT_ID_KEY = "crash-safety-tests-event-id-key"
_AGENT_FIELDS = ("event_id", "tenant")
_BUSY_POLL_SECONDS = 0.005


def canonical(event: dict[str, Any]) -> str:
    """One comparable string per event as NordPass sent it, without the fields the agent adds."""
    return json.dumps(
        {key: value for key, value in event.items() if key not in _AGENT_FIELDS}, sort_keys=True
    )


async def wait_or_kill(
    process: asyncio.subprocess.Process, within: float, what: str, log_tail: Callable[[], str]
) -> int:
    """The process's exit code; one still running after `within` seconds is killed and the
    scenario fails, with the end of its log."""
    try:
        return await asyncio.wait_for(process.wait(), within)
    except TimeoutError:
        with contextlib.suppress(ProcessLookupError):  # it ended just now
            process.kill()
        code = await process.wait()
        raise AssertionError(
            f"{what} still running after {within:.0f} s (exit {code} once killed): {log_tail()}"
        ) from None


@dataclass(frozen=True, slots=True)
class Source:
    """An organisation in the emulator and the range the backfills cover."""

    emulator: NordPassEmulator
    organization_uuid: str
    token: str
    since: int
    until: int

    def ground_truth(self) -> list[str]:
        events = self.emulator.ground_truth(self.organization_uuid, self.since, self.until)
        return sorted(map(canonical, events))


@dataclass(frozen=True, slots=True)
class Receipt:
    """The complete lines of the output file, in the order the receiver got them."""

    lines: list[tuple[str, str]]  # (event_id, canonical event)

    @property
    def ids(self) -> list[str]:
        return [event_id for event_id, _ in self.lines]

    @property
    def duplicates(self) -> Counter[str]:
        """Ids received more than once, with the number of extra copies."""
        return Counter(self.ids) - Counter(set(self.ids))

    def events(self) -> dict[str, str]:
        """Event by id; every copy of a duplicated id must be the same event."""
        by_id: dict[str, str] = {}
        for event_id, event in self.lines:
            assert by_id.setdefault(event_id, event) == event, f"{event_id} names two events"
        return by_id


@dataclass(frozen=True, slots=True)
class StateSnapshot:
    """What the state file holds at one moment (all zero before the schema exists)."""

    committed: int = 0  # deliveries the destination confirmed and the agent committed
    counted: int = 0  # occurrences recorded as seen in the fingerprint counts
    logged: int = 0  # rows ever appended to the log (its AUTOINCREMENT high mark)
    completed_slices: tuple[tuple[int, int], ...] = ()


def _read_snapshot(database: sqlite3.Connection) -> StateSnapshot:
    (version,) = database.execute("PRAGMA user_version").fetchone()
    if version < SCHEMA_VERSION:  # killed before the agent had created its schema
        return StateSnapshot()
    ((committed, counted, logged),) = database.execute(
        "SELECT (SELECT COALESCE(SUM(delivered), 0) FROM offsets), "
        "(SELECT COALESCE(SUM(count), 0) FROM fingerprints), "
        "(SELECT COALESCE(MAX(seq), 0) FROM sqlite_sequence WHERE name = 'event_log')"
    )
    slices = database.execute('SELECT start, "end" FROM backfill_slices ORDER BY start')
    return StateSnapshot(
        committed=int(committed),
        counted=int(counted),
        logged=int(logged),
        completed_slices=tuple((int(start), int(end)) for start, end in slices),
    )


class Deployment:
    """A configuration, a state file and an output file under `root`, all for one tenant."""

    def __init__(
        self,
        root: Path,
        source: Source,
        *,
        batch_max_events: int,
        page_size: int,
        backfill_slice: str = "1h",
        backfill_concurrency: int = 4,
    ) -> None:
        self.root = root
        self.source = source
        self.batch_max_events = batch_max_events
        self.state = root / "state.db"
        self.output = root / "out" / "events.ndjson"
        self.log = root / "agent.log"
        self.config = root / "agent.yaml"
        root.mkdir(parents=True, exist_ok=True)
        # fsync off: a SIGKILL ends the process, not the machine; written lines stay in the page
        # cache and reach the file, which is all a process crash can test.
        self.config.write_text(
            f"""
state: sqlite:///{self.state}
event_id_key: {EVENT_ID_KEY}
batch_max_events: {batch_max_events}
defaults:
  page_size: {page_size}
  backfill_slice: {backfill_slice}
  backfill_concurrency: {backfill_concurrency}
destinations:
  receiver: {{type: file, path: {self.output}, fsync: false}}
tenants:
  acme:
    nordpass:
      url: "{source.emulator.url}"
      token: "{source.token}"
      organization_uuid: "{source.organization_uuid}"
      requests_per_second: 100
    destinations: [receiver]
"""
        )

    async def start(self, failpoints: str | None = None) -> asyncio.subprocess.Process:
        """Start `backfill` over the source's range; its output goes to `self.log`."""
        environment = {**os.environ, "NORDPASS_AGENT_LOG_FORMAT": "json"}
        environment.pop(ENVIRONMENT_VARIABLE, None)
        if failpoints is not None:
            environment[ENVIRONMENT_VARIABLE] = failpoints
        with self.log.open("ab") as log:
            return await asyncio.create_subprocess_exec(
                sys.executable, "-m", "agent", "backfill", "-c", str(self.config),
                "--since", str(self.source.since), "--until", str(self.source.until),
                stdout=log, stderr=log, env=environment,
            )  # fmt: skip

    async def run(self, failpoints: str | None = None, *, within: float = 60) -> int:
        """One backfill run to its end (done, or killed by a failpoint); its exit code."""
        process = await self.start(failpoints)
        return await self._end(process, within)

    async def run_timed(self, *, within: float = 60) -> tuple[int, float]:
        """One backfill run to its end; its exit code and how long it was busy (from its first
        request or output line to its exit, leaving out the interpreter's start-up)."""
        process = await self.start()
        await self._until_busy(process, within)
        busy_since = time.monotonic()
        code = await self._end(process, within)
        return code, time.monotonic() - busy_since

    async def run_killed(self, delay: float, *, within: float = 60) -> int:
        """Start a backfill and SIGKILL it `delay` seconds after it began working (its first API
        request or output line), unless it finished first; its exit code."""
        process = await self.start()
        await self._until_busy(process, within)
        try:
            await asyncio.wait_for(process.wait(), delay)
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):  # it ended just now
                process.kill()
        return await self._end(process, within)

    async def _end(self, process: asyncio.subprocess.Process, within: float) -> int:
        return await wait_or_kill(process, within, "backfill", self.log_tail)

    async def _until_busy(self, process: asyncio.subprocess.Process, within: float) -> None:
        """Bounded wait until this run shows work (an API request or output) or exits."""
        before = self._activity()
        deadline = time.monotonic() + within
        while process.returncode is None and self._activity() == before:
            assert time.monotonic() < deadline, f"no sign of work in {within} s: {self.log_tail()}"
            await asyncio.sleep(_BUSY_POLL_SECONDS)

    def _activity(self) -> tuple[int, int]:
        size = self.output.stat().st_size if self.output.exists() else 0
        return len(self.source.emulator.requests), size

    def line_count(self) -> int:
        """Complete lines in the output: a partial last line is cut when the agent reopens it."""
        return self.output.read_bytes().count(b"\n") if self.output.exists() else 0

    def receipt(self) -> Receipt:
        data = self.output.read_bytes() if self.output.exists() else b""
        complete = data[: data.rfind(b"\n") + 1].splitlines()
        return Receipt(
            [(record["event_id"], canonical(record)) for record in map(json.loads, complete)]
        )

    def ends_mid_line(self) -> bool:
        data = self.output.read_bytes() if self.output.exists() else b""
        return not data.endswith(b"\n") and bool(data)

    def snapshot(self) -> StateSnapshot:
        """What the state file holds, read from a copy: the test's own connection must neither
        recover nor checkpoint the WAL that the next agent run is meant to recover itself."""
        with tempfile.TemporaryDirectory() as scratch:
            copy = Path(scratch) / "state.db"
            for suffix in ("", "-wal"):
                original = self.state.with_name(self.state.name + suffix)
                if original.exists():
                    shutil.copyfile(original, copy.with_name(copy.name + suffix))
            database = sqlite3.connect(copy)
            try:
                return _read_snapshot(database)
            finally:
                database.close()

    def log_tail(self, characters: int = 3000) -> str:
        return self.log.read_text(errors="replace")[-characters:] if self.log.exists() else ""
