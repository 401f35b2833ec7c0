"""What HEC accepts on `/services/collector/event`: concatenated JSON envelopes, read in order.

Processing stops at the first bad envelope with Splunk's code for it and its
`invalid-event-number`; the envelopes before it are indexed (that is what HEC does, and what the
connector relies on). Rules follow Splunk's "Format events for HTTP Event Collector".
"""

from __future__ import annotations

import json
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Intake", "Rejection", "TokenDefaults", "read_envelopes"]

_DECODER = json.JSONDecoder()
_WHITESPACE = " \t\r\n"
_METADATA_KEYS = ("host", "source", "sourcetype", "index")


@dataclass(frozen=True, slots=True)
class Rejection:
    status: int
    code: int
    text: str
    invalid_event_number: int | None = None

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {"text": self.text, "code": self.code}
        if self.invalid_event_number is not None:
            body["invalid-event-number"] = self.invalid_event_number
        return body


@dataclass(frozen=True, slots=True)
class TokenDefaults:
    """Where a token's events land when the envelope does not say."""

    name: str
    index: str
    allowed_indexes: Collection[str] | None  # None: any existing index
    sourcetype: str = "httpevent"
    host: str = "hec-emulator"


@dataclass(slots=True)
class Intake:
    """The envelopes accepted (metadata resolved), and why processing stopped, if it did."""

    envelopes: list[dict[str, Any]] = field(default_factory=list)
    rejection: Rejection | None = None


def read_envelopes(
    text: str,
    defaults: TokenDefaults,
    *,
    indexes: Collection[str],
    refuse: Callable[[str], bool] = lambda _: False,
) -> Intake:
    """Parse `text` envelope by envelope. `refuse(raw_envelope)` marks events the emulated Splunk
    will not take (code 6), to script poison events."""
    intake = Intake()
    position, number = _skip(text, 0), 0
    if position == len(text):
        intake.rejection = Rejection(400, 5, "No data")
        return intake
    while position < len(text):
        try:
            envelope, end = _DECODER.raw_decode(text, position)
        except ValueError:
            intake.rejection = Rejection(400, 6, "Invalid data format", number)
            return intake
        problem = _problem(envelope, defaults, indexes)
        if problem is None and refuse(text[position:end]):
            problem = (6, "Invalid data format")
        if problem is not None:
            intake.rejection = Rejection(400, problem[0], problem[1], number)
            return intake
        intake.envelopes.append(_resolved(envelope, defaults))
        position, number = _skip(text, end), number + 1
    return intake


def _skip(text: str, position: int) -> int:
    while position < len(text) and text[position] in _WHITESPACE:
        position += 1
    return position


def _problem(  # noqa: PLR0911 - one exit per HEC rule, in the order HEC checks them
    envelope: object, defaults: TokenDefaults, indexes: Collection[str]
) -> tuple[int, str] | None:
    if not isinstance(envelope, dict):
        return (6, "Invalid data format")
    if "event" not in envelope:
        return (12, "Event field is required")
    if envelope["event"] in ("", None) or envelope["event"] == {}:
        return (13, "Event field cannot be blank")
    if any(not isinstance(envelope.get(key, ""), str) for key in _METADATA_KEYS):
        return (6, "Invalid data format")
    if "time" in envelope and not _is_time(envelope["time"]):
        return (6, "Invalid data format")
    if "fields" in envelope and not _flat_fields(envelope["fields"]):
        return (15, "Error in handling indexed fields")
    index = envelope.get("index") or defaults.index
    allowed = defaults.allowed_indexes
    if index not in indexes or (allowed is not None and index not in allowed):
        return (7, "Incorrect index")
    return None


def _is_time(value: object) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, int | float):
        return True
    if isinstance(value, str):
        try:
            float(value)
        except ValueError:
            return False
        return True
    return False


def _flat_fields(fields: object) -> bool:
    """Indexed fields are a flat object of strings (or numbers), or arrays of those."""

    def scalar(value: object) -> bool:
        return isinstance(value, str | int | float) and not isinstance(value, bool)

    if not isinstance(fields, dict):
        return False
    return all(
        scalar(value) or (isinstance(value, list) and all(scalar(item) for item in value))
        for value in fields.values()
    )


def _resolved(envelope: dict[str, Any], defaults: TokenDefaults) -> dict[str, Any]:
    time = envelope.get("time")
    return {
        "index": envelope.get("index") or defaults.index,
        "source": envelope.get("source") or f"http:{defaults.name}",
        "sourcetype": envelope.get("sourcetype") or defaults.sourcetype,
        "host": envelope.get("host") or defaults.host,
        "time": float(time) if time is not None else None,
        "event": envelope["event"],
        "fields": dict(envelope.get("fields") or {}),
    }
