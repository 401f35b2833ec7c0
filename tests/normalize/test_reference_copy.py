"""The reference facts kept with the tests are the shared ones, unchanged."""

from __future__ import annotations

import pytest

from tests.normalize.reference import FIXTURE_REFERENCE, SHARED_REFERENCE


@pytest.mark.parametrize("name", ["sentinel-tables.json", "nordpass-activity-api.md"])
def test_the_kept_copy_matches_the_shared_reference_when_it_is_there(name: str) -> None:
    kept = (FIXTURE_REFERENCE / name).read_bytes()
    assert kept  # the copy exists and is not empty in every checkout
    shared = SHARED_REFERENCE / name
    if shared.exists():
        assert kept == shared.read_bytes(), f"refresh tests/fixtures/reference/{name}"
