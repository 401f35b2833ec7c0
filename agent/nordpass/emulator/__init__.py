"""The sandbox NordPass Activity Log API: a seeded event generator behind a real HTTP server.

Tests and the `sandbox` command run the agent against it over real sockets; knobs reproduce the
API's unknowns (order, bound convention, late events, growth while paging) and its failures.
"""

from agent.nordpass.emulator.catalog import ACTION_CATALOG, CatalogEntry
from agent.nordpass.emulator.generator import HOSTILE_NAMES, Member
from agent.nordpass.emulator.knobs import BoundMode, EmulatorKnobs, Fault, FaultKind, OrderMode
from agent.nordpass.emulator.recording import RecordedRequest
from agent.nordpass.emulator.registry import Organization
from agent.nordpass.emulator.sandbox import (
    SANDBOX_NAMES,
    SandboxOrganization,
    SandboxServer,
    sandbox_token,
    serve_sandbox,
)
from agent.nordpass.emulator.server import QUERY_PATH, NordPassEmulator

__all__ = [
    "ACTION_CATALOG",
    "HOSTILE_NAMES",
    "QUERY_PATH",
    "SANDBOX_NAMES",
    "BoundMode",
    "CatalogEntry",
    "EmulatorKnobs",
    "Fault",
    "FaultKind",
    "Member",
    "NordPassEmulator",
    "OrderMode",
    "Organization",
    "RecordedRequest",
    "SandboxOrganization",
    "SandboxServer",
    "sandbox_token",
    "serve_sandbox",
]
