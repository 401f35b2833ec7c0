"""JSON bytes: the same bytes with or without orjson, and no input that fails to serialize."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from agent.normalize.serialization import OrjsonCodec, StdlibJsonCodec, default_codec
from tests.normalize.reference import PROPERTY

_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**63 - 1)
    | st.floats(allow_nan=False, allow_infinity=False).filter(
        lambda x: x == 0 or 1e-4 < abs(x) < 1e15
    )
    | st.text(),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(), children, max_size=4)
    ),
    max_leaves=12,
)


def _orjson() -> OrjsonCodec:
    return OrjsonCodec()  # orjson is a runtime dependency


@PROPERTY
@given(_VALUES)
def test_the_standard_library_codec_writes_compact_json(value: Any) -> None:
    expected = json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()
    assert StdlibJsonCodec().dumps(value) == expected


@PROPERTY
@given(_VALUES)
def test_orjson_and_the_standard_library_write_the_same_bytes(value: Any) -> None:
    assert _orjson().dumps(value) == StdlibJsonCodec().dumps(value)


@pytest.mark.parametrize("codec", [StdlibJsonCodec, _orjson], ids=["json", "orjson"])
def test_non_finite_floats_become_null(codec: Any) -> None:
    assert codec().dumps({"a": float("nan"), "b": [float("inf")]}) == b'{"a":null,"b":[null]}'


@pytest.mark.parametrize("codec", [StdlibJsonCodec, _orjson], ids=["json", "orjson"])
def test_a_lone_surrogate_is_written_as_its_json_escape(codec: Any) -> None:
    body = codec().dumps({"x": "a\ud800b"})
    assert body == b'{"x":"a\\ud800b"}'
    assert json.loads(body) == {"x": "a\ud800b"}


@pytest.mark.parametrize("codec", [StdlibJsonCodec, _orjson], ids=["json", "orjson"])
def test_integers_beyond_64_bits_survive(codec: Any) -> None:
    assert codec().dumps([2**70]) == b"[1180591620717411303424]"


def test_the_default_codec_reads_what_it_writes() -> None:
    codec = default_codec()
    assert codec.loads(codec.dumps({"a": ["é", 1]})) == {"a": ["é", 1]}


@pytest.mark.parametrize(
    "text",
    [
        '{"n": 18446744073709551616}',  # 2**64: orjson alone would read a float
        '{"n": -9223372036854775809}',
        '[123456789012345678901234567890, "1234567890123456789012"]',
        '{"n": NaN}',
        '{"s": "\\ud800"}',
    ],
)
def test_orjson_reads_exactly_what_the_standard_library_reads(text: str) -> None:
    for data in (text, text.encode()):
        assert repr(OrjsonCodec().loads(data)) == repr(json.loads(data))
