"""Decoding reply bodies: orjson where it agrees with the standard library, value for value and
error for error, so events, fingerprints and format errors do not depend on the decoder."""

from __future__ import annotations

import json
import math
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agent.errors import ResponseFormatError
from agent.nordpass.replies import decode_json, parse_page

CONTEXT = "tenant 'acme' page 1"


def _shape(value: Any) -> Any:
    """A comparable picture of a decoded value: types, key order and float bits included."""
    if isinstance(value, dict):
        return ("object", [(key, _shape(inner)) for key, inner in value.items()])
    if isinstance(value, list):
        return ("array", [_shape(inner) for inner in value])
    if isinstance(value, float):
        return ("float", "nan" if math.isnan(value) else value.hex())
    return (type(value).__name__, value)


def _outcome(decode: Any, body: bytes) -> Any:
    try:
        return _shape(decode(body))
    except (ValueError, RecursionError) as error:
        return (type(error), str(error))


def _assert_decodes_as_the_standard_library(body: bytes) -> None:
    assert _outcome(decode_json, body) == _outcome(json.loads, body)


_TEXT = st.text(
    st.one_of(
        st.characters(exclude_categories=()),
        st.sampled_from(["\x00", '"', "\\", "\ud800", "\udc00", "\U0001f510", "é", "\u2028"]),
    ),
    max_size=10,
)
_NUMBERS = st.one_of(
    st.integers(),
    st.integers(-(2**70), 2**70),
    st.sampled_from([2**63 - 1, 2**63, 2**64 - 1, 2**64, -(2**63), -(2**63) - 1, 10**19]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([1e16, -0.0, 1.5, 1e-5, 5e-324, 2.2250738585072011e-308]),
)
_JSON_VALUES = st.recursive(
    st.one_of(st.none(), st.booleans(), _NUMBERS, _TEXT),
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(_TEXT, inner, max_size=4)),
    max_leaves=25,
)


@settings(max_examples=1500, suppress_health_check=[HealthCheck.too_slow])
@given(_JSON_VALUES, st.booleans(), st.sampled_from(["utf-8", "utf-16", "utf-8-sig"]))
def test_any_json_text_decodes_to_exactly_what_the_standard_library_gives(
    value: Any, ascii_only: bool, encoding: str
) -> None:
    text = json.dumps(value, ensure_ascii=ascii_only)
    _assert_decodes_as_the_standard_library(text.encode(encoding, "surrogatepass"))


_JSON_ISH = st.text(alphabet='{}[]":,0123456789.eE-+ ntrufalsNIy\\u', max_size=30)


@settings(max_examples=1500)
@given(st.binary(max_size=40), _JSON_ISH)
def test_arbitrary_bytes_decode_or_fail_exactly_as_with_the_standard_library(
    noise: bytes, jsonish: str
) -> None:
    _assert_decodes_as_the_standard_library(noise)
    _assert_decodes_as_the_standard_library(jsonish.encode())


@pytest.mark.parametrize(
    "body",
    [
        b"[NaN, Infinity, -Infinity]",
        b'["\\ud800", "\\udfff", "\\ud83d\\ude00"]',
        b"[18446744073709551615, 18446744073709551616, -9223372036854775808, -9223372036854775809]",
        b"[123456789012345678901234567890, 1e400, -1e400, 1e-400, 0.1234567890123456789012]",
        b'{"a": 1, "b": 2, "a": 3}',
        b"\xef\xbb\xbf{}",
        '{"\u00e9": "\U0001f510"}'.encode("utf-16-le"),
        b"[" * 2000 + b"]" * 2000,
        b"[" * 600 + b"]" * 600,
        b'{"a": 1} trailing',
        b'["\x01"]',
        b"[01]",
        b"\x0c[]",
        b'{"data": [}',
        b'{"data": [{"timestamp": 1700000000, "act',
        b"",
        b"   ",
        b"\xff\xfe\x00garbage",
        b'"\xed\xa0\x80"',
    ],
)
def test_awkward_bodies_decode_or_fail_exactly_as_with_the_standard_library(body: bytes) -> None:
    _assert_decodes_as_the_standard_library(body)


def test_a_page_with_nan_and_a_lone_surrogate_is_still_accepted_as_before() -> None:
    body = (
        b'{"data": [{"timestamp": 1700000000, "score": NaN, "name": "\\ud800"}],'
        b' "metadata": {"total": 1, "per_page": 100, "current_page": 1, "total_pages": 1}}'
    )

    page = parse_page(body, context=CONTEXT, page=1, server_time=None)

    assert math.isnan(page.events[0]["score"])
    assert page.events[0]["name"] == "\ud800"


def test_integers_beyond_64_bits_stay_exact_integers() -> None:
    body = (
        b'{"data": [{"timestamp": 1700000000, "id": 123456789012345678901234567890}],'
        b' "metadata": {"total": 1, "per_page": 100, "current_page": 1, "total_pages": 1}}'
    )

    page = parse_page(body, context=CONTEXT, page=1, server_time=None)

    assert page.events[0]["id"] == 123456789012345678901234567890


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        (b'{"data": [}', "Expecting value: line 1 column 11"),
        (b'{"data": [1,, 2]}', "Expecting value: line 1 column 13"),
        (b'{"data": [{"timestamp": 1700000000, "act', "it ends early after 40 bytes"),
        (b"", "the body is empty"),
        (b"\xff{}", "the body is not UTF-8 text"),
        (b'{"data": "\xff"}', "the body is not UTF-8 text"),
    ],
)
def test_a_malformed_body_keeps_its_specific_error(body: bytes, problem: str) -> None:
    with pytest.raises(ResponseFormatError) as caught:
        parse_page(body, context=CONTEXT, page=1, server_time=None)

    assert str(caught.value).startswith(f"{CONTEXT}: reply is not valid JSON (")
    assert problem in str(caught.value)
