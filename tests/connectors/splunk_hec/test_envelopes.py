"""Envelopes: event time, the rendered record, per-tenant metadata and index-time fields; and how
a batch is cut into requests."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given
from hypothesis import strategies as st
from pydantic import SecretStr

from agent.normalize import Formatter, default_codec
from connectors.splunk_hec import SplunkHecConfig, TenantOverride
from connectors.splunk_hec.envelopes import Envelope, EnvelopeWriter, cut_requests
from tests.connectors.splunk_hec.conftest import ORG, T0, outbound


def writer(overrides: dict[str, TenantOverride] | None = None, **settings: Any) -> EnvelopeWriter:
    config = SplunkHecConfig.model_validate(
        {"type": "splunk_hec", "url": "https://s:8088", "token": SecretStr("t"), **settings}
    )
    return EnvelopeWriter(config, overrides or {}, Formatter(config.format), default_codec())


def parsed(envelope: Envelope) -> dict[str, Any]:
    assert envelope.body.endswith(b"\n")
    document: dict[str, Any] = json.loads(envelope.body)
    return document


def test_a_native_envelope_carries_time_metadata_record_and_indexed_fields() -> None:
    document = parsed(writer(index="nordpass", host="agent-1").envelope(outbound(3), 0))
    assert document["time"] == T0 + 3
    assert (document["index"], document["host"]) == ("nordpass", "agent-1")
    assert (document["source"], document["sourcetype"]) == ("nordpass:acme", "nordpass:activity")
    assert document["event"]["action"] == "user_login_successful"
    assert document["event"]["event_id"] == "acme-00003"
    assert document["fields"] == {
        "event_id": "acme-00003", "tenant": "acme", "organization_uuid": ORG,
    }  # fmt: skip


def test_event_time_keeps_its_fractions() -> None:
    event = outbound(0, timestamp=T0 + 0.25)
    assert parsed(writer().envelope(event, 0))["time"] == T0 + 0.25


def test_a_cef_envelope_carries_the_line_as_a_string_with_its_own_sourcetype() -> None:
    document = parsed(writer(format="cef").envelope(outbound(1), 0))
    assert document["sourcetype"] == "nordpass:activity:cef"
    assert isinstance(document["event"], str)
    assert document["event"].startswith("CEF:0|")


def test_unset_index_is_left_to_the_token_default() -> None:
    assert "index" not in parsed(writer().envelope(outbound(1), 0))


def test_tenants_get_their_own_index_source_and_sourcetype() -> None:
    overrides = {"globex": TenantOverride(index="globex", source="np", sourcetype="np:a")}
    built = writer(overrides, index="nordpass")
    acme = parsed(built.envelope(outbound(1), 0))
    globex = parsed(built.envelope(outbound(1, tenant="globex"), 1))
    assert (acme["index"], acme["source"]) == ("nordpass", "nordpass:acme")
    assert (globex["index"], globex["source"], globex["sourcetype"]) == ("globex", "np", "np:a")


def test_tenants_with_a_token_of_their_own_get_their_own_token_slot() -> None:
    overrides = {
        "globex": TenantOverride(token=SecretStr("other")),
        "initech": TenantOverride(token=SecretStr("other")),
        "hooli": TenantOverride(token=SecretStr("t")),
    }
    built = writer(overrides)
    slots = {name: built.route(name).token_slot for name in ("acme", "globex", "initech", "hooli")}
    assert slots == {"acme": 0, "globex": 1, "initech": 1, "hooli": 0}
    assert built.token_label(1) == "the token set for tenant 'globex', 'initech'"
    assert "other" not in built.token_label(1)


def envelope(position: int, slot: int, size: int) -> Envelope:
    return Envelope(position, "t", f"e{position}", slot, b"x" * (size - 1) + b"\n")


@given(
    sizes=st.lists(st.tuples(st.integers(0, 2), st.integers(1, 400)), max_size=60),
    max_bytes=st.integers(1, 1000),
    max_events=st.one_of(st.none(), st.integers(1, 10)),
)
def test_requests_keep_order_per_token_and_respect_both_caps(
    sizes: list[tuple[int, int]], max_bytes: int, max_events: int | None
) -> None:
    envelopes = [envelope(i, slot, size) for i, (slot, size) in enumerate(sizes)]
    requests = cut_requests(envelopes, max_bytes, max_events)
    for request in requests:
        assert len({item.token_slot for item in request}) == 1
        assert len(request) == 1 or sum(len(item.body) for item in request) <= max_bytes
        assert max_events is None or len(request) <= max_events
    for slot in range(3):
        sent = [
            item.position for request in requests for item in request if item.token_slot == slot
        ]
        assert sent == [item.position for item in envelopes if item.token_slot == slot]
