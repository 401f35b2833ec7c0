"""The action catalog: what each NordPass (type, action) means, as one data table.

`_ACTIVITY` lists every action NordPass's own Sentinel workbook knows, grouped by product area and
event type, with its kind of activity (see `kinds`), the object it acts on, a CEF severity (0-10)
and its outcome. Renderers read these facts and never branch on action names. How an event finds
its entry (and what an unknown action gets) is in `actions`.
"""

from __future__ import annotations

from dataclasses import replace
from types import MappingProxyType
from typing import Final, NamedTuple

from agent.normalize.actions import ActionSpec, Catalog, Outcome, humanize
from agent.normalize.kinds import KINDS

__all__ = ["CATALOG"]

OK: Final = "success"
FAIL: Final = "failure"
NA: Final = "n/a"


class _Object(NamedTuple):
    """What an action acts on: ASIM `Object` and `ObjectType`, OCSF entity type."""

    name: str
    asim_object_type: str


_ITEM = _Object("Vault item", "Other")
_SHARED_ITEM = _Object("Shared item", "Other")
_FOLDER = _Object("Shared folder", "Other")
_TOTP_CODE = _Object("Vault item 2FA code", "Other")
_VAULT = _Object("Vault", "Other")
_MEMBER = _Object("Member account", "Other")
_GROUP = _Object("Group", "Other")
_RECOVERY = _Object("Account recovery request", "Other")
_RECOVERY_CODE = _Object("Recovery code", "Other")
_RESET = _Object("Password reset request", "Other")
_INVITE_LINK = _Object("Invite link", "Other")
_TOKEN = _Object("Activity log API token", "Other")
_OAUTH = _Object("SSO OAuth credentials", "Other")
_SCIM = _Object("SCIM credentials", "Other")
_PLAN = _Object("Subscription", "Other")
_PAYMENT = _Object("Payment method", "Other")
_EMAIL = _Object("Email address", "Other")
_APP = _Object("NordPass", "Cloud Resource")
_DOMAIN = _Object("Domain", "Configuration Atom")
_SSO_DOMAIN = _Object("SSO domain", "Configuration Atom")
_SETTINGS = _Object("Organization settings", "Configuration Atom")
_TOTP_SETTINGS = _Object("Organization 2FA settings", "Configuration Atom")
_ROLE_SETTINGS = _Object("Role settings", "Configuration Atom")
_USER_SETTINGS = _Object("Member settings", "Configuration Atom")
_PROVISIONING = _Object("Group provisioning", "Configuration Atom")
_VANTA = _Object("Vanta integration", "Configuration Atom")
_BIOMETRIC = _Object("Biometric unlock", "Configuration Atom")
_POLICY = _Object("Password policy", "Policy Rule")
_INVITE_DOMAINS = _Object("Allowed invite domains", "Policy Rule")
_UNKNOWN = _Object("Unknown", "Other")


class _Row(NamedTuple):
    """One action. `name` is given where the action's own words read badly."""

    action: str
    kind: str
    object: _Object
    severity: int
    outcome: Outcome = OK
    name: str | None = None
    result_detail: str | None = None


_R = _Row
_INCORRECT = "Incorrect password"  # an ASIM Authentication EventResultDetails value
# area, event type, actions. Severity: failed logins, vault export, token revocation, MFA resets,
# role and status changes rank high (7+); routine vault use ranks lowest.
_ACTIVITY: tuple[tuple[str, str, tuple[_Row, ...]], ...] = (
    ("Admin panel", "access", (
        _R("item_reassignment_transferred", "update", _ITEM, 5),
        _R("recovery_request_approved", "update", _RECOVERY, 7),
        _R("recovery_request_created", "create", _RECOVERY, 5),
        _R("recovery_request_declined", "update", _RECOVERY, 3),
        _R("user_email_updated", "user_modified", _MEMBER, 6, name="Member email updated"),
        _R("user_status_updated", "user_modified", _MEMBER, 8, name="Member status updated"),
        _R("extend_trial_organization", "update", _PLAN, 2, name="Organization trial extended"),
    )),
    ("Admin panel", "billing", (
        _R("payment_method_change_started", "update", _PAYMENT, 3),
    )),
    ("Admin panel", "checkout", (
        _R("change_credit_card_failure", "update", _PAYMENT, 4, FAIL, "Credit card change failed"),
        _R("change_credit_card_success", "update", _PAYMENT, 3, name="Credit card changed"),
        _R("renewal_success", "update", _PLAN, 1, name="Subscription renewed"),
        _R("trial_to_subscription", "update", _PLAN, 2, name="Trial converted to subscription"),
        _R("upgrade", "update", _PLAN, 2, name="Subscription upgraded"),
        _R("upsell", "update", _PLAN, 2, name="Subscription extended"),
    )),
    ("Admin panel", "domain", (
        _R("domain_added", "create", _DOMAIN, 5),
        _R("domain_deleted", "delete", _DOMAIN, 5),
        _R("domain_verified", "update", _DOMAIN, 4),
        _R("domain_reverified", "update", _DOMAIN, 3),
        _R("domain_reverification_failed", "update", _DOMAIN, 5, FAIL),
        _R("domain_verification_failed", "update", _DOMAIN, 4, FAIL),
        _R("domain_verification_restarted", "update", _DOMAIN, 3),
    )),
    ("Admin panel", "global_settings", (
        _R("global_settings_updated", "update", _SETTINGS, 6),
        _R("global_settings_customization_deleted", "delete", _SETTINGS, 5),
        _R("mfa_reset", "mfa_disabled", _MEMBER, 8, name="Member MFA reset"),
        _R("password_policy_toggled", "update", _POLICY, 6),
        _R("password_policy_updated", "update", _POLICY, 6),
    )),
    ("Admin panel", "group_provisioning", (
        _R("group_provisioning_enabled", "enable", _PROVISIONING, 5),
        _R("group_provisioning_disabled", "disable", _PROVISIONING, 6),
    )),
    ("Admin panel", "groups", (
        _R("group_created", "group_created", _GROUP, 4),
        _R("group_updated", "group_modified", _GROUP, 4),
        _R("group_users_added", "group_member_added", _GROUP, 5, name="Members added"),
        _R("group_users_removed", "group_member_removed", _GROUP, 5, name="Members removed"),
        _R("groups_deleted", "group_deleted", _GROUP, 5),
    )),
    ("Admin panel", "integrations", (
        _R("activities_token_created", "create", _TOKEN, 6, name="Activity log API token created"),
        _R("activities_token_revoked", "delete", _TOKEN, 8, name="Activity log API token revoked"),
        _R("vanta_integration_enabled", "enable", _VANTA, 5),
        _R("vanta_integration_disabled", "disable", _VANTA, 5),
    )),
    ("Admin panel", "invites", (
        _R("invite_converted_to_provisioned", "user_modified", _MEMBER, 3),
        _R("invite_link_generated", "create", _INVITE_LINK, 5),
        _R("user_approved", "user_enabled", _MEMBER, 5, name="Member approved"),
        _R("user_converted_to_provisioned", "user_modified", _MEMBER, 3),
        _R("user_invite_accepted", "user_enabled", _MEMBER, 4, name="Invitation accepted"),
        _R("user_invite_declined", "user_modified", _MEMBER, 2, name="Invitation declined"),
        _R("user_invite_removed", "user_modified", _MEMBER, 3, name="Invitation removed"),
        _R("user_invite_resent", "user_modified", _MEMBER, 2, name="Invitation resent"),
        _R("user_invited", "user_created", _MEMBER, 4, name="Member invited"),
        _R("whitelisted_domains_updated", "update", _INVITE_DOMAINS, 6),
    )),
    ("Admin panel", "item_delete", (
        _R("item_reassignment_deleted", "delete", _ITEM, 6),
        _R("items_deleted", "delete", _ITEM, 5),
    )),
    ("Admin panel", "oauth_credentials", (
        _R("oauth_credentials_created", "create", _OAUTH, 6),
        _R("oauth_credentials_deleted", "delete", _OAUTH, 7),
        _R("oauth_credentials_updated", "update", _OAUTH, 7),
    )),
    ("Admin panel", "oauth_domain", (
        _R("oauth_domain_created", "create", _SSO_DOMAIN, 5),
        _R("oauth_domain_deleted", "delete", _SSO_DOMAIN, 6),
        _R("oauth_domain_verified", "update", _SSO_DOMAIN, 5),
    )),
    ("Admin panel", "roles", (
        _R("user_role_updated", "role_changed", _MEMBER, 8, name="Member role updated"),
    )),
    ("Admin panel", "role_settings", (
        _R("password_policy_toggled", "update", _POLICY, 6, name="Role password policy toggled"),
        _R("password_policy_updated", "update", _POLICY, 6, name="Role password policy updated"),
        _R("role_settings_cleared", "clear", _ROLE_SETTINGS, 5),
        _R("role_settings_updated", "update", _ROLE_SETTINGS, 5),
    )),
    ("Admin panel", "scim_credentials", (
        _R("scim_credentials_created", "create", _SCIM, 6),
        _R("scim_credentials_deleted", "delete", _SCIM, 6),
        _R("scim_credentials_recreated", "update", _SCIM, 7),
    )),
    ("Admin panel", "sharing_hub", (
        _R("item_viewed", "read", _SHARED_ITEM, 3, name="Sharing Hub item viewed"),
        _R("viewed", "read", _SHARED_ITEM, 2, name="Sharing Hub viewed"),
        _R("item_access_revealed", "read", _SHARED_ITEM, 5, name="Sharing Hub item revealed"),
    )),
    ("Admin panel", "totp", (
        _R("global_settings_updated", "update", _TOTP_SETTINGS, 6, name="2FA settings updated"),
        _R("2fa_reset_in_ecp", "mfa_disabled", _MEMBER, 8, name="Member 2FA reset by an admin"),
    )),
    ("Admin panel", "user_settings", (
        _R("user_settings_cleared", "clear", _USER_SETTINGS, 4, name="Member settings cleared"),
        _R("user_settings_updated", "update", _USER_SETTINGS, 4, name="Member settings updated"),
    )),
    ("Vault", "item_access", (
        _R("item_viewed", "read", _ITEM, 2),
        _R("2fa_item_accessed", "read", _TOTP_CODE, 3),
        _R("item_autofilled", "read", _ITEM, 1),
        _R("item_copied", "read", _ITEM, 3),
        _R("item_moved_to_shared_folder", "move", _ITEM, 4),
        _R("item_secret_viewed", "read", _ITEM, 4),
        _R("items_created", "create", _ITEM, 1),
        _R("items_imported", "create", _ITEM, 4),
        _R("items_imported_v2", "create", _ITEM, 4, name="Items imported (v2)"),
        _R("items_updated", "update", _ITEM, 1),
        _R("vault_exported", "read", _VAULT, 9),
    )),
    ("Vault", "item_share", (
        _R("external_items_received", "create", _SHARED_ITEM, 4),
        _R("item_acl_changed", "acl_change", _ITEM, 5, name="Item access changed"),
        _R("item_new_ttl_set", "update", _SHARED_ITEM, 3, name="Item share expiry set"),
        _R("item_owner_changed", "acl_change", _ITEM, 5),
        _R("item_time_limited_share_expired", "acl_change", _SHARED_ITEM, 2),
        _R("items_shared", "acl_change", _ITEM, 4),
        _R("items_unshared", "acl_change", _ITEM, 3),
        _R("shared_folder_shared", "acl_change", _FOLDER, 4),
        _R("shared_folder_unshared", "acl_change", _FOLDER, 3),
    )),
    ("Vault", "password_health", (
        _R("item_created_reused", "weakness_found", _ITEM, 4, NA, "Item created, password reused"),
        _R("item_created_weak", "weakness_found", _ITEM, 3, NA, "Item created, password weak"),
        _R("item_updated_reused", "weakness_found", _ITEM, 4, NA, "Item updated, password reused"),
        _R("item_updated_weak", "weakness_found", _ITEM, 3, NA, "Item updated, password weak"),
        _R("items_imported_reused", "weakness_found", _ITEM, 4, NA, "Imported, password reused"),
        _R("items_imported_weak", "weakness_found", _ITEM, 3, NA, "Imported, password weak"),
    )),
    ("Vault", "totp", (
        _R("2fa_added_to_item", "update", _ITEM, 3),
        _R("2fa_device_deleted", "mfa_disabled", _MEMBER, 6),
        _R("2fa_device_enrolled", "mfa_enabled", _MEMBER, 4),
        _R("2fa_item_accessed", "read", _TOTP_CODE, 3),
        _R("2fa_item_created", "create", _ITEM, 2),
        _R("2fa_removed_from_item", "update", _ITEM, 3),
    )),
    ("Login", "lock", (
        _R("master_validated", "logon", _VAULT, 2, name="Vault unlocked with master password"),
        _R("master_changed", "password_changed", _MEMBER, 6, name="Master password changed"),
        _R("master_failed", "logon", _VAULT, 6, FAIL, "Master password rejected", _INCORRECT),
    )),
    ("Login", "login", (
        _R("user_login_failed", "logon", _APP, 7, FAIL, result_detail="Other"),
        _R("user_login_successful", "logon", _APP, 2, name="User login succeeded"),
    )),
    ("Login", "biometric", (
        _R("biometric_enabled", "enable", _BIOMETRIC, 4),
        _R("biometric_disabled", "disable", _BIOMETRIC, 4),
    )),
    ("Login", "password", (
        _R("business_account_password_change_failed", "password_changed", _MEMBER, 5, FAIL),
        _R("business_account_password_change_successful", "password_changed", _MEMBER, 4),
        _R("password_reset_requested", "create", _RESET, 4),
        _R("password_reset_successful", "password_reset", _MEMBER, 6, name="Password reset"),
    )),
    ("Login", "recovery_code", (
        _R("recovery_copied", "read", _RECOVERY_CODE, 4, name="Recovery code copied"),
        _R("recovery_created", "create", _RECOVERY_CODE, 4, name="Recovery code created"),
        _R("recovery_downloaded", "read", _RECOVERY_CODE, 4, name="Recovery code downloaded"),
        _R("recovery_reset", "update", _RECOVERY_CODE, 5, name="Recovery code reset"),
        _R("recovery_used", "logon", _APP, 7, name="Signed in with a recovery code"),
    )),
    ("Breach monitoring", "breach", (
        _R("email_breached", "breach_found", _EMAIL, 7, NA, "Email address found in a breach"),
        _R("domain_breached", "breach_found", _DOMAIN, 8, NA, "Domain found in a breach"),
    )),
)  # fmt: skip

# NordPass reports a member's suspension and deletion as one action, told apart only by
# `metadata.status`: (type, action, metadata key, ((value, kind, name), ...)).
_VARIANTS: tuple[tuple[str, str, str, tuple[tuple[str, str, str], ...]], ...] = (
    ("access", "user_status_updated", "status", (
        ("suspended", "user_disabled", "Member suspended"),
        ("deleted", "user_deleted", "Member deleted"),
    )),
)  # fmt: skip


def _spec(area: str, event_type: str, row: _Row) -> ActionSpec:
    return ActionSpec(
        event_type=event_type,
        action=row.action,
        variant=None,
        name=row.name or humanize(row.action),
        area=area,
        kind=KINDS[row.kind],
        object_name=row.object.name,
        asim_object_type=row.object.asim_object_type,
        severity=row.severity,
        outcome=row.outcome,
        result_detail=row.result_detail,
        signature_id=f"{event_type}:{row.action}",
        known=True,
    )


def _with_variants(
    spec: ActionSpec, key: str, rows: tuple[tuple[str, str, str], ...]
) -> ActionSpec:
    variants = {
        value: replace(
            spec,
            variant=f"{key}={value}",
            kind=KINDS[kind],
            name=name,
            signature_id=f"{spec.signature_id}:{value}",
        )
        for value, kind, name in rows
    }
    return replace(spec, variant_key=key, variants=MappingProxyType(variants))


def _build() -> tuple[ActionSpec, ...]:
    variants = {(event_type, action): (key, rows) for event_type, action, key, rows in _VARIANTS}
    specs = []
    for area, event_type, rows in _ACTIVITY:
        for row in rows:
            spec = _spec(area, event_type, row)
            if (event_type, row.action) in variants:
                spec = _with_variants(spec, *variants[(event_type, row.action)])
            specs.append(spec)
    return tuple(specs)


CATALOG: Final = Catalog(_build())
