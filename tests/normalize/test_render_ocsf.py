"""OCSF events: validated with `py-ocsf-models`, and against the OCSF 1.5 class definitions.

py-ocsf-models 0.10 (the newest) models the base event and the shared objects but none of the IAM
or application classes, so each record is validated as a `BaseEvent` plus every object it models
(`Metadata`, `Product`, `User`, `Account`, `Group`, `API`); the class-specific rules (required
objects, activities, `type_uid`) are checked against OCSF 1.5's own definitions in
`reference.OCSF_CLASSES`. Its `Service` model demands `uid` and `version`, which OCSF itself does
not, so the root `service` of an Authentication event is checked against the spec only. When
`pydantic-ocsf` (full per-class models) is installed it validates each record too.
"""

from __future__ import annotations

import importlib
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from py_ocsf_models.events.base_event import BaseEvent
from py_ocsf_models.objects.api import API
from py_ocsf_models.objects.group import Group
from py_ocsf_models.objects.metadata import Metadata
from py_ocsf_models.objects.user import User

from agent.normalize import CATALOG, canonicalize, ocsf_event
from tests.normalize import golden_files, reference, samples
from tests.normalize.reference import PROPERTY

_CLASS_MODELS = {
    3001: "AccountChange",
    3002: "Authentication",
    3004: "EntityManagement",
    3006: "GroupManagement",
    6003: "ApiActivity",
}


def _users(record: dict[str, Any]) -> list[dict[str, Any]]:
    users = [record[key] for key in ("user",) if key in record]
    users += [record["actor"]["user"]] if "user" in record.get("actor", {}) else []
    return users


def assert_valid_event(record: dict[str, Any]) -> None:
    BaseEvent.model_validate(record)
    Metadata.model_validate(record["metadata"])
    for user in _users(record):
        User.model_validate(user)
    if "api" in record:
        API.model_validate(record["api"])
    if "group" in record:
        Group.model_validate(record["group"])
    _assert_follows_class_definition(record)


def _assert_follows_class_definition(record: dict[str, Any]) -> None:
    class_uid, activity_id = record["class_uid"], record["activity_id"]
    category, activities, required, at_least_one = reference.OCSF_CLASSES[class_uid]
    for name in reference.OCSF_BASE_REQUIRED + required:
        assert name in record, f"{class_uid} requires {name}"
    for group in at_least_one:
        assert any(name in record for name in group), f"{class_uid} needs one of {group}"
    assert record["category_uid"] == category
    assert activity_id in activities
    assert record["type_uid"] == class_uid * 100 + activity_id
    assert record["severity_id"] in (0, 1, 2, 3, 4, 5, 6, 99)
    assert record.get("status_id", 0) in (0, 1, 2, 99)
    assert type(record["time"]) is int
    assert record["metadata"]["version"].startswith("1.")
    for entity in [*_users(record), record.get("group"), record.get("entity")]:
        if entity is not None:  # OCSF: an entity names itself by name or uid
            assert entity.get("name") or entity.get("uid")
    if "src_endpoint" in record:
        assert record["src_endpoint"].get("ip") or record["src_endpoint"].get("name")


def _assert_valid_with_pydantic_ocsf(record: dict[str, Any]) -> None:
    events = importlib.import_module("ocsf.v1_5_0.events")  # pydantic-ocsf, a dev dependency
    getattr(events, _CLASS_MODELS[record["class_uid"]]).model_validate(record)


@pytest.mark.parametrize("path", golden_files.golden_paths(), ids=lambda path: path.stem)
def test_every_golden_event_validates(path: Any) -> None:
    assert_valid_event(golden_files.load(path)["ocsf"])


def test_golden_events_validate_with_the_full_class_models() -> None:
    for path in golden_files.golden_paths():
        _assert_valid_with_pydantic_ocsf(golden_files.load(path)["ocsf"])


def test_every_class_is_emitted_by_some_golden_event() -> None:
    emitted = {golden_files.load(path)["ocsf"]["class_uid"] for path in golden_files.golden_paths()}
    assert emitted == set(reference.OCSF_CLASSES)


def test_an_authentication_without_a_user_falls_back_to_the_initiator() -> None:
    raw = {"type": "login", "action": "user_login_failed", "timestamp": 1, "initiator": "scim"}
    record = ocsf_event(canonicalize(raw, tenant="t", event_id="e"))
    assert record["user"]["name"] == "scim"
    assert_valid_event(record)


def test_an_unknown_action_is_an_api_activity() -> None:
    raw = {"type": "passkeys", "action": "passkey_added", "timestamp": 1}
    record = ocsf_event(canonicalize(raw, tenant="t", event_id="e"))
    assert (record["class_uid"], record["activity_id"]) == (6003, 99)
    assert record["api"]["operation"] == "passkey_added"
    assert_valid_event(record)


def test_the_msp_admin_is_the_actor_and_the_member_the_user() -> None:
    raw = samples.sample_event(CATALOG.resolve("roles", "user_role_updated", {}), 0)
    record = ocsf_event(canonicalize(raw, tenant="t", event_id="e"))
    assert record["actor"]["user"]["email_addr"] == samples.MSP["user_email"]
    assert record["actor"]["user"]["type_id"] == 2
    assert record["user"]["uid"] == raw["user"]["uuid"]


_SCALARS = st.one_of(st.none(), st.integers(), st.text(max_size=12))
_RAW = st.fixed_dictionaries(
    {},
    optional={
        "timestamp": _SCALARS,
        "initiator": _SCALARS,
        "user": st.dictionaries(st.sampled_from(["uuid", "email"]), _SCALARS),
        "metadata": st.dictionaries(
            st.sampled_from(["ip_address", "group_name", "items", "msp"]),
            st.one_of(_SCALARS, st.lists(st.dictionaries(st.just("name"), _SCALARS), max_size=2)),
        ),
    },
)


@settings(PROPERTY, max_examples=150)
@given(spec_index=st.integers(0, len(CATALOG) - 1), raw=_RAW)
def test_any_raw_event_gives_a_valid_event(spec_index: int, raw: dict[str, Any]) -> None:
    spec = list(CATALOG)[spec_index]
    event = canonicalize(
        {"type": spec.event_type, "action": spec.action, **raw}, tenant="t", event_id="e"
    )
    assert_valid_event(ocsf_event(event))
