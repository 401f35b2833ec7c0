"""Canonical form, fingerprints and event ids are pinned: a change re-identifies every event."""

from __future__ import annotations

import collections
import enum
import hashlib
import hmac
import json
import random
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agent.nordpass.emulator import ACTION_CATALOG
from agent.nordpass.emulator.generator import build_event, make_profile
from agent.pipeline.identity import EventIdentity, canonical_bytes, fingerprint

EVENT = {
    "type": "login",
    "action": "user_login_failed",
    "timestamp": 1767225600,
    "organization_uuid": "101b4232-0688-4599-bca8-4636c91cd687",
    "user": {"uuid": "de555f53-5a44-47cd-a3b6-946c8a97b847", "email": "Ana@example.com"},
    "initiator": "ana@example.com",
    "metadata": {"ip_address": "2001:db8::1", "platform": "windows", "ñ": "ünïcode"},
}
KEY = b"k" * 32


def test_canonical_form_sorts_keys_drops_user_email_and_keeps_unicode() -> None:
    assert (
        canonical_bytes(EVENT)
        == (
            '{"action":"user_login_failed","initiator":"ana@example.com",'
            '"metadata":{"ip_address":"2001:db8::1","platform":"windows","ñ":"ünïcode"},'
            '"organization_uuid":"101b4232-0688-4599-bca8-4636c91cd687","timestamp":1767225600,'
            '"type":"login","user":{"uuid":"de555f53-5a44-47cd-a3b6-946c8a97b847"}}'
        ).encode()
    )


def test_fingerprint_is_pinned_and_follows_the_documented_recipe() -> None:
    recipe = hashlib.sha256(b"nordpass-event:v1\x00" + canonical_bytes(EVENT)).digest()[:16]
    assert fingerprint(EVENT) == recipe
    assert fingerprint(EVENT).hex() == "827c4f9813347b3258b5571b388c37a4"


def test_fingerprint_ignores_key_order_and_email_but_not_other_fields() -> None:
    reordered = dict(reversed(list(EVENT.items())))
    renamed = {**EVENT, "user": {**EVENT["user"], "email": "ana.new@example.com"}}  # type: ignore[dict-item]
    later = {**EVENT, "timestamp": 1767225601}
    assert fingerprint(reordered) == fingerprint(EVENT)
    assert fingerprint(renamed) == fingerprint(EVENT)
    assert fingerprint(later) != fingerprint(EVENT)


def test_event_id_is_pinned_and_a_valid_version_8_uuid() -> None:
    identity = EventIdentity(KEY)
    event_id = identity.event_id(EVENT["organization_uuid"], fingerprint(EVENT), 1)  # type: ignore[arg-type]
    assert event_id == "dc5262a3-9b7b-82ea-9f90-d11b33e9fa17"
    parsed = uuid.UUID(event_id)
    assert parsed.version == 8
    assert parsed.variant == uuid.RFC_4122


@settings(max_examples=300, deadline=None)
@given(
    key=st.binary(min_size=16, max_size=100),
    organization=st.text(),
    event_fingerprint=st.binary(min_size=16, max_size=16),
    occurrence=st.integers(min_value=1, max_value=2**32 - 1),
)
def test_event_id_is_hmac_sha256_spelled_as_the_uuid_module_does(
    key: bytes, organization: str, event_fingerprint: bytes, occurrence: int
) -> None:
    message = organization.encode() + b"\x00" + event_fingerprint + occurrence.to_bytes(4, "big")
    digest = bytearray(hmac.new(key, message, hashlib.sha256).digest()[:16])
    digest[6] = (digest[6] & 0x0F) | 0x80
    digest[8] = (digest[8] & 0x3F) | 0x80
    expected = str(uuid.UUID(bytes=bytes(digest)))
    got = EventIdentity(key).event_id(organization, event_fingerprint, occurrence)
    assert got == expected


def test_occurrences_organisations_and_keys_each_change_the_id() -> None:
    identity = EventIdentity(KEY)
    fp = fingerprint(EVENT)
    base = identity.event_id("org-a", fp, 1)
    assert identity.event_id("org-a", fp, 1) == base
    assert identity.event_id("org-a", fp, 2) != base
    assert identity.event_id("org-b", fp, 1) != base
    assert EventIdentity(b"x" * 32).event_id("org-a", fp, 1) != base


def test_short_keys_are_refused_and_the_key_never_shows_in_repr() -> None:
    with pytest.raises(ValueError, match="at least 16 bytes"):
        EventIdentity(b"short")
    assert "k" * 32 not in repr(EventIdentity(KEY))


# --- the canonical form never changes: old and new bytes over a large varied corpus ---------------


def _canonical_bytes_as_first_released(raw: dict[str, Any]) -> bytes:
    """Canonical form v1 as first written; every id ever stored was made from these bytes."""
    user = raw.get("user")
    if isinstance(user, dict) and "email" in user:
        raw = {**raw, "user": {key: value for key, value in user.items() if key != "email"}}
    return json.dumps(raw, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def _outcome(function: Callable[[dict[str, Any]], bytes], raw: dict[str, Any]) -> object:
    """The bytes, or the exception (type and message) for inputs the form cannot hold."""
    try:
        return function(raw)
    except Exception as error:  # noqa: BLE001 - the failure itself is what is compared
        return (type(error), str(error))


def _assert_same_canonical_form(raw: dict[str, Any]) -> None:
    assert _outcome(canonical_bytes, raw) == _outcome(_canonical_bytes_as_first_released, raw)


def test_every_generated_event_of_every_action_keeps_its_canonical_bytes() -> None:
    profile = make_profile(7, "101b4232-0688-4599-bca8-4636c91cd687", "acme")
    rng = random.Random(11)
    seen: set[str] = set()
    for index in range(40_000):
        member = rng.randrange(-1, len(profile.members))
        event = build_event(rng, profile, 1_767_225_600 + index, member)
        seen.add(event["action"])
        assert canonical_bytes(event) == _canonical_bytes_as_first_released(event), event
    assert seen == {entry.action for entry in ACTION_CATALOG}


# Characters that escaping rules treat specially, next to arbitrary ones (lone surrogates included).
_AWKWARD_CHARACTERS = st.sampled_from(
    ["\x00", "\x1f", "\x7f", '"', "\\", "/", "\b", "\f", "\n", "\r", "\t", "\u2028", "\u2029",
     "\ufeff", "\ud800", "\udfff", "\U0001f510", "é", "ñ", "\u202e", "\uffff", "\U00010000"]
)  # fmt: skip
_TEXT = st.text(st.one_of(st.characters(exclude_categories=()), _AWKWARD_CHARACTERS), max_size=12)
_FLOATS = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([1e16, 1e15, -0.0, 0.0, 1.5, 1e-5, 1e-4, 1e22, 5e-324, 1.7976931348623157e308]),
)
_INTEGERS = st.one_of(
    st.integers(),
    st.sampled_from([2**63 - 1, 2**63, 2**64 - 1, 2**64, -(2**63), -(2**63) - 1, 10**30]),
)
_JSON_VALUES = st.recursive(
    st.one_of(st.none(), st.booleans(), _INTEGERS, _FLOATS, _TEXT),
    lambda inner: st.one_of(st.lists(inner, max_size=5), st.dictionaries(_TEXT, inner, max_size=5)),
    max_leaves=30,
)
# Event-shaped values: a timestamp, a `user` (with or without its email) and anything else.
_EVENTS = st.builds(
    lambda extra, event: {**extra, **event},
    st.dictionaries(_TEXT, _JSON_VALUES, max_size=4),
    st.fixed_dictionaries(
        {"timestamp": st.integers(0, 2**40), "action": _TEXT},
        optional={
            "user": st.one_of(
                st.fixed_dictionaries(
                    {"uuid": _TEXT}, optional={"email": _TEXT, "x": _JSON_VALUES}
                ),
                _JSON_VALUES,
            ),
            "metadata": _JSON_VALUES,
        },
    ),
)


@settings(max_examples=1500, suppress_health_check=[HealthCheck.too_slow])
@given(_EVENTS)
def test_any_json_event_keeps_its_canonical_bytes_or_its_error(event: dict[str, Any]) -> None:
    _assert_same_canonical_form(event)


def test_every_character_is_escaped_as_before_in_values_and_keys() -> None:
    code_points = [point for point in range(0x110000) if not 0xD800 <= point <= 0xDFFF]
    for start in range(0, len(code_points), 1024):
        text = "".join(map(chr, code_points[start : start + 1024]))
        _assert_same_canonical_form({"value": text, text: [text], "timestamp": 1})
    # Key order is by code point, whichever plane: the fast path sorts UTF-8 bytes.
    keys = ["\uffff", "\U00010000", "\ue000", "z", "\x7f", "\u00e9", "", "a\x00", "a"]
    _assert_same_canonical_form({key: index for index, key in enumerate(keys)})


def _nested(depth: int, wrap: Callable[[Any], Any]) -> Any:
    value: Any = []
    for _ in range(depth):
        value = wrap(value)
    return value


class _Colour(enum.Enum):
    RED = "red"


class _Level(enum.IntEnum):
    HIGH = 3


class _Text(str):
    __slots__ = ()


@pytest.mark.parametrize(
    "event",
    [
        {},
        {"a": {}, "b": [], "c": [{}], "d": [[]]},
        {"n": [1e16, 1e15, -0.0, 1.5, 1e-5, 0.1, 1e22, float("nan"), float("inf"), -float("inf")]},
        {"n": [2**63 - 1, 2**63, 2**64 - 1, 2**64, -(2**63), -(2**63) - 1, 10**40]},
        {"deep": _nested(199, lambda inner: [inner])},
        {"deep": _nested(300, lambda inner: {"k": inner})},
        {"deep": _nested(900, lambda inner: [inner])},
        {"lone": "\ud800"},
        {"\udfff": 1},
        {1: "integer key", 2.5: "float key", None: "null key", False: "bool key"},
        {1: "mixed", "a": "keys"},
        {"enum": _Colour.RED},
        {"enum": _Level.HIGH},
        {"uuid": uuid.UUID(int=1)},
        {"tuple": (1, 2)},
        {"subclass": _Text("text"), _Text("key"): 1},
        {"ordered": collections.OrderedDict(b=1, a=2)},
        {"user": {"email": "x@example.com"}},
        {"user": {"email": "x@example.com", "uuid": 1.0}},
        {"user": ["email"]},
    ],
)
def test_edge_values_keep_their_canonical_bytes_or_their_error(event: dict[Any, Any]) -> None:
    _assert_same_canonical_form(event)
