"""Generated traffic: deterministic, complete over the reference catalogue, realistic in shape."""

from __future__ import annotations

import ipaddress
from collections import Counter
from typing import Any

import pytest

from agent.clock import ManualClock
from agent.nordpass.emulator import ACTION_CATALOG, HOSTILE_NAMES, NordPassEmulator

from .conftest import START, canonical

# Copied from the reference (NordPass's Sentinel workbook), type -> actions.
REFERENCE_ACTIONS: dict[str, str] = {
    "access": "item_reassignment_transferred recovery_request_approved recovery_request_created "
    "recovery_request_declined user_email_updated user_status_updated extend_trial_organization",
    "billing": "payment_method_change_started",
    "checkout": "change_credit_card_failure change_credit_card_success renewal_success "
    "trial_to_subscription upgrade upsell",
    "domain": "domain_added domain_deleted domain_verified domain_reverified "
    "domain_reverification_failed domain_verification_failed domain_verification_restarted",
    "global_settings": "global_settings_updated global_settings_customization_deleted mfa_reset "
    "password_policy_toggled password_policy_updated",
    "group_provisioning": "group_provisioning_enabled group_provisioning_disabled",
    "groups": "group_created group_updated group_users_added group_users_removed groups_deleted",
    "integrations": "activities_token_created activities_token_revoked vanta_integration_enabled "
    "vanta_integration_disabled",
    "invites": "invite_converted_to_provisioned invite_link_generated user_approved "
    "user_converted_to_provisioned user_invite_accepted user_invite_declined user_invite_removed "
    "user_invite_resent user_invited whitelisted_domains_updated",
    "item_delete": "item_reassignment_deleted items_deleted",
    "oauth_credentials": "oauth_credentials_created oauth_credentials_deleted "
    "oauth_credentials_updated",
    "oauth_domain": "oauth_domain_created oauth_domain_deleted oauth_domain_verified",
    "roles": "user_role_updated",
    "role_settings": "password_policy_toggled password_policy_updated role_settings_cleared "
    "role_settings_updated",
    "scim_credentials": "scim_credentials_created scim_credentials_deleted "
    "scim_credentials_recreated",
    "sharing_hub": "item_viewed viewed item_access_revealed",
    "totp": "global_settings_updated 2fa_reset_in_ecp 2fa_added_to_item 2fa_device_deleted "
    "2fa_device_enrolled 2fa_item_accessed 2fa_item_created 2fa_removed_from_item",
    "user_settings": "user_settings_cleared user_settings_updated",
    "item_access": "item_viewed 2fa_item_accessed item_autofilled item_copied "
    "item_moved_to_shared_folder item_secret_viewed items_created items_imported "
    "items_imported_v2 items_updated vault_exported",
    "item_share": "external_items_received item_acl_changed item_new_ttl_set item_owner_changed "
    "item_time_limited_share_expired items_shared items_unshared shared_folder_shared "
    "shared_folder_unshared",
    "password_health": "item_created_reused item_created_weak item_updated_reused "
    "item_updated_weak items_imported_reused items_imported_weak",
    "lock": "master_validated master_changed master_failed",
    "login": "user_login_failed user_login_successful",
    "biometric": "biometric_enabled biometric_disabled",
    "password": "business_account_password_change_failed "
    "business_account_password_change_successful password_reset_requested "
    "password_reset_successful",
    "recovery_code": "recovery_copied recovery_created recovery_downloaded recovery_reset "
    "recovery_used",
    "breach": "email_breached domain_breached",
}
REFERENCE_PAIRS = {(t, a) for t, actions in REFERENCE_ACTIONS.items() for a in actions.split()}
EVENT_KEYS = {"type", "action", "timestamp", "organization_uuid", "user", "initiator", "metadata"}


def _emulator(seed: int = 3, **organization: Any) -> tuple[NordPassEmulator, str]:
    emulator = NordPassEmulator(clock=ManualClock(START), seed=seed)
    settings: dict[str, Any] = {"events_per_second": 1.0, "history_start": START - 43_200}
    settings.update(organization)
    return emulator, emulator.add_organization("acme", token="t", **settings).uuid


@pytest.fixture(scope="module")
def sample() -> list[dict[str, Any]]:
    """About 43,000 events: twelve hours at one event per second."""
    emulator, org = _emulator()
    return emulator.ground_truth(org)


def test_the_catalogue_holds_exactly_the_reference_pairs() -> None:
    pairs = [(entry.type, entry.action) for entry in ACTION_CATALOG]
    assert len(pairs) == len(set(pairs))
    assert set(pairs) == REFERENCE_PAIRS


def test_a_long_enough_run_emits_every_reference_action(sample: list[dict[str, Any]]) -> None:
    assert {(e["type"], e["action"]) for e in sample} == REFERENCE_PAIRS


def test_logins_and_unlocks_dominate_the_traffic(sample: list[dict[str, Any]]) -> None:
    counts = Counter((e["type"], e["action"]) for e in sample)
    top_three = {pair for pair, _ in counts.most_common(3)}
    assert top_three == {
        ("login", "user_login_successful"),
        ("lock", "master_validated"),
        ("login", "user_login_failed"),
    }
    assert sum(counts[pair] for pair in top_three) > 0.4 * len(sample)


def test_the_same_seed_yields_the_same_events_however_they_are_queried() -> None:
    first, org = _emulator(history_start=START - 7200)
    second, _ = _emulator(history_start=START - 7200)
    middle = int(START) - 3000
    # Ask the second emulator for the later half first: generation must not depend on it.
    later = second.ground_truth(org, middle)
    earlier = second.ground_truth(org, None, middle)
    assert [canonical(e) for e in first.ground_truth(org)] == [
        canonical(e) for e in earlier + later
    ]


def test_another_seed_yields_other_traffic() -> None:
    first, org = _emulator(seed=1, history_start=START - 3600)
    second, _ = _emulator(seed=2, history_start=START - 3600)
    assert first.organization("acme").uuid != second.organization("acme").uuid
    one = [(e["timestamp"], e["action"]) for e in first.ground_truth(org)[:200]]
    other = second.ground_truth(second.organization("acme").uuid)[:200]
    assert one != [(e["timestamp"], e["action"]) for e in other]


def test_events_have_the_documented_shape(sample: list[dict[str, Any]]) -> None:
    org = sample[0]["organization_uuid"]
    for event in sample:
        assert set(event) <= EVENT_KEYS
        assert set(event) >= EVENT_KEYS - {"user"}
        assert type(event["timestamp"]) is int
        assert event["organization_uuid"] == org
        assert isinstance(event["initiator"], str)
        assert isinstance(event["metadata"], dict)
        if "user" in event:
            assert set(event["user"]) == {"uuid", "email"}
    assert [e["timestamp"] for e in sample] == sorted(e["timestamp"] for e in sample)


def test_metadata_fits_the_action(sample: list[dict[str, Any]]) -> None:
    def with_metadata(action: str) -> list[dict[str, Any]]:
        return [e["metadata"] for e in sample if e["action"] == action and e["metadata"]]

    assert all(
        {"ip_address", "provider", "platform"} <= m.keys()
        for m in with_metadata("user_login_failed")
    )
    assert all(
        m["status"] in {"suspended", "deleted"} for m in with_metadata("user_status_updated")
    )
    assert all(isinstance(m["emails"], list) for m in with_metadata("user_invited"))
    for metadata in with_metadata("items_deleted"):
        assert metadata["items"]
        assert all({"uuid", "name", "type"} == item.keys() for item in metadata["items"])
    platforms = {m["platform"] for m in with_metadata("user_login_successful")}
    assert {"windows", "macos", "ios", "android", "linux", "browser_extension"} <= platforms


def test_addresses_are_both_ipv4_and_ipv6(sample: list[dict[str, Any]]) -> None:
    addresses = [
        ipaddress.ip_address(e["metadata"]["ip_address"])
        for e in sample
        if "ip_address" in e["metadata"]
    ]
    versions = Counter(address.version for address in addresses)
    assert versions[4] > versions[6] > 0.05 * len(addresses)


def test_about_one_event_in_twenty_names_an_msp_admin(sample: list[dict[str, Any]]) -> None:
    blocks = [e["metadata"]["msp"] for e in sample if "msp" in e["metadata"]]
    assert 0.03 * len(sample) < len(blocks) < 0.07 * len(sample)
    assert all(set(block) == {"user_uuid", "user_email", "user_role"} for block in blocks)


def test_hostile_names_show_up_in_item_and_group_names(sample: list[dict[str, Any]]) -> None:
    names = {item["name"] for e in sample for item in e["metadata"].get("items", ())}
    names |= {e["metadata"]["group_name"] for e in sample if "group_name" in e["metadata"]}
    assert set(HOSTILE_NAMES) <= names
    assert any("\n" in name for name in names)
    assert any(len(name) > 500 for name in names)


def test_rare_events_lack_a_user_or_any_metadata(sample: list[dict[str, Any]]) -> None:
    without_user = [e for e in sample if "user" not in e]
    without_metadata = [e for e in sample if not e["metadata"]]
    assert 0 < len(without_user) < 0.01 * len(sample)
    assert 0 < len(without_metadata) < 0.03 * len(sample)


def test_initiators_are_mostly_emails_sometimes_machines(sample: list[dict[str, Any]]) -> None:
    initiators = Counter(e["initiator"] for e in sample)
    emails = sum(count for name, count in initiators.items() if "@" in name)
    assert emails > 0.8 * len(sample)
    assert {"azure_ad", "scim", "system"} <= initiators.keys()


def test_the_member_pool_is_small_and_stable(sample: list[dict[str, Any]]) -> None:
    emulator, _ = _emulator()
    members = emulator.organization("acme").members
    assert len({m.uuid for m in members}) == len(members) <= 20
    users = {(e["user"]["uuid"], e["user"]["email"]) for e in sample if "user" in e}
    assert users == {(m.uuid, m.email) for m in members}


def test_history_runs_from_its_start_to_its_end() -> None:
    emulator, org = _emulator(history_start=START - 7200, history_end=START - 3600)
    stamps = [e["timestamp"] for e in emulator.ground_truth(org)]
    assert stamps
    assert min(stamps) >= START - 7200
    assert max(stamps) < START - 3600


def test_new_events_appear_as_the_clock_moves_and_old_ones_stay() -> None:
    clock = ManualClock(START)
    emulator = NordPassEmulator(clock=clock, seed=3)
    org = emulator.add_organization(
        "acme", token="t", events_per_second=1.0, history_start=START - 3600
    ).uuid
    before = [canonical(e) for e in emulator.ground_truth(org)]
    clock.advance(600)
    after = [canonical(e) for e in emulator.ground_truth(org)]
    assert after[: len(before)] == before
    assert 400 < len(after) - len(before) < 800
