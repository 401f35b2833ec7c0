"""New occurrences come from fingerprint counts: multiplicity kept, repeats never new."""

from __future__ import annotations

from typing import Any

from agent.pipeline.identity import fingerprint
from agent.pipeline.occurrences import new_occurrences, observe


def event(second: int, action: str = "user_login_successful") -> dict[str, Any]:
    return {"type": "login", "action": action, "timestamp": second, "user": {"uuid": "u1"}}


def test_identical_events_in_one_second_are_two_occurrences() -> None:
    observed = observe([event(10), event(10)])
    fresh = new_occurrences(observed, stored={})
    assert [item.occurrence for item in fresh] == [1, 2]
    assert len({item.fingerprint for item in fresh}) == 1


def test_only_occurrences_beyond_the_stored_count_are_new() -> None:
    observed = observe([event(10), event(10), event(10)])
    fresh = new_occurrences(observed, stored={fingerprint(event(10)): 2})
    assert [item.occurrence for item in fresh] == [3]


def test_fewer_observed_than_stored_yields_nothing() -> None:
    observed = observe([event(10)])
    assert new_occurrences(observed, stored={fingerprint(event(10)): 2}) == []


def test_new_occurrences_come_oldest_second_first() -> None:
    observed = observe([event(12), event(10, "user_login_failed"), event(11)])
    assert [item.second for item in new_occurrences(observed, stored={})] == [10, 11, 12]
