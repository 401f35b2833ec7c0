"""The contract every destination connector passes, driven through the real engine.

A connector's test package provides a `ContractTarget`: it builds the destination and can make
the SIEM behind it misbehave (transient failures, Retry-After, single refused events, a broken
configuration), within the `Capabilities` it declares. The `Harness` is the engine's side: the
SQLite event log and outbox and the `Dispatcher`, on a manual clock. `test_contract` runs the
same behaviours against every target; a new connector adds its target there.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable, Collection
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from agent.clock import ManualClock
from agent.pipeline.dispatcher import Dispatcher, DispatchPolicy
from agent.state import LogEntry, SqliteStateStore
from connectors.base import Destination
from connectors.file import FileDestination, FileDestinationConfig

__all__ = [
    "DESTINATION",
    "TENANTS",
    "Capabilities",
    "ContractTarget",
    "FileTarget",
    "Harness",
    "open_file_target",
    "raw_event",
]

DESTINATION = "siem"
TENANTS = ("acme", "globex", "initech")
T0 = 1_767_225_600
ORG = "101b4232-0688-4599-bca8-4636c91cd687"


@dataclass(frozen=True, slots=True)
class Capabilities:
    """What a target can be made to do; behaviours it cannot show are skipped, not faked."""

    byte_cap: bool = False  # honours a per-request byte cap and reports request sizes
    retryable_faults: bool = False  # can fail transiently
    retry_after: bool = False  # its transient failures can carry Retry-After
    poison: bool = False  # can refuse single events
    fatal: bool = False  # can be broken by configuration, and repaired


class ContractTarget(Protocol):
    capabilities: Capabilities

    def destination(self, *, batch_max_bytes: int | None = None) -> Destination:
        """A new destination named `DESTINATION`; the target closes it at the end."""
        ...

    def delivered(self) -> list[tuple[str, str]]:
        """(tenant, event_id) of every event the SIEM holds, in arrival order."""
        ...

    def request_sizes(self) -> list[int]:
        """Uncompressed bytes of each request the SIEM received."""
        ...

    def fail_next(self, count: int, *, retry_after: float | None = None) -> None: ...

    def poison(self, event_ids: Collection[str]) -> None: ...

    def break_config(self) -> None: ...

    def repair(self) -> None: ...


def raw_event(tenant: str, index: int) -> bytes:
    return json.dumps(
        {
            "type": "login",
            "action": "user_login_successful" if index % 3 else "user_login_failed",
            "timestamp": T0 + index,
            "organization_uuid": ORG,
            "user": {"uuid": f"u-{index % 7}", "email": f"user{index % 7}@{tenant}.example"},
            "metadata": {"ip_address": f"198.51.100.{index % 250}"},
        }
    ).encode()


class Harness:
    """The real event log, outbox and dispatcher, on a manual clock (waits never sleep)."""

    def __init__(self, tmp_path: Path, clock: ManualClock) -> None:
        self.clock = clock
        self.store = SqliteStateStore(tmp_path / "state.db")
        self.store.outbox.set_routes({tenant: [DESTINATION] for tenant in TENANTS})
        self.appended: dict[str, list[str]] = {tenant: [] for tenant in TENANTS}

    def append(self, count: int, tenants: Collection[str] = TENANTS) -> None:
        """`count` new events per tenant, interleaved across tenants as live polling does."""
        for _ in range(count):
            for tenant in tenants:
                index = len(self.appended[tenant])
                event_id = f"{tenant}-{index:05d}"
                entry = LogEntry(event_id, T0 + index, raw_event(tenant, index))
                self.store.append_window(tenant, {}, [entry], now=self.clock.now())
                self.appended[tenant].append(event_id)

    def dispatcher(self, destination: Destination, *, batch_max_events: int = 25) -> Dispatcher:
        policy = DispatchPolicy(batch_max_events=batch_max_events, idle_wait=0.05)
        return Dispatcher(
            destination, self.store.outbox, clock=self.clock, policy=policy, jitter=lambda: 0.5
        )

    def backlog(self) -> int:
        return sum(self.store.outbox.backlog(tenant, DESTINATION) for tenant in TENANTS)

    def dead_letter_ids(self) -> set[str]:
        return {letter.event_id for letter in self.store.dead_letters.list()}

    @asynccontextmanager
    async def running(self, dispatcher: Dispatcher) -> AsyncIterator[asyncio.Task[None]]:
        """The dispatcher's own loop in the background, stopped on exit."""
        stop = asyncio.Event()
        task = asyncio.create_task(dispatcher.run(stop))
        try:
            yield task
        finally:
            stop.set()
            await asyncio.wait_for(task, timeout=30)

    async def deliver_all(self, dispatcher: Dispatcher) -> None:
        async with self.running(dispatcher):
            await until(lambda: self.backlog() == 0)

    def close(self) -> None:
        self.store.close()


async def until(condition: Callable[[], bool], within: float = 30.0) -> None:
    """Bounded wait for state committed to the database (no event to wait on)."""
    async with asyncio.timeout(within):
        while not condition():  # noqa: ASYNC110 - the condition is a database read
            await asyncio.sleep(0.005)


class FileTarget:
    """The NDJSON file destination: no transient faults, no per-event refusals; a blocked
    directory is its configuration error."""

    capabilities = Capabilities(fatal=True)

    def __init__(self, tmp_path: Path) -> None:
        self._directory = tmp_path / "out"
        self._path = self._directory / "events.ndjson"
        self._opened: list[FileDestination] = []

    def destination(self, *, batch_max_bytes: int | None = None) -> Destination:
        config = FileDestinationConfig(type="file", path=self._path, fsync=False)
        destination = FileDestination(DESTINATION, config)
        self._opened.append(destination)
        return destination

    def delivered(self) -> list[tuple[str, str]]:
        if not self._path.exists():
            return []
        lines = [json.loads(line) for line in self._path.read_text().splitlines()]
        return [(line["tenant"], line["event_id"]) for line in lines]

    def request_sizes(self) -> list[int]:
        raise NotImplementedError("the file destination has no requests")

    def fail_next(self, count: int, *, retry_after: float | None = None) -> None:
        raise NotImplementedError("the file destination has no transient faults")

    def poison(self, event_ids: Collection[str]) -> None:
        raise NotImplementedError("the file destination accepts every event")

    def break_config(self) -> None:
        self._directory.parent.mkdir(parents=True, exist_ok=True)
        self._directory.write_text("a file where the output directory should be")

    def repair(self) -> None:
        self._directory.unlink()

    async def close(self) -> None:
        for destination in self._opened:
            await destination.close()


@asynccontextmanager
async def open_file_target(tmp_path: Path, clock: ManualClock) -> AsyncIterator[FileTarget]:
    target = FileTarget(tmp_path)
    try:
        yield target
    finally:
        await target.close()
