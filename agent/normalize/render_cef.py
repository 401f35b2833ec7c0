"""CEF (ArcSight Common Event Format): one line per event, for syslog SIEMs and Sentinel's AMA.

`CEF:0|NordPass|NordPass Business|<agent version>|<signature id>|<name>|<severity>|<extension>`.
Escaping follows the CEF spec: in the header `\\` and `|` are escaped; in extension values `\\`
and `=` are escaped and newlines become `\\n` / `\\r`. Other control characters cannot be escaped
in CEF and become spaces, so no raw line break or control character ever leaves here. Values are
cut to the spec's length limits before escaping, so a cut never splits an escape. Extension keys
are the ones Microsoft maps onto `CommonSecurityLog` columns.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Final

from agent import __version__
from agent.normalize.canonical import CanonicalEvent
from agent.normalize.catalog import CATALOG, ActionSpec
from agent.normalize.fields import FieldDoc
from agent.normalize.serialization import default_codec
from agent.normalize.timestamps import epoch_ms

__all__ = [
    "CEF_FIELDS",
    "CEF_TO_COMMON_SECURITY_LOG",
    "EXTENSION_LIMITS",
    "HEADER_LIMITS",
    "escape_extension",
    "escape_header",
    "render_cef",
]

VENDOR: Final = "NordPass"
PRODUCT: Final = "NordPass Business"

# Header field limits (characters) from the ArcSight CEF spec; Name's is ArcSight's `name`.
HEADER_LIMITS: Final = {"vendor": 63, "product": 63, "version": 31, "signature": 1023, "name": 512}
# Extension keys this renderer emits and their ArcSight length limits (characters).
EXTENSION_LIMITS: Final[Mapping[str, int]] = {
    "rt": 24,
    "act": 63,
    "outcome": 63,
    "reason": 1023,
    "cat": 1023,
    "suser": 1023,
    "suid": 1023,
    "spriv": 1023,
    "duser": 1023,
    "duid": 1023,
    "src": 15,
    "c6a1": 45,
    "c6a1Label": 1023,
    "requestClientApplication": 1023,
    "externalId": 40,
    "deviceExternalId": 255,
    **{f"cs{number}": 4000 for number in range(1, 7)},
    **{f"cs{number}Label": 1023 for number in range(1, 7)},
}
# Microsoft's CEF -> CommonSecurityLog mapping for every key above (and the header fields).
CEF_TO_COMMON_SECURITY_LOG: Final[Mapping[str, str]] = {
    "Vendor": "DeviceVendor",
    "Product": "DeviceProduct",
    "Version": "DeviceVersion",
    "Signature ID": "DeviceEventClassID",
    "Name": "Activity",
    "Severity": "LogSeverity",
    "rt": "ReceiptTime",
    "act": "DeviceAction",
    "outcome": "EventOutcome",
    "reason": "Reason",
    "cat": "DeviceEventCategory",
    "suser": "SourceUserName",
    "suid": "SourceUserID",
    "spriv": "SourceUserPrivileges",
    "duser": "DestinationUserName",
    "duid": "DestinationUserID",
    "src": "SourceIP",
    "c6a1": "DeviceCustomIPv6Address1",
    "c6a1Label": "DeviceCustomIPv6Address1Label",
    "requestClientApplication": "RequestClientApplication",
    "externalId": "ExternalID",
    "deviceExternalId": "DeviceExternalID",
    **{f"cs{number}": f"DeviceCustomString{number}" for number in range(1, 7)},
    **{f"cs{number}Label": f"DeviceCustomString{number}Label" for number in range(1, 7)},
}

_HEADER_SPECIAL = re.compile(r"[\\|\x00-\x1f\x7f-\x9f\u2028\u2029]")
_EXTENSION_SPECIAL = re.compile(r"[\\=\x00-\x1f\x7f-\x9f\u2028\u2029]")
_EXTENSION_ESCAPES: Final = {"\\": "\\\\", "=": "\\=", "\n": "\\n", "\r": "\\r"}
# Metadata keys with a CEF field of their own; the rest goes to cs6 as JSON.
_MAPPED_METADATA = frozenset({"ip_address", "provider", "platform", "items", "msp"})
_JSON = default_codec()


def _header_character(match: re.Match[str]) -> str:
    character = match.group()
    return "\\" + character if character in "\\|" else " "


def _extension_character(match: re.Match[str]) -> str:
    return _EXTENSION_ESCAPES.get(match.group(), " ")


def escape_header(text: str) -> str:
    """A header field: `\\` and `|` escaped, any control character (newlines too) a space."""
    if _HEADER_SPECIAL.search(text) is None:
        return text
    return _HEADER_SPECIAL.sub(_header_character, text)


def escape_extension(text: str) -> str:
    """An extension value: `\\` and `=` escaped, newlines as `\\n`/`\\r`, other controls a space."""
    if _EXTENSION_SPECIAL.search(text) is None:
        return text
    return _EXTENSION_SPECIAL.sub(_extension_character, text)


def _header_field(text: str, limit: str) -> str:
    return escape_header(text[: HEADER_LIMITS[limit]])


def _prepare(spec: ActionSpec) -> str:
    """The header and the extension pairs fixed by the action; only the rest varies per event."""
    header = "|".join(
        (
            "CEF:0",
            _header_field(VENDOR, "vendor"),
            _header_field(PRODUCT, "product"),
            _header_field(__version__, "version"),
            _header_field(spec.signature_id, "signature"),
            _header_field(spec.name, "name"),
            str(spec.severity),
        )
    )
    constant = [("act", spec.action)]
    if spec.outcome != "n/a":
        constant.append(("outcome", spec.outcome))
    if spec.result_detail:
        constant.append(("reason", spec.result_detail))
    return f"{header}|" + " ".join(f"{key}={_value(key, value)}" for key, value in constant)


def _value(key: str, value: str) -> str:
    return escape_extension(value[: EXTENSION_LIMITS[key]])


_PREPARED: Final = {spec: _prepare(spec) for spec in CATALOG}


def _details(event: CanonicalEvent) -> str | None:
    """cs6: what has no CEF field (other metadata keys, unknown top-level fields) as JSON."""
    details: dict[str, Any] = {
        key: value for key, value in event.metadata.items() if key not in _MAPPED_METADATA
    }
    if event.unmapped:
        details["unmapped"] = event.unmapped
    return _JSON.dumps(details).decode() if details else None


def _varying_pairs(event: CanonicalEvent) -> list[tuple[str, str | None]]:
    return [
        ("cat", event.event_type),
        ("suser", event.actor_email),
        ("suid", event.actor_uuid),
        ("spriv", event.actor_role),
        ("duser", event.member_email),
        ("duid", event.member_uuid),
        ("src", event.source_ipv4),
        ("c6a1", event.source_ipv6),
        ("c6a1Label", "Source IPv6 Address" if event.source_ipv6 else None),
        ("requestClientApplication", event.platform),
        ("externalId", event.event_id),
        ("deviceExternalId", event.organization_uuid),
        ("cs1", event.tenant),
        ("cs1Label", "Tenant"),
        ("cs2", event.initiator),
        ("cs2Label", "Initiator" if event.initiator else None),
        ("cs3", _JSON.dumps(event.items).decode() if event.items else None),
        ("cs3Label", "Items" if event.items else None),
        # CommonSecurityLog.ExternalID is an int column, so Sentinel drops a UUID externalId;
        # cs4 carries the event id for deduplication there.
        ("cs4", event.event_id),
        ("cs4Label", "Event ID"),
        ("cs5", event.provider),
        ("cs5Label", "Login Provider" if event.provider else None),
    ]


def render_cef(event: CanonicalEvent) -> str:
    """The CEF line for one event, without a trailing newline (framing is the transport's)."""
    prefix = _PREPARED.get(event.spec) or _prepare(event.spec)
    parts = [prefix, f" rt={epoch_ms(event.occurred_at)}"]
    for key, value in _varying_pairs(event):
        if value:
            parts.append(f" {key}={_value(key, value)}")
    details = _details(event) if len(event.metadata) or event.unmapped else None
    if details:
        parts.append(f" cs6={_value('cs6', details)} cs6Label=Details")
    return "".join(parts)


CEF_FIELDS: Final = (
    FieldDoc("Vendor", f"`{VENDOR}`"),
    FieldDoc("Product", f"`{PRODUCT}`"),
    FieldDoc("Version", "the agent's version: it identifies this CEF layout"),
    FieldDoc("Signature ID", "catalog `signature_id`: `type:action` (`:value` for a variant)"),
    FieldDoc("Name", "catalog name of the action"),
    FieldDoc("Severity", "catalog severity, 0-10"),
    FieldDoc("rt", "event time, epoch milliseconds"),
    FieldDoc("act", "NordPass `action`"),
    FieldDoc("outcome", "catalog outcome (success / failure); absent when not applicable"),
    FieldDoc("reason", "catalog result detail of a failure, e.g. `Incorrect password`"),
    FieldDoc("cat", "NordPass `type`"),
    FieldDoc("suser", "actor email: `metadata.msp.user_email`, else `user.email`"),
    FieldDoc("suid", "actor id: `metadata.msp.user_uuid`, else `user.uuid`"),
    FieldDoc("spriv", "the MSP admin's role, `metadata.msp.user_role`"),
    FieldDoc("duser", "member email, `user.email`"),
    FieldDoc("duid", "member id, `user.uuid`"),
    FieldDoc("src", "`metadata.ip_address` when it is IPv4"),
    FieldDoc("c6a1", "`metadata.ip_address` when it is IPv6 (labelled `Source IPv6 Address`)"),
    FieldDoc("requestClientApplication", "`metadata.platform`"),
    FieldDoc("externalId", "the agent's event id"),
    FieldDoc("deviceExternalId", "`organization_uuid`"),
    FieldDoc("cs1", "tenant name (label `Tenant`)"),
    FieldDoc("cs2", "`initiator` (label `Initiator`)"),
    FieldDoc("cs3", "`metadata.items` as JSON (label `Items`)"),
    FieldDoc("cs4", "the event id again, because CommonSecurityLog.ExternalID is an int"),
    FieldDoc("cs5", "`metadata.provider` (label `Login Provider`)"),
    FieldDoc("cs6", "other metadata keys and unknown top-level fields as JSON (label `Details`)"),
)
