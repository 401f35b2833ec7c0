"""HTTP to one HEC endpoint: event batches (gzipped off the event loop), ack queries, health.

Every call returns a `HecReply`; a transport failure (refused, reset, timed out) is a reply with
status 0, so the reply table alone decides what happens next. Tokens travel only in the
`Authorization` header, never in a URL or a message.
"""

from __future__ import annotations

import asyncio
import gzip
import json
import ssl
from collections.abc import Sequence

import httpx
from pydantic import SecretStr

from agent import __version__
from agent.clock import Clock
from connectors.splunk_hec.config import EVENT_PATH, SplunkHecConfig
from connectors.splunk_hec.replies import HecReply

__all__ = ["ACK_PATH", "HEALTH_PATH", "HecClient"]

ACK_PATH = "/services/collector/ack"
HEALTH_PATH = "/services/collector/health"
_CHANNEL_HEADER = "X-Splunk-Request-Channel"
# Below this, compressing inline is cheaper than handing the body to a thread.
_INLINE_GZIP_BYTES = 16 * 1024


class HecClient:
    def __init__(
        self,
        config: SplunkHecConfig,
        *,
        clock: Clock,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._config = config
        self._clock = clock
        verify: ssl.SSLContext | bool = config.verify_tls
        if config.ca_file is not None:
            verify = ssl.create_default_context(cafile=str(config.ca_file))
        seconds = config.timeout.total_seconds()
        self._http = httpx.AsyncClient(
            base_url=config.base_url,
            verify=verify,
            proxy=config.proxy,
            timeout=httpx.Timeout(seconds, connect=min(seconds, 10.0)),
            headers={"User-Agent": f"nordpass-siem-agent/{__version__}"},
            transport=transport,
        )

    async def post_events(self, token: SecretStr, channel: str, body: bytes) -> HecReply:
        headers = {"Content-Type": "application/json"}
        content = body
        if self._config.gzip:
            level = self._config.gzip_level
            if len(body) < _INLINE_GZIP_BYTES:
                content = gzip.compress(body, compresslevel=level)
            else:
                content = await asyncio.to_thread(gzip.compress, body, compresslevel=level)
            headers["Content-Encoding"] = "gzip"
        return await self._exchange(
            "POST", EVENT_PATH, token=token, channel=channel, headers=headers, content=content
        )

    async def post_acks(self, token: SecretStr, channel: str, ack_ids: Sequence[int]) -> HecReply:
        content = json.dumps({"acks": list(ack_ids)}).encode()
        headers = {"Content-Type": "application/json"}
        return await self._exchange(
            "POST", ACK_PATH, token=token, channel=channel, headers=headers, content=content
        )

    async def probe_token(self, token: SecretStr, channel: str) -> HecReply:
        """An empty event request: a valid token gets code 5 ("No data"), a bad one 1-4."""
        return await self._exchange(
            "POST", EVENT_PATH, token=token, channel=channel, headers={}, content=b""
        )

    async def health(self) -> HecReply:
        return await self._exchange(
            "GET", HEALTH_PATH, token=None, channel=None, headers={}, content=None
        )

    async def _exchange(
        self,
        method: str,
        path: str,
        *,
        token: SecretStr | None,
        channel: str | None,
        headers: dict[str, str],
        content: bytes | None,
    ) -> HecReply:
        if token is not None:
            headers["Authorization"] = f"Splunk {token.get_secret_value()}"
        if channel is not None:
            headers[_CHANNEL_HEADER] = channel
        try:
            response = await self._http.request(method, path, headers=headers, content=content)
        except httpx.TransportError as error:
            return HecReply.no_reply(f"{type(error).__name__} {str(error)[:200]}".strip())
        return HecReply.parse(
            response.status_code,
            response.content,
            response.headers.get("Retry-After"),
            self._clock.now(),
        )

    async def aclose(self) -> None:
        await self._http.aclose()
