"""Kinds of activity and how each one maps onto ASIM, OCSF, ECS and Splunk CIM.

The action catalog gives every NordPass action a kind (a logon, a group created, a setting
changed...); the tables here say once, per target schema, what that kind is called there. A schema
expert reviews one table, not a hundred actions.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from agent.normalize.sentinel_columns import AsimSchema

__all__ = ["KINDS", "ActivityKind"]


@dataclass(frozen=True, slots=True)
class ActivityKind:
    """One kind of activity, as each output schema names it."""

    name: str
    asim_schema: AsimSchema
    asim_event_type: str
    ocsf_class_uid: int
    ocsf_activity_id: int
    ecs_category: tuple[str, ...]
    ecs_type: tuple[str, ...]
    cim_datamodel: str | None
    cim_action: str | None


# ASIM schema and EventType (the allowed values of each schema). Authentication only knows
# Logon/Logoff/Elevate, so enabling biometrics or creating a recovery code is an AuditEvent.
_ASIM: Mapping[str, tuple[AsimSchema, str]] = {
    "logon": ("Authentication", "Logon"),
    "user_created": ("UserManagement", "UserCreated"),
    "user_enabled": ("UserManagement", "UserEnabled"),
    "password_changed": ("UserManagement", "PasswordChanged"),
    "password_reset": ("UserManagement", "PasswordReset"),
    "user_disabled": ("UserManagement", "UserDisabled"),
    "user_deleted": ("UserManagement", "UserDeleted"),
    "mfa_enabled": ("UserManagement", "UserModified"),
    "mfa_disabled": ("UserManagement", "UserModified"),
    "user_modified": ("UserManagement", "UserModified"),
    "role_changed": ("UserManagement", "UserModified"),
    "group_created": ("UserManagement", "GroupCreated"),
    "group_modified": ("UserManagement", "GroupModified"),
    "group_deleted": ("UserManagement", "GroupDeleted"),
    "group_member_added": ("UserManagement", "UserAddedToGroup"),
    "group_member_removed": ("UserManagement", "UserRemovedFromGroup"),
    "create": ("AuditEvent", "Create"),
    "read": ("AuditEvent", "Read"),
    "update": ("AuditEvent", "Set"),
    "delete": ("AuditEvent", "Delete"),
    "move": ("AuditEvent", "Set"),
    "enable": ("AuditEvent", "Enable"),
    "disable": ("AuditEvent", "Disable"),
    "clear": ("AuditEvent", "Clear"),
    "acl_change": ("AuditEvent", "Set"),
    "weakness_found": ("AuditEvent", "Other"),
    "breach_found": ("AuditEvent", "Other"),
    "other": ("AuditEvent", "Other"),
}

# OCSF 1.5 (class_uid, activity_id). 3002 Authentication, 3001 Account Change, 3006 Group
# Management, 3004 Entity Management, 6003 API Activity (the fallback). Activity 99 is "Other":
# the class fits but none of its fixed activities does (OCSF has no "update" for accounts).
_OCSF: Mapping[str, tuple[int, int]] = {
    "logon": (3002, 1),
    "user_created": (3001, 1),
    "user_enabled": (3001, 2),
    "password_changed": (3001, 3),
    "password_reset": (3001, 4),
    "user_disabled": (3001, 5),
    "user_deleted": (3001, 6),
    "mfa_enabled": (3001, 10),
    "mfa_disabled": (3001, 11),
    "user_modified": (3001, 99),
    "role_changed": (3001, 99),
    "group_created": (3006, 6),
    "group_modified": (3006, 99),
    "group_deleted": (3006, 5),
    "group_member_added": (3006, 3),
    "group_member_removed": (3006, 4),
    "create": (3004, 1),
    "read": (3004, 2),
    "update": (3004, 3),
    "delete": (3004, 4),
    "move": (3004, 5),
    "enable": (3004, 8),
    "disable": (3004, 9),
    "clear": (3004, 3),
    "acl_change": (3004, 3),
    "weakness_found": (3004, 99),
    "breach_found": (3004, 99),
    "other": (6003, 99),
}

# ECS 8 "category/type,type"; every pair is one ECS allows. Vault items have no ECS category of
# their own: "configuration" is the closest that admits access, creation, change and deletion.
_ECS: Mapping[str, str] = {
    "logon": "authentication/start",
    "user_created": "iam/user,creation",
    "user_enabled": "iam/user,change",
    "password_changed": "iam/user,change",
    "password_reset": "iam/user,change",
    "user_disabled": "iam/user,change",
    "user_deleted": "iam/user,deletion",
    "mfa_enabled": "iam/user,change",
    "mfa_disabled": "iam/user,change",
    "user_modified": "iam/user,change",
    "role_changed": "iam/user,change,admin",
    "group_created": "iam/group,creation",
    "group_modified": "iam/group,change",
    "group_deleted": "iam/group,deletion",
    "group_member_added": "iam/group,change",
    "group_member_removed": "iam/group,change",
    "create": "configuration/creation",
    "read": "configuration/access",
    "update": "configuration/change",
    "delete": "configuration/deletion",
    "move": "configuration/change",
    "enable": "configuration/change",
    "disable": "configuration/change",
    "clear": "configuration/change",
    "acl_change": "configuration/change",
    "weakness_found": "vulnerability/info",
    "breach_found": "threat/indicator",
    "other": "/",
}

# Splunk CIM "datamodel/action". Authentication's action (success/failure) follows the event's
# outcome, so it has none here; "other" fits no data model.
_CIM: Mapping[str, str] = {
    "logon": "Authentication/",
    "user_created": "Change.Account_Management/created",
    "user_enabled": "Change.Account_Management/modified",
    "password_changed": "Change.Account_Management/modified",
    "password_reset": "Change.Account_Management/modified",
    "user_disabled": "Change.Account_Management/modified",
    "user_deleted": "Change.Account_Management/deleted",
    "mfa_enabled": "Change.Account_Management/modified",
    "mfa_disabled": "Change.Account_Management/modified",
    "user_modified": "Change.Account_Management/modified",
    "role_changed": "Change.Account_Management/modified",
    "group_created": "Change.Account_Management/created",
    "group_modified": "Change.Account_Management/modified",
    "group_deleted": "Change.Account_Management/deleted",
    "group_member_added": "Change.Account_Management/modified",
    "group_member_removed": "Change.Account_Management/modified",
    "create": "Change/created",
    "read": "Change/read",
    "update": "Change/modified",
    "delete": "Change/deleted",
    "move": "Change/modified",
    "enable": "Change/modified",
    "disable": "Change/modified",
    "clear": "Change/cleared",
    "acl_change": "Change/acl_modified",
    "weakness_found": "Vulnerabilities/",
    "breach_found": "Alerts/",
    "other": "/",
}


def _assemble(name: str) -> ActivityKind:
    schema, event_type = _ASIM[name]
    class_uid, activity_id = _OCSF[name]
    category, _, types = _ECS[name].partition("/")
    datamodel, _, action = _CIM[name].partition("/")
    return ActivityKind(
        name=name,
        asim_schema=schema,
        asim_event_type=event_type,
        ocsf_class_uid=class_uid,
        ocsf_activity_id=activity_id,
        ecs_category=tuple(category.split(",")) if category else (),
        ecs_type=tuple(types.split(",")) if types else (),
        cim_datamodel=datamodel or None,
        cim_action=action or None,
    )


def _check_tables_agree() -> None:
    names = set(_ASIM)
    for table in (_OCSF, _ECS, _CIM):
        if set(table) != names:
            raise RuntimeError(f"kind tables disagree: {sorted(names ^ set(table))}")


_check_tables_agree()
KINDS: Mapping[str, ActivityKind] = MappingProxyType({name: _assemble(name) for name in _ASIM})
