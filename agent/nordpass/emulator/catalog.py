"""Every (type, action) pair NordPass documents, with how often the sandbox emits it.

One data table: the generator reads the weight, the metadata shape and who usually initiates the
action from here, so adding an action is one line. Source: the reference list of types and actions
(NordPass's own Sentinel workbook). Logins and master-password unlocks dominate real traffic.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

__all__ = ["ACTION_CATALOG", "CatalogEntry", "InitiatorKind", "MetadataShape"]

# Which metadata keys an action carries; the generator has one builder per shape.
MetadataShape = Literal[
    "login",  # ip_address, provider, platform
    "session",  # ip_address, platform
    "item",  # one item, ip_address, platform
    "items",  # several items (bulk actions)
    "status",  # status: suspended / deleted
    "invite",  # emails
    "group",  # group_name (+ emails when members move)
    "domain",  # domain
    "role",  # role
    "admin",  # ip_address only
    "breach",  # emails or domain that appeared in a breach
    "empty",  # no metadata at all
]

# "member": the acting member's email; "system": NordPass itself; "provisioning": an identity
# provider pushing changes (`azure_ad`, `scim`), which the reference shows as a non-email value.
InitiatorKind = Literal["member", "system", "provisioning"]


@dataclass(frozen=True, slots=True)
class CatalogEntry:
    type: str
    action: str
    weight: float
    shape: MetadataShape
    initiator: InitiatorKind = "member"


def _entries(
    type_: str,
    rows: tuple[tuple[str, float, MetadataShape], ...],
    initiator: InitiatorKind = "member",
) -> tuple[CatalogEntry, ...]:
    return tuple(
        CatalogEntry(type_, action, weight, shape, initiator) for action, weight, shape in rows
    )


# Weights are relative; the rarest is ~0.1 % of traffic so a few tens of thousands of events
# cover every pair.
ACTION_CATALOG: tuple[CatalogEntry, ...] = (
    # Admin panel
    *_entries(
        "access",
        (
            ("item_reassignment_transferred", 0.15, "items"),
            ("recovery_request_approved", 0.15, "admin"),
            ("recovery_request_created", 0.2, "admin"),
            ("recovery_request_declined", 0.12, "admin"),
            ("user_email_updated", 0.15, "admin"),
            ("user_status_updated", 0.3, "status"),
            ("extend_trial_organization", 0.12, "empty"),
        ),
    ),
    *_entries("billing", (("payment_method_change_started", 0.12, "admin"),)),
    *_entries(
        "checkout",
        (
            ("change_credit_card_failure", 0.12, "admin"),
            ("change_credit_card_success", 0.12, "admin"),
            ("renewal_success", 0.12, "empty"),
            ("trial_to_subscription", 0.12, "empty"),
            ("upgrade", 0.12, "admin"),
            ("upsell", 0.12, "admin"),
        ),
    ),
    *_entries(
        "domain",
        (
            ("domain_added", 0.12, "domain"),
            ("domain_deleted", 0.12, "domain"),
            ("domain_verified", 0.12, "domain"),
            ("domain_verification_restarted", 0.12, "domain"),
        ),
    ),
    *_entries(
        "domain",
        (
            ("domain_reverified", 0.12, "domain"),
            ("domain_reverification_failed", 0.12, "domain"),
            ("domain_verification_failed", 0.12, "domain"),
        ),
        initiator="system",
    ),
    *_entries(
        "global_settings",
        (
            ("global_settings_updated", 0.2, "admin"),
            ("global_settings_customization_deleted", 0.12, "admin"),
            ("mfa_reset", 0.15, "admin"),
            ("password_policy_toggled", 0.12, "admin"),
            ("password_policy_updated", 0.12, "admin"),
        ),
    ),
    *_entries(
        "group_provisioning",
        (
            ("group_provisioning_enabled", 0.12, "group"),
            ("group_provisioning_disabled", 0.12, "group"),
        ),
        initiator="provisioning",
    ),
    *_entries(
        "groups",
        (
            ("group_created", 0.15, "group"),
            ("group_updated", 0.15, "group"),
            ("group_users_added", 0.25, "group"),
            ("group_users_removed", 0.15, "group"),
            ("groups_deleted", 0.12, "group"),
        ),
    ),
    *_entries(
        "integrations",
        (
            ("activities_token_created", 0.12, "admin"),
            ("activities_token_revoked", 0.12, "admin"),
            ("vanta_integration_enabled", 0.12, "admin"),
            ("vanta_integration_disabled", 0.12, "admin"),
        ),
    ),
    *_entries(
        "invites",
        (
            ("invite_link_generated", 0.15, "invite"),
            ("user_approved", 0.2, "invite"),
            ("user_invite_accepted", 0.3, "invite"),
            ("user_invite_declined", 0.12, "invite"),
            ("user_invite_removed", 0.12, "invite"),
            ("user_invite_resent", 0.15, "invite"),
            ("user_invited", 0.4, "invite"),
            ("whitelisted_domains_updated", 0.12, "domain"),
        ),
    ),
    *_entries(
        "invites",
        (
            ("invite_converted_to_provisioned", 0.15, "invite"),
            ("user_converted_to_provisioned", 0.15, "invite"),
        ),
        initiator="provisioning",
    ),
    *_entries(
        "item_delete",
        (
            ("item_reassignment_deleted", 0.12, "items"),
            ("items_deleted", 0.6, "items"),
        ),
    ),
    *_entries(
        "oauth_credentials",
        (
            ("oauth_credentials_created", 0.12, "admin"),
            ("oauth_credentials_deleted", 0.12, "admin"),
            ("oauth_credentials_updated", 0.12, "admin"),
        ),
    ),
    *_entries(
        "oauth_domain",
        (
            ("oauth_domain_created", 0.12, "domain"),
            ("oauth_domain_deleted", 0.12, "domain"),
            ("oauth_domain_verified", 0.12, "domain"),
        ),
    ),
    *_entries("roles", (("user_role_updated", 0.2, "role"),)),
    *_entries(
        "role_settings",
        (
            ("password_policy_toggled", 0.12, "role"),
            ("password_policy_updated", 0.12, "role"),
            ("role_settings_cleared", 0.12, "role"),
            ("role_settings_updated", 0.15, "role"),
        ),
    ),
    *_entries(
        "scim_credentials",
        (
            ("scim_credentials_created", 0.12, "admin"),
            ("scim_credentials_deleted", 0.12, "admin"),
            ("scim_credentials_recreated", 0.12, "admin"),
        ),
    ),
    *_entries(
        "sharing_hub",
        (
            ("item_viewed", 0.3, "item"),
            ("viewed", 0.3, "admin"),
            ("item_access_revealed", 0.15, "item"),
        ),
    ),
    *_entries(
        "totp",
        (
            ("global_settings_updated", 0.12, "admin"),
            ("2fa_reset_in_ecp", 0.12, "admin"),
        ),
    ),
    *_entries(
        "user_settings",
        (
            ("user_settings_cleared", 0.12, "admin"),
            ("user_settings_updated", 0.2, "admin"),
        ),
    ),
    # Vault
    *_entries(
        "item_access",
        (
            ("item_viewed", 3.0, "item"),
            ("2fa_item_accessed", 0.6, "item"),
            ("item_autofilled", 4.0, "item"),
            ("item_copied", 3.0, "item"),
            ("item_moved_to_shared_folder", 0.3, "item"),
            ("item_secret_viewed", 1.5, "item"),
            ("items_created", 1.0, "items"),
            ("items_imported", 0.15, "items"),
            ("items_imported_v2", 0.15, "items"),
            ("items_updated", 1.0, "items"),
            ("vault_exported", 0.12, "session"),
        ),
    ),
    *_entries(
        "item_share",
        (
            ("external_items_received", 0.15, "items"),
            ("item_acl_changed", 0.3, "item"),
            ("item_new_ttl_set", 0.12, "item"),
            ("item_owner_changed", 0.12, "item"),
            ("items_shared", 0.8, "items"),
            ("items_unshared", 0.3, "items"),
            ("shared_folder_shared", 0.2, "items"),
            ("shared_folder_unshared", 0.12, "items"),
        ),
    ),
    *_entries(
        "item_share", (("item_time_limited_share_expired", 0.12, "item"),), initiator="system"
    ),
    *_entries(
        "password_health",
        (
            ("item_created_reused", 0.3, "item"),
            ("item_created_weak", 0.3, "item"),
            ("item_updated_reused", 0.2, "item"),
            ("item_updated_weak", 0.2, "item"),
            ("items_imported_reused", 0.12, "items"),
            ("items_imported_weak", 0.12, "items"),
        ),
        initiator="system",
    ),
    *_entries(
        "totp",
        (
            ("2fa_added_to_item", 0.2, "item"),
            ("2fa_device_deleted", 0.12, "session"),
            ("2fa_device_enrolled", 0.15, "session"),
            ("2fa_item_accessed", 0.4, "item"),
            ("2fa_item_created", 0.15, "item"),
            ("2fa_removed_from_item", 0.12, "item"),
        ),
    ),
    # Login
    *_entries(
        "lock",
        (
            ("master_validated", 20.0, "session"),
            ("master_changed", 0.2, "session"),
            ("master_failed", 2.0, "session"),
        ),
    ),
    *_entries(
        "login",
        (
            ("user_login_failed", 6.0, "login"),
            ("user_login_successful", 30.0, "login"),
        ),
    ),
    *_entries(
        "biometric",
        (
            ("biometric_enabled", 0.3, "session"),
            ("biometric_disabled", 0.12, "session"),
        ),
    ),
    *_entries(
        "password",
        (
            ("business_account_password_change_failed", 0.12, "session"),
            ("business_account_password_change_successful", 0.2, "session"),
            ("password_reset_requested", 0.2, "session"),
            ("password_reset_successful", 0.15, "session"),
        ),
    ),
    *_entries(
        "recovery_code",
        (
            ("recovery_copied", 0.12, "session"),
            ("recovery_created", 0.15, "session"),
            ("recovery_downloaded", 0.12, "session"),
            ("recovery_reset", 0.12, "session"),
            ("recovery_used", 0.12, "session"),
        ),
    ),
    # Breach monitoring
    *_entries(
        "breach",
        (
            ("email_breached", 0.3, "breach"),
            ("domain_breached", 0.12, "breach"),
        ),
        initiator="system",
    ),
)
