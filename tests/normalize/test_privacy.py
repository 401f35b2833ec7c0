"""Privacy profiles in every format: what a profile removes or pseudonymizes appears nowhere."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from agent.normalize import OUTPUT_FORMATS, Formatter, PrivacyConfigError, PrivacyProfile
from tests.normalize import golden_files, samples
from tests.normalize.reference import PROPERTY

KEY = b"0123456789abcdef-test-key"
ITEM_NAMES = ("Zephyr payroll vault", "Quasar office Wi-Fi")
ITEM_TYPES = ("credit_card", "secure_note")
EMAILS = (
    samples.MEMBER["email"],
    "new.hire@acme.example",
    samples.MSP["user_email"],
    "ops.lead@acme.example",
    "auditor@acme.example",
)


def _sensitive_event() -> dict[str, Any]:
    return {
        "type": "item_share",
        "action": "items_shared",
        "timestamp": 1767225600,
        "organization_uuid": samples.ORGANIZATION,
        "user": dict(samples.MEMBER),
        "initiator": samples.MEMBER["email"],
        "metadata": {
            "ip_address": "198.51.100.23",
            "items": [
                {
                    "uuid": "5f1c2b1e-3a4d-4f5e-8a9b-0c1d2e3f4a5b",
                    "name": ITEM_NAMES[0],
                    "type": ITEM_TYPES[0],
                },
                {
                    "uuid": "a7e3d2c1-b4f5-4e6d-9c8b-7a6f5e4d3c2b",
                    "name": ITEM_NAMES[1],
                    "type": ITEM_TYPES[1],
                },
            ],
            "emails": ["New.Hire@ACME.example"],
            "msp": dict(samples.MSP),
            "note": "forwarded by ops.lead@acme.example",
        },
        "reviewer": {"contact": "auditor@acme.example"},
    }


def _outputs(profile: PrivacyProfile, raw: dict[str, Any], tenant: str = "acme") -> dict[str, str]:
    return {
        output_format: Formatter(output_format, profile)
        .to_bytes(raw, tenant=tenant, event_id="e-1")
        .decode("utf-8")
        for output_format in OUTPUT_FORMATS
    }


@pytest.mark.parametrize("output_format", OUTPUT_FORMATS)
def test_admin_removes_item_names_and_types_from_every_format(output_format: str) -> None:
    output = _outputs(PrivacyProfile("admin"), _sensitive_event())[output_format]
    for value in ITEM_NAMES + ITEM_TYPES:
        assert value not in output
    assert samples.MEMBER["email"] in output  # an Admin sees who acted


@pytest.mark.parametrize("output_format", OUTPUT_FORMATS)
def test_admin_removes_a_detail_key_whose_value_is_an_object(output_format: str) -> None:
    raw = _sensitive_event()
    raw["metadata"]["folder"] = {
        "name": {"label": ITEM_NAMES[0], "type": ITEM_TYPES[0]},
        "type": {"kind": ITEM_TYPES[1]},
        "uuid": "0b8e2f4a-6c1d-4e3f-9a8b-7c6d5e4f3a2b",
    }
    output = _outputs(PrivacyProfile("admin"), raw)[output_format]
    for value in ITEM_NAMES + ITEM_TYPES:
        assert value not in output
    if output_format == "native":
        record = Formatter("native", PrivacyProfile("admin")).to_record(
            raw, tenant="acme", event_id="e-1"
        )
        assert record["metadata"]["folder"] == {"uuid": "0b8e2f4a-6c1d-4e3f-9a8b-7c6d5e4f3a2b"}


@pytest.mark.parametrize("output_format", OUTPUT_FORMATS)
def test_pseudonymize_hides_every_email_and_item_name_in_every_format(output_format: str) -> None:
    profile = PrivacyProfile("pseudonymize", pseudonymize_key=KEY)
    output = _outputs(profile, _sensitive_event())[output_format]
    for value in ITEM_NAMES + EMAILS:
        assert value.lower() not in output.lower()
    assert "@pseudonymized.invalid" in output
    assert ITEM_TYPES[0] in output  # types are not personal; only names are replaced


@pytest.mark.parametrize("output_format", OUTPUT_FORMATS)
def test_dropped_fields_appear_in_no_format(output_format: str) -> None:
    profile = PrivacyProfile(
        drop_fields=("metadata.ip_address", "metadata.items.name", "initiator")
    )
    raw = _sensitive_event()
    raw["initiator"] = "scim-bridge"
    output = _outputs(profile, raw)[output_format]
    for value in ("198.51.100.23", "scim-bridge", *ITEM_NAMES):
        assert value not in output
    assert ITEM_TYPES[0] in output


@pytest.mark.parametrize("path", golden_files.golden_paths(), ids=lambda path: path.stem)
def test_admin_leaves_no_item_name_of_any_golden_event(path: Any) -> None:
    raw = golden_files.load(path)["raw"]
    names = [item["name"] for item in raw.get("metadata", {}).get("items", []) if "name" in item]
    for output in _outputs(PrivacyProfile("admin"), raw).values():
        for name in names:
            assert name not in output


def test_pseudonyms_are_stable_within_a_tenant_and_differ_across_tenants() -> None:
    profile = PrivacyProfile("pseudonymize", pseudonymize_key=KEY)
    formatter = Formatter("native", profile)
    first = formatter.to_record(_sensitive_event(), tenant="acme", event_id="1")
    again = Formatter("ecs", profile).to_record(_sensitive_event(), tenant="acme", event_id="2")
    other = formatter.to_record(_sensitive_event(), tenant="globex", event_id="3")
    assert first["user"]["email"] == again["user"]["target"]["email"]
    assert first["user_email"] == again["user"]["email"]  # the MSP admin, in both
    assert first["user"]["email"] != other["user"]["email"]
    assert first["metadata"]["items"][0]["name"] != other["metadata"]["items"][0]["name"]


def test_an_address_pseudonymizes_the_same_whatever_its_case() -> None:
    raw = _sensitive_event()
    record = Formatter("native", PrivacyProfile("pseudonymize", pseudonymize_key=KEY)).to_record(
        raw, tenant="acme", event_id="e"
    )
    assert record["metadata"]["emails"] == [record["metadata"]["emails"][0].lower()]
    upper = {**raw, "initiator": raw["initiator"].upper()}
    again = Formatter("native", PrivacyProfile("pseudonymize", pseudonymize_key=KEY)).to_record(
        upper, tenant="acme", event_id="e"
    )
    assert again["initiator"] == record["initiator"]


def test_a_different_key_gives_different_pseudonyms() -> None:
    records = [
        Formatter("native", PrivacyProfile("pseudonymize", pseudonymize_key=key)).to_record(
            _sensitive_event(), tenant="acme", event_id="e"
        )
        for key in (KEY, KEY + b"2")
    ]
    assert records[0]["initiator"] != records[1]["initiator"]


@pytest.mark.parametrize(
    "profile",
    [
        PrivacyProfile("admin"),
        PrivacyProfile("pseudonymize", pseudonymize_key=KEY),
        PrivacyProfile(drop_fields=("metadata.items.name", "user")),
    ],
)
def test_a_profile_never_modifies_the_callers_event(profile: PrivacyProfile) -> None:
    raw = _sensitive_event()
    snapshot = copy.deepcopy(raw)
    _outputs(profile, raw)
    assert raw == snapshot


def test_the_full_profile_changes_nothing() -> None:
    raw = _sensitive_event()
    record = Formatter("native").to_record(raw, tenant="acme", event_id="e")
    assert {key: record[key] for key in raw} == raw


def test_every_problem_of_a_profile_is_reported_at_once() -> None:
    with pytest.raises(PrivacyConfigError) as error:
        PrivacyProfile.from_config(
            "secret", drop_fields=["type", "metadata..x"], pseudonymize_key="k"
        )
    assert error.value.problems == [
        "mode: must be one of full, admin, pseudonymize, not 'secret'",
        "pseudonymize_key: only used when mode is pseudonymize",
        "drop_fields[0]: 'type' is needed to classify the event",
        "drop_fields[1]: 'metadata..x' is not a dotted field path",
    ]


def test_pseudonymize_needs_a_key_of_at_least_16_bytes() -> None:
    with pytest.raises(PrivacyConfigError, match="pseudonymize_key"):
        PrivacyProfile.from_config("pseudonymize", pseudonymize_key="short")
    assert PrivacyProfile.from_config("pseudonymize", pseudonymize_key="x" * 16).changes_events


def test_the_key_is_not_shown_in_the_profile_repr() -> None:
    assert "0123456789" not in repr(PrivacyProfile("pseudonymize", pseudonymize_key=KEY))


_LOCAL = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789._+-", min_size=1, max_size=12)
_DOMAIN = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-", min_size=1, max_size=10)
_PROSE = st.text(alphabet=st.characters(exclude_characters="@"), max_size=20)


@PROPERTY
@given(_PROSE, _LOCAL, _DOMAIN, _PROSE)
def test_an_address_anywhere_in_any_text_is_pseudonymized(
    before: str, local: str, domain: str, after: str
) -> None:
    address = f"{local}@{domain}.example"
    raw = {"type": "login", "action": "x", "note": f"{before} {address} {after}"}
    profile = PrivacyProfile("pseudonymize", pseudonymize_key=KEY)
    for output in _outputs(profile, raw).values():
        assert address not in output
