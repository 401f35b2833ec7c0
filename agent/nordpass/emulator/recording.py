"""What the emulated API saw and answered, one record per request, for tests to assert on.

A record is appended when the request arrives (so records are in arrival order) and completed
when the reply is ready; `status` stays None while a reply is being held back. The token itself is
never recorded, only the organisation it belongs to.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

__all__ = ["FaultSource", "RecordedRequest"]

FaultSource = Literal["scripted", "random", "rate_limit"]


@dataclass(slots=True)
class RecordedRequest:
    number: int
    received_at: float
    auth: str = "unchecked"
    organization: str | None = None
    organization_uuid: str | None = None
    body: Any = None
    timestamp_from: int | None = None
    timestamp_to: int | None = None
    page: int | None = None
    # As requested; the reply's `metadata.per_page` is capped by `per_page_cap`.
    per_page: int | None = None
    user_uuids: tuple[str, ...] | None = None
    status: int | None = None
    fault: str | None = None
    fault_source: FaultSource | None = None
    events_returned: int = 0
    total: int | None = None
    # Seconds in the reply's `Retry-After` header, when a random 429 carried one.
    retry_after: float | None = None
