"""Misbehaviour on demand: rate limits, scripted faults, seeded random faults, slow replies."""

from __future__ import annotations

import json
import time
from typing import Any

import httpx
import pytest

from agent.clock import ManualClock
from agent.nordpass.emulator import EmulatorKnobs, Fault, FaultKind, NordPassEmulator

from .conftest import START, TOKEN, Api

WINDOW: dict[str, Any] = {"timestamp_from": int(START) - 6 * 3600, "per_page": 20}


async def test_over_the_rate_limit_requests_get_429_with_retry_after(
    api: Api, knobs: EmulatorKnobs, clock: ManualClock
) -> None:
    knobs.rate_limit_per_second = 2
    replies = [await api.query() for _ in range(3)]
    assert [r.status_code for r in replies] == [200, 200, 429]
    assert replies[2].headers["Retry-After"] == "1"
    assert api.emulator.requests[2].fault_source == "rate_limit"
    clock.advance(0.5)
    assert (await api.query()).status_code == 200
    assert (await api.query()).status_code == 429


async def test_the_rate_limit_is_per_token(api: Api, knobs: EmulatorKnobs) -> None:
    knobs.rate_limit_per_second = 1
    api.emulator.add_organization("globex", token="token-globex", history_start=START - 3600)
    assert (await api.query()).status_code == 200
    assert (await api.query()).status_code == 429
    assert (await api.query(token="token-globex")).status_code == 200


async def test_a_429_can_come_without_retry_after(api: Api, knobs: EmulatorKnobs) -> None:
    knobs.rate_limit_per_second, knobs.retry_after_fraction = 1, 0.0
    await api.query()
    reply = await api.query()
    assert reply.status_code == 429
    assert "Retry-After" not in reply.headers


@pytest.mark.parametrize("kind", ["401", "403", "500", "502", "503", "504"])
async def test_a_scripted_gateway_fault_answers_with_its_status(
    api: Api, knobs: EmulatorKnobs, kind: FaultKind
) -> None:
    knobs.scripted.append(Fault(kind))
    reply = await api.query()
    assert reply.status_code == int(kind)
    assert api.emulator.requests[-1].fault == kind
    assert (await api.query()).status_code == 200


async def test_a_scripted_429_carries_the_retry_after_it_was_given(
    api: Api, knobs: EmulatorKnobs
) -> None:
    knobs.scripted += [Fault("429", retry_after=3), Fault("429"), Fault("503", retry_after=7)]
    with_hint, without, unavailable = [await api.query() for _ in range(3)]
    assert (with_hint.status_code, with_hint.headers["Retry-After"]) == (429, "3")
    assert without.status_code == 429
    assert "Retry-After" not in without.headers
    assert unavailable.headers["Retry-After"] == "7"


async def test_scripted_faults_are_consumed_in_request_order(
    api: Api, knobs: EmulatorKnobs
) -> None:
    knobs.scripted += [Fault("none"), Fault("none"), Fault("503")]
    statuses = [(await api.query()).status_code for _ in range(4)]
    assert statuses == [200, 200, 503, 200]
    assert knobs.scripted == []


async def test_a_malformed_page_is_200_but_not_json(api: Api, knobs: EmulatorKnobs) -> None:
    knobs.scripted.append(Fault("malformed"))
    reply = await api.query(**WINDOW)
    assert reply.status_code == 200
    with pytest.raises(json.JSONDecodeError):
        reply.json()


async def test_a_truncated_page_is_a_cut_off_prefix_of_the_real_one(
    api: Api, knobs: EmulatorKnobs
) -> None:
    knobs.scripted.append(Fault("truncated"))
    cut = await api.query(**WINDOW)
    whole = await api.query(**WINDOW)
    assert cut.status_code == 200
    assert len(cut.content) < len(whole.content)
    assert whole.content.startswith(cut.content)
    with pytest.raises(json.JSONDecodeError):
        cut.json()


async def test_a_page_can_miss_its_data(api: Api, knobs: EmulatorKnobs) -> None:
    knobs.scripted.append(Fault("missing_data"))
    payload = (await api.query(**WINDOW)).json()
    assert "data" not in payload
    assert payload["metadata"]["total"] > 0


async def test_a_page_can_carry_wrong_types(api: Api, knobs: EmulatorKnobs) -> None:
    knobs.scripted.append(Fault("wrong_types"))
    payload = (await api.query(**WINDOW)).json()
    assert all(isinstance(value, str) for value in payload["metadata"].values())
    assert all(isinstance(event["timestamp"], str) for event in payload["data"])


async def test_an_empty_page_can_hide_rows_the_total_promises(
    api: Api, knobs: EmulatorKnobs
) -> None:
    knobs.scripted.append(Fault("empty_page"))
    payload = (await api.query(**WINDOW)).json()
    assert payload["data"] == []
    assert payload["metadata"]["total"] > 20


async def test_a_page_can_repeat_the_previous_one(api: Api, knobs: EmulatorKnobs) -> None:
    first = await api.page(**WINDOW, page=1)
    knobs.scripted.append(Fault("repeat_previous_page"))
    second = await api.page(**WINDOW, page=2)
    assert second["data"] == first["data"]
    assert second["metadata"]["current_page"] == 2
    assert api.emulator.requests[-1].fault == "repeat_previous_page"


async def test_a_total_bump_inflates_the_total_only(api: Api, knobs: EmulatorKnobs) -> None:
    honest = await api.page(**WINDOW)
    knobs.scripted.append(Fault("total_bump", amount=25))
    bumped = await api.page(**WINDOW)
    assert bumped["data"] == honest["data"]
    assert bumped["metadata"]["total"] == honest["metadata"]["total"] + 25
    assert bumped["metadata"]["total_pages"] == -(-bumped["metadata"]["total"] // 20)


def test_an_unknown_fault_kind_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown fault kind"):
        Fault("418")  # type: ignore[arg-type]


async def _fault_run(http: httpx.AsyncClient, clock: ManualClock, seed: int) -> list[str]:
    knobs = EmulatorKnobs(
        error_5xx_fraction=0.2, malformed_fraction=0.1, truncated_fraction=0.1, fault_seed=seed
    )
    emulator = NordPassEmulator(clock=clock, knobs=knobs)
    emulator.add_organization("acme", token=TOKEN, history_start=START - 3600)
    async with emulator:
        for _ in range(40):
            await http.post(emulator.url, json={}, headers={"Authorization": TOKEN})
    return [f"{r.status}:{r.fault}" for r in emulator.requests]


async def test_random_faults_repeat_for_the_same_seed(
    http: httpx.AsyncClient, clock: ManualClock
) -> None:
    first = await _fault_run(http, clock, seed=11)
    again = await _fault_run(http, clock, seed=11)
    other = await _fault_run(http, clock, seed=12)
    assert first == again
    assert first != other
    faulted = [outcome for outcome in first if not outcome.endswith("None")]
    assert 6 <= len(faulted) <= 26
    assert any(outcome.startswith("5") for outcome in faulted)
    assert any(outcome == "200:malformed" for outcome in faulted)


async def test_a_timeout_holds_the_reply_until_the_emulator_stops(
    api: Api, knobs: EmulatorKnobs
) -> None:
    knobs.timeout_hold_seconds = 30
    knobs.scripted.append(Fault("timeout"))
    with pytest.raises(httpx.ReadTimeout):
        await api.http.post(
            api.emulator.url, json={}, headers={"Authorization": TOKEN}, timeout=0.2
        )
    started = time.monotonic()
    await api.emulator.stop()
    assert time.monotonic() - started < 5
    assert api.emulator.requests[-1].fault == "timeout"


async def test_latency_delays_every_reply(api: Api, knobs: EmulatorKnobs) -> None:
    knobs.latency_seconds = 0.05
    started = time.monotonic()
    assert (await api.query()).status_code == 200
    assert time.monotonic() - started >= 0.05
