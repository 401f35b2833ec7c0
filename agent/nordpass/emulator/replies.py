"""The HTTP replies the emulated API sends: JSON pages, JSON errors and a gateway's own pages.

The real error body format is undocumented; a small `{"error", "message"}` object is the common
shape. Gateways in front of an API answer 502/504 with HTML, which clients must survive too.
"""

from __future__ import annotations

import json
import math
from typing import Any

import orjson
from aiohttp import web

__all__ = [
    "JSON_CONTENT_TYPE",
    "encode_json",
    "error_reply",
    "gateway_reply",
    "json_reply",
    "spoiled_reply",
]

JSON_CONTENT_TYPE = "application/json; charset=utf-8"


def encode_json(payload: dict[str, Any]) -> bytes:
    """A reply body. Pages are most of the emulator's work, so the fast encoder writes them; what
    it cannot write (integers beyond 64 bits, say) the standard library does."""
    try:
        return orjson.dumps(payload)
    except TypeError:
        return json.dumps(payload, ensure_ascii=False).encode()


def json_reply(status: int, payload: dict[str, Any]) -> web.Response:
    body = encode_json(payload)
    return web.Response(status=status, body=body, headers={"Content-Type": JSON_CONTENT_TYPE})


def spoiled_reply(body: bytes) -> web.Response:
    """A 200 whose body is not the page it claims to be (still labelled as JSON)."""
    return web.Response(status=200, body=body, headers={"Content-Type": JSON_CONTENT_TYPE})


def error_reply(
    status: int, code: str, message: str, retry_after: float | None = None
) -> web.Response:
    response = json_reply(status, {"error": code, "message": message})
    _hint(response, retry_after)
    return response


def gateway_reply(kind: str, retry_after: float | None) -> web.Response:
    """The reply to a scripted or random fault named by its status ("401" ... "504")."""
    status = int(kind)
    if status in (401, 403):
        return error_reply(status, "unauthorized", "token rejected")
    if status == 429:
        return error_reply(status, "rate_limited", "too many requests", retry_after)
    if status in (502, 504):
        page = f"<html><body><h1>{status} Gateway Error</h1></body></html>"
        response = web.Response(status=status, text=page, content_type="text/html")
        _hint(response, retry_after)
        return response
    return error_reply(status, "server_error", "internal error", retry_after)


def _hint(response: web.Response, retry_after: float | None) -> None:
    if retry_after is not None:
        # Retry-After carries whole seconds (RFC 9110 section 10.2.3); round up, never to zero.
        response.headers["Retry-After"] = str(max(1, math.ceil(retry_after)))
