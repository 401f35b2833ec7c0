"""The API client against the sandbox emulator over a real socket (integration)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from pydantic import SecretStr

from agent.clock import ManualClock
from agent.errors import AuthError
from agent.nordpass.client import ActivityClient
from agent.nordpass.emulator import EmulatorKnobs, Fault, NordPassEmulator
from agent.nordpass.retry import RetryPolicy

ORG = "101b4232-0688-4599-bca8-4636c91cd687"
T0 = 1_767_225_600
TOKEN = "tok-integration-51c2"


@pytest.fixture
def manual_clock() -> ManualClock:
    return ManualClock(start=T0 + 86400)


@pytest.fixture
async def emulator(manual_clock: ManualClock) -> AsyncIterator[NordPassEmulator]:
    emu = NordPassEmulator(clock=manual_clock, knobs=EmulatorKnobs(per_page_cap=40), seed=3)
    emu.add_organization(
        "acme", token=TOKEN, organization_uuid=ORG, events_per_second=0.1, history_start=T0
    )
    await emu.start()
    yield emu
    await emu.stop()


@pytest.fixture
async def api(
    emulator: NordPassEmulator, manual_clock: ManualClock
) -> AsyncIterator[ActivityClient]:
    async with httpx.AsyncClient() as http:
        yield ActivityClient(
            "acme",
            emulator.url,
            SecretStr(TOKEN),
            http=http,
            retry=RetryPolicy.from_clock(manual_clock),
            per_page=100,
        )


async def test_paging_follows_the_servers_cap_to_the_total(
    api: ActivityClient, emulator: NordPassEmulator
) -> None:
    results = [result async for result in api.read_window(T0, T0 + 3600)]
    (result,) = results
    truth = emulator.ground_truth(ORG, T0, T0 + 3600)
    assert result.verified
    assert result.pages == -(-result.total // 40) > 5
    assert sorted(e["timestamp"] for e in result.events) == [e["timestamp"] for e in truth]
    assert {request.per_page for request in emulator.requests} == {100}


async def test_retry_after_from_the_server_is_honoured_on_the_injected_clock(
    api: ActivityClient, emulator: NordPassEmulator, manual_clock: ManualClock
) -> None:
    emulator.knobs.scripted.extend([Fault("429", retry_after=7), Fault("503")])
    total, _ = await api.probe_total(T0, T0 + 600)
    assert total > 0
    assert manual_clock.sleeps[0] == 7
    assert len(manual_clock.sleeps) == 2
    assert [request.status for request in emulator.requests] == [429, 503, 200]


async def test_a_revoked_token_is_an_auth_error_naming_the_tenant(
    api: ActivityClient, emulator: NordPassEmulator
) -> None:
    emulator.revoke(TOKEN)
    with pytest.raises(AuthError, match="tenant 'acme'") as caught:
        await api.probe_total(T0, T0 + 600)
    assert TOKEN not in str(caught.value)


async def test_the_servers_date_header_is_the_emulator_clock(
    api: ActivityClient, manual_clock: ManualClock
) -> None:
    _, server_time = await api.probe_total(T0, T0 + 600)
    assert server_time == int(manual_clock.now())
