"""Canonical form, fingerprints and event ids are pinned: a change re-identifies every event."""

from __future__ import annotations

import hashlib
import uuid

import pytest

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
