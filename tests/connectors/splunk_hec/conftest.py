"""The HEC connector against the HEC emulator over real sockets, on an injected clock."""

from __future__ import annotations

import contextlib
import ssl
from collections.abc import AsyncIterator, Callable, Mapping
from pathlib import Path
from typing import Any

import pytest
import trustme
from pydantic import SecretStr

from agent.clock import ManualClock, SystemClock
from agent.nordpass.emulator import NordPassEmulator
from connectors.base import OutboundEvent
from connectors.splunk_hec import SplunkHecConfig, SplunkHecDestination
from connectors.splunk_hec.emulator import HecEmulator, HecKnobs

TOKEN = "3f1e4c2a-9b7d-4e5f-8a6b-1c2d3e4f5a6b"
ORG = "101b4232-0688-4599-bca8-4636c91cd687"
T0 = 1_767_225_600


def outbound(index: int, tenant: str = "acme", **extra: Any) -> OutboundEvent:
    raw = {
        "type": "login",
        "action": "user_login_successful",
        "timestamp": T0 + index,
        "organization_uuid": ORG,
        "user": {"uuid": "6b0f3a52-8f0e-4a57-9c8e-2a1f6d3b9e41", "email": "j@acme.example"},
        "metadata": {"ip_address": "198.51.100.7"},
        **extra,
    }
    return OutboundEvent(tenant=tenant, event_id=f"{tenant}-{index:05d}", raw=raw)


def batch_of(count: int, tenant: str = "acme", start: int = 0) -> list[OutboundEvent]:
    return [outbound(start + index, tenant) for index in range(count)]


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(start=T0 + 3600)


@pytest.fixture
async def emulator() -> AsyncIterator[HecEmulator]:
    emu = HecEmulator(knobs=HecKnobs(), seed=5)
    emu.add_token(TOKEN, name="nordpass", indexes=["nordpass", "acme", "globex"])
    await emu.start()
    yield emu
    await emu.stop()


Build = Callable[..., SplunkHecDestination]


@pytest.fixture
async def build(emulator: HecEmulator, clock: ManualClock) -> AsyncIterator[Build]:
    """`build(**settings)`: a destination on the emulator; closed at the end of the test."""
    built: list[SplunkHecDestination] = []

    def make(
        overrides: dict[str, dict[str, Any]] | None = None,
        *,
        url: str | None = None,
        jitter: Callable[[], float] = lambda: 0.5,
        **settings: Any,
    ) -> SplunkHecDestination:
        options: dict[str, Any] = {
            "type": "splunk_hec",
            "url": url or emulator.url,
            "token": SecretStr(TOKEN),
            "index": "nordpass",
            "ack_poll_interval": 10,
            **settings,
        }
        config = SplunkHecConfig.model_validate(options)
        destination = SplunkHecDestination("splunk", config, overrides, clock=clock, jitter=jitter)
        built.append(destination)
        return destination

    yield make
    for destination in built:
        await destination.close()


class Authority:
    """A test CA and a server certificate for 127.0.0.1."""

    def __init__(self, tmp_path: Path) -> None:
        self.ca = trustme.CA()
        self.ca_file = tmp_path / "ca.pem"
        self.ca.cert_pem.write_to_path(str(self.ca_file))
        self.server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self.ca.issue_cert("127.0.0.1").configure_cert(self.server)


@pytest.fixture
def authority(tmp_path: Path) -> Authority:
    return Authority(tmp_path)


@contextlib.asynccontextmanager
async def nordpass_history(
    organizations: Mapping[str, tuple[str, str]],
    since: int,
    until: int,
    *,
    events_per_second: float,
    seed: int,
) -> AsyncIterator[NordPassEmulator]:
    """The sandbox API on the real clock, holding a fixed history for each organisation
    (name → (API token, organization uuid))."""
    emulator = NordPassEmulator(clock=SystemClock(), seed=seed)
    for name, (token, organization_uuid) in organizations.items():
        emulator.add_organization(
            name,
            token=token,
            organization_uuid=organization_uuid,
            events_per_second=events_per_second,
            history_start=since,
            history_end=until,
        )
    await emulator.start()
    try:
        yield emulator
    finally:
        await emulator.stop()
