"""ASIM: one row per event for the native Sentinel table of its schema.

Authentication -> `ASimAuthenticationEventLogs`, UserManagement -> `ASimUserManagementActivityLogs`,
AuditEvent -> `ASimAuditEventLogs` (the catalog picks the schema). A row may only use its table's
real columns (`sentinel_columns`): Azure silently drops anything else. So `EventSchema` is set only
where it is a column (UserManagement), aliases such as `Dvc` are left to Sentinel's parsers, and
`EventUid` (Sentinel's own) is not sent: the event id travels in `EventOriginalUid`. What has no
column goes to `AdditionalFields`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Final, NamedTuple

from agent.normalize.actions import ActionSpec
from agent.normalize.canonical import CanonicalEvent
from agent.normalize.catalog import CATALOG
from agent.normalize.fields import FieldDoc
from agent.normalize.sentinel_columns import ASIM_TABLES, AsimSchema
from agent.normalize.timestamps import iso_utc

__all__ = ["ASIM_FIELDS", "SCHEMA_VERSIONS", "asim_row", "asim_table"]

VENDOR: Final = "NordPass"
PRODUCT: Final = "NordPass Business"
SCHEMA_VERSIONS: Final[Mapping[AsimSchema, str]] = {
    "AuditEvent": "0.1",
    "Authentication": "0.1.3",
    "UserManagement": "0.1.2",
}
_RESULTS: Final = {"success": "Success", "failure": "Failure", "n/a": "NA"}
# CEF severity 0-10 -> ASIM EventSeverity: CEF's own bands (0-3 low, 4-6 medium, 7+ high), with
# 0-1 split off as Informational for routine activity.
_SEVERITIES: Final = (
    ("Informational", "Informational", "Low", "Low") + ("Medium",) * 3 + ("High",) * 4
)

Row = dict[str, Any]


# Fills the target-user columns from (row, metadata, member email, member uuid).
_FillTarget = Callable[[Row, Mapping[str, Any], str | None, str | None], None]


class _Prepared(NamedTuple):
    constant: Row
    fill_target: _FillTarget | None
    member_aside: bool  # whether the member goes to AdditionalFields


def asim_table(spec: ActionSpec) -> str:
    """The Sentinel table (and DCR stream suffix) an event of this action goes to."""
    return ASIM_TABLES[spec.kind.asim_schema].name


def _fill_target(row: Row, name: str | None, user_id: str | None) -> None:
    if name:
        row["TargetUsername"] = name
        row["TargetUsernameType"] = "UPN" if "@" in name else "Simple"
    if user_id:
        row["TargetUserId"] = user_id


def _fill_member_target(
    row: Row, metadata: Mapping[str, Any], member_email: str | None, member_uuid: str | None
) -> None:
    _fill_target(row, member_email, member_uuid)


def _fill_managed_user(
    row: Row, metadata: Mapping[str, Any], member_email: str | None, member_uuid: str | None
) -> None:
    # The managed account: the address an invite or group change names, else the member.
    emails = metadata.get("emails")
    if type(emails) is list and emails and type(emails[0]) is str and emails[0]:
        _fill_target(row, emails[0], None)
    else:
        _fill_target(row, member_email, member_uuid)
    group = metadata.get("group_name")
    if type(group) is str and group:
        row["GroupName"] = group
    changed = metadata.get("status") or metadata.get("role")
    if type(changed) is str and changed:
        row["NewPropertyValue"] = changed


def _member_shown(row: Row, member_uuid: str | None, member_email: str | None) -> bool:
    """Whether the row names the member as its actor or its target; if not (an MSP admin invited
    someone else, say), AdditionalFields keeps the member."""
    return (
        member_uuid is None or member_uuid in (row.get("ActorUserId"), row.get("TargetUserId"))
    ) and (
        member_email is None
        or member_email in (row.get("ActorUsername"), row.get("TargetUsername"))
    )


def _additional_fields(  # noqa: PLR0917 - the values, read off the event once by the caller
    tenant: str,
    organization_uuid: str | None,
    initiator: str | None,
    member_uuid: str | None,
    member_email: str | None,
    metadata: Mapping[str, Any],
    unmapped: Mapping[str, Any] | None,
) -> Row:
    fields: Row = {"Tenant": tenant}
    if organization_uuid:
        fields["OrganizationUuid"] = organization_uuid
    if initiator:
        fields["Initiator"] = initiator
    if member_uuid:
        fields["MemberUserId"] = member_uuid
    if member_email:
        fields["MemberUsername"] = member_email
    if metadata:
        fields["Metadata"] = metadata
    if unmapped:
        fields["Unmapped"] = unmapped
    return fields


# Per schema: what fills the target-user columns, and whether the member goes to AdditionalFields
# instead (the audit table has no target-user columns).
_TARGETS: Final[Mapping[AsimSchema, tuple[_FillTarget | None, bool]]] = {
    "AuditEvent": (None, True),
    "Authentication": (_fill_member_target, False),
    "UserManagement": (_fill_managed_user, False),
}


def _prepare(spec: ActionSpec) -> _Prepared:
    schema = spec.kind.asim_schema
    # The per-event columns hold their place here so that a copy keeps the column order.
    constant: Row = {
        "TimeGenerated": None,
        "EventStartTime": None,
        "EventEndTime": None,
        "EventCount": 1,
        "EventType": spec.kind.asim_event_type,
        "EventResult": _RESULTS[spec.outcome],
        "EventSeverity": _SEVERITIES[spec.severity],
        "EventOriginalType": spec.action,
        "EventMessage": spec.name,
        "EventProduct": PRODUCT,
        "EventVendor": VENDOR,
        "EventSchemaVersion": SCHEMA_VERSIONS[schema],
    }
    if schema == "UserManagement":
        constant["EventSchema"] = schema  # a column of this table only
    if spec.result_detail:
        constant["EventResultDetails"] = spec.result_detail
    if schema == "AuditEvent":
        constant["Operation"] = spec.action
        constant["Object"] = spec.object_name
        constant["ObjectType"] = spec.asim_object_type
    if schema != "UserManagement":
        constant["TargetAppName"] = PRODUCT
    constant["EventOriginalSubType"] = None
    constant["EventOriginalUid"] = None
    fill_target, member_aside = _TARGETS[schema]
    return _Prepared(constant, fill_target, member_aside)


_PREPARED: Final = {spec: _prepare(spec) for spec in CATALOG}


def asim_row(event: CanonicalEvent) -> Row:
    """The row for `asim_table(event.spec)`; columns without a value are left out."""
    # One unpacking instead of an attribute read per field: reading a NamedTuple attribute
    # calls a descriptor, and this runs for every event.
    # fmt: off
    (tenant, event_id, spec, event_type, _, occurred_at, organization_uuid, member_uuid,
     member_email, initiator, actor_uuid, actor_email, actor_role, _, source_ipv4, source_ipv6,
     _, _, _, metadata, unmapped, _) = event
    # fmt: on
    constant, fill_target, member_aside = _PREPARED.get(spec) or _prepare(spec)
    row = constant.copy()  # a C-level copy: cheaper than rebuilding a dict per event
    row["TimeGenerated"] = row["EventStartTime"] = row["EventEndTime"] = iso_utc(occurred_at)
    row["EventOriginalSubType"] = event_type
    row["EventOriginalUid"] = event_id
    # UserManagement requires an actor; with no user in the event the initiator (an email, or a
    # system such as `azure_ad`) is the best account of who acted.
    name = actor_email or initiator or actor_uuid or VENDOR
    row["ActorUsername"] = name
    row["ActorUsernameType"] = "UPN" if "@" in name else "Simple"
    # NordPass member uuids fit none of ASIM's UserIdType values (SID, UID, AADID, ...), so
    # ActorUserIdType stays empty rather than mislabelled.
    if actor_uuid:
        row["ActorUserId"] = actor_uuid
    if actor_role:
        row["ActorOriginalUserType"] = actor_role
    if source_ipv4 or source_ipv6:
        row["SrcIpAddr"] = source_ipv4 or source_ipv6
    if fill_target is not None:
        fill_target(row, metadata, member_email, member_uuid)
    if not member_aside and _member_shown(row, member_uuid, member_email):
        member_uuid = member_email = None
    row["AdditionalFields"] = _additional_fields(
        tenant, organization_uuid, initiator, member_uuid, member_email, metadata, unmapped
    )
    return row


ASIM_FIELDS: Final = (
    FieldDoc("TimeGenerated", "event time (ISO-8601 UTC)"),
    FieldDoc("EventStartTime", "event time"),
    FieldDoc("EventEndTime", "event time"),
    FieldDoc("EventCount", "`1`"),
    FieldDoc("EventType", "catalog: the kind's ASIM EventType"),
    FieldDoc("EventResult", "catalog outcome: Success / Failure / NA"),
    FieldDoc("EventResultDetails", "catalog result detail of a failure"),
    FieldDoc("EventSeverity", "catalog severity: 0-1 Informational, 2-3 Low, 4-6 Medium, 7+ High"),
    FieldDoc("EventOriginalType", "NordPass `action`"),
    FieldDoc("EventOriginalSubType", "NordPass `type`"),
    FieldDoc("EventOriginalUid", "the agent's event id (`EventUid` is Sentinel's own)"),
    FieldDoc("EventMessage", "catalog name of the action"),
    FieldDoc("EventProduct", f"`{PRODUCT}`"),
    FieldDoc("EventVendor", f"`{VENDOR}`"),
    FieldDoc("EventSchema", "`UserManagement` (a column of that table only)"),
    FieldDoc("EventSchemaVersion", "the schema's version: " + ", ".join(SCHEMA_VERSIONS.values())),
    FieldDoc("Operation", "AuditEvent: NordPass `action`"),
    FieldDoc("Object", "AuditEvent: catalog object, e.g. `Vault item`"),
    FieldDoc("ObjectType", "AuditEvent: catalog object type (Configuration Atom, Policy Rule...)"),
    FieldDoc("TargetAppName", f"AuditEvent, Authentication: `{PRODUCT}`"),
    FieldDoc("ActorUsername", "actor email (MSP admin, else member), else initiator"),
    FieldDoc("ActorUsernameType", "`UPN` for an email, else `Simple`"),
    FieldDoc("ActorUserId", "actor uuid"),
    FieldDoc("ActorOriginalUserType", "the MSP admin's role, `metadata.msp.user_role`"),
    FieldDoc("TargetUsername", "Authentication: member email; UserManagement: the managed user"),
    FieldDoc("TargetUsernameType", "`UPN` for an email, else `Simple`"),
    FieldDoc("TargetUserId", "member uuid"),
    FieldDoc("SrcIpAddr", "`metadata.ip_address` (IPv4 or IPv6)"),
    FieldDoc("GroupName", "UserManagement: `metadata.group_name`"),
    FieldDoc("NewPropertyValue", "UserManagement: `metadata.status` or `metadata.role`"),
    FieldDoc("AdditionalFields", "tenant, organization, initiator, member, metadata", opaque=True),
)
