"""The action catalog: complete against the reference, and every fact a legal value."""

from __future__ import annotations

import pytest

from agent.normalize import CATALOG, KINDS, humanize_action, unknown_action
from tests.normalize import reference


def test_the_catalog_covers_exactly_the_documented_actions() -> None:
    catalog = {(spec.event_type, spec.action) for spec in CATALOG if spec.variant is None}
    assert catalog == reference.documented_actions()


def test_every_documented_action_resolves_to_a_known_entry_of_its_own_type() -> None:
    for event_type, action in reference.documented_actions():
        spec = CATALOG.resolve(event_type, action, {})
        assert spec.known
        assert (spec.event_type, spec.action) == (event_type, action)


@pytest.mark.parametrize(
    ("event_type", "action"),
    [
        ("global_settings", "global_settings_updated"),
        ("totp", "global_settings_updated"),
        ("global_settings", "password_policy_updated"),
        ("role_settings", "password_policy_updated"),
        ("sharing_hub", "item_viewed"),
        ("item_access", "item_viewed"),
        ("item_access", "2fa_item_accessed"),
        ("totp", "2fa_item_accessed"),
    ],
)
def test_an_action_listed_under_two_types_has_an_entry_for_each(
    event_type: str, action: str
) -> None:
    spec = CATALOG.resolve(event_type, action, {})
    assert spec.signature_id == f"{event_type}:{action}"


def test_a_known_action_under_an_unknown_type_falls_back_to_the_action_alone() -> None:
    spec = CATALOG.resolve("renamed_type", "user_login_failed", {})
    assert spec.known
    assert spec.signature_id == "login:user_login_failed"


def test_an_unknown_action_gets_the_generic_other_entry() -> None:
    spec = CATALOG.resolve("passkeys", "passkey_added", {})
    assert not spec.known
    assert spec.kind.name == "other"
    assert spec.kind.ocsf_class_uid == 6003
    assert spec.signature_id == "passkeys:passkey_added"
    assert spec.outcome == "n/a"


def test_an_unknown_action_named_as_a_failure_is_one() -> None:
    assert unknown_action("passkeys", "passkey_registration_failed").outcome == "failure"


def test_text_from_the_api_reaching_a_signature_is_reduced_to_identifier_characters() -> None:
    spec = unknown_action("we|ird", "a=b\\c\nd")
    assert spec.signature_id == "we_ird:a_b_c_d"
    assert set(spec.name) <= set(
        "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 _.:-"
    )


@pytest.mark.parametrize(
    ("status", "event_type", "name"),
    [
        ("suspended", "UserDisabled", "Member suspended"),
        ("deleted", "UserDeleted", "Member deleted"),
    ],
)
def test_a_status_update_is_refined_by_the_new_status(
    status: str, event_type: str, name: str
) -> None:
    spec = CATALOG.resolve("access", "user_status_updated", {"status": status})
    assert (spec.kind.asim_event_type, spec.name) == (event_type, name)
    assert spec.signature_id == f"access:user_status_updated:{status}"


def test_a_status_update_with_another_status_keeps_the_general_entry() -> None:
    spec = CATALOG.resolve("access", "user_status_updated", {"status": "active"})
    assert spec.kind.asim_event_type == "UserModified"


def test_every_entry_has_a_severity_between_0_and_10_and_a_known_outcome() -> None:
    for spec in CATALOG:
        assert 0 <= spec.severity <= 10, spec.signature_id
        assert spec.outcome in ("success", "failure", "n/a")


@pytest.mark.parametrize(
    ("event_type", "action"),
    [
        ("login", "user_login_failed"),
        ("item_access", "vault_exported"),
        ("integrations", "activities_token_revoked"),
        ("global_settings", "mfa_reset"),
        ("roles", "user_role_updated"),
        ("access", "user_status_updated"),
    ],
)
def test_high_risk_actions_rank_high(event_type: str, action: str) -> None:
    assert CATALOG.resolve(event_type, action, {}).severity >= 7


def test_failures_are_failures() -> None:
    failed = {spec.action for spec in CATALOG if spec.outcome == "failure"}
    assert {"user_login_failed", "master_failed", "change_credit_card_failure"} <= failed
    assert all("fail" in action for action in failed)


def test_each_schema_area_gets_the_asim_schema_its_actions_belong_to() -> None:
    schemas = {(spec.event_type, spec.action): spec.kind.asim_schema for spec in CATALOG}
    assert schemas["login", "user_login_failed"] == "Authentication"
    assert schemas["lock", "master_validated"] == "Authentication"
    assert schemas["recovery_code", "recovery_used"] == "Authentication"
    assert schemas["invites", "user_invited"] == "UserManagement"
    assert schemas["roles", "user_role_updated"] == "UserManagement"
    assert schemas["access", "user_status_updated"] == "UserManagement"
    assert schemas["groups", "group_created"] == "UserManagement"
    assert schemas["domain", "domain_added"] == "AuditEvent"


def test_every_kind_uses_event_types_its_asim_schema_allows() -> None:
    for kind in KINDS.values():
        assert kind.asim_event_type in reference.ASIM_EVENT_TYPES[kind.asim_schema], kind.name


def test_every_kind_uses_an_ocsf_class_and_activity_that_exist() -> None:
    for kind in KINDS.values():
        _, activities, _, _ = reference.OCSF_CLASSES[kind.ocsf_class_uid]
        assert kind.ocsf_activity_id in activities, kind.name


def test_every_kind_pairs_ecs_categories_with_types_they_allow() -> None:
    for kind in KINDS.values():
        for category in kind.ecs_category:
            assert set(kind.ecs_type) <= reference.ECS_CATEGORY_TYPES[category], kind.name


def test_every_kind_names_a_cim_data_model_and_action_that_exist() -> None:
    for kind in KINDS.values():
        if kind.cim_datamodel is not None:
            assert kind.cim_datamodel in reference.CIM_DATAMODELS, kind.name
        if kind.cim_action is not None:
            assert kind.cim_action in reference.CIM_CHANGE_ACTIONS, kind.name


def test_audit_entries_name_an_object_type_asim_allows() -> None:
    for spec in CATALOG:
        assert spec.asim_object_type in reference.ASIM_OBJECT_TYPES


def test_failed_authentications_give_a_result_detail_asim_allows() -> None:
    for spec in CATALOG:
        if spec.kind.asim_schema == "Authentication" and spec.outcome == "failure":
            assert spec.result_detail in reference.ASIM_AUTHENTICATION_RESULT_DETAILS


def test_signature_ids_are_unique() -> None:
    signatures = [spec.signature_id for spec in CATALOG]
    assert len(signatures) == len(set(signatures))


@pytest.mark.parametrize(
    ("action", "name"),
    [
        ("user_login_failed", "User login failed"),
        ("2fa_item_accessed", "2FA item accessed"),
        ("scim_credentials_created", "SCIM credentials created"),
        ("", "Unknown"),
    ],
)
def test_action_names_read_as_words(action: str, name: str) -> None:
    assert humanize_action(action) == name
