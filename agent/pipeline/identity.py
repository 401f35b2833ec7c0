"""Stable identity for events that arrive without one: canonical form, fingerprint and event id.

Canonical form v1: the event as received, minus `user.email` (a display value NordPass may
rewrite when a member changes address), serialized as JSON with sorted keys, no whitespace and
UTF-8 text. The fingerprint is the first 16 bytes of SHA-256 over a version prefix and that form;
it includes the event's second because `timestamp` is part of the event.

The event id is a UUID built from HMAC-SHA256(key, organization uuid, fingerprint, occurrence),
where occurrence numbers identical events of one second from 1. The same event therefore gets the
same id on every re-fetch, restart and replica sharing the key, and the id does not reveal the
(possibly pseudonymized) values it was derived from. Changing any of this changes every id:
bump `CANONICAL_VERSION` and keep the old form available if that is ever needed.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

from agent.normalize.serialization import sorted_compact_json

__all__ = ["CANONICAL_VERSION", "EventIdentity", "canonical_bytes", "fingerprint"]

CANONICAL_VERSION = 1
_PREFIX = b"nordpass-event:v1\x00"


def canonical_bytes(raw: dict[str, Any]) -> bytes:
    """The canonical form: what `json.dumps(event, sort_keys=True, separators=(",", ":"),
    ensure_ascii=False).encode()` returns for the event without `user.email`, byte for byte."""
    user = raw.get("user")
    if isinstance(user, dict) and "email" in user:
        raw = {**raw, "user": {key: value for key, value in user.items() if key != "email"}}
    fast = sorted_compact_json(raw)
    if fast is not None:
        return fast
    # The form as it was first defined, for everything the fast path does not vouch for.
    return json.dumps(raw, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def fingerprint(raw: dict[str, Any]) -> bytes:
    return hashlib.sha256(_PREFIX + canonical_bytes(raw)).digest()[:16]


class EventIdentity:
    """Derives event ids under one deployment key (kept in the state store or set in config)."""

    def __init__(self, key: bytes) -> None:
        if len(key) < 16:
            raise ValueError("the event id key must be at least 16 bytes")
        self._key = key

    def event_id(self, organization_uuid: str, event_fingerprint: bytes, occurrence: int) -> str:
        message = b"".join(
            (organization_uuid.encode(), b"\x00", event_fingerprint, occurrence.to_bytes(4, "big"))
        )
        digest = bytearray(hmac.digest(self._key, message, "sha256")[:16])
        # Mark it as an RFC 9562 version-8 (custom) UUID so tools accept it as a UUID.
        digest[6] = (digest[6] & 0x0F) | 0x80
        digest[8] = (digest[8] & 0x3F) | 0x80
        text = digest.hex()  # the 8-4-4-4-12 spelling `str(uuid.UUID(...))` gives
        return f"{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:]}"

    def __repr__(self) -> str:
        return "EventIdentity(key=<hidden>)"
