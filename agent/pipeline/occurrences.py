"""Which events of a verified pass are new: fingerprint counts, not increments.

The API has no ids, so a window's events are grouped by fingerprint. Per fingerprint the store
keeps the highest count any verified pass observed; a pass that sees more occurrences than stored
yields occurrences `stored + 1 … observed` as new events. Genuinely identical events keep their
multiplicity, while rows a drifting page repeated never become new events because a verified pass
cannot contain them. Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, NamedTuple

from agent.pipeline.identity import fingerprint

__all__ = ["NewOccurrence", "Observation", "new_occurrences", "observe"]


@dataclass(slots=True)
class Observation:
    second: int
    count: int
    raw: dict[str, Any]


class NewOccurrence(NamedTuple):  # a tuple: built per event, and cheaper than a dataclass
    fingerprint: bytes
    occurrence: int
    second: int
    raw: dict[str, Any]


def observe(events: Iterable[dict[str, Any]]) -> dict[bytes, Observation]:
    """Group a pass's events by fingerprint, counting occurrences."""
    observed: dict[bytes, Observation] = {}
    for raw in events:
        key = fingerprint(raw)
        seen = observed.get(key)
        if seen is None:
            observed[key] = Observation(second=int(raw["timestamp"]), count=1, raw=raw)
        else:
            seen.count += 1
    return observed


def new_occurrences(
    observed: Mapping[bytes, Observation], stored: Mapping[bytes, int]
) -> list[NewOccurrence]:
    """Occurrences beyond what is stored, oldest second first (a stable delivery order)."""
    fresh = [
        NewOccurrence(key, index, seen.second, seen.raw)
        for key, seen in observed.items()
        for index in range(stored.get(key, 0) + 1, seen.count + 1)
    ]
    fresh.sort(key=lambda item: (item.second, item.fingerprint, item.occurrence))
    return fresh
