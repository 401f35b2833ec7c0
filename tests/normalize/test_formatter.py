"""The formatter and the format registry: what destinations call per event."""

from __future__ import annotations

import json

import pytest

from agent.normalize import (
    OUTPUT_FORMATS,
    RENDERERS,
    Formatter,
    PrivacyProfile,
    UnknownActionCounter,
    render,
)
from tests.normalize import samples

_LOGIN = {
    "type": "login",
    "action": "user_login_failed",
    "timestamp": 1738255186,
    "user": dict(samples.MEMBER),
    "metadata": {"ip_address": "203.0.113.7"},
}


def test_the_registry_has_one_renderer_per_format() -> None:
    assert set(RENDERERS) == set(OUTPUT_FORMATS) == {"native", "cef", "asim", "ocsf", "ecs"}
    assert all(RENDERERS[name].name == name for name in RENDERERS)


@pytest.mark.parametrize("output_format", ["native", "asim", "ocsf", "ecs"])
def test_json_formats_serialize_to_compact_utf8_json(output_format: str) -> None:
    body = Formatter(output_format).to_bytes(_LOGIN, tenant="acmé", event_id="e")
    compact = json.dumps(json.loads(body), separators=(",", ":"), ensure_ascii=False)
    assert body == compact.encode("utf-8")
    assert "acmé".encode() in body


def test_cef_serializes_to_one_line_without_a_newline() -> None:
    body = Formatter("cef").to_bytes(_LOGIN, tenant="acme", event_id="e")
    assert body.startswith(b"CEF:0|")
    assert b"\n" not in body


def test_an_unknown_format_is_refused_with_the_choices() -> None:
    with pytest.raises(ValueError, match="native"):
        Formatter("xml")


def test_unknown_actions_are_forwarded_and_counted_per_type_and_action() -> None:
    counter = UnknownActionCounter()
    formatter = Formatter("asim", unknown_actions=counter)
    for _ in range(3):
        body = formatter.to_bytes(
            {"type": "passkeys", "action": "passkey_added"}, tenant="t", event_id="e"
        )
        assert json.loads(body)["EventOriginalType"] == "passkey_added"
    formatter.to_bytes(_LOGIN, tenant="t", event_id="e")
    assert counter.counts() == {("passkeys", "passkey_added"): 3}
    assert counter.total == 3


def test_the_counter_caps_distinct_pairs_the_api_could_invent() -> None:
    counter = UnknownActionCounter(max_distinct=2)
    for action in ("a", "b", "c", "d"):
        counter.record("t", action)
    assert counter.counts() == {("t", "a"): 1, ("t", "b"): 1, ("*", "*"): 2}
    assert counter.total == 4


def test_asim_bytes_come_with_their_table() -> None:
    route, body = Formatter("asim").to_routed_bytes(_LOGIN, tenant="t", event_id="e")
    assert route == "ASimAuthenticationEventLogs"
    assert json.loads(body)["EventType"] == "Logon"


def test_other_formats_route_by_their_name() -> None:
    route, _ = Formatter("cef").to_routed_bytes(_LOGIN, tenant="t", event_id="e")
    assert route == "cef"


def test_the_one_call_helper_matches_a_formatter() -> None:
    for output_format in OUTPUT_FORMATS:
        expected = Formatter(output_format).to_bytes(_LOGIN, tenant="t", event_id="e")
        assert render(_LOGIN, tenant="t", event_id="e", output_format=output_format) == expected


def test_the_privacy_profile_applies_before_rendering() -> None:
    formatter = Formatter("cef", PrivacyProfile(drop_fields=("metadata.ip_address",)))
    assert b"203.0.113.7" not in formatter.to_bytes(_LOGIN, tenant="t", event_id="e")
    assert formatter.canonical(_LOGIN, tenant="t", event_id="e").source_ip is None


def test_received_at_dates_an_event_without_a_timestamp() -> None:
    raw = {"type": "login", "action": "user_login_failed"}
    record = Formatter("native").to_record(raw, tenant="t", event_id="e", received_at=1738255186)
    assert record["TimeGenerated"] == "2025-01-30T16:39:46Z"


@pytest.mark.parametrize("output_format", OUTPUT_FORMATS)
def test_very_long_values_render_in_every_format(output_format: str) -> None:
    raw = {
        **_LOGIN,
        "initiator": "i" * 200_000,
        "metadata": {"items": [{"name": "n" * 100_000}], "note": "=" * 50_000},
    }
    body = Formatter(output_format).to_bytes(raw, tenant="t", event_id="e")
    if output_format == "cef":
        assert len(body) < 20_000  # every CEF value is cut to its limit
    else:
        assert json.loads(body)
