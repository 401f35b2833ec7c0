"""An MSP's tenant whose own HEC token is refused: the agent holds back that tenant's events only,
reports it, keeps its backlog, and delivers it once the token works, without duplicates."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from agent.clock import SystemClock
from agent.config import parse_config
from agent.nordpass.emulator import NordPassEmulator
from agent.pipeline.dispatcher import DispatchPolicy
from agent.runtime import Agent, TenantOutcome
from connectors.splunk_hec.emulator import HecEmulator, HecKnobs
from tests.connectors.splunk_hec.conftest import nordpass_history

HEC_TOKEN = "c0ffee00-1111-4222-8333-444455556666"
GLOBEX_TOKEN = "91bebe00-2222-4333-8444-555566667777"
T0 = 1_767_225_600
SINCE, UNTIL = T0, T0 + 6 * 3600
ORGS = {
    "acme": ("tok-acme", "1a29e000-0000-4000-8000-0000000000a1"),
    "globex": ("tok-globex", "1a29e000-0000-4000-8000-0000000000b2"),
}


@pytest.fixture
async def nordpass() -> AsyncIterator[NordPassEmulator]:
    async with nordpass_history(ORGS, SINCE, UNTIL, events_per_second=0.05, seed=4) as api:
        yield api


@pytest.fixture
async def splunk() -> AsyncIterator[HecEmulator]:
    emulator = HecEmulator(knobs=HecKnobs(), seed=3)
    emulator.add_token(HEC_TOKEN, name="msp", default_index="nordpass")
    emulator.add_token(GLOBEX_TOKEN, name="globex", default_index="globex")
    emulator.tokens[GLOBEX_TOKEN].enabled = False
    await emulator.start()
    yield emulator
    await emulator.stop()


def config_text(tmp_path: Path, nordpass_url: str, hec_url: str) -> str:
    tenants = "".join(
        f"""
  {name}:
    nordpass: {{url: "{nordpass_url}", token: {token}, organization_uuid: "{organization}"}}
    destinations:
      - {{name: splunk{", token: " + GLOBEX_TOKEN + ", index: globex" if name == "globex" else ""}}}
"""
        for name, (token, organization) in ORGS.items()
    )
    return f"""
state: sqlite:///{tmp_path}/state.db
destinations:
  splunk: {{type: splunk_hec, url: "{hec_url}", token: {HEC_TOKEN}, index: nordpass, linger: 0s}}
tenants:{tenants}"""


POLICY = DispatchPolicy(fatal_retry_interval=0.5)


async def backfill_holding_globex(agent: Agent) -> dict[str, TenantOutcome]:
    """Backfill the range: acme complete, globex held back (its backlog kept), the destination
    itself working."""
    report = await agent.backfill(SINCE, UNTIL)
    outcomes = {outcome.tenant: outcome for outcome in report.tenants}
    assert outcomes["acme"].error is None
    assert outcomes["acme"].delivered == {"splunk": outcomes["acme"].fetched}
    assert "the token set for tenant 'globex'" in (outcomes["globex"].error or "")
    assert agent.store.outbox.backlog("globex", "splunk") == outcomes["globex"].fetched > 0
    assert not agent.dispatchers["splunk"].fatal
    return outcomes


async def test_a_disabled_tenant_token_holds_back_that_tenant_only(
    tmp_path: Path, nordpass: NordPassEmulator, splunk: HecEmulator
) -> None:
    config = parse_config(config_text(tmp_path, nordpass.url, splunk.url), {})
    truth = {name: len(nordpass.ground_truth(org, SINCE, UNTIL)) for name, (_, org) in ORGS.items()}
    assert all(truth.values())
    async with Agent(config, clock=SystemClock(), dispatch_policy=POLICY) as agent:
        outcomes = await backfill_holding_globex(agent)
        error = outcomes["globex"].error or ""
        assert "undelivered events" in error
        assert GLOBEX_TOKEN not in error

        splunk.tokens[GLOBEX_TOKEN].enabled = True  # fixed in Splunk, no restart
        async with asyncio.timeout(30):
            while agent.store.outbox.backlog("globex", "splunk"):  # noqa: ASYNC110 - a DB read
                await asyncio.sleep(0.05)
    by_tenant: dict[str, list[str]] = {"acme": [], "globex": []}
    for event in splunk.indexed:
        by_tenant[event.fields["tenant"]].append(event.fields["event_id"])
    for name, ids in by_tenant.items():
        assert len(ids) == len(set(ids)) == outcomes[name].fetched == truth[name]
    assert {event.index for event in splunk.indexed if event.fields["tenant"] == "globex"} == {
        "globex"
    }


async def test_a_tenant_token_not_allowed_the_destination_index_holds_back_that_tenant_only(
    tmp_path: Path, nordpass: NordPassEmulator, splunk: HecEmulator
) -> None:
    # globex's own token works, but may write only to its own index, and globex set none.
    token = splunk.tokens[GLOBEX_TOKEN]
    token.enabled, token.allowed_indexes = True, frozenset({"globex"})
    text = config_text(tmp_path, nordpass.url, splunk.url).replace(", index: globex", "")
    config = parse_config(text, {})
    async with Agent(config, clock=SystemClock(), dispatch_policy=POLICY) as agent:
        outcomes = await backfill_holding_globex(agent)

        token.allowed_indexes = None  # the index allowed in Splunk, no restart
        async with asyncio.timeout(30):
            while agent.store.outbox.backlog("globex", "splunk"):  # noqa: ASYNC110 - a DB read
                await asyncio.sleep(0.05)
    ids = [event.fields["event_id"] for event in splunk.indexed]
    assert len(ids) == len(set(ids)) == sum(outcome.fetched for outcome in outcomes.values())
