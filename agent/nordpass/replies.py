"""Parsing the Activity Log API's reply into pages, with a precise error for every bad shape.

Events are kept as the dicts parsed from the reply, unknown fields included. A reply that is not
the documented shape raises `ResponseFormatError` naming the tenant and page (`context`) and what
was wrong, never the request's token.

Bodies are decoded by orjson where it yields exactly what the standard library's `json.loads`
does, and by the standard library otherwise, so events (and their fingerprints) and the errors
for malformed bodies do not depend on which one read them.
"""

from __future__ import annotations

import json
from typing import Any

from agent.errors import ResponseFormatError
from agent.nordpass.models import ActivityPage, PageMetadata, RawEvent
from agent.normalize.serialization import default_codec

__all__ = ["decode_json", "parse_page"]

# Python type names as a JSON reader would say them, for format error messages.
_JSON_TYPE_NAMES = {
    dict: "an object",
    list: "an array",
    str: "a string",
    int: "an integer",
    float: "a number",
    bool: "a boolean",
    type(None): "null",
}
_METADATA_FIELDS = ("total", "per_page", "current_page", "total_pages")
_CODEC = default_codec()


def parse_page(
    content: bytes, *, context: str, page: int, server_time: float | None
) -> ActivityPage:
    """Validate a reply body and wrap it, keeping every event dict and unknown key as received."""
    try:
        document = decode_json(content)
    except ValueError as err:  # JSONDecodeError, or UnicodeDecodeError on bytes that are not text
        raise ResponseFormatError(
            f"{context}: reply is not valid JSON ({_json_problem(err, content)})"
        ) from None
    if not isinstance(document, dict):
        raise ResponseFormatError(f"{context}: reply is {_json_type(document)}, not an object")
    return ActivityPage(
        events=_parse_events(document.get("data"), context),
        metadata=_parse_metadata(document.get("metadata"), context),
        page=page,
        server_time=server_time,
        extra={key: value for key, value in document.items() if key not in ("data", "metadata")},
    )


def decode_json(content: bytes) -> Any:
    """What `json.loads(content)` returns or raises, value for value and error for error (the
    project's codec: orjson where it reads exactly the same, the standard library otherwise)."""
    return _CODEC.loads(content)


def _parse_events(data: object, context: str) -> list[RawEvent]:
    if not isinstance(data, list):
        problem = "is missing" if data is None else f"is {_json_type(data)}, not an array"
        raise ResponseFormatError(f"{context}: 'data' {problem}")
    for index, event in enumerate(data):
        if not isinstance(event, dict):
            raise ResponseFormatError(
                f"{context}: event {index} of 'data' is {_json_type(event)}, not an object"
            )
        if not _is_int(event.get("timestamp")):
            raise ResponseFormatError(
                f"{context}: event {index} of 'data' has 'timestamp' "
                f"{_json_type(event.get('timestamp'))}, not integer Unix seconds"
            )
    return data


def _parse_metadata(metadata: object, context: str) -> PageMetadata:
    if not isinstance(metadata, dict):
        problem = "is missing" if metadata is None else f"is {_json_type(metadata)}, not an object"
        raise ResponseFormatError(f"{context}: 'metadata' {problem}")
    values = {name: _metadata_count(metadata, name, context) for name in _METADATA_FIELDS}
    if values["per_page"] == 0:
        raise ResponseFormatError(f"{context}: 'metadata.per_page' is 0; pages cannot advance")
    extra = {key: value for key, value in metadata.items() if key not in _METADATA_FIELDS}
    return PageMetadata(**values, extra=extra)


def _metadata_count(metadata: dict[str, Any], name: str, context: str) -> int:
    value = metadata.get(name)
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    if name not in metadata:
        shown = "missing"
    elif _is_int(value):
        shown = f"negative ({value})"
    else:
        shown = _json_type(value)
    raise ResponseFormatError(
        f"{context}: 'metadata.{name}' is {shown}, not a non-negative integer"
    )


def _is_int(value: Any) -> bool:
    # bool is an int subclass in Python but a different JSON type.
    return isinstance(value, int) and not isinstance(value, bool)


def _json_type(value: object) -> str:
    return _JSON_TYPE_NAMES.get(type(value), type(value).__name__)


def _json_problem(err: ValueError, content: bytes) -> str:
    if not content.strip():
        return "the body is empty"
    if isinstance(err, json.JSONDecodeError):
        # An unterminated string can only end at the end of the body: JSON strings hold no newline.
        if err.pos >= len(err.doc.rstrip()) or err.msg.startswith("Unterminated string"):
            return f"it ends early after {len(content)} bytes, probably truncated"
        return f"{err.msg}: line {err.lineno} column {err.colno}"
    return "the body is not UTF-8 text"
