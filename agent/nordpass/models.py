"""Shapes of the NordPass Activity Log API as the agent sees them.

The API has no event ids and no documented sort order or bound convention, so an event is kept as
the dict parsed from the reply, unchanged (unknown fields included): the pipeline fingerprints it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

__all__ = [
    "MAX_PER_PAGE",
    "MAX_QUERY_SPAN_SECONDS",
    "REGION_URLS",
    "ActivityPage",
    "InconsistencyKind",
    "PageInconsistency",
    "PageMetadata",
    "PassResult",
    "RawEvent",
]

REGION_URLS: dict[str, str] = {
    "eu": "https://api-activities.eu.nordpass.com/activities/query",
    "us": "https://api-activities.us.nordpass.com/activities/query",
}

# The largest page the agent asks for (`page_size`); the API's own maximum is not published, and
# a page larger than it allows comes back at its size, `metadata.per_page` telling which.
MAX_PER_PAGE = 1000

# The API refuses one query window longer than 90 days.
MAX_QUERY_SPAN_SECONDS = 90 * 24 * 3600

RawEvent = dict[str, Any]


@dataclass(frozen=True, slots=True)
class PageMetadata:
    total: int
    per_page: int
    current_page: int
    total_pages: int
    # Metadata keys the API added beyond the four above, kept as received.
    extra: dict[str, Any] = field(default_factory=dict, hash=False)


@dataclass(frozen=True, slots=True)
class ActivityPage:
    """One page as received. `server_time` is the reply's `Date` header (Unix seconds), if any."""

    events: list[RawEvent]
    metadata: PageMetadata
    page: int
    server_time: float | None
    # Top-level reply keys other than `data` and `metadata`, kept as received.
    extra: dict[str, Any] = field(default_factory=dict)


# `page_limit`: the pass stopped at its hard page cap before receiving `total` rows.
# `repeated_rows`: rows came on two pages and reading their seconds again did not settle it.
InconsistencyKind = Literal[
    "empty_page", "short_page", "total_changed", "overrun", "page_limit", "repeated_rows"
]


@dataclass(frozen=True, slots=True)
class PageInconsistency:
    """Evidence that offset pages over one window did not form one stable result set."""

    kind: InconsistencyKind
    page: int
    detail: str


@dataclass(slots=True)
class PassResult:
    """Every page of one query window read with fixed bounds.

    `verified` holds when the rows received equal `total`, `total` never changed between pages and
    every page but the last was full: only then does the pass prove it saw the whole window.
    `events` may be fewer than `rows_received` when the caller filtered rows to a half-open window.
    """

    timestamp_from: int
    timestamp_to: int
    events: list[RawEvent] = field(default_factory=list)
    rows_received: int = 0
    # Rows the widened query returned outside the half-open window, below and at/after it:
    # evidence of the API's bound convention.
    rows_below: int = 0
    rows_above: int = 0
    total: int = 0
    pages: int = 0
    inconsistencies: list[PageInconsistency] = field(default_factory=list)
    server_time: float | None = None

    @property
    def verified(self) -> bool:
        return not self.inconsistencies and self.rows_received == self.total
