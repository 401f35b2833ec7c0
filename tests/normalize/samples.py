"""Realistic raw API events for every catalog entry, in the shapes the reference describes.

Used once to seed a golden file for a catalog entry that has none; after that the golden file's
own raw event is the input (so a golden never changes because this builder did).
"""

from __future__ import annotations

import uuid
from typing import Any

from agent.normalize import ActionSpec

ORGANIZATION = "101b4232-0688-4599-bca8-4636c91cd687"
TENANT = "acme-eu"
OWNER = {"uuid": "de555f53-5a44-47cd-a3b6-946c8a97b847", "email": "owner@acme.example"}
MEMBER = {"uuid": "6b0f3a52-8f0e-4a57-9c8e-2a1f6d3b9e41", "email": "jonas.petraitis@acme.example"}
MSP = {
    "user_uuid": "0e7c5d1a-4b9f-4c3e-8d2a-7f6e5b4a3c21",
    "user_email": "admin@msp-partner.example",
    "user_role": "admin",
}
_NAMESPACE = uuid.UUID("9d3b8f4e-2c1a-4e5f-b6a7-c8d9e0f1a2b3")
_ITEMS = (
    {"uuid": "5f1c2b1e-3a4d-4f5e-8a9b-0c1d2e3f4a5b", "name": "Payroll portal", "type": "password"},
    {"uuid": "a7e3d2c1-b4f5-4e6d-9c8b-7a6f5e4d3c2b", "name": "AWS root", "type": "password"},
    {"uuid": "c2d4e6f8-1a3b-4c5d-8e7f-9a0b1c2d3e4f", "name": "Office Wi-Fi", "type": "note"},
)
_LOGIN_AREAS = ("Login",)
_ITEM_OBJECTS = ("Vault item", "Shared item", "Shared folder", "Vault item 2FA code", "Vault")
# Admin actions an MSP partner typically performs for a client.
_MSP_ACTIONS = {"user_role_updated", "global_settings_updated", "activities_token_revoked"}
_PROVISIONED = {"invite_converted_to_provisioned", "user_converted_to_provisioned"}


def event_id_for(name: str) -> str:
    """A deterministic event id, as the delivery engine would assign one."""
    return str(uuid.uuid5(_NAMESPACE, name))


def golden_name(spec: ActionSpec) -> str:
    """The golden file stem of a catalog entry: `type.action`, `.key-value` for a variant."""
    suffix = f".{spec.variant.replace('=', '-')}" if spec.variant else ""
    return f"{spec.event_type}.{spec.action}{suffix}"


def _network(spec: ActionSpec, index: int) -> dict[str, Any]:
    metadata: dict[str, Any] = {"ip_address": f"198.51.100.{10 + index % 200}"}
    if index % 5 == 0:
        metadata["ip_address"] = f"2001:db8:4f::{index:x}"
    metadata["platform"] = ("chrome_extension", "windows", "ios", "android", "macos")[index % 5]
    if spec.event_type == "login":
        metadata["provider"] = "password" if index % 2 else "azure_ad"
    return metadata


def _items(spec: ActionSpec, index: int) -> list[dict[str, str]]:
    bulk = spec.action.startswith(("items_", "shared_folder")) or "reassignment" in spec.action
    count = 2 if bulk else 1
    return [dict(_ITEMS[(index + offset) % len(_ITEMS)]) for offset in range(count)]


def _metadata(spec: ActionSpec, index: int) -> dict[str, Any]:  # noqa: PLR0911 - one shape each
    if spec.area in _LOGIN_AREAS or spec.event_type in ("item_access", "sharing_hub"):
        metadata = _network(spec, index)
        if spec.object_name in _ITEM_OBJECTS and spec.object_name != "Vault":
            metadata["items"] = _items(spec, index)
        return metadata
    if spec.object_name in _ITEM_OBJECTS:
        return {"items": _items(spec, index)}
    if spec.event_type == "invites":
        return {"emails": ["new.hire@acme.example"]}
    if spec.event_type == "groups":
        metadata = {"group_name": "Finance"}
        if spec.action in ("group_users_added", "group_users_removed"):
            metadata["emails"] = [MEMBER["email"]]
        return metadata
    if spec.variant:
        return {"status": spec.variant.partition("=")[2]}
    if spec.action == "user_status_updated":
        return {"status": "active"}
    if spec.event_type in ("domain", "oauth_domain") or spec.action == "domain_breached":
        return {"domain": "acme.example"}
    if spec.action == "email_breached":
        return {"emails": [MEMBER["email"]]}
    if spec.event_type == "roles":
        return {"role": "admin"}
    return {"ip_address": f"198.51.100.{10 + index % 200}"}


def sample_event(spec: ActionSpec, index: int) -> dict[str, Any]:
    """One plausible raw event for a catalog entry; `index` varies addresses and items."""
    event: dict[str, Any] = {
        "type": spec.event_type,
        "action": spec.action,
        "timestamp": 1_767_225_600 + index * 97,
        "organization_uuid": ORGANIZATION,
    }
    actor = OWNER if spec.area == "Admin panel" else MEMBER
    if spec.area != "Breach monitoring":
        event["user"] = dict(actor)
    if spec.area == "Breach monitoring":
        event["initiator"] = "system"
    elif spec.action in _PROVISIONED:
        event["initiator"] = "azure_ad"
    else:
        event["initiator"] = actor["email"]
    metadata = _metadata(spec, index)
    if spec.action in _MSP_ACTIONS:
        metadata["msp"] = dict(MSP)
    event["metadata"] = metadata
    return event
