"""ECS (Elastic Common Schema 8): one document per event for Elastic-style pipelines.

`user.*` is the actor (the MSP admin when one acted, else the member), `user.target.*` the member;
NordPass fields with no ECS home travel under the custom `nordpass.*` namespace. Records share
constant sub-objects: treat them as read-only.
"""

from __future__ import annotations

from typing import Any, Final, NamedTuple

from agent.normalize.actions import ActionSpec
from agent.normalize.canonical import CanonicalEvent
from agent.normalize.catalog import CATALOG
from agent.normalize.fields import FieldDoc
from agent.normalize.timestamps import iso_utc

__all__ = ["ECS_FIELDS", "ECS_VERSION", "ecs_document"]

ECS_VERSION: Final = "8.11.0"
VENDOR: Final = "NordPass"
PRODUCT: Final = "NordPass Business"
_OUTCOMES: Final = {"success": "success", "failure": "failure", "n/a": "unknown"}
_ECS: Final = {"version": ECS_VERSION}
_OBSERVER: Final = {"vendor": VENDOR, "product": PRODUCT, "type": "saas"}

Document = dict[str, Any]


class _Prepared(NamedTuple):
    message: str
    event: Document


def _prepare(spec: ActionSpec) -> _Prepared:
    event: Document = {"kind": "event"}
    if spec.kind.ecs_category:
        event["category"] = list(spec.kind.ecs_category)
        event["type"] = list(spec.kind.ecs_type)
    event["action"] = spec.action
    event["code"] = spec.signature_id
    event["outcome"] = _OUTCOMES[spec.outcome]
    event["severity"] = spec.severity
    if spec.result_detail:
        event["reason"] = spec.result_detail
    event["module"] = "nordpass"
    event["dataset"] = "nordpass.activity"
    event["id"] = None  # per event; holds its place so that a copy keeps the order
    return _Prepared(spec.name, event)


_PREPARED: Final = {spec: _prepare(spec) for spec in CATALOG}


def _person(uid: str | None, email: str | None) -> Document:
    person: Document = {}
    if uid:
        person["id"] = uid
    if email:
        person["name"] = email
        person["email"] = email
    return person


def _user(event: CanonicalEvent) -> Document:
    user = _person(event.actor_uuid, event.actor_email)
    if event.actor_role:
        user["roles"] = [event.actor_role]
    target = _person(event.member_uuid, event.member_email)
    if target:
        user["target"] = target
    return user


def _related(event: CanonicalEvent) -> Document:
    names = [name for name in (event.actor_email, event.member_email) if name]
    related: Document = {}
    if names:
        related["user"] = list(dict.fromkeys(names))
    if event.source_ip:
        related["ip"] = [event.source_ip]
    return related


def _nordpass(event: CanonicalEvent) -> Document:
    fields: Document = {"type": event.event_type, "tenant": event.tenant}
    if event.initiator:
        fields["initiator"] = event.initiator
    if event.metadata:
        fields["metadata"] = event.metadata
    if event.unmapped:
        fields["unmapped"] = event.unmapped
    return fields


def ecs_document(event: CanonicalEvent) -> Document:
    """The ECS document for one NordPass event."""
    prepared = _PREPARED.get(event.spec) or _prepare(event.spec)
    event_fields = prepared.event.copy()
    event_fields["id"] = event.event_id
    document: Document = {
        "@timestamp": iso_utc(event.occurred_at),
        "ecs": _ECS,
        "message": prepared.message,
        "event": event_fields,
        "observer": _OBSERVER,
    }
    if event.organization_uuid:
        document["organization"] = {"id": event.organization_uuid}
    user = _user(event)
    if user:
        document["user"] = user
    if event.source_ip:
        document["source"] = {"ip": event.source_ip}
    related = _related(event)
    if related:
        document["related"] = related
    document["nordpass"] = _nordpass(event)
    return document


ECS_FIELDS: Final = (
    FieldDoc("@timestamp", "event time (ISO-8601 UTC)"),
    FieldDoc("ecs.version", f"`{ECS_VERSION}`"),
    FieldDoc("message", "catalog name of the action"),
    FieldDoc("event.kind", "`event`"),
    FieldDoc("event.category", "catalog: the kind's ECS categories"),
    FieldDoc("event.type", "catalog: the kind's ECS types"),
    FieldDoc("event.action", "NordPass `action`"),
    FieldDoc("event.code", "catalog `signature_id` (`type:action`)"),
    FieldDoc("event.outcome", "catalog outcome: success / failure / unknown"),
    FieldDoc("event.severity", "catalog severity, 0-10"),
    FieldDoc("event.reason", "catalog result detail of a failure"),
    FieldDoc("event.module", "`nordpass`"),
    FieldDoc("event.dataset", "`nordpass.activity`"),
    FieldDoc("event.id", "the agent's event id"),
    FieldDoc("observer.vendor", f"`{VENDOR}`"),
    FieldDoc("observer.product", f"`{PRODUCT}`"),
    FieldDoc("observer.type", "`saas`"),
    FieldDoc("organization.id", "`organization_uuid`"),
    FieldDoc("user.id", "actor uuid (MSP admin, else member)"),
    FieldDoc("user.name", "actor email"),
    FieldDoc("user.email", "actor email"),
    FieldDoc("user.roles", "the MSP admin's role, `metadata.msp.user_role`"),
    FieldDoc("user.target.id", "member uuid, `user.uuid`"),
    FieldDoc("user.target.name", "member email"),
    FieldDoc("user.target.email", "member email"),
    FieldDoc("source.ip", "`metadata.ip_address`"),
    FieldDoc("related.user", "actor and member emails"),
    FieldDoc("related.ip", "`metadata.ip_address`"),
    FieldDoc("nordpass.type", "NordPass `type`"),
    FieldDoc("nordpass.tenant", "tenant name"),
    FieldDoc("nordpass.initiator", "`initiator`"),
    FieldDoc("nordpass.metadata", "`metadata` as received (after the privacy profile)", True),
    FieldDoc("nordpass.unmapped", "top-level fields the agent does not know", opaque=True),
)
