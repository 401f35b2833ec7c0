"""The canonical event: the facts every output schema needs, pulled out of one raw API event once.

The input is the event exactly as the API sent it: fields may be missing or of an unexpected type
and unknown ones may appear; nothing here fails on that, and unknown fields are kept. This runs for
every event and destination, so it is plain attribute access on a NamedTuple, not a validating
model.
"""

from __future__ import annotations

import socket
from collections.abc import Mapping, Sequence
from types import MappingProxyType
from typing import Any, NamedTuple

from agent.normalize.actions import ActionSpec, Classifier
from agent.normalize.catalog import CATALOG

__all__ = ["KNOWN_FIELDS", "CanonicalEvent", "canonical_event", "canonicalize"]


# Top-level fields of an ActivityEvent the agent maps; anything else travels as "unmapped".
KNOWN_FIELDS = frozenset(
    {"type", "action", "timestamp", "organization_uuid", "user", "initiator", "metadata"}
)
_EMPTY: Mapping[str, Any] = MappingProxyType({})
_new_tuple = tuple.__new__
_inet_pton, _AF_INET, _AF_INET6 = socket.inet_pton, socket.AF_INET, socket.AF_INET6
_UNKNOWN = "unknown"
# Seconds below this are a real date; a larger number can only be milliseconds (year > 5138).
_MILLISECONDS_FROM = 100_000_000_000
_LATEST_SECONDS = 253_402_300_799  # 9999-12-31T23:59:59Z, the last instant ISO-8601 can spell


class CanonicalEvent(NamedTuple):
    """One activity, schema-neutral. Identities: `member` is the event's `user`; `actor` is who
    acted: the MSP admin from `metadata.msp` when present (as NordPass's own Sentinel mapper
    does), otherwise the member."""

    tenant: str
    event_id: str
    spec: ActionSpec
    event_type: str
    action: str
    occurred_at: float  # Unix seconds; an int when the API sent one
    organization_uuid: str | None
    member_uuid: str | None
    member_email: str | None
    initiator: str | None
    actor_uuid: str | None
    actor_email: str | None
    actor_role: str | None
    via_msp: bool
    source_ipv4: str | None
    source_ipv6: str | None
    provider: str | None
    platform: str | None
    items: Sequence[Any]
    metadata: Mapping[str, Any]
    unmapped: Mapping[str, Any] | None  # top-level fields the agent does not know, as received
    raw: Mapping[str, Any]

    @property
    def source_ip(self) -> str | None:
        return self.source_ipv4 or self.source_ipv6


def _text(value: object) -> str | None:
    """A string field as text: numbers are spelled out, structured values are absent. Callers
    inline the common case, `value if type(value) is str else _text(value)`."""
    if type(value) is str:
        return value
    if type(value) is int or type(value) is float:
        return str(value)
    return None


def _number(value: object) -> float | None:
    if type(value) is int or type(value) is float:
        return value if value == value else None  # noqa: PLR0124 - NaN is not equal to itself
    if type(value) is str:
        try:
            return _number(float(value))
        except ValueError:
            return None
    return None


def _occurred_at(value: object, fallback: float) -> float:
    if type(value) is int and 0 <= value < _MILLISECONDS_FROM:
        return value
    seconds = _number(value)
    if seconds is None:
        return fallback
    if seconds >= _MILLISECONDS_FROM:
        seconds = seconds / 1000
    if 0 <= seconds <= _LATEST_SECONDS:
        return int(seconds) if seconds == int(seconds) else seconds
    return fallback


def _msp_admin(msp: Mapping[str, Any]) -> tuple[str | None, str | None, str | None, bool]:
    """(uuid, email, role, True) of the MSP admin who acted for the member."""
    return (
        _text(msp.get("user_uuid")),
        _text(msp.get("user_email")),
        _text(msp.get("user_role")),
        True,
    )


def _label(value: object) -> str:
    """`type` or `action` as text; missing or empty is "unknown", so the event still renders."""
    return _text(value) or _UNKNOWN


def _unmapped(raw: Mapping[str, Any], metadata: object) -> Mapping[str, Any] | None:
    extra = {key: value for key, value in raw.items() if key not in KNOWN_FIELDS}
    if metadata is not None and type(metadata) is not dict:
        extra["metadata"] = metadata  # not an object: keep it where renderers will still show it
    return extra or None


def canonicalize(
    raw: Mapping[str, Any],
    *,
    tenant: str,
    event_id: str,
    received_at: float | None = None,
    classify: Classifier = CATALOG.resolve,
) -> CanonicalEvent:
    """The canonical form of one raw API event.

    `event_id` is the delivery engine's stable id for the event (the API has none). An event
    without a usable `timestamp` is dated `received_at`, else the Unix epoch, rather than dropped.
    `classify` finds the catalog entry (see `Catalog.classifier`). Text fields are None when
    missing or not text; they may be empty strings.
    """
    return canonical_event(raw, tenant, event_id, received_at, classify)


def canonical_event(
    raw: Mapping[str, Any],
    tenant: str,
    event_id: str,
    received_at: float | None,
    classify: Classifier,
) -> CanonicalEvent:
    """`canonicalize` with positional arguments, for the per-event hot path. One flat function
    on purpose: it runs per event and destination, and a helper call costs more than its line."""
    raw_metadata = raw.get("metadata")
    metadata: Mapping[str, Any] = raw_metadata if type(raw_metadata) is dict else _EMPTY
    event_type = value if type(value := raw.get("type")) is str and value else _label(value)
    action = value if type(value := raw.get("action")) is str and value else _label(value)
    member_uuid = member_email = None
    user = raw.get("user")
    if type(user) is dict:
        member_uuid = value if type(value := user.get("uuid")) is str else _text(value)
        member_email = value if type(value := user.get("email")) is str else _text(value)
    actor_uuid, actor_email, actor_role, via_msp = member_uuid, member_email, None, False
    msp = metadata.get("msp")
    if type(msp) is dict and ("user_uuid" in msp or "user_email" in msp):
        actor_uuid, actor_email, actor_role, via_msp = _msp_admin(msp)
    source_ipv4 = source_ipv6 = None
    address = metadata.get("ip_address")
    if type(address) is str:
        try:  # the address in the slot of its family; a malformed one in neither
            if ":" in address:
                _inet_pton(_AF_INET6, address)
                source_ipv6 = address
            else:
                _inet_pton(_AF_INET, address)
                source_ipv4 = address
        except (OSError, ValueError):
            pass
    timestamp = raw.get("timestamp")
    if not (type(timestamp) is int and 0 <= timestamp < _MILLISECONDS_FROM):
        timestamp = _occurred_at(timestamp, received_at or 0)
    items = metadata.get("items")
    unmapped = None
    if not (raw.keys() <= KNOWN_FIELDS and (metadata is raw_metadata or raw_metadata is None)):
        unmapped = _unmapped(raw, raw_metadata)
    # tuple.__new__ skips the NamedTuple constructor, a Python function whose 22 arguments cost
    # more than building the tuple itself; the field order is the class's.
    return _new_tuple(
        CanonicalEvent,
        (
            tenant,
            event_id,
            classify(event_type, action, metadata),
            event_type,
            action,
            timestamp,
            value if type(value := raw.get("organization_uuid")) is str else _text(value),
            member_uuid,
            member_email,
            value if type(value := raw.get("initiator")) is str else _text(value),
            actor_uuid,
            actor_email,
            actor_role,
            via_msp,
            source_ipv4,
            source_ipv6,
            value if type(value := metadata.get("provider")) is str else _text(value),
            value if type(value := metadata.get("platform")) is str else _text(value),
            items if type(items) is list else (),
            metadata,
            unmapped,
            raw,
        ),
    )
