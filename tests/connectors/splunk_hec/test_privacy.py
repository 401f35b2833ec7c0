"""Privacy profiles on a Splunk destination and per tenant: removed values never get indexed."""

from __future__ import annotations

import json

import pytest

from connectors.splunk_hec.emulator import HecEmulator
from tests.connectors.splunk_hec.conftest import Build, outbound

KEY = "pseudonymize-key-0123456789abcdef"


def indexed_text(emulator: HecEmulator) -> str:
    return json.dumps([event.event for event in emulator.indexed], ensure_ascii=False)


async def test_pseudonymize_keeps_emails_out_of_every_format(
    build: Build, emulator: HecEmulator
) -> None:
    for output_format in ("native", "cef"):
        destination = build(
            format=output_format, privacy={"mode": "pseudonymize", "pseudonymize_key": KEY}
        )
        await destination.send([outbound(1)])
    text = indexed_text(emulator)
    assert len(emulator.indexed) == 2
    assert "j@acme.example" not in text


async def test_a_tenant_override_applies_its_own_profile_only_to_that_tenant(
    build: Build, emulator: HecEmulator
) -> None:
    destination = build(
        {"globex": {"privacy": {"mode": "full", "drop_fields": ["metadata.ip_address"]}}}
    )
    await destination.send([outbound(1, "acme"), outbound(2, "globex")])
    by_tenant = {event.fields["tenant"]: json.dumps(event.event) for event in emulator.indexed}
    assert "198.51.100.7" in by_tenant["acme"]
    assert "198.51.100.7" not in by_tenant["globex"]


def test_pseudonymize_without_a_key_is_a_configuration_error(build: Build) -> None:
    with pytest.raises(ValueError, match="pseudonymize_key: at least 16 bytes"):
        build(privacy={"mode": "pseudonymize"})
