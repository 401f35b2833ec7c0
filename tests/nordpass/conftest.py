"""Fixtures for the NordPass client tests: a manual clock, a real httpx client faked by respx.

`ActivityLogFake` answers like the API over a fixed list of events, with a configurable page size
cap and bound convention, so paging and window tests need no scripted replies.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from agent.clock import ManualClock
from agent.nordpass import REGION_URLS, ActivityClient, RetryPolicy

API_URL = REGION_URLS["eu"]
TENANT = "acme"
TOKEN_VALUE = "np-custom-7f3c9d1e5b2a4f60-very-secret"
# 2026-01-01T00:00:00Z, the ManualClock's default start.
SERVER_DATE = "Thu, 01 Jan 2026 00:00:00 GMT"
SERVER_DATE_SECONDS = 1_767_225_600.0


def make_event(timestamp: int, **extra: Any) -> dict[str, Any]:
    event: dict[str, Any] = {
        "type": "login",
        "action": "user_login_successful",
        "timestamp": timestamp,
        "organization_uuid": "101b4232-0688-4599-bca8-4636c91cd687",
        "user": {"uuid": "de555f53-5a44-47cd-a3b6-946c8a97b847", "email": "owner@example.com"},
        "initiator": "owner@example.com",
        "metadata": {"ip_address": "198.51.100.7"},
    }
    event.update(extra)
    return event


def page_reply(
    events: list[dict[str, Any]],
    *,
    total: int,
    per_page: int,
    page: int,
    date: str | None = SERVER_DATE,
) -> httpx.Response:
    pages = -(-total // per_page) if per_page else 0
    metadata = {"total": total, "per_page": per_page, "current_page": page, "total_pages": pages}
    headers = {"Date": date} if date is not None else {}
    return httpx.Response(200, json={"data": events, "metadata": metadata}, headers=headers)


@dataclass
class ActivityLogFake:
    """The API over `events`: bounds by the chosen convention, pages of at most `max_per_page`."""

    events: list[dict[str, Any]]
    max_per_page: int = 1000
    from_inclusive: bool = True
    to_inclusive: bool = True
    requests: list[dict[str, Any]] = field(default_factory=list)

    def __call__(self, request: httpx.Request) -> httpx.Response:
        query = json.loads(request.content)
        self.requests.append(query)
        rows = [e for e in self.events if self._within(e["timestamp"], query)]
        per_page = min(query["per_page"], self.max_per_page)
        page = query["page"]
        chunk = rows[(page - 1) * per_page : page * per_page]
        return page_reply(chunk, total=len(rows), per_page=per_page, page=page)

    def _within(self, timestamp: int, query: dict[str, Any]) -> bool:
        low, high = query.get("timestamp_from"), query.get("timestamp_to")
        if low is not None and (timestamp < low or (timestamp == low and not self.from_inclusive)):
            return False
        return high is None or timestamp < high or (timestamp == high and self.to_inclusive)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def retry_policy(clock: ManualClock) -> RetryPolicy:
    return RetryPolicy.from_clock(
        clock, attempts=3, base_delay=1.0, max_delay=30.0, retry_after_cap=120.0,
        jitter_source=lambda: 0.5,
    )  # fmt: skip


@pytest.fixture
async def http_client() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient() as client:
        yield client


@pytest.fixture
def make_client(
    http_client: httpx.AsyncClient, retry_policy: RetryPolicy
) -> Callable[..., ActivityClient]:
    def build(**overrides: Any) -> ActivityClient:
        options: dict[str, Any] = {"http": http_client, "retry": retry_policy, **overrides}
        return ActivityClient(TENANT, API_URL, SecretStr(TOKEN_VALUE), **options)

    return build


@pytest.fixture
def client(make_client: Callable[..., ActivityClient]) -> ActivityClient:
    return make_client()
