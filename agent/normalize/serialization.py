"""JSON to and from bytes, as fast as the platform allows and byte-for-byte the same either way.

With `orjson` installed the JSON formats serialize several times faster; without it the standard
library's C encoder is used, built once and reused (building it is most of the cost of a
`json.dumps` call on a small record). Both produce compact UTF-8 JSON with the same escaping, so
output does not depend on which is present, except how a float beyond 1e16 or below 1e-4 is
spelled (`1e-07` or `1e-7`, the same number). Input orjson refuses (lone surrogates, integers
beyond 64 bits) goes through the standard library instead of failing.
"""

from __future__ import annotations

import importlib
import json
import json.encoder
import math
from typing import Any, Protocol

try:  # a dependency; without it everything still works through the standard library
    import orjson as _orjson
except ImportError:  # pragma: no cover
    _orjson = None  # type: ignore[assignment]

__all__ = ["JsonCodec", "OrjsonCodec", "StdlibJsonCodec", "default_codec", "sorted_compact_json"]


class JsonCodec(Protocol):
    name: str

    def dumps(self, value: Any) -> bytes:
        """Compact UTF-8 JSON; non-finite floats become null."""
        ...

    def loads(self, data: bytes | str) -> Any: ...


def _finite(value: Any) -> Any:
    """A copy with NaN and infinities as None, the way orjson writes them."""
    if type(value) is float:
        return value if math.isfinite(value) else None
    if type(value) is dict:
        return {key: _finite(inner) for key, inner in value.items()}
    if type(value) is list:
        return [_finite(inner) for inner in value]
    return value


def _no_default(value: Any) -> Any:
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


class StdlibJsonCodec:
    """The standard library's JSON, with its C encoder built once instead of per call."""

    name = "json"

    def __init__(self) -> None:
        # `c_make_encoder` is the C accelerator `json.dumps` builds on every call; it is absent
        # on interpreters without the `_json` module, where the plain encoder is used.
        make_encoder = getattr(json.encoder, "c_make_encoder", None)
        self._encode_chunks = (
            None
            if make_encoder is None
            else make_encoder(
                None,
                _no_default,
                json.encoder.encode_basestring,
                None,
                ":",
                ",",
                False,
                False,
                False,
            )
        )
        self._encoder = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, allow_nan=False)
        self._decoder = json.JSONDecoder()

    def _text(self, value: Any) -> str:
        if self._encode_chunks is None:
            return self._encoder.encode(value)
        return "".join(self._encode_chunks(value, 0))

    def dumps(self, value: Any) -> bytes:
        try:
            text = self._text(value)
        except ValueError:  # NaN or infinity: not JSON
            text = self._text(_finite(value))
        # A lone surrogate (valid in a Python str, not in UTF-8) is written as its JSON escape.
        return text.encode("utf-8", "backslashreplace")

    def loads(self, data: bytes | str) -> Any:
        return json.loads(data)


_DIGITS_AS_ZERO = bytes(0x30 if 0x30 <= byte <= 0x39 else 0x20 for byte in range(256))
_LONG_DIGIT_RUN = b"0" * 19


class OrjsonCodec:
    """orjson, falling back to the standard library for the few inputs it refuses."""

    name = "orjson"

    def __init__(self) -> None:
        self._orjson: Any = importlib.import_module("orjson")
        self._fallback = StdlibJsonCodec()

    def dumps(self, value: Any) -> bytes:
        try:
            return self._orjson.dumps(value)  # type: ignore[no-any-return]
        except TypeError:  # lone surrogate, int beyond 64 bits, non-str key, deep nesting
            return self._fallback.dumps(value)

    def loads(self, data: bytes | str) -> Any:
        """What `json.loads` returns or raises. What orjson refuses (NaN and infinities, lone
        surrogates, numbers beyond a double, encodings other than UTF-8, malformed text) is
        read again by the standard library, which accepts it or raises its own, more specific
        error. orjson reads an integer outside [-2**63, 2**64) as a float; such an integer has
        19 digits or more, so any run that long (even inside a string) goes to the standard
        library from the start."""
        raw = data.encode("utf-8", "surrogatepass") if isinstance(data, str) else data
        if _LONG_DIGIT_RUN not in raw.translate(_DIGITS_AS_ZERO):
            try:
                return self._orjson.loads(data)
            except ValueError:
                pass
        return self._fallback.loads(data)


def default_codec() -> JsonCodec:
    """orjson when installed, the standard library otherwise."""
    try:
        return OrjsonCodec()
    except ImportError:
        return StdlibJsonCodec()


# Values orjson writes exactly as `json.dumps(..., ensure_ascii=False)` does. Floats are not among
# them: orjson spells some differently (`0.00001` for `1e-05`, `null` for NaN).
_SAME_SPELLING = frozenset((str, int, bool, type(None)))
# Deeper values take the standard library's path; orjson refuses more than 255 levels anyway.
_MAX_FAST_DEPTH = 200


def sorted_compact_json(value: dict[str, Any] | list[Any]) -> bytes | None:
    """`json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()`,
    written by orjson, when orjson provably writes exactly that; None when it may not (floats,
    integers beyond 64 bits, lone surrogates, keys that are not strings, very deep nesting), and
    the caller takes the standard library's path."""
    if _orjson is None or not _spelled_alike(value, 0):
        return None
    try:
        return _orjson.dumps(value, option=_orjson.OPT_SORT_KEYS)
    except _orjson.JSONEncodeError:  # a big integer, a lone surrogate, a key that is no str
        return None


def _spelled_alike(value: Any, depth: int) -> bool:
    """Whether orjson writes `value` (a dict or list) as the standard library does: only plain
    dicts, lists, strings, integers, booleans and nulls, not too deep. Exact types, so subclasses
    and the types orjson alone serializes (UUID, datetime, enum, dataclass) never qualify."""
    kind = type(value)
    if depth > _MAX_FAST_DEPTH or (kind is not dict and kind is not list):
        return False
    for inner in value.values() if kind is dict else value:
        if type(inner) not in _SAME_SPELLING and not _spelled_alike(inner, depth + 1):
            return False
    return True
