"""ECS documents: allowed category/type pairs, ECS field names, the actor and target split."""

from __future__ import annotations

import re
from typing import Any

import pytest

from agent.normalize import CATALOG, canonicalize, ecs_document
from tests.normalize import golden_files, reference, samples

_ISO_UTC = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{3})?Z\Z")
# The ECS field sets used; anything else must sit under the custom `nordpass` namespace.
_ECS_TOP_LEVEL = {"@timestamp", "ecs", "message", "event", "observer", "organization", "user"}
_ECS_TOP_LEVEL |= {"source", "related", "nordpass"}
_EVENT_FIELDS = {"kind", "category", "type", "action", "code", "outcome", "severity", "reason"}
_EVENT_FIELDS |= {"module", "dataset", "id"}


def assert_valid_document(document: dict[str, Any]) -> None:
    assert set(document) <= _ECS_TOP_LEVEL
    assert _ISO_UTC.match(document["@timestamp"])
    event = document["event"]
    assert set(event) <= _EVENT_FIELDS
    assert event["kind"] == "event"
    assert event["outcome"] in ("success", "failure", "unknown")
    for category in event.get("category", []):
        assert set(event["type"]) <= reference.ECS_CATEGORY_TYPES[category]
    assert isinstance(event.get("category", []), list)
    assert set(document.get("user", {})) <= {"id", "name", "email", "roles", "target"}


@pytest.mark.parametrize("path", golden_files.golden_paths(), ids=lambda path: path.stem)
def test_every_golden_document_uses_ecs_fields_and_values(path: Any) -> None:
    assert_valid_document(golden_files.load(path)["ecs"])


def test_the_msp_admin_is_the_user_and_the_member_the_target() -> None:
    raw = samples.sample_event(CATALOG.resolve("roles", "user_role_updated", {}), 0)
    document = ecs_document(canonicalize(raw, tenant="t", event_id="e"))
    assert document["user"]["email"] == samples.MSP["user_email"]
    assert document["user"]["roles"] == ["admin"]
    assert document["user"]["target"]["id"] == raw["user"]["uuid"]
    assert document["related"]["user"] == [samples.MSP["user_email"], raw["user"]["email"]]


def test_an_unknown_action_has_no_category_rather_than_a_wrong_one() -> None:
    raw = {"type": "passkeys", "action": "passkey_added", "timestamp": 1}
    document = ecs_document(canonicalize(raw, tenant="t", event_id="e"))
    assert "category" not in document["event"]
    assert document["event"]["outcome"] == "unknown"
    assert_valid_document(document)


def test_an_event_without_user_or_metadata_has_neither() -> None:
    raw = {"type": "login", "action": "user_login_failed", "timestamp": 1}
    document = ecs_document(canonicalize(raw, tenant="t", event_id="e"))
    assert "user" not in document
    assert "source" not in document
    assert document["nordpass"] == {"type": "login", "tenant": "t"}
