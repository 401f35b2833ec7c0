"""The ready-made sandbox the `sandbox` command starts: named tenants with predictable tokens."""

from __future__ import annotations

import httpx
import pytest

from agent.clock import ManualClock
from agent.nordpass.emulator import sandbox_token, serve_sandbox

from .conftest import START


async def test_the_sandbox_serves_named_tenants_with_derived_tokens() -> None:
    server = await serve_sandbox(organizations=3, clock=ManualClock(START), history_days=1)
    try:
        assert [o.name for o in server.organizations] == ["acme", "globex", "initech"]
        assert [o.token for o in server.organizations] == [
            "sandbox-token-acme",
            "sandbox-token-globex",
            "sandbox-token-initech",
        ]
        async with httpx.AsyncClient() as client:
            for organization in server.organizations:
                reply = await client.post(
                    server.url,
                    json={"timestamp_from": int(START) - 3600},
                    headers={"Authorization": organization.token},
                )
                assert reply.status_code == 200
                assert {e["organization_uuid"] for e in reply.json()["data"]} == {organization.uuid}
    finally:
        await server.emulator.stop()


async def test_the_same_seed_gives_the_same_organisation_uuids() -> None:
    first = await serve_sandbox(organizations=2, clock=ManualClock(START), seed=5)
    await first.emulator.stop()
    second = await serve_sandbox(organizations=2, clock=ManualClock(START), seed=5)
    await second.emulator.stop()
    assert first.organizations == second.organizations


async def test_more_tenants_than_names_stay_unique() -> None:
    server = await serve_sandbox(organizations=12, clock=ManualClock(START), history_days=0.01)
    await server.emulator.stop()
    names = [o.name for o in server.organizations]
    assert len(set(names)) == 12
    assert names[10] == "acme-2"
    assert server.organizations[10].token == sandbox_token("acme-2")


async def test_a_sandbox_needs_an_organisation() -> None:
    with pytest.raises(ValueError, match="at least one"):
        await serve_sandbox(organizations=0)
