"""ASIM rows against Microsoft's real table columns (the shared `sentinel-tables.json`), not
against the renderer's own copy: only real columns, the right types, every mandatory field."""

from __future__ import annotations

import re
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agent.normalize import (
    ASIM_TABLES,
    CATALOG,
    SENTINEL_TABLES,
    asim_row,
    asim_table,
    canonicalize,
)
from tests.normalize import golden_files, reference, samples
from tests.normalize.reference import PROPERTY

_ISO_UTC = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{3})?Z\Z")
_AZURE_MANAGED = {"TenantId", "Type", "SourceSystem"}


def _sendable_columns(table: str) -> dict[str, str]:
    columns: dict[str, str] = reference.sentinel_tables()[table]["columns"]
    return {
        name: kind
        for name, kind in columns.items()
        if not name.startswith("_") and name not in _AZURE_MANAGED
    }


def _has_type(value: Any, kind: str) -> bool:
    checks = {
        "string": lambda: isinstance(value, str),
        "int": lambda: type(value) is int,
        "long": lambda: type(value) is int,
        "real": lambda: type(value) in (int, float),
        "bool": lambda: type(value) is bool,
        "datetime": lambda: isinstance(value, str) and bool(_ISO_UTC.match(value)),
        "dynamic": lambda: isinstance(value, dict | list),
    }
    return checks[kind]()


def assert_valid_row(row: dict[str, Any], table: str) -> None:
    schema = reference.ASIM_TABLE_SCHEMA[table]
    columns = _sendable_columns(table)
    unknown = set(row) - set(columns)
    assert not unknown, f"not columns of {table}: {sorted(unknown)}"
    for name, value in row.items():
        assert _has_type(value, columns[name]), f"{name}={value!r} is not {columns[name]}"
    mandatory = reference.ASIM_COMMON_MANDATORY + reference.ASIM_SCHEMA_MANDATORY[schema]
    missing = [name for name in mandatory if name in columns and name not in row]
    assert not missing, f"mandatory fields missing from {table}: {missing}"
    assert "TimeGenerated" in row
    assert row["EventType"] in reference.ASIM_EVENT_TYPES[schema]
    assert row["EventResult"] in reference.ASIM_RESULTS
    assert row["EventSeverity"] in reference.ASIM_SEVERITIES
    assert row["EventCount"] == 1
    for name in ("ActorUsernameType", "TargetUsernameType"):
        if name in row:
            assert row[name] in reference.ASIM_USERNAME_TYPES
    if "ObjectType" in row:
        assert row["ObjectType"] in reference.ASIM_OBJECT_TYPES
    if schema == "Authentication" and "EventResultDetails" in row:
        assert row["EventResultDetails"] in reference.ASIM_AUTHENTICATION_RESULT_DETAILS


@pytest.mark.parametrize("path", golden_files.golden_paths(), ids=lambda path: path.stem)
def test_every_golden_row_is_valid_for_its_table(path: Any) -> None:
    document = golden_files.load(path)
    assert_valid_row(document["asim"], document["asim_table"])


def test_each_schema_goes_to_its_native_table() -> None:
    tables = {asim_table(spec) for spec in CATALOG}
    assert tables == set(reference.ASIM_TABLE_SCHEMA)
    for spec in CATALOG:
        assert reference.ASIM_TABLE_SCHEMA[asim_table(spec)] == spec.kind.asim_schema


def test_event_schema_is_sent_only_where_it_is_a_column() -> None:
    for spec in CATALOG:
        row = asim_row(canonicalize(samples.sample_event(spec, 0), tenant="t", event_id="e"))
        assert ("EventSchema" in row) == (spec.kind.asim_schema == "UserManagement")


def test_the_event_id_travels_as_the_original_uid_not_as_sentinels_own() -> None:
    spec = next(iter(CATALOG))
    row = asim_row(canonicalize(samples.sample_event(spec, 0), tenant="t", event_id="id-17"))
    assert row["EventOriginalUid"] == "id-17"
    assert "EventUid" not in row
    assert "Dvc" not in row


def test_the_packaged_column_lists_equal_the_reference() -> None:
    for name, table in SENTINEL_TABLES.items():
        assert dict(table.columns) == reference.sentinel_tables()[name]["columns"], name
    for table in ASIM_TABLES.values():
        assert dict(table.sendable_columns) == _sendable_columns(table.name)


def test_a_logon_failure_names_its_result_and_the_member_as_target() -> None:
    raw = samples.sample_event(CATALOG.resolve("login", "user_login_failed", {}), 3)
    row = asim_row(canonicalize(raw, tenant="t", event_id="e"))
    assert (row["EventType"], row["EventResult"]) == ("Logon", "Failure")
    assert row["TargetUsername"] == raw["user"]["email"]
    assert row["TargetUserId"] == raw["user"]["uuid"]
    assert row["SrcIpAddr"] == raw["metadata"]["ip_address"]


def test_an_invite_targets_the_invited_address() -> None:
    raw = samples.sample_event(CATALOG.resolve("invites", "user_invited", {}), 0)
    row = asim_row(canonicalize(raw, tenant="t", event_id="e"))
    assert row["TargetUsername"] == "new.hire@acme.example"
    assert row["ActorUsername"] == raw["user"]["email"]


def test_an_event_without_a_user_still_names_an_actor() -> None:
    raw = {"type": "groups", "action": "group_created", "timestamp": 1, "initiator": "azure_ad"}
    row = asim_row(canonicalize(raw, tenant="t", event_id="e"))
    assert (row["ActorUsername"], row["ActorUsernameType"]) == ("azure_ad", "Simple")
    assert_valid_row(row, "ASimUserManagementActivityLogs")


def test_an_msp_admin_is_the_actor_and_the_member_stays_in_the_row() -> None:
    raw = samples.sample_event(CATALOG.resolve("roles", "user_role_updated", {}), 0)
    row = asim_row(canonicalize(raw, tenant="t", event_id="e"))
    assert row["ActorUsername"] == samples.MSP["user_email"]
    assert row["ActorOriginalUserType"] == "admin"
    assert row["TargetUsername"] == raw["user"]["email"]


def test_an_msp_admin_inviting_someone_keeps_the_member_in_additional_fields() -> None:
    raw = samples.sample_event(CATALOG.resolve("invites", "user_invited", {}), 0)
    raw["metadata"]["msp"] = dict(samples.MSP)
    row = asim_row(canonicalize(raw, tenant="t", event_id="e"))
    assert row["ActorUsername"] == samples.MSP["user_email"]
    assert row["TargetUsername"] == "new.hire@acme.example"
    extra = row["AdditionalFields"]
    assert (extra["MemberUserId"], extra["MemberUsername"]) == (
        raw["user"]["uuid"], raw["user"]["email"]
    )  # fmt: skip
    assert_valid_row(row, "ASimUserManagementActivityLogs")


def test_a_member_who_is_the_actor_or_the_target_is_not_repeated() -> None:
    for action in ("user_invited", "user_role_updated"):
        spec = CATALOG.resolve("invites" if action == "user_invited" else "roles", action, {})
        row = asim_row(canonicalize(samples.sample_event(spec, 0), tenant="t", event_id="e"))
        assert "MemberUserId" not in row["AdditionalFields"], action


_SCALARS = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=12))
_KEYS = st.sampled_from(["uuid", "email", "user_uuid", "user_email", "user_role", "name", "x"])
_SHALLOW = st.one_of(
    _SCALARS, st.lists(_SCALARS, max_size=3), st.dictionaries(_KEYS, _SCALARS, max_size=4)
)
_METADATA_KEYS = st.sampled_from(
    ["ip_address", "msp", "items", "emails", "status", "group_name", "role", "provider", "other"]
)
_RAW = st.fixed_dictionaries(
    {},
    optional={
        "timestamp": _SCALARS,
        "user": _SHALLOW,
        "initiator": _SHALLOW,
        "organization_uuid": _SHALLOW,
        "metadata": st.one_of(_SHALLOW, st.dictionaries(_METADATA_KEYS, _SHALLOW, max_size=5)),
        "unexpected": _SHALLOW,
    },
)


@settings(PROPERTY, max_examples=200)
@given(spec_index=st.integers(0, len(CATALOG) - 1), raw=_RAW)
def test_any_raw_event_gives_a_valid_row(spec_index: int, raw: dict[str, Any]) -> None:
    spec = list(CATALOG)[spec_index]
    raw = {"type": spec.event_type, "action": spec.action, **raw}
    event = canonicalize(raw, tenant="t", event_id="e")
    assert_valid_row(asim_row(event), asim_table(event.spec))
