"""Who the emulated API knows: organisations, their event timelines and their API tokens.

A token maps to exactly one organisation, as an Admin Panel token does. Tokens can expire (on the
emulator's clock) or be revoked; the server decides what status that earns.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Literal

from agent.nordpass.emulator.generator import Member, make_profile
from agent.nordpass.emulator.timeline import Timeline

__all__ = ["AuthOutcome", "Organization", "Registry"]

AuthOutcome = Literal["ok", "missing", "unknown", "revoked", "expired"]

_ORGANIZATION_NAMESPACE = uuid.UUID("0b7f6a52-31c4-4c3e-8f0e-5d2a9b6e7c11")
# How much history a new organisation has when the caller does not say.
DEFAULT_HISTORY_SECONDS = 30 * 86400


@dataclass(frozen=True, slots=True)
class Organization:
    name: str
    uuid: str
    token: str
    events_per_second: float
    history_start: float
    history_end: float | None
    members: tuple[Member, ...]


@dataclass(slots=True)
class _TokenRecord:
    organization_uuid: str
    expires_at: float | None
    revoked: bool = False


class Registry:
    def __init__(self, seed: int) -> None:
        self._seed = seed
        self.organizations: dict[str, Organization] = {}
        self.timelines: dict[str, Timeline] = {}
        self._tokens: dict[str, _TokenRecord] = {}

    def add(
        self,
        name: str,
        *,
        token: str,
        now: float,
        organization_uuid: str | None,
        events_per_second: float,
        history_start: float | None,
        history_end: float | None,
        token_expires_at: float | None,
    ) -> Organization:
        # Derived from the seed and the name, so a rerun addresses the same organisation.
        org_uuid = organization_uuid or str(
            uuid.uuid5(_ORGANIZATION_NAMESPACE, f"{self._seed}:{name}")
        )
        if org_uuid in self.organizations:
            raise ValueError(f"organisation {org_uuid} already exists")
        start = now - DEFAULT_HISTORY_SECONDS if history_start is None else history_start
        profile = make_profile(self._seed, org_uuid, _slug(name))
        self.timelines[org_uuid] = Timeline(
            profile,
            seed=self._seed,
            events_per_second=events_per_second,
            history_start=start,
            history_end=history_end,
        )
        organization = Organization(
            name=name,
            uuid=org_uuid,
            token=token,
            events_per_second=events_per_second,
            history_start=start,
            history_end=history_end,
            members=profile.members,
        )
        self.organizations[org_uuid] = organization
        self.add_token(org_uuid, token, expires_at=token_expires_at)
        return organization

    def add_token(self, organization_uuid: str, token: str, *, expires_at: float | None) -> None:
        if organization_uuid not in self.organizations:
            raise KeyError(f"no organisation {organization_uuid}")
        if token in self._tokens:
            raise ValueError("token already in use")
        self._tokens[token] = _TokenRecord(organization_uuid, expires_at)

    def revoke(self, token: str) -> None:
        record = self._tokens.get(token)
        if record is None:
            raise KeyError("unknown token")
        record.revoked = True

    def by_name(self, name: str) -> Organization:
        for organization in self.organizations.values():
            if organization.name == name:
                return organization
        raise KeyError(f"no organisation named {name!r}")

    def authenticate(
        self, header: str | None, now: float
    ) -> tuple[AuthOutcome, Organization | None]:
        """The outcome for an `Authorization` header; names the organisation even if refused."""
        if not header:
            return "missing", None
        record = self._tokens.get(header)
        if record is None:
            return "unknown", None
        organization = self.organizations[record.organization_uuid]
        if record.revoked:
            return "revoked", organization
        if record.expires_at is not None and now >= record.expires_at:
            return "expired", organization
        return "ok", organization


def _slug(name: str) -> str:
    slug = "".join(c if c.isascii() and c.isalnum() else "-" for c in name.lower()).strip("-")
    return slug or "org"
