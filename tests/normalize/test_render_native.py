"""Native records: the raw event unchanged plus NordPass's own Sentinel table columns."""

from __future__ import annotations

from typing import Any

import pytest

from agent.normalize import canonicalize, native_record
from tests.normalize import golden_files, samples

_NORDPASS_TABLE_COLUMNS = (
    "action", "event_type", "initiator", "metadata", "organization_uuid", "timestamp",
    "user_email", "user_uuid", "TimeGenerated",
)  # fmt: skip


_WITHOUT_PRIVACY = [
    path for path in golden_files.golden_paths() if "privacy" not in golden_files.load(path)
]


@pytest.mark.parametrize("path", _WITHOUT_PRIVACY, ids=lambda path: path.stem)
def test_the_raw_event_is_kept_unchanged(path: Any) -> None:
    document = golden_files.load(path)
    record = document["native"]
    for key, value in document["raw"].items():
        if key in ("event_id", "tenant"):
            assert record[f"original_{key}"] == value
        else:
            assert record[key] == value


def test_a_complete_event_fills_every_nordpass_table_column() -> None:
    record = native_record(canonicalize(_login(), tenant="acme", event_id="e-1"))
    assert set(_NORDPASS_TABLE_COLUMNS) <= set(record)
    assert (record["event_id"], record["tenant"], record["event_type"]) == ("e-1", "acme", "login")
    assert record["TimeGenerated"] == "2025-01-30T16:39:46Z"


def test_the_msp_admin_replaces_the_user_columns_as_nordpass_does() -> None:
    raw = _login()
    raw["metadata"]["msp"] = dict(samples.MSP)
    record = native_record(canonicalize(raw, tenant="acme", event_id="e"))
    assert record["user_email"] == samples.MSP["user_email"]
    assert record["user_uuid"] == samples.MSP["user_uuid"]
    assert record["user"] == samples.MEMBER


def test_api_fields_named_like_added_ones_are_kept_aside() -> None:
    raw = {**_login(), "tenant": "from-api", "TimeGenerated": "yesterday"}
    record = native_record(canonicalize(raw, tenant="acme", event_id="e"))
    assert record["tenant"] == "acme"
    assert record["original_tenant"] == "from-api"
    assert record["original_TimeGenerated"] == "yesterday"


def _login() -> dict[str, Any]:
    return {
        "type": "login",
        "action": "user_login_failed",
        "timestamp": 1738255186,
        "organization_uuid": samples.ORGANIZATION,
        "user": dict(samples.MEMBER),
        "initiator": samples.MEMBER["email"],
        "metadata": {"ip_address": "203.0.113.7", "provider": "password"},
    }
