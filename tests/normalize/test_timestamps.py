"""Event time spellings."""

from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import given
from hypothesis import strategies as st

from agent.normalize.timestamps import epoch_ms, iso_utc

_LATEST = 253_402_300_799


@given(st.integers(0, _LATEST))
def test_whole_seconds_spell_like_datetime(seconds: int) -> None:
    expected = datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert iso_utc(seconds) == expected


def test_fractions_keep_milliseconds() -> None:
    assert iso_utc(1738255186.25) == "2025-01-30T16:39:46.250Z"
    assert iso_utc(1738255186.9999) == "2025-01-30T16:39:46.999Z"


def test_milliseconds_are_whole_numbers() -> None:
    assert epoch_ms(1738255186) == 1738255186000
    assert epoch_ms(1738255186.25) == 1738255186250
