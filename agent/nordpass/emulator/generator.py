"""Deterministic, realistic event bodies for one organisation of the sandbox.

A body is built from a seeded `random.Random`, the event's second and its member, so the same seed
always yields the same traffic. The member pool is small and stable (uuids and emails never change
between runs); names are sometimes hostile on purpose, to exercise every renderer's escaping.
"""

from __future__ import annotations

import random
import uuid
from bisect import bisect_right
from collections.abc import Callable
from dataclasses import dataclass
from itertools import accumulate
from typing import Any

from agent.nordpass.emulator.catalog import ACTION_CATALOG, CatalogEntry, MetadataShape

__all__ = [
    "HOSTILE_NAMES",
    "Member",
    "OrganizationProfile",
    "VaultItem",
    "build_event",
    "make_profile",
]

_NAMESPACE = uuid.UUID("6f1c2a4e-8d3b-4f7a-9c51-2b7e0d9a4c13")

# Names that break naive CEF/LEEF/syslog/KV renderers: separators, escapes, line breaks,
# bidirectional overrides, astral-plane emoji and a name longer than most field limits.
HOSTILE_NAMES: tuple[str, ...] = (
    "\u202etxt.exe",
    "Payroll \u200f\u05e9\u05db\u05e8 \u05e2\u05d5\u05d1\u05d3\u05d9\u05dd\u200f 2026",
    "Team vault \U0001f510\U0001f4b0\U0001f9d1\u200d\U0001f4bb",
    "pipe|separated|CEF:0|name",
    "key=value=other key=value",
    "C:\\Users\\admin\\secrets\\",
    "first line\nsecond line\r\nthird line",
    "quote \" and apostrophe ' and `backtick`",
    "<script>alert('x')</script>",
    "tab\tseparated\tvalue",
    "Long name " + "very " * 120 + "long",
    "Z\u0351\u0307\u0302a\u0358lgo\u0360 text",
)

_PLAIN_ITEM_NAMES: tuple[str, ...] = (
    "GitHub",
    "AWS root account",
    "Office Wi-Fi",
    "Payroll portal",
    "Stripe API key",
    "Jira",
    "Corporate VPN",
    "Bank of Example",
    "Google Workspace admin",
    "Figma",
    "Server room door code",
    "Company credit card",
)
_ITEM_TYPES = ("password", "password", "password", "secure_note", "credit_card", "passkey")
_GROUP_NAMES = ("Engineering", "Finance", "Support", "Sales EMEA", "Contractors", "Admins")
_PLATFORMS = ("windows", "macos", "ios", "android", "linux", "browser_extension", "web")
_PROVIDERS = ("password", "password", "password", "google", "azure_ad", "okta", "microsoft")
_ROLES = ("member", "admin", "owner")
_FIRST_NAMES = ("alice", "bob", "carol", "dmitri", "eve", "farah", "gustavo", "hana", "ivan")
_LAST_NAMES = ("smith", "nowak", "garcia", "kim", "okafor", "jensen", "rossi", "tanaka")

# How often an event carries an MSP admin block, omits metadata, or shows a machine initiator.
_MSP_FRACTION = 0.05
_EMPTY_METADATA_FRACTION = 0.005
_MACHINE_INITIATOR_FRACTION = 0.02
_HOSTILE_NAME_FRACTION = 0.08
# Plain items per vault; with the hostile ones about one item action in nine is hostile.
_VAULT_SIZE = 84

_CUMULATIVE_WEIGHTS: tuple[float, ...] = tuple(accumulate(e.weight for e in ACTION_CATALOG))


@dataclass(frozen=True, slots=True)
class Member:
    uuid: str
    email: str
    home_ip: str
    platform: str
    provider: str


@dataclass(frozen=True, slots=True)
class VaultItem:
    uuid: str
    name: str
    type: str


@dataclass(frozen=True, slots=True)
class OrganizationProfile:
    """What the generator needs to know about an organisation; fixed for its lifetime."""

    uuid: str
    slug: str
    members: tuple[Member, ...]
    msp_admin: Member
    # The organisation's vault: item actions keep touching the same items, as in real use.
    items: tuple[VaultItem, ...]
    # Member indices repeated by activity level, so a draw picks busy members more often.
    activity_slots: tuple[int, ...]

    def pick_member(self, draw: float) -> int:
        return self.activity_slots[int(draw * len(self.activity_slots))]


def _random_ip(rng: random.Random, ipv6: bool) -> str:
    # Documentation ranges only (RFC 5737, RFC 3849): sandbox data must never name a real host.
    if ipv6:
        return f"2001:db8:{rng.getrandbits(16):x}::{rng.getrandbits(16):x}"
    prefix = ("192.0.2", "198.51.100", "203.0.113")[rng.getrandbits(2) % 3]
    return f"{prefix}.{rng.getrandbits(8)}"


def _member(rng: random.Random, org_uuid: uuid.UUID, index: int, email: str) -> Member:
    return Member(
        uuid=str(uuid.uuid5(org_uuid, f"member:{index}")),
        email=email,
        home_ip=_random_ip(rng, ipv6=rng.random() < 0.25),
        platform=rng.choice(_PLATFORMS),
        provider=rng.choice(_PROVIDERS),
    )


def make_profile(
    seed: int, organization_uuid: str, slug: str, size: int = 12
) -> OrganizationProfile:
    """A stable member pool: same seed and organisation, same uuids and emails."""
    rng = random.Random(f"{seed}:{organization_uuid}:members")
    org = uuid.UUID(organization_uuid)
    domain = f"{slug}.example"
    emails = [f"owner@{domain}", f"it.admin@{domain}"]
    # Valid but awkward addresses: non-ASCII local part, plus-tag and an apostrophe.
    emails += [f"zo\u00eb.\u0142ukasz@{domain}", f"o'brien+vault@{domain}"]
    while len(emails) < size:
        candidate = f"{rng.choice(_FIRST_NAMES)}.{rng.choice(_LAST_NAMES)}@{domain}"
        if candidate not in emails:
            emails.append(candidate)
    members = tuple(_member(rng, org, i, email) for i, email in enumerate(emails))
    msp_admin = _member(rng, uuid.uuid5(_NAMESPACE, "msp-partner"), 0, "admin@msp-partner.example")
    slots = tuple(i for i in range(len(members)) for _ in range(1 + rng.getrandbits(3)))
    # Every hostile name sits in every vault, so any long enough run meets all of them.
    names = [*HOSTILE_NAMES, *(rng.choice(_PLAIN_ITEM_NAMES) for _ in range(_VAULT_SIZE))]
    items = tuple(
        VaultItem(str(uuid.uuid5(org, f"item:{index}")), name, rng.choice(_ITEM_TYPES))
        for index, name in enumerate(names)
    )
    return OrganizationProfile(organization_uuid, slug, members, msp_admin, items, slots)


def _pick(rng: random.Random, options: tuple[str, ...]) -> str:
    return options[int(rng.random() * len(options))]


def _name(rng: random.Random, plain: tuple[str, ...]) -> str:
    if rng.random() < _HOSTILE_NAME_FRACTION:
        return _pick(rng, HOSTILE_NAMES)
    return _pick(rng, plain)


def _ip(rng: random.Random, member: Member | None, entry: CatalogEntry) -> str:
    # Failed logins mostly come from somewhere else: that is what the analytic rules look for.
    stray = 0.6 if entry.action == "user_login_failed" else 0.15
    if member is None or rng.random() < stray:
        return _random_ip(rng, ipv6=rng.random() < 0.3)
    return member.home_ip


def _platform(rng: random.Random, member: Member | None) -> str:
    if member is None or rng.random() < 0.2:
        return _pick(rng, _PLATFORMS)
    return member.platform


def _items(rng: random.Random, profile: OrganizationProfile, count: int) -> list[dict[str, str]]:
    vault = profile.items
    picked = (vault[int(rng.random() * len(vault))] for _ in range(count))
    return [{"uuid": item.uuid, "name": item.name, "type": item.type} for item in picked]


def _other_emails(rng: random.Random, profile: OrganizationProfile, count: int) -> list[str]:
    return [profile.members[int(rng.random() * len(profile.members))].email for _ in range(count)]


# Every builder takes (rng, entry, profile, member); one per metadata shape of the catalog.
_Builder = Callable[
    [random.Random, CatalogEntry, OrganizationProfile, Member | None], dict[str, Any]
]


def _network(
    rng: random.Random, entry: CatalogEntry, profile: OrganizationProfile, member: Member | None
) -> dict[str, Any]:
    metadata: dict[str, Any] = {"ip_address": _ip(rng, member, entry)}
    if entry.shape == "login":
        provider = member.provider if member and rng.random() < 0.9 else _pick(rng, _PROVIDERS)
        metadata["provider"] = provider
    if entry.shape != "admin":
        metadata["platform"] = _platform(rng, member)
    if entry.shape == "item":
        metadata["items"] = _items(rng, profile, 1)
    return metadata


def _bulk_items(
    rng: random.Random, entry: CatalogEntry, profile: OrganizationProfile, member: Member | None
) -> dict[str, Any]:
    # Mostly a handful, occasionally a big import or clean-up.
    return {"items": _items(rng, profile, 1 + int(rng.random() ** 3 * 25))}


def _status(
    rng: random.Random, entry: CatalogEntry, profile: OrganizationProfile, member: Member | None
) -> dict[str, Any]:
    return {"status": "suspended" if rng.random() < 0.7 else "deleted"}


def _invite(
    rng: random.Random, entry: CatalogEntry, profile: OrganizationProfile, member: Member | None
) -> dict[str, Any]:
    return {"emails": [f"new.hire{rng.getrandbits(16)}@{profile.slug}.example"]}


def _group(
    rng: random.Random, entry: CatalogEntry, profile: OrganizationProfile, member: Member | None
) -> dict[str, Any]:
    metadata: dict[str, Any] = {"group_name": _name(rng, _GROUP_NAMES)}
    if entry.action in ("group_users_added", "group_users_removed"):
        metadata["emails"] = _other_emails(rng, profile, 1 + int(rng.random() * 4))
    return metadata


def _domain(
    rng: random.Random, entry: CatalogEntry, profile: OrganizationProfile, member: Member | None
) -> dict[str, Any]:
    return {"domain": f"{profile.slug}{'' if rng.random() < 0.7 else '-eu'}.example"}


def _role(
    rng: random.Random, entry: CatalogEntry, profile: OrganizationProfile, member: Member | None
) -> dict[str, Any]:
    return {"role": _pick(rng, _ROLES)}


def _breach(
    rng: random.Random, entry: CatalogEntry, profile: OrganizationProfile, member: Member | None
) -> dict[str, Any]:
    if entry.action == "domain_breached":
        return {"domain": f"{profile.slug}.example"}
    return {"emails": _other_emails(rng, profile, 1)}


def _empty(
    rng: random.Random, entry: CatalogEntry, profile: OrganizationProfile, member: Member | None
) -> dict[str, Any]:
    return {}


_METADATA_BUILDERS: dict[MetadataShape, _Builder] = {
    "login": _network,
    "session": _network,
    "item": _network,
    "admin": _network,
    "items": _bulk_items,
    "status": _status,
    "invite": _invite,
    "group": _group,
    "domain": _domain,
    "role": _role,
    "breach": _breach,
    "empty": _empty,
}


def _initiator(rng: random.Random, entry: CatalogEntry, member: Member | None) -> str:
    if entry.initiator == "provisioning":
        return "azure_ad" if rng.random() < 0.6 else "scim"
    if entry.initiator == "system" or member is None:
        return "system"
    if rng.random() < _MACHINE_INITIATOR_FRACTION:
        return _pick(rng, ("azure_ad", "scim", "system"))
    return member.email


def build_event(
    rng: random.Random, profile: OrganizationProfile, timestamp: int, member_index: int
) -> dict[str, Any]:
    """One event body. `member_index` -1 means the rare event that carries no `user` at all."""
    slot = bisect_right(_CUMULATIVE_WEIGHTS, rng.random() * _CUMULATIVE_WEIGHTS[-1])
    # Float rounding can land exactly on the total; clamp rather than index past the table.
    entry = ACTION_CATALOG[min(slot, len(ACTION_CATALOG) - 1)]
    member = profile.members[member_index] if member_index >= 0 else None
    event: dict[str, Any] = {
        "type": entry.type,
        "action": entry.action,
        "timestamp": timestamp,
        "organization_uuid": profile.uuid,
    }
    if member is not None:
        event["user"] = {"uuid": member.uuid, "email": member.email}
    event["initiator"] = _initiator(rng, entry, member)
    if rng.random() < _EMPTY_METADATA_FRACTION:
        event["metadata"] = {}
        return event
    metadata = _METADATA_BUILDERS[entry.shape](rng, entry, profile, member)
    if rng.random() < _MSP_FRACTION:
        msp = profile.msp_admin
        metadata["msp"] = {"user_uuid": msp.uuid, "user_email": msp.email, "user_role": "admin"}
    event["metadata"] = metadata
    return event
