"""Canonicalization: the facts every format needs, from whatever shape the API sends."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from agent.normalize import canonicalize
from tests.normalize import samples
from tests.normalize.reference import PROPERTY


def _event(**fields: Any) -> dict[str, Any]:
    event = {
        "type": "login",
        "action": "user_login_successful",
        "timestamp": 1738255186,
        "organization_uuid": samples.ORGANIZATION,
        "user": dict(samples.MEMBER),
        "initiator": samples.MEMBER["email"],
        "metadata": {"ip_address": "203.0.113.7", "provider": "google", "platform": "ios"},
    }
    event.update(fields)
    return event


def test_the_facts_are_taken_from_the_documented_fields() -> None:
    event = canonicalize(_event(), tenant="acme", event_id="e-1")
    expected = {
        "tenant": "acme",
        "event_id": "e-1",
        "organization_uuid": samples.ORGANIZATION,
        "event_type": "login",
        "action": "user_login_successful",
        "occurred_at": 1738255186,
        "member_uuid": samples.MEMBER["uuid"],
        "member_email": samples.MEMBER["email"],
        "actor_uuid": samples.MEMBER["uuid"],
        "actor_email": samples.MEMBER["email"],
        "via_msp": False,
        "source_ipv4": "203.0.113.7",
        "source_ipv6": None,
        "provider": "google",
        "platform": "ios",
        "initiator": samples.MEMBER["email"],
    }
    facts = event._asdict()
    assert {name: facts[name] for name in expected} == expected
    assert event.spec.signature_id == "login:user_login_successful"


def test_an_msp_admin_is_the_actor_and_the_member_is_kept() -> None:
    metadata = {"msp": dict(samples.MSP)}
    event = canonicalize(_event(metadata=metadata), tenant="acme", event_id="e")
    assert (event.actor_uuid, event.actor_email) == (
        samples.MSP["user_uuid"],
        samples.MSP["user_email"],
    )
    assert (event.actor_role, event.via_msp) == ("admin", True)
    assert event.member_email == samples.MEMBER["email"]


def test_an_event_without_user_has_no_member_or_actor() -> None:
    raw = _event()
    del raw["user"]
    event = canonicalize(raw, tenant="acme", event_id="e")
    assert event.member_uuid is event.member_email is event.actor_uuid is event.actor_email is None


@pytest.mark.parametrize("metadata", [{}, None, "not an object", ["list"]])
def test_empty_missing_or_odd_metadata_leaves_the_metadata_facts_empty(metadata: Any) -> None:
    event = canonicalize(_event(metadata=metadata), tenant="acme", event_id="e")
    assert event.metadata == {}
    assert event.source_ip is event.provider is event.platform is None
    assert event.items == ()


@pytest.mark.parametrize("metadata", ["not an object", ["list"]])
def test_metadata_that_is_not_an_object_is_kept_as_unmapped(metadata: Any) -> None:
    event = canonicalize(_event(metadata=metadata), tenant="acme", event_id="e")
    assert event.unmapped == {"metadata": metadata}


def test_unknown_top_level_fields_survive_as_unmapped() -> None:
    event = canonicalize(_event(device={"os": "ios"}, risk=3), tenant="acme", event_id="e")
    assert event.unmapped == {"device": {"os": "ios"}, "risk": 3}
    assert event.raw["device"] == {"os": "ios"}


@pytest.mark.parametrize(
    ("address", "ipv4", "ipv6"),
    [
        ("203.0.113.7", "203.0.113.7", None),
        ("2001:db8::1", None, "2001:db8::1"),
        ("::ffff:203.0.113.7", None, "::ffff:203.0.113.7"),
        ("203.0.113", None, None),
        ("not-an-address", None, None),
        ("fe80::1%eth0", None, None),
        (12345, None, None),
    ],
)
def test_the_source_address_is_sorted_by_family_and_malformed_ones_dropped(
    address: Any, ipv4: str | None, ipv6: str | None
) -> None:
    event = canonicalize(_event(metadata={"ip_address": address}), tenant="t", event_id="e")
    assert (event.source_ipv4, event.source_ipv6) == (ipv4, ipv6)


@pytest.mark.parametrize(
    ("timestamp", "expected"),
    [
        (1738255186, 1738255186),
        (1738255186.5, 1738255186.5),
        ("1738255186", 1738255186),
        (1738255186123, 1738255186.123),
        (1738255186000, 1738255186),
    ],
)
def test_timestamps_are_unix_seconds_whatever_their_spelling(
    timestamp: Any, expected: float
) -> None:
    event = canonicalize(_event(timestamp=timestamp), tenant="t", event_id="e")
    assert event.occurred_at == pytest.approx(expected)


@pytest.mark.parametrize("timestamp", [None, "yesterday", float("nan"), -5, True, [1]])
def test_an_unusable_timestamp_falls_back_to_the_receive_time(timestamp: Any) -> None:
    raw = _event(timestamp=timestamp)
    assert (
        canonicalize(raw, tenant="t", event_id="e", received_at=1700000000).occurred_at
        == 1700000000
    )
    assert canonicalize(raw, tenant="t", event_id="e").occurred_at == 0


def test_numbers_where_text_is_expected_are_spelled_out_and_objects_ignored() -> None:
    raw = _event(initiator=42, user={"uuid": {"nested": 1}, "email": 7})
    event = canonicalize(raw, tenant="t", event_id="e")
    assert (event.initiator, event.member_uuid, event.member_email) == ("42", None, "7")


def test_a_missing_type_or_action_is_unknown_and_still_classified() -> None:
    event = canonicalize({}, tenant="t", event_id="e")
    assert (event.event_type, event.action) == ("unknown", "unknown")
    assert not event.spec.known


def test_the_caller_s_event_is_not_modified() -> None:
    raw = _event(metadata={"msp": dict(samples.MSP), "items": [{"name": "x"}]})
    snapshot = repr(raw)
    canonicalize(raw, tenant="t", event_id="e")
    assert repr(raw) == snapshot


_ANY = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=10),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=5), children, max_size=3)
    ),
    max_leaves=8,
)


@PROPERTY
@given(
    st.dictionaries(
        st.sampled_from(["type", "action", "timestamp", "user", "initiator", "metadata", "extra"]),
        _ANY,
    )
)
def test_no_input_shape_makes_canonicalization_fail(raw: dict[str, Any]) -> None:
    event = canonicalize(raw, tenant="t", event_id="e")
    assert event.event_type
    assert event.action


def test_the_event_has_exactly_the_declared_fields() -> None:
    event = canonicalize(_event(), tenant="t", event_id="e")
    assert len(event) == len(type(event)._fields)
    assert event._asdict()["raw"] is not None
