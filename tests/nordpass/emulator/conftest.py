"""Fixtures for the emulator tests: a manual clock, a running emulator and a real HTTP client.

Everything goes over real sockets: the emulator is what the agent's integration tests talk to,
so its tests use it exactly as they will.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from agent.clock import ManualClock
from agent.nordpass.emulator import EmulatorKnobs, NordPassEmulator

START = 1_767_225_600.0  # 2026-01-01T00:00:00Z
TOKEN = "token-acme"
HISTORY_SECONDS = 3 * 86400


def canonical(event: dict[str, Any]) -> str:
    """One comparable string per event: the API gives events no id of their own."""
    return json.dumps(event, sort_keys=True, ensure_ascii=False)


@dataclass
class Api:
    """The test's side of the wire: POSTs a query body the way the real client does."""

    http: httpx.AsyncClient
    emulator: NordPassEmulator

    async def query(self, token: str | None = TOKEN, **body: Any) -> httpx.Response:
        headers = {"Authorization": token} if token is not None else {}
        return await self.http.post(self.emulator.url, json=body, headers=headers)

    async def page(self, **body: Any) -> dict[str, Any]:
        reply = await self.query(**body)
        assert reply.status_code == 200, reply.text
        payload: dict[str, Any] = reply.json()
        return payload

    async def read_all(self, **body: Any) -> list[dict[str, Any]]:
        """Every page of one query, in the order served."""
        events: list[dict[str, Any]] = []
        page = 1
        while True:
            payload = await self.page(**body, page=page)
            events += payload["data"]
            if page >= payload["metadata"]["total_pages"]:
                return events
            page += 1


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


@pytest.fixture
def knobs() -> EmulatorKnobs:
    return EmulatorKnobs()


@pytest.fixture
async def emulator(clock: ManualClock, knobs: EmulatorKnobs) -> AsyncIterator[NordPassEmulator]:
    emulator = NordPassEmulator(clock=clock, knobs=knobs, seed=7)
    emulator.add_organization(
        "acme", token=TOKEN, events_per_second=0.05, history_start=START - HISTORY_SECONDS
    )
    async with emulator:
        yield emulator


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=10) as client:
        yield client


@pytest.fixture
def api(http: httpx.AsyncClient, emulator: NordPassEmulator) -> Api:
    return Api(http, emulator)


@pytest.fixture
def acme(emulator: NordPassEmulator) -> str:
    """The uuid of the fixture's organisation."""
    return emulator.organization("acme").uuid
