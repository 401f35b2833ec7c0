"""The agent as the runtime assembles it, reading the sandbox emulator over a real socket on an
injected clock and delivering to in-memory SIEMs: the set-up of the engine's behaviour tests."""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest

from agent.clock import ManualClock
from agent.config.model import AgentConfig
from agent.nordpass.emulator import EmulatorKnobs, NordPassEmulator
from agent.pipeline.dispatcher import DispatchPolicy
from agent.runtime import Agent
from connectors.base import OutboundEvent
from tests.support import MemoryDestination

ORG = "101b4232-0688-4599-bca8-4636c91cd687"
OTHER_ORG = "7c9e6679-7425-40de-944b-e07fc1f90ae7"
TOKENS = {"acme": ("tok-acme", ORG), "globex": ("tok-globex", OTHER_ORG)}
T0 = 1_767_225_600  # 2026-01-01T00:00:00Z: where both histories and the tenants' `start` begin
HOUR = 3600
POLL = 60
SETTLE = 60
LOOKBACK = 900
# Retry at once: the injected clock must not race ahead while a SIEM is down (its own latency
# keeps the retries from spinning).
IMMEDIATE_RETRIES = DispatchPolicy(
    batch_max_events=25, base_delay=0.0, max_delay=0.0, fatal_retry_interval=0.0
)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(start=T0 + 20 * 60)


@pytest.fixture
async def emulator(clock: ManualClock) -> AsyncIterator[NordPassEmulator]:
    emu = NordPassEmulator(clock=clock, knobs=EmulatorKnobs(), seed=7)
    emu.add_organization(
        "acme", token="tok-acme", organization_uuid=ORG, events_per_second=0.2, history_start=T0
    )
    emu.add_organization(
        "globex",
        token="tok-globex",
        organization_uuid=OTHER_ORG,
        events_per_second=0.1,
        history_start=T0,
    )
    await emu.start()
    yield emu
    await emu.stop()


class Deployment:
    """Opens agents on one state file; `cycle` runs live cycles the way the scheduler does."""

    def __init__(self, tmp_path: Path, clock: ManualClock, emulator: NordPassEmulator) -> None:
        self.tmp_path = tmp_path
        self.clock = clock
        self.emulator = emulator
        self._agent: Agent | None = None

    @property
    def agent(self) -> Agent:
        assert self._agent is not None, "open() the agent first"
        return self._agent

    def open(
        self,
        destinations: Sequence[MemoryDestination],
        *,
        tenants: Sequence[str] = ("acme",),
        policy: DispatchPolicy | None = None,
        housekeeping_seconds: float = 60.0,
        **defaults: object,
    ) -> Agent:
        """An agent whose tenants all deliver to `destinations`; `defaults` as in the file."""
        config = AgentConfig.model_validate(
            {
                "state": f"sqlite:///{self.tmp_path / 'state.db'}",
                "event_id_key": "k" * 32,
                "defaults": {
                    "poll_interval": f"{POLL}s",
                    "settle_delay": f"{SETTLE}s",
                    "lookback": f"{LOOKBACK}s",
                    **defaults,
                },
                # Declared like any destination; the in-memory instances stand in for them.
                "destinations": {
                    d.name: {"type": "file", "path": str(self.tmp_path / d.name)}
                    for d in destinations
                },
                "tenants": {name: self._tenant(name, destinations) for name in tenants},
            }
        )
        self._agent = Agent(
            config,
            clock=self.clock,
            dispatch_policy=policy,
            destinations={d.name: d for d in destinations},
            housekeeping_seconds=housekeeping_seconds,
        )
        return self._agent

    def _tenant(self, name: str, destinations: Sequence[MemoryDestination]) -> dict[str, Any]:
        token, organization_uuid = TOKENS[name]
        return {
            "nordpass": {
                "url": self.emulator.url,
                "token": token,
                "organization_uuid": organization_uuid,
                # The pacer sleeps on the injected clock; keep that drift small.
                "requests_per_second": 100,
            },
            "destinations": [d.name for d in destinations],
            "start": T0,
        }

    async def close(self, grace: float = 30.0) -> None:
        if self._agent is not None:
            await self._agent.close(grace)
            self._agent = None

    async def poll(self) -> None:
        """One scheduled live cycle of every tenant."""
        for name in self.agent.syncs:
            await self.agent.poll_tenant(name)

    async def cycle(self) -> None:
        """A live cycle, then each destination drained in turn. Only for healthy destinations
        with the dispatchers not started; otherwise `poll` and wait for `drained`."""
        await self.poll()
        for dispatcher in self.agent.dispatchers.values():
            while await dispatcher.deliver_once() is not None:
                pass

    async def drained(self, *destinations: str) -> None:
        """Wait until the started dispatchers confirmed every tenant's backlog."""
        names = destinations or tuple(self.agent.dispatchers)
        outbox = self.agent.store.outbox
        await eventually(
            lambda: all(outbox.backlog(t, d) == 0 for t in self.agent.syncs for d in names)
        )

    def watermark(self, tenant: str = "acme") -> int:
        mark = self.agent.store.watermark(tenant)
        assert mark is not None
        return mark


@pytest.fixture
async def deployment(
    tmp_path: Path, clock: ManualClock, emulator: NordPassEmulator
) -> AsyncIterator[Deployment]:
    built = Deployment(tmp_path, clock, emulator)
    yield built
    await built.close()


def multiset(events: Iterable[Mapping[str, Any]]) -> Counter[str]:
    """Events as a multiset of their canonical JSON: identical twins count twice."""
    return Counter(json.dumps(event, sort_keys=True) for event in events)


def raw_before(events: Iterable[OutboundEvent], end: int, tenant: str = "acme") -> list[Any]:
    """The NordPass events of `tenant` stamped before `end`, as received by a destination."""
    return [e.raw for e in events if e.tenant == tenant and e.raw["timestamp"] < end]


async def eventually(condition: Callable[[], bool], *, within: float = 20.0) -> None:
    """Wait (real time) for background dispatchers to make `condition` true."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while not condition():
        assert loop.time() < deadline, "condition not reached in time"
        await asyncio.sleep(0.01)
