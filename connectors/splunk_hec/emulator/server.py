"""The HEC emulator: a real aiohttp server speaking Splunk's HTTP Event Collector protocol.

Event requests go through, in order: a scripted or random fault, the token check, the size limit,
gzip, the data channel, envelope intake (indexing what precedes a bad event) and finally the
acknowledgement id. Ack queries and the health endpoint behave as Splunk's do. Everything
indexed is recorded, with the request that brought it, and can be written out as NDJSON.
"""

from __future__ import annotations

import asyncio
import gzip
import json
import random
import ssl
import time
import zlib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

from aiohttp import web

from agent.local_server import start_site
from connectors.splunk_hec.emulator.channels import AckLedger, is_channel_id
from connectors.splunk_hec.emulator.intake import Rejection, TokenDefaults, read_envelopes
from connectors.splunk_hec.emulator.knobs import Fault, FaultKind, HecKnobs, roll_fault

__all__ = ["HecEmulator", "HecRequestRecord", "HecToken", "IndexedEvent"]

_CHANNEL_HEADER = "X-Splunk-Request-Channel"
_FAULT_REPLIES: dict[FaultKind, tuple[int, int | None, str]] = {
    FaultKind.BUSY: (503, 9, "Server is busy"),
    FaultKind.THROTTLE: (429, None, "Too Many Requests"),
    FaultKind.ERROR: (500, 8, "Internal server error"),
    FaultKind.UNHEALTHY: (503, 18, "HEC is unhealthy, queues are full"),
    FaultKind.INVALID_CHANNEL: (400, 11, "Invalid data channel"),
}


@dataclass(slots=True)
class HecToken:
    value: str
    name: str
    default_index: str = "main"
    allowed_indexes: frozenset[str] | None = None  # None: any existing index
    ack: bool = False
    enabled: bool = True


@dataclass(frozen=True, slots=True)
class IndexedEvent:
    index: str
    source: str
    sourcetype: str
    host: str
    time: float | None
    event: Any
    fields: dict[str, Any]
    request: int  # number of the request that indexed it
    token: str  # the token's name

    @property
    def event_id(self) -> str | None:
        value = self.fields.get("event_id")
        return value if isinstance(value, str) else None

    def as_json(self) -> dict[str, Any]:
        return {
            "index": self.index,
            "source": self.source,
            "sourcetype": self.sourcetype,
            "host": self.host,
            "time": self.time,
            "event": self.event,
            "fields": self.fields,
            "request": self.request,
            "token": self.token,
        }


@dataclass(slots=True)
class HecRequestRecord:
    number: int
    path: str
    channel: str | None
    wire_bytes: int
    gzip: bool
    body_bytes: int = 0
    status: int = 0  # 0: the connection was dropped
    code: int | None = None
    indexed: int = 0
    ack_id: int | None = None
    fault: FaultKind | None = None
    retry_after: float | None = None  # the reply's Retry-After, when a fault carried one
    # Unix times (wall clock): when the request arrived, and when its events were indexed
    # (None: nothing indexed). Latency benchmarks compare them with the events' own times.
    received_at: float = 0.0
    indexed_at: float | None = None


class HecEmulator:
    def __init__(self, *, knobs: HecKnobs | None = None, seed: int = 0) -> None:
        self.knobs = knobs if knobs is not None else HecKnobs()
        self.indexes: set[str] = {"main"}
        self.tokens: dict[str, HecToken] = {}
        self.indexed: list[IndexedEvent] = []
        # Every event indexed, and (with `knobs.record == "event_ids"`) their distinct ids.
        self.indexed_count = 0
        self.distinct_event_ids: set[str] = set()
        self.requests: list[HecRequestRecord] = []
        self.ack_queries = 0
        self.acks = AckLedger(seed)
        self._rng = random.Random(f"{seed}:faults")
        self._runner: web.AppRunner | None = None
        self._url: str | None = None

    # -- set-up -----------------------------------------------------------------------------

    def add_token(
        self,
        value: str,
        *,
        name: str | None = None,
        default_index: str = "main",
        indexes: Iterable[str] | None = None,
        ack: bool = False,
    ) -> HecToken:
        """A token; `indexes` is its allow-list (created as needed), None allows every index.
        As in Splunk's token settings, the default index is always among the allowed ones."""
        allowed = None if indexes is None else frozenset({default_index, *indexes})
        self.indexes |= {default_index, *(allowed or ())}
        token = HecToken(value, name or f"token{len(self.tokens) + 1}", default_index, allowed, ack)
        self.tokens[value] = token
        return token

    def script(self, *faults: Fault) -> None:
        """Faults for the next event requests, one each, before any random fault."""
        self.knobs.scripted.extend(faults)

    def forget_channels(self) -> int:
        """Forget every data channel (as an indexer restart does): code 11 on their next use."""
        return self.acks.forget_channels()

    # -- what arrived -------------------------------------------------------------------------

    def event_ids(self) -> list[str | None]:
        return [event.event_id for event in self.indexed]

    def write_ndjson(self, path: Path) -> int:
        with path.open("w", encoding="utf-8") as handle:
            for event in self.indexed:
                handle.write(json.dumps(event.as_json(), ensure_ascii=False) + "\n")
        return len(self.indexed)

    # -- lifecycle --------------------------------------------------------------------------

    @property
    def url(self) -> str:
        """The base URL (scheme, host, port); the connector's `url`."""
        if self._url is None:
            raise RuntimeError("the HEC emulator is not running; call start() first")
        return self._url

    async def start(
        self, host: str = "127.0.0.1", port: int = 0, ssl_context: ssl.SSLContext | None = None
    ) -> str:
        if self._runner is not None:
            raise RuntimeError("the HEC emulator is already running")
        app = web.Application(client_max_size=self.knobs.max_content_length + 1024)
        for path in ("/services/collector", "/services/collector/event",
                     "/services/collector/event/1.0"):  # fmt: skip
            app.router.add_post(path, self._events)
        app.router.add_post("/services/collector/ack", self._ack)
        app.router.add_get("/services/collector/health", self._health)
        app.router.add_get("/services/collector/health/1.0", self._health)
        # Bodies stay as sent: the size limit applies to wire bytes, and gzip is decoded here.
        runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0, auto_decompress=False)
        self._url = await start_site(runner, host, port, ssl_context)
        self._runner = runner
        return self._url

    async def stop(self) -> None:
        if self._runner is not None:
            runner, self._runner, self._url = self._runner, None, None
            await runner.cleanup()

    async def __aenter__(self) -> HecEmulator:
        await self.start()
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        await self.stop()

    # -- HTTP -------------------------------------------------------------------------------

    async def _events(self, request: web.Request) -> web.StreamResponse:
        raw = await request.read()
        record = HecRequestRecord(
            number=len(self.requests) + 1,
            path=request.path,
            channel=request.headers.get(_CHANNEL_HEADER) or request.query.get("channel"),
            wire_bytes=len(raw),
            gzip=request.headers.get("Content-Encoding", "").lower() == "gzip",
            received_at=time.time(),
        )
        self.requests.append(record)
        fault = self.knobs.scripted.pop(0) if self.knobs.scripted else None
        fault = fault or roll_fault(self.knobs, self._rng)
        record.fault = None if fault is None else fault.kind
        delay = self.knobs.reply_delay + (fault.delay if fault is not None else 0.0)
        if delay > 0:
            await asyncio.sleep(delay)
        response = self._accept(request, raw, record, fault)
        if response is None:  # the connection is dropped: no reply at all
            if request.transport is not None:
                request.transport.abort()
            return web.Response()
        record.status = response.status
        return response

    def _accept(  # noqa: PLR0911 - one exit per stage, in the order the docstring gives
        self, request: web.Request, raw: bytes, record: HecRequestRecord, fault: Fault | None
    ) -> web.Response | None:
        kind = None if fault is None else fault.kind
        if kind is FaultKind.DROP:
            return None
        if kind is FaultKind.LOGIN_PAGE:
            page = "<html><body><form>Sign in to continue</form></body></html>"
            return web.Response(status=200, text=page, content_type="text/html")
        if fault is not None and kind in _FAULT_REPLIES and kind is not FaultKind.INVALID_CHANNEL:
            return _fault_reply(fault, record)
        token = self._authenticate(request)
        if isinstance(token, Rejection):
            return _reply(token, record)
        if len(raw) > self.knobs.max_content_length:
            limit = self.knobs.max_content_length
            message = f"Content-Length of {len(raw)} too large (maximum is {limit})"
            return _json(413, {"text": message}, record)
        text = _decode(raw, record.gzip)
        if text is None:
            return _reply(Rejection(400, 6, "Invalid data format"), record)
        record.body_bytes = len(text)
        channel = self._channel_problem(token, record.channel, kind)
        if channel is not None:
            return _reply(channel, record)
        intake = read_envelopes(
            text,
            TokenDefaults(token.name, token.default_index, token.allowed_indexes),
            indexes=self.indexes,
            refuse=self._refuses,
        )
        self._index(intake.envelopes, record, token)
        if intake.rejection is not None:
            rejection = intake.rejection
            if not self.knobs.invalid_event_number:
                rejection = Rejection(rejection.status, rejection.code, rejection.text)
            return _reply(rejection, record)
        if kind is FaultKind.DROP_AFTER_INDEX:
            return None
        body: dict[str, Any] = {"text": "Success", "code": 0}
        if token.ack and record.channel is not None:
            lost = kind is FaultKind.LOSE_ACK
            record.ack_id = self.acks.issue(
                token.value, record.channel, queries=self.knobs.queries_per_ack, lost=lost
            )
            body["ackId"] = record.ack_id
        return _json(200, body, record)

    async def _ack(self, request: web.Request) -> web.Response:
        self.ack_queries += 1
        token = self._authenticate(request)
        if isinstance(token, Rejection):
            return _reply(token, None)
        if not token.ack:
            return _reply(Rejection(400, 14, "ACK is disabled"), None)
        channel = request.headers.get(_CHANNEL_HEADER) or request.query.get("channel")
        problem = self._channel_problem(token, channel, None)
        if problem is not None or channel is None:
            return _reply(problem or Rejection(400, 10, "Data channel is missing"), None)
        try:
            ack_ids = json.loads(await request.read())["acks"]
            ids = [int(ack_id) for ack_id in ack_ids]
        except (ValueError, KeyError, TypeError):
            return _reply(Rejection(400, 6, "Invalid data format"), None)
        answer = self.acks.query(token.value, channel, ids, hold=self.knobs.hold_acks)
        return _json(200, {"acks": answer}, None)

    async def _health(self, request: web.Request) -> web.Response:
        if self.knobs.healthy:
            return _json(200, {"text": "HEC is healthy", "code": 17}, None)
        return _json(503, {"text": "HEC is unhealthy, queues are full", "code": 18}, None)

    def _authenticate(self, request: web.Request) -> HecToken | Rejection:
        header = request.headers.get("Authorization")
        if header is None:
            return Rejection(401, 2, "Token is required")
        scheme, _, value = header.partition(" ")
        if scheme.lower() != "splunk" or not value.strip():
            return Rejection(401, 3, "Invalid authorization")
        token = self.tokens.get(value.strip())
        if token is None:
            return Rejection(403, 4, "Invalid token")
        if not token.enabled:
            return Rejection(403, 1, "Token disabled")
        return token

    def _channel_problem(
        self, token: HecToken, channel: str | None, kind: FaultKind | None
    ) -> Rejection | None:
        if channel is None:
            return Rejection(400, 10, "Data channel is missing") if token.ack else None
        invalid = not is_channel_id(channel) or self.acks.is_forgotten(channel)
        if invalid or kind is FaultKind.INVALID_CHANNEL:
            return Rejection(400, 11, "Invalid data channel")
        return None

    def _refuses(self, envelope: str) -> bool:
        return any(marker in envelope for marker in self.knobs.poison)

    def _index(
        self, envelopes: list[dict[str, Any]], record: HecRequestRecord, token: HecToken
    ) -> None:
        record.indexed = len(envelopes)
        if envelopes:
            record.indexed_at = time.time()
        self.indexed_count += len(envelopes)
        if self.knobs.record == "event_ids":
            for envelope in envelopes:
                event_id = envelope["fields"].get("event_id")
                if isinstance(event_id, str):
                    self.distinct_event_ids.add(event_id)
            return
        self.indexed.extend(
            IndexedEvent(**envelope, request=record.number, token=token.name)
            for envelope in envelopes
        )


def _decode(raw: bytes, gzipped: bool) -> str | None:
    try:
        body = gzip.decompress(raw) if gzipped else raw
        return body.decode("utf-8")
    except (OSError, EOFError, zlib.error, UnicodeDecodeError):
        return None


def _fault_reply(fault: Fault, record: HecRequestRecord) -> web.Response:
    status, code, text = _FAULT_REPLIES[fault.kind]
    body: dict[str, Any] = {"text": text} if code is None else {"text": text, "code": code}
    response = _json(status, body, record)
    if fault.retry_after is not None:
        response.headers["Retry-After"] = f"{fault.retry_after:g}"
        record.retry_after = fault.retry_after
    return response


def _reply(rejection: Rejection, record: HecRequestRecord | None) -> web.Response:
    return _json(rejection.status, rejection.body(), record)


def _json(status: int, body: dict[str, Any], record: HecRequestRecord | None) -> web.Response:
    if record is not None:
        record.code = body.get("code")
    return web.json_response(body, status=status)
