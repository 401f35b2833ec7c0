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
from agent.normalize.actions import ActionSpec
from agent.normalize.canonical import CanonicalEvent
from agent.normalize.catalog import CATALOG
from agent.normalize.fields import FieldDoc
from agent.normalize.serialization import default_codec
from agent.normalize.timestamps import epoch_ms

__all__ = [
    "CEF_FIELDS",
    "CEF_TO_COMMON_SECURITY_LOG",
    "EXTENSION_LIMITS",
    "HEADER_LIMITS",
    "cef_line",
    "escape_extension",
    "escape_header",
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
# Metadata keys with a CEF field of their own are `ip_address`, `provider`, `platform`, `items` and
# `msp`; the other keys go to cs6 as JSON, and so does a value its own field cannot carry.
_MSP_FIELDS = frozenset({"user_uuid", "user_email", "user_role"})
_TEXT_TYPES = (str, int, float, type(None))
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


_LIMITS: Final = {f" {key}=": limit for key, limit in EXTENSION_LIMITS.items()}
# Below this total length no value can exceed its limit, except the two checked explicitly:
# every smaller limit belongs to an address that parsing already bounds (src 15, c6a1 45).
_UNBOUNDED_FROM: Final = 1023
_EXTERNAL_ID_LIMIT: Final = EXTENSION_LIMITS["externalId"]
_DEVICE_EXTERNAL_ID_LIMIT: Final = EXTENSION_LIMITS["deviceExternalId"]
# Every byte maps to itself except those an extension value cannot carry as they are (C0
# controls, DEL, `\\` and `=`), which become spaces: ASCII text this leaves unchanged needs no
# escaping. One C pass over the bytes, far cheaper than a regex over every event's values.
_ASCII_SPECIAL_TO_SPACE: Final = bytes(
    0x20 if byte < 0x20 or byte in b"\x7f\\=" else byte for byte in range(256)
)


def _carried(key: str, value: Any, source_ipv4: str | None, source_ipv6: str | None) -> bool:
    """Whether the metadata `key` is in a CEF field of its own, value and all."""
    if key == "ip_address":  # an address with a port, a list...: in neither address field
        return type(value) is str and value in (source_ipv4, source_ipv6)
    if key in ("provider", "platform"):  # cs5 / requestClientApplication take text
        return type(value) in _TEXT_TYPES
    if key == "items":  # cs3 takes the list
        return type(value) is list
    if key == "msp":  # suser / suid / spriv take the MSP admin's text fields, nothing else
        return (
            type(value) is dict
            and ("user_uuid" in value or "user_email" in value)
            and value.keys() <= _MSP_FIELDS
            and all(type(inner) in _TEXT_TYPES for inner in value.values())
        )
    return False


def _all_carried(
    metadata: Mapping[str, Any], source_ipv4: str | None, source_ipv6: str | None
) -> bool:
    """Whether nothing of the metadata is left for cs6 (the usual case: no details to build)."""
    for key, value in metadata.items():  # noqa: SIM110 - all() over a generator: 4 % slower
        if not _carried(key, value, source_ipv4, source_ipv6):
            return False
    return True


def _details(
    metadata: Mapping[str, Any],
    unmapped: Mapping[str, Any] | None,
    source_ipv4: str | None,
    source_ipv6: str | None,
) -> str | None:
    """cs6: what has no CEF field (other metadata keys, values their field cannot carry,
    unknown top-level fields) as JSON."""
    details: dict[str, Any] = {
        key: value
        for key, value in metadata.items()
        if not _carried(key, value, source_ipv4, source_ipv6)
    }
    if unmapped:
        details["unmapped"] = unmapped
    return _JSON.dumps(details).decode() if details else None


def _pairs(event: CanonicalEvent) -> list[str]:  # noqa: PLR0912 - one branch per optional field
    """Key, value, key, value... for this event's fields (keys carry their ` ` and `=`)."""
    # One unpacking instead of an attribute read per field: reading a NamedTuple attribute
    # calls a descriptor, and this runs for every event.
    # fmt: off
    (tenant, event_id, _, event_type, _, _, organization_uuid, member_uuid, member_email,
     initiator, actor_uuid, actor_email, actor_role, _, source_ipv4, source_ipv6, provider,
     platform, items, metadata, unmapped, _) = event
    # fmt: on
    pairs = [" cat=", event_type]
    extend = pairs.extend
    if actor_email:
        extend((" suser=", actor_email))
    if actor_uuid:
        extend((" suid=", actor_uuid))
    if actor_role:
        extend((" spriv=", actor_role))
    if member_email:
        extend((" duser=", member_email))
    if member_uuid:
        extend((" duid=", member_uuid))
    if source_ipv4:
        extend((" src=", source_ipv4))
    if source_ipv6:
        extend((" c6a1=", source_ipv6, " c6a1Label=", "Source IPv6 Address"))
    if platform:
        extend((" requestClientApplication=", platform))
    if event_id:
        extend((" externalId=", event_id))
    if organization_uuid:
        extend((" deviceExternalId=", organization_uuid))
    if tenant:
        extend((" cs1=", tenant, " cs1Label=", "Tenant"))
    if initiator:
        extend((" cs2=", initiator, " cs2Label=", "Initiator"))
    if items:
        extend((" cs3=", _JSON.dumps(items).decode(), " cs3Label=", "Items"))
    if event_id:
        # CommonSecurityLog.ExternalID is an int column, so Sentinel drops a UUID externalId;
        # cs4 carries the event id for deduplication there.
        extend((" cs4=", event_id, " cs4Label=", "Event ID"))
    if provider:
        extend((" cs5=", provider, " cs5Label=", "Login Provider"))
    if unmapped or not _all_carried(metadata, source_ipv4, source_ipv6):
        details = _details(metadata, unmapped, source_ipv4, source_ipv6)
        if details:
            extend((" cs6=", details, " cs6Label=", "Details"))
    return pairs


def _is_plain(text: str) -> bool:
    """Whether `text` holds nothing that an extension value must escape or replace."""
    if text.isascii():
        data = text.encode()
        return data.translate(_ASCII_SPECIAL_TO_SPACE) == data
    return _EXTENSION_SPECIAL.search(text) is None


def _careful_extension(pairs: list[str]) -> str:
    """Each value cut to its limit, then escaped: the cut can never split an escape."""
    parts: list[str] = []
    for index in range(0, len(pairs), 2):
        key, value = pairs[index], pairs[index + 1]
        parts += (key, escape_extension(value[: _LIMITS[key]]))
    return "".join(parts)


def cef_line(event: CanonicalEvent) -> str:
    """The CEF line for one event, without a trailing newline (framing is the transport's)."""
    spec = event.spec
    prefix = _PREPARED.get(spec) or _prepare(spec)
    pairs = _pairs(event)
    values = "".join(pairs[1::2])
    if (
        len(values) < _UNBOUNDED_FROM
        and len(event.event_id) <= _EXTERNAL_ID_LIMIT
        and len(event.organization_uuid or "") <= _DEVICE_EXTERNAL_ID_LIMIT
        and _is_plain(values)
    ):
        extension = "".join(pairs)  # nothing to cut or escape: the usual case
    else:
        extension = _careful_extension(pairs)
    return f"{prefix} rt={epoch_ms(event.occurred_at)}{extension}"


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
    FieldDoc(
        "cs6",
        "other metadata keys, values their own field cannot carry, and unknown top-level fields, "
        "as JSON (label `Details`)",
    ),
)
