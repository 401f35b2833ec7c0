"""A ready-made sandbox API for `nordpass-agent sandbox`: a few organisations on a real port.

Names and tokens are derived from position and seed, so the sample configuration the CLI prints
works against every run. Nothing is printed here; the CLI decides what to show.
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass

from agent.clock import Clock, SystemClock
from agent.nordpass.emulator.knobs import EmulatorKnobs
from agent.nordpass.emulator.server import NordPassEmulator

__all__ = [
    "SANDBOX_NAMES",
    "SandboxOrganization",
    "SandboxServer",
    "sandbox_token",
    "serve_sandbox",
]

SANDBOX_NAMES: tuple[str, ...] = (
    "acme",
    "globex",
    "initech",
    "umbrella",
    "hooli",
    "soylent",
    "cyberdyne",
    "wonka",
    "tyrell",
    "stark",
)


@dataclass(frozen=True, slots=True)
class SandboxOrganization:
    name: str
    uuid: str
    token: str


@dataclass(frozen=True, slots=True)
class SandboxServer:
    """A running sandbox: stop it with `await server.emulator.stop()`."""

    emulator: NordPassEmulator
    url: str
    organizations: tuple[SandboxOrganization, ...]


def sandbox_token(name: str) -> str:
    return f"sandbox-token-{name}"


def _name(index: int) -> str:
    base = SANDBOX_NAMES[index % len(SANDBOX_NAMES)]
    # Beyond the named list, number the repeats so names and tokens stay unique.
    return base if index < len(SANDBOX_NAMES) else f"{base}-{index // len(SANDBOX_NAMES) + 1}"


async def serve_sandbox(
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    organizations: int = 3,
    events_per_second: float = 0.05,
    history_days: float = 30.0,
    seed: int = 0,
    clock: Clock | None = None,
    knobs: EmulatorKnobs | None = None,
    ssl_context: ssl.SSLContext | None = None,
) -> SandboxServer:
    """Start an emulator with `organizations` tenants (`acme`, `globex`, `initech`, ...)."""
    if organizations < 1:
        raise ValueError("a sandbox needs at least one organisation")
    emulator = NordPassEmulator(clock=clock or SystemClock(), knobs=knobs, seed=seed)
    history_start = emulator.clock.now() - history_days * 86400
    added = []
    for index in range(organizations):
        name = _name(index)
        organization = emulator.add_organization(
            name,
            token=sandbox_token(name),
            events_per_second=events_per_second,
            history_start=history_start,
        )
        added.append(SandboxOrganization(name, organization.uuid, organization.token))
    url = await emulator.start(host, port, ssl_context)
    return SandboxServer(emulator, url, tuple(added))
