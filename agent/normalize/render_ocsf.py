"""OCSF 1.5: Authentication (3002), Account Change (3001), Group Management (3006), Entity
Management (3004), and API Activity (6003) for what fits none of them; the catalog picks the class.

Classes require some objects the API cannot always fill (a `user` for Authentication, a `group`
for Group Management); the nearest true value is used (the initiator, the literal `unknown`) rather
than leaving the record invalid. Records share constant sub-objects: treat them as read-only.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Final, NamedTuple

from agent.normalize.actions import ActionSpec
from agent.normalize.canonical import CanonicalEvent
from agent.normalize.catalog import CATALOG
from agent.normalize.fields import FieldDoc
from agent.normalize.timestamps import epoch_ms

__all__ = ["OCSF_FIELDS", "OCSF_VERSION", "ocsf_event"]

OCSF_VERSION: Final = "1.5.0"
VENDOR: Final = "NordPass"
PRODUCT: Final = "NordPass Business"
_UNKNOWN = "unknown"

_CLASS_NAMES: Final = {
    3001: "Account Change",
    3002: "Authentication",
    3004: "Entity Management",
    3006: "Group Management",
    6003: "API Activity",
}
_CATEGORY_NAMES: Final = {3: "Identity & Access Management", 6: "Application Activity"}
_ACTIVITY_NAMES: Final[Mapping[tuple[int, int], str]] = {
    (3001, 1): "Create",
    (3001, 2): "Enable",
    (3001, 3): "Password Change",
    (3001, 4): "Password Reset",
    (3001, 5): "Disable",
    (3001, 6): "Delete",
    (3001, 10): "MFA Factor Enable",
    (3001, 11): "MFA Factor Disable",
    (3002, 1): "Logon",
    (3004, 1): "Create",
    (3004, 2): "Read",
    (3004, 3): "Update",
    (3004, 4): "Delete",
    (3004, 5): "Move",
    (3004, 8): "Enable",
    (3004, 9): "Disable",
    (3006, 3): "Add User",
    (3006, 4): "Remove User",
    (3006, 5): "Delete",
    (3006, 6): "Create",
}
# CEF severity 0-10 -> OCSF severity_id: 1 Informational, 2 Low, 3 Medium, 4 High, 5 Critical.
_SEVERITY_IDS: Final = (1, 1, 2, 2, 3, 3, 3, 4, 4, 5, 5)
_SEVERITY_NAMES: Final = {1: "Informational", 2: "Low", 3: "Medium", 4: "High", 5: "Critical"}
_STATUSES: Final = {"success": (1, "Success"), "failure": (2, "Failure")}
_ACCOUNT_TYPE_OTHER = 99
_USER_TYPE = {"owner": 2, "admin": 2}  # OCSF user type_id 2 is Admin; members are 1, User
_SERVICE: Final = {"name": PRODUCT}
_PRODUCT: Final = {"name": PRODUCT, "vendor_name": VENDOR}

Record = dict[str, Any]


def _user_record(identity: str, email: str | None, role: str | None) -> Record:
    """An OCSF user; `account` is the member's NordPass account (a uuid or, lacking one, the
    address stands in as its id)."""
    name = email or identity
    account = {"name": name, "type": PRODUCT, "type_id": _ACCOUNT_TYPE_OTHER, "uid": identity}
    user: Record = {"name": name, "uid": identity, "type_id": _USER_TYPE.get(role or "", 1)}
    if email:
        user["email_addr"] = email
    user["account"] = account
    return user


def _user(uid: str | None, email: str | None, role: str | None = None) -> Record | None:
    identity = uid or email
    return _user_record(identity, email, role) if identity else None


def _member_or_initiator(event: CanonicalEvent) -> Record:
    """The class requires a user: the member, else whoever initiated it, else `unknown`."""
    member = _user(event.member_uuid, event.member_email)
    return member or _user_record(event.initiator or _UNKNOWN, None, None)


def _entity(event: CanonicalEvent) -> Record:
    entity: Record = {"name": event.spec.object_name, "type": event.spec.object_name}
    items = event.items
    only = items[0] if len(items) == 1 and type(items[0]) is dict else None
    if only is not None and type(only.get("uuid")) is str:
        entity["uid"] = only["uuid"]
    if only is not None and type(only.get("name")) is str and only["name"]:
        entity["name"] = only["name"]
    if items:
        entity["data"] = {"items": items}
    return entity


def _group(event: CanonicalEvent) -> Record:
    name = event.metadata.get("group_name")
    return {"name": name if type(name) is str and name else _UNKNOWN}


def _fill_authentication(record: Record, event: CanonicalEvent) -> None:
    record["user"] = _member_or_initiator(event)
    record["service"] = _SERVICE


def _fill_account_change(record: Record, event: CanonicalEvent) -> None:
    record["user"] = _member_or_initiator(event)


def _fill_group_management(record: Record, event: CanonicalEvent) -> None:
    record["group"] = _group(event)
    member = _user(event.member_uuid, event.member_email)
    if member is not None:
        record["user"] = member


def _fill_entity_management(record: Record, event: CanonicalEvent) -> None:
    record["entity"] = _entity(event)


def _fill_api_activity(record: Record, event: CanonicalEvent) -> None:
    record.setdefault("actor", {"app_name": PRODUCT})
    record["api"] = {"operation": event.action}
    record.setdefault("src_endpoint", {"name": _UNKNOWN})


_FILLS: Final[Mapping[int, Callable[[Record, CanonicalEvent], None]]] = {
    3001: _fill_account_change,
    3002: _fill_authentication,
    3004: _fill_entity_management,
    3006: _fill_group_management,
    6003: _fill_api_activity,
}


class _Prepared(NamedTuple):
    constant: Record
    product: Record
    fill: Callable[[Record, CanonicalEvent], None]


def _prepare(spec: ActionSpec) -> _Prepared:
    class_uid, activity_id = spec.kind.ocsf_class_uid, spec.kind.ocsf_activity_id
    class_name = _CLASS_NAMES[class_uid]
    # Activity 99 ("Other") takes the source's own words as its name, per OCSF.
    activity_name = _ACTIVITY_NAMES.get((class_uid, activity_id), spec.name)
    severity_id = _SEVERITY_IDS[spec.severity]
    constant: Record = {
        "class_uid": class_uid,
        "class_name": class_name,
        "category_uid": class_uid // 1000,
        "category_name": _CATEGORY_NAMES[class_uid // 1000],
        "activity_id": activity_id,
        "activity_name": activity_name,
        "type_uid": class_uid * 100 + activity_id,
        "type_name": f"{class_name}: {activity_name}",
        "severity_id": severity_id,
        "severity": _SEVERITY_NAMES[severity_id],
        "message": spec.name,
    }
    if spec.outcome in _STATUSES:
        constant["status_id"], constant["status"] = _STATUSES[spec.outcome]
    if spec.result_detail:
        constant["status_detail"] = spec.result_detail
    # The per-event fields hold their place here so that a copy keeps the field order.
    constant["time"] = constant["metadata"] = None
    product = {**_PRODUCT, "feature": {"name": spec.area}}
    return _Prepared(constant, product, _FILLS[class_uid])


_PREPARED: Final = {spec: _prepare(spec) for spec in CATALOG}


def _unmapped(event: CanonicalEvent) -> Record:
    unmapped: Record = {"tenant": event.tenant, "type": event.event_type}
    if event.initiator:
        unmapped["initiator"] = event.initiator
    if event.metadata:
        unmapped["metadata"] = event.metadata
    if event.unmapped:
        unmapped["fields"] = event.unmapped
    return unmapped


def ocsf_event(event: CanonicalEvent) -> Record:
    """The OCSF event for one NordPass event."""
    prepared = _PREPARED.get(event.spec) or _prepare(event.spec)
    metadata: Record = {
        "version": OCSF_VERSION,
        "uid": event.event_id,
        "event_code": event.action,
        "product": prepared.product,
    }
    if event.organization_uuid:
        metadata["tenant_uid"] = event.organization_uuid
    record = prepared.constant.copy()  # a C-level copy: cheaper than rebuilding a dict per event
    record["time"] = epoch_ms(event.occurred_at)
    record["metadata"] = metadata
    actor = _user(event.actor_uuid, event.actor_email, event.actor_role)
    if actor is not None:
        record["actor"] = {"user": actor}
    if event.source_ip:
        record["src_endpoint"] = {"ip": event.source_ip}
    prepared.fill(record, event)
    record["unmapped"] = _unmapped(event)
    return record


OCSF_FIELDS: Final = (
    FieldDoc("class_uid", "catalog: the kind's OCSF class"),
    FieldDoc("class_name", "the class caption"),
    FieldDoc("category_uid", "`class_uid // 1000`"),
    FieldDoc("category_name", "the category caption"),
    FieldDoc("activity_id", "catalog: the kind's activity (99 Other where none fits)"),
    FieldDoc("activity_name", "the activity caption; for 99 the catalog name of the action"),
    FieldDoc("type_uid", "`class_uid * 100 + activity_id`"),
    FieldDoc("type_name", "`<class_name>: <activity_name>`"),
    FieldDoc("time", "event time, epoch milliseconds"),
    FieldDoc("severity_id", "catalog severity: 0-1 -> 1, 2-3 -> 2, 4-6 -> 3, 7-8 -> 4, 9-10 -> 5"),
    FieldDoc("severity", "the severity caption"),
    FieldDoc("status_id", "catalog outcome: 1 Success, 2 Failure; absent when not applicable"),
    FieldDoc("status", "the status caption"),
    FieldDoc("status_detail", "catalog result detail of a failure"),
    FieldDoc("message", "catalog name of the action"),
    FieldDoc("metadata.version", f"`{OCSF_VERSION}`"),
    FieldDoc("metadata.uid", "the agent's event id"),
    FieldDoc("metadata.event_code", "NordPass `action`"),
    FieldDoc("metadata.tenant_uid", "`organization_uuid`"),
    FieldDoc("metadata.product.name", f"`{PRODUCT}`"),
    FieldDoc("metadata.product.vendor_name", f"`{VENDOR}`"),
    FieldDoc("metadata.product.feature.name", "catalog area: Admin panel, Vault, Login..."),
    FieldDoc("actor.user", "actor (MSP admin, else member) as an OCSF user", opaque=True),
    FieldDoc("actor.app_name", f"API Activity without a user: `{PRODUCT}`"),
    FieldDoc("user", "3002, 3001, 3006: the member (else the initiator) as an OCSF user", True),
    FieldDoc("service.name", f"3002: `{PRODUCT}`"),
    FieldDoc("group.name", "3006: `metadata.group_name`, else `unknown`"),
    FieldDoc("entity.name", "3004: the single item's name, else the catalog object"),
    FieldDoc("entity.type", "3004: catalog object, e.g. `Vault item`"),
    FieldDoc("entity.uid", "3004: the single item's uuid"),
    FieldDoc("entity.data", '3004: `{"items": metadata.items}`', opaque=True),
    FieldDoc("api.operation", "6003: NordPass `action`"),
    FieldDoc("src_endpoint.ip", "`metadata.ip_address`"),
    FieldDoc("src_endpoint.name", "6003 without an address: `unknown`"),
    FieldDoc("unmapped", "tenant, NordPass type, initiator, metadata, unknown fields", opaque=True),
)
