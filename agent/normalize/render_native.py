"""Native format: the raw NordPass event unchanged, plus the agent's ids and the columns of
NordPass's own Sentinel table `NordPassEventLogs_CL`, so NordPass's official analytic rules and
workbook run on this data as they are (`event_type == "login"`, `metadata.ip_address`...).
"""

from __future__ import annotations

from typing import Any, Final

from agent.normalize.canonical import CanonicalEvent
from agent.normalize.fields import FieldDoc
from agent.normalize.timestamps import iso_utc

__all__ = ["ADDED_FIELDS", "NATIVE_FIELDS", "native_record"]

# Fields the agent adds; `action`, `initiator`, `metadata`, `organization_uuid` and `timestamp`
# already are NordPassEventLogs_CL columns under the API's own names.
ADDED_FIELDS: Final = (
    "event_id",
    "tenant",
    "event_type",
    "user_email",
    "user_uuid",
    "TimeGenerated",
)
_ADDED: Final = frozenset(ADDED_FIELDS)


def native_record(event: CanonicalEvent) -> dict[str, Any]:
    """The raw event plus the added fields. `user_email`/`user_uuid` carry the MSP override."""
    # One unpacking instead of an attribute read per field: reading a NamedTuple attribute
    # calls a descriptor, and this runs for every event.
    # fmt: off
    (tenant, event_id, _, event_type, _, occurred_at, _, _, _, _, actor_uuid, actor_email, _, _,
     _, _, _, _, _, _, _, raw) = event
    # fmt: on
    record = {
        **raw,
        "event_id": event_id,
        "tenant": tenant,
        "event_type": event_type,
        "user_email": actor_email,
        "user_uuid": actor_uuid,
        "TimeGenerated": iso_utc(occurred_at),
    }
    if len(record) != len(raw) + len(ADDED_FIELDS):  # a name in both counts once
        # The API started sending a field of the same name: keep its value beside ours.
        for key in _ADDED.intersection(raw):
            record[f"original_{key}"] = raw[key]
    return record


NATIVE_FIELDS: Final = (
    FieldDoc("type", "as received"),
    FieldDoc("action", "as received (a NordPassEventLogs_CL column)"),
    FieldDoc("timestamp", "as received, Unix seconds (a NordPassEventLogs_CL column)"),
    FieldDoc("organization_uuid", "as received (a NordPassEventLogs_CL column)"),
    FieldDoc("user", "as received: `{uuid, email}` of the member", opaque=True),
    FieldDoc("initiator", "as received (a NordPassEventLogs_CL column)"),
    FieldDoc("metadata", "as received (a NordPassEventLogs_CL column)", opaque=True),
    FieldDoc("event_id", "the agent's event id: stable across replays, for deduplication"),
    FieldDoc("tenant", "tenant name from the agent's configuration"),
    FieldDoc("event_type", "NordPassEventLogs_CL column: the API's `type`"),
    FieldDoc(
        "user_email", "NordPassEventLogs_CL column: `metadata.msp.user_email`, else `user.email`"
    ),
    FieldDoc(
        "user_uuid", "NordPassEventLogs_CL column: `metadata.msp.user_uuid`, else `user.uuid`"
    ),
    FieldDoc("TimeGenerated", "NordPassEventLogs_CL column: event time, ISO-8601 UTC"),
    FieldDoc("original_<field>", "an API field that clashes with an added one, kept aside"),
    FieldDoc("<any other field>", "unknown fields the API sends, as received", opaque=True),
)
