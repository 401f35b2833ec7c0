"""Independent facts the tests check the code against: the shared reference files, and the
allowed values of each target schema as their specifications list them.

The reference directory sits beside the repository clone (`../shared/reference`), locally and in
CI alike; tests needing it skip with a clear reason when it is absent.
"""

from __future__ import annotations

import json
import os
import re
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from hypothesis import settings

# Property tests run on shared CI machines that stall at times: no per-example deadline.
PROPERTY = settings(deadline=None)

# The reference facts: the shared copy beside the repository when it is there (in CI too), else
# NORDPASS_REFERENCE_DIR, else the copy kept in tests/fixtures/reference (a test checks the two
# agree whenever both exist), so a clone anywhere runs every test. Tests fail, never skip.
SHARED_REFERENCE = Path(__file__).parents[2] / ".." / "shared" / "reference"
FIXTURE_REFERENCE = Path(__file__).parents[1] / "fixtures" / "reference"
REFERENCE = Path(
    os.environ.get("NORDPASS_REFERENCE_DIR")
    or (SHARED_REFERENCE if SHARED_REFERENCE.is_dir() else FIXTURE_REFERENCE)
)

# ASIM allowed values (Microsoft's schema docs; siem-targets.md).
ASIM_EVENT_TYPES = {
    "AuditEvent": {
        "Set", "Read", "Create", "Delete", "Execute", "Install", "Clear", "Enable", "Disable",
        "Other",
    },
    "Authentication": {"Logon", "Logoff", "Elevate"},
    "UserManagement": {
        "UserCreated", "UserDeleted", "UserModified", "UserLocked", "UserUnlocked", "UserDisabled",
        "UserEnabled", "PasswordChanged", "PasswordReset", "GroupCreated", "GroupDeleted",
        "GroupModified", "UserAddedToGroup", "UserRemovedFromGroup", "GroupEnumerated", "UserRead",
        "GroupRead",
    },
}  # fmt: skip
ASIM_RESULTS = {"Success", "Partial", "Failure", "NA"}
ASIM_SEVERITIES = {"Informational", "Low", "Medium", "High"}
ASIM_OBJECT_TYPES = {"Cloud Resource", "Configuration Atom", "Policy Rule", "Other"}
ASIM_USERNAME_TYPES = {"UPN", "Windows", "DN", "Simple", "Unknown"}
ASIM_AUTHENTICATION_RESULT_DETAILS = {
    "No such user or password", "No such user", "Incorrect password", "Incorrect key",
    "Account expired", "Password expired", "User locked", "User disabled",
    "Logon violates policy", "Session expired", "Other",
}  # fmt: skip
ASIM_COMMON_MANDATORY = (
    "EventCount", "EventStartTime", "EventEndTime", "EventType", "EventResult", "EventProduct",
    "EventVendor", "EventSchema", "EventSchemaVersion", "Dvc",
)  # fmt: skip
ASIM_SCHEMA_MANDATORY = {
    "AuditEvent": ("Operation", "Object", "ObjectType"),
    "Authentication": (),
    "UserManagement": ("ActorUsername", "EventSeverity"),
}
ASIM_TABLE_SCHEMA = {
    "ASimAuditEventLogs": "AuditEvent",
    "ASimAuthenticationEventLogs": "Authentication",
    "ASimUserManagementActivityLogs": "UserManagement",
}

# OCSF 1.5: class -> (category, activities, required attributes, at-least-one groups).
OCSF_BASE_REQUIRED = (
    "activity_id", "category_uid", "class_uid", "metadata", "severity_id", "time", "type_uid",
)  # fmt: skip
OCSF_CLASSES: dict[int, tuple[int, set[int], tuple[str, ...], tuple[tuple[str, ...], ...]]] = {
    3001: (3, {0, *range(1, 13), 99}, ("user",), ()),
    3002: (3, {0, 1, 2, 3, 4, 5, 6, 99}, ("user",), (("service", "dst_endpoint"),)),
    3004: (3, {0, *range(1, 14), 99}, ("entity",), ()),
    3006: (3, {0, 1, 2, 3, 4, 5, 6, 99}, ("group",), ()),
    6003: (6, {0, 1, 2, 3, 4, 99}, ("actor", "api", "src_endpoint"), ()),
}

# ECS 8: the event.type values each event.category allows.
ECS_CATEGORY_TYPES = {
    "authentication": {"start", "end", "info"},
    "configuration": {"access", "change", "creation", "deletion", "info"},
    "iam": {"admin", "change", "creation", "deletion", "group", "info", "user"},
    "threat": {"indicator"},
    "vulnerability": {"info"},
}

CIM_DATAMODELS = {
    "Authentication",
    "Change",
    "Change.Account_Management",
    "Alerts",
    "Vulnerabilities",
}
CIM_CHANGE_ACTIONS = {
    "acl_modified",
    "cleared",
    "created",
    "deleted",
    "modified",
    "read",
    "stopped",
}


def reference_file(name: str) -> Path:
    path = REFERENCE / name
    if not path.exists():
        pytest.fail(
            f"reference file {name} not found in {REFERENCE}: put shared/reference beside the "
            "repository or set NORDPASS_REFERENCE_DIR"
        )
    return path


@cache
def sentinel_tables() -> dict[str, Any]:
    return json.loads(reference_file("sentinel-tables.json").read_text())  # type: ignore[no-any-return]


@cache
def documented_actions() -> frozenset[tuple[str, str]]:
    """Every (type, action) of the reference's "Event types and actions" list."""
    text = reference_file("nordpass-activity-api.md").read_text()
    section = text.split("## Event types and actions", 1)[1].split("\n## ", 1)[0]
    pairs = set()
    # "- `type`: a, b,\n  c": a list may continue on indented lines.
    for line in re.sub(r"\n +(?=\w)", " ", section).splitlines():
        match = re.search(r"`(\w+)`: (.+)$", line)
        if match:
            for action in re.split(r"[,\s]+", match.group(2).strip(" .")):
                pairs.add((match.group(1), action))
    return frozenset(pairs)
