"""The sandbox NordPass Activity Log API: a real aiohttp server answering `POST /activities/query`.

Time is the injected clock's: it decides which events exist, which late events have surfaced, the
rate limit and the `Date` header. Only held replies (latency, timeouts) wait on the real clock,
because they simulate a slow network, not the passage of event time.

A request goes through, in order: scripted gateway fault, authentication, rate limit, random
gateway fault, body validation, latency, growth, the page itself, and finally a body fault.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import json
import math
import random
import ssl
from collections.abc import Iterator
from dataclasses import dataclass
from email.utils import formatdate
from types import TracebackType
from typing import Any

from aiohttp import web

from agent.clock import Clock
from agent.local_server import start_site
from agent.nordpass.emulator.faults import (
    BODY_FAULTS,
    GATEWAY_FAULTS,
    FaultDice,
    FaultRoll,
    RateLimiter,
    break_body,
)
from agent.nordpass.emulator.knobs import EmulatorKnobs, Fault
from agent.nordpass.emulator.query import (
    OPEN_END,
    ActivityQuery,
    QueryError,
    parse_query,
    query_range,
)
from agent.nordpass.emulator.recording import RecordedRequest
from agent.nordpass.emulator.registry import Organization, Registry
from agent.nordpass.emulator.replies import error_reply, gateway_reply, json_reply, spoiled_reply
from agent.nordpass.emulator.resultset import QueryCache
from agent.nordpass.emulator.timeline import Timeline

__all__ = ["QUERY_PATH", "NordPassEmulator"]

QUERY_PATH = "/activities/query"


@dataclass(slots=True)
class _Exchange:
    """One request in flight: its record, its arrival on the emulator clock, its faults."""

    record: RecordedRequest
    now: float
    roll: FaultRoll
    scripted: Fault | None


class NordPassEmulator:
    """An emulated Activity Log API with any number of organisations, served over HTTP(S)."""

    def __init__(self, *, clock: Clock, knobs: EmulatorKnobs | None = None, seed: int = 0) -> None:
        self.clock = clock
        self.knobs = knobs if knobs is not None else EmulatorKnobs()
        self.seed = seed
        self.requests: list[RecordedRequest] = []
        self._registry = Registry(seed)
        self._cache = QueryCache()
        self._dice = FaultDice()
        self._limiter = RateLimiter()
        self._growth_rng = random.Random(f"{seed}:growth")
        self._runner: web.AppRunner | None = None
        self._url: str | None = None
        self._stopping = asyncio.Event()

    # -- set-up -----------------------------------------------------------------------------

    @property
    def organizations(self) -> dict[str, Organization]:
        """Organisations by uuid."""
        return self._registry.organizations

    def add_organization(
        self,
        name: str,
        *,
        token: str,
        organization_uuid: str | None = None,
        events_per_second: float = 0.05,
        history_start: float | None = None,
        history_end: float | None = None,
        token_expires_at: float | None = None,
    ) -> Organization:
        """Add an organisation whose events run from `history_start` (default: 30 days ago)."""
        return self._registry.add(
            name,
            token=token,
            now=self.clock.now(),
            organization_uuid=organization_uuid,
            events_per_second=events_per_second,
            history_start=history_start,
            history_end=history_end,
            token_expires_at=token_expires_at,
        )

    def add_token(
        self, organization_uuid: str, token: str, *, expires_at: float | None = None
    ) -> None:
        """Issue another token for an organisation (rotation tests)."""
        self._registry.add_token(organization_uuid, token, expires_at=expires_at)

    def revoke(self, token: str) -> None:
        self._registry.revoke(token)

    def organization(self, name: str) -> Organization:
        return self._registry.by_name(name)

    # -- ground truth -----------------------------------------------------------------------

    def ground_truth(
        self,
        organization_uuid: str,
        timestamp_from: int | None = None,
        timestamp_to: int | None = None,
    ) -> list[dict[str, Any]]:
        """Every event visible now with `from <= timestamp < to`, oldest first, twins included.

        The dicts are fresh copies: the caller may mutate them.
        """
        timeline = self._registry.timelines[organization_uuid]
        now = self.clock.now()
        lo = 0 if timestamp_from is None else timestamp_from
        hi = OPEN_END if timestamp_to is None else timestamp_to
        result = self._cache.get(timeline, lo, hi, None, self.knobs.visibility_rules())
        result.refresh(now)
        with _collector_paused():
            return timeline.render(list(result.keys), fresh=True)

    def visible_count(
        self,
        organization_uuid: str,
        timestamp_from: int | None = None,
        timestamp_to: int | None = None,
    ) -> int:
        """How many events `ground_truth` would return, without building them (benchmarks ask
        this of a million-event history)."""
        timeline = self._registry.timelines[organization_uuid]
        lo = 0 if timestamp_from is None else timestamp_from
        hi = OPEN_END if timestamp_to is None else timestamp_to
        result = self._cache.get(timeline, lo, hi, None, self.knobs.visibility_rules())
        result.refresh(self.clock.now())
        return len(result)

    # -- lifecycle --------------------------------------------------------------------------

    @property
    def url(self) -> str:
        if self._url is None:
            raise RuntimeError("the emulator is not running; call start() first")
        return self._url

    async def start(
        self, host: str = "127.0.0.1", port: int = 0, ssl_context: ssl.SSLContext | None = None
    ) -> str:
        """Listen on `host:port` (0 picks a free port); returns the full query URL."""
        if self._runner is not None:
            raise RuntimeError("the emulator is already running")
        app = web.Application()
        app.router.add_post(QUERY_PATH, self._handle)
        app.on_response_prepare.append(self._stamp_date)
        # Held replies are released on stop, so a short shutdown grace is enough.
        runner = web.AppRunner(app, access_log=None, shutdown_timeout=2.0)
        base_url = await start_site(runner, host, port, ssl_context)
        self._stopping = asyncio.Event()
        self._runner = runner
        self._url = f"{base_url}{QUERY_PATH}"
        return self._url

    async def stop(self) -> None:
        if self._runner is None:
            return
        self._stopping.set()
        runner, self._runner, self._url = self._runner, None, None
        await runner.cleanup()

    async def __aenter__(self) -> NordPassEmulator:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.stop()

    # -- HTTP -------------------------------------------------------------------------------

    async def _stamp_date(self, request: web.Request, response: web.StreamResponse) -> None:
        # aiohttp stamps the real time; clients reason about the server's clock from this header.
        response.headers["Date"] = formatdate(self.clock.now(), usegmt=True)

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        now = self.clock.now()
        record = RecordedRequest(number=len(self.requests) + 1, received_at=now)
        self.requests.append(record)
        # Dice are rolled and the script advanced for every request, so counts stay predictable.
        roll = self._dice.roll(self.knobs)
        scripted = self.knobs.scripted.pop(0) if self.knobs.scripted else None
        raw = await request.read()
        exchange = _Exchange(record, now, roll, scripted)
        response = await self._answer(request.headers.get("Authorization"), raw, exchange)
        record.status = response.status
        return response

    async def _answer(self, header: str | None, raw: bytes, exchange: _Exchange) -> web.Response:
        record, scripted, roll = exchange.record, exchange.scripted, exchange.roll
        if scripted is not None and scripted.kind in GATEWAY_FAULTS:
            record.fault, record.fault_source = scripted.kind, "scripted"
            return await self._gateway_fault(scripted.kind, scripted.retry_after)
        record.body = body = _decode(raw)
        admitted = self._admit(header, exchange)
        if isinstance(admitted, web.Response):
            return admitted
        if roll.fault in ("5xx", "timeout"):
            kind = str(roll.status) if roll.fault == "5xx" else "timeout"
            record.fault, record.fault_source = kind, "random"
            return await self._gateway_fault(kind, None)
        if roll.fault == "429":
            record.fault, record.fault_source = "429", "random"
            with_hint = roll.retry_after_draw < self.knobs.retry_after_fraction
            record.retry_after = self.knobs.throttle_retry_after if with_hint else None
            return await self._gateway_fault("429", record.retry_after)
        try:
            query = parse_query(body)
            bounds = query_range(
                query, exchange.now, self.knobs.lower_bound, self.knobs.upper_bound
            )
        except QueryError as error:
            return error_reply(400, "invalid_request", str(error))
        record.timestamp_from, record.timestamp_to = query.timestamp_from, query.timestamp_to
        record.page, record.per_page = query.page, query.per_page
        record.user_uuids = query.user_uuids
        return await self._serve(admitted, query, bounds, exchange)

    def _admit(self, header: str | None, exchange: _Exchange) -> Organization | web.Response:
        """The caller's organisation, or the refusal: bad token (401/403) or rate limit (429)."""
        record, knobs = exchange.record, self.knobs
        outcome, organization = self._registry.authenticate(header, exchange.now)
        record.auth = outcome
        if organization is not None:
            record.organization, record.organization_uuid = organization.name, organization.uuid
        if outcome != "ok" or organization is None or header is None:
            status = 401 if outcome in ("missing", "unknown") else knobs.revoked_status
            return error_reply(status, "unauthorized", f"token {outcome}")
        wait = self._limiter.admit(header, knobs.rate_limit_per_second, exchange.now)
        if wait is not None:
            record.fault, record.fault_source = "429", "rate_limit"
            with_hint = exchange.roll.retry_after_draw < knobs.retry_after_fraction
            return error_reply(
                429, "rate_limited", "too many requests", wait if with_hint else None
            )
        return organization

    async def _serve(
        self,
        organization: Organization,
        query: ActivityQuery,
        bounds: tuple[int, int],
        exchange: _Exchange,
    ) -> web.Response:
        record, scripted, roll = exchange.record, exchange.scripted, exchange.roll
        await self._hold(self.knobs.latency_seconds)
        body_fault = None
        if scripted is not None and scripted.kind in BODY_FAULTS:
            body_fault, record.fault_source = scripted.kind, "scripted"
        elif roll.fault in ("malformed", "truncated"):
            body_fault, record.fault_source = roll.fault, "random"
        record.fault = body_fault
        # An offset hiccup: the rows of the page before, labelled as the page asked for.
        shift = 1 if body_fault == "repeat_previous_page" else 0
        payload = self._page(organization, query, bounds, exchange, shift)
        record.total = payload["metadata"]["total"]
        if body_fault is None or body_fault == "repeat_previous_page":
            record.events_returned = len(payload["data"])
            return json_reply(200, payload)
        amount = scripted.amount if scripted is not None else 1
        return spoiled_reply(break_body(body_fault, payload, amount))

    def _page(
        self,
        organization: Organization,
        query: ActivityQuery,
        bounds: tuple[int, int],
        exchange: _Exchange,
        shift: int,
    ) -> dict[str, Any]:
        knobs, now = self.knobs, exchange.now
        lo, hi = bounds
        timeline = self._registry.timelines[organization.uuid]
        members = _member_filter(timeline, query.user_uuids)
        self._grow(timeline, lo, hi, members, now)
        result = self._cache.get(timeline, lo, hi, members, knobs.visibility_rules())
        result.refresh(now)
        per_page = min(query.per_page, max(1, knobs.per_page_cap))
        # Seeded by request number: "unstable" differs per request yet repeats per run.
        shuffle = random.Random(f"{self.seed}:{knobs.fault_seed}:{exchange.record.number}:order")
        keys = result.page(knobs.order, max(1, query.page - shift), per_page, shuffle)
        total = len(result)
        return {
            "data": timeline.render(keys),
            "metadata": {
                "total": total,
                "per_page": per_page,
                "current_page": query.page,
                "total_pages": -(-total // per_page),
            },
        }

    def _grow(
        self, timeline: Timeline, lo: int, hi: int, members: frozenset[int] | None, now: float
    ) -> None:
        """Make `growth_per_request` new events visible inside the queried (and existing) range."""
        lo, hi = timeline.clip(lo, min(hi, math.floor(now) + 1))
        if self.knobs.growth_per_request <= 0 or lo >= hi:
            return
        draw = self._growth_rng.random
        # Land inside the filter too, or a filtered client would never notice the growth.
        pool = sorted(members) if members else None
        for _ in range(self.knobs.growth_per_request):
            stamp = lo + int(draw() * (hi - lo))
            member = pool[int(draw() * len(pool))] if pool else timeline.profile.pick_member(draw())
            stamp, key = timeline.add_growth(stamp, member)
            self._cache.offer_growth(timeline.profile.uuid, stamp, key, member)

    async def _gateway_fault(self, kind: str, retry_after: float | None) -> web.Response:
        if kind == "timeout":
            # Held past any sane client timeout; whoever still waits then gets a gateway's 504.
            await self._hold(self.knobs.timeout_hold_seconds)
            return error_reply(504, "gateway_timeout", "upstream timed out")
        return gateway_reply(kind, retry_after)

    async def _hold(self, seconds: float) -> None:
        """Wait on the real clock, but let `stop()` cut the wait short."""
        if seconds <= 0:
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stopping.wait(), seconds)


@contextlib.contextmanager
def _collector_paused() -> Iterator[None]:
    # A million fresh dicts trigger full cyclic-GC passes over everything alive, which costs more
    # than building them; these dicts hold no cycles, so the pause frees nothing late.
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _member_filter(timeline: Timeline, user_uuids: tuple[str, ...] | None) -> frozenset[int] | None:
    if user_uuids is None:
        return None
    wanted = set(user_uuids)
    members = timeline.profile.members
    return frozenset(i for i, member in enumerate(members) if member.uuid in wanted)


def _decode(raw: bytes) -> Any:
    try:
        return json.loads(raw)
    except ValueError:
        # Not JSON at all: parse_query reports it as a body that is not an object.
        return None
