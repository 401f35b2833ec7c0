"""Rows one pass received on more than one page, and what they call for. Pure: no I/O.

Each reply is one consistent snapshot, so a pass can only over-count a row by receiving it on two
pages, and a row it over-counts always stands in for one it missed (a full, stable pass holds
exactly `total` rows). Two causes look alike from here:

- an order that is not stable within one second (a database without a tie-breaker): the pages
  disagree only on which rows of a second straddling their boundary come first. The rows of that
  second are contiguous in the pass, and reading the second alone, in one page, settles it
  (a second too large for one page cannot be settled: its rows are kept as paged; see
  `ActivityClient`'s `one_second` for how the re-read query is bounded);
- page drift (a page served twice): the repeated rows are not contiguous, or do not add up once
  their seconds are read again. The pass cannot be trusted.

Genuine identical twins split by a page boundary look like the first case and cost one request.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from agent.nordpass.models import RawEvent
from agent.normalize.serialization import sorted_compact_json

__all__ = ["RepeatedRows", "find_repeats", "replace_seconds", "whole_second"]


@dataclass(slots=True)
class RepeatedRows:
    """Seconds whose rows a pass received on more than one page, with the page of the first
    repeat: `straddling` ones are settled by reading them again, `drifted` ones cannot be."""

    straddling: dict[int, int] = field(default_factory=dict)
    drifted: dict[int, int] = field(default_factory=dict)


def find_repeats(events: Sequence[RawEvent], page_sizes: Sequence[int]) -> RepeatedRows:
    """Classify the repeated rows of a pass whose pages held `page_sizes` rows, in order."""
    pages = [page for page, size in enumerate(page_sizes, start=1) for _ in range(size)]
    if len(pages) != len(events):
        raise ValueError(f"{len(events)} rows for pages of {sum(page_sizes)}")
    positions: dict[int, list[int]] = {}
    for position, event in enumerate(events):
        positions.setdefault(event["timestamp"], []).append(position)
    found = RepeatedRows()
    for second, spread in positions.items():
        # A row received twice came on two pages (its second too): only a second spread over
        # pages can hold one, so only its rows are compared.
        if pages[spread[0]] == pages[spread[-1]]:
            continue
        first_page: dict[bytes | str, int] = {}
        for position in spread:
            page = pages[position]
            if first_page.setdefault(_row_key(events[position]), page) != page:
                contiguous = spread[-1] - spread[0] + 1 == len(spread)
                (found.straddling if contiguous else found.drifted)[second] = page
                break
    return found


def _row_key(event: RawEvent) -> bytes | str:
    """A key equal for two rows exactly when their `json.dumps(row, sort_keys=True)` texts are:
    the compact form where orjson provably writes it as the standard library does, that text
    otherwise. Equal rows hold the same types, so they take the same path, and a key of one
    kind never stands for a row equal to one keyed by the other."""
    return sorted_compact_json(event) or json.dumps(event, sort_keys=True)


def whole_second(events: Sequence[RawEvent], total: int, second: int) -> list[RawEvent] | None:
    """The rows of `second` on the first page of a query around it (`events`, of `total` rows),
    or None if the page may not hold them all. It does when the whole query fits, or when a row of
    another second follows the second's rows: one page is one snapshot in second order, which
    starts the result, so a block of the second that ends inside it is complete."""
    positions = [index for index, event in enumerate(events) if event["timestamp"] == second]
    if len(events) >= total:
        return [events[index] for index in positions]
    if not positions or positions[-1] - positions[0] + 1 != len(positions):
        return None
    if positions[-1] + 1 == len(events):
        return None
    return [events[index] for index in positions]


def replace_seconds(
    events: Sequence[RawEvent], replacements: Mapping[int, Sequence[RawEvent]]
) -> list[RawEvent]:
    """`events` with the rows of each replaced second swapped for its replacement rows, in
    place of the first row of that second."""
    result: list[RawEvent] = []
    replaced: set[int] = set()
    for event in events:
        second = event["timestamp"]
        if second not in replacements:
            result.append(event)
        elif second not in replaced:
            replaced.add(second)
            result.extend(replacements[second])
    return result
