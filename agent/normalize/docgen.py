"""Generates `docs/formats.md` from the code: each format's fields, the Sentinel and CEF column
mappings, the privacy profiles and the action catalog.

    python -m agent.normalize.docgen [--check] [PATH]

`--check` exits 1 when the file differs from what the code would write (a test does the same).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path

from agent.normalize.catalog import CATALOG
from agent.normalize.formatter import RENDERERS
from agent.normalize.kinds import KINDS
from agent.normalize.privacy import ITEM_NAME_KEYS, ITEM_TYPE_KEYS
from agent.normalize.render_asim import ASIM_FIELDS, SCHEMA_VERSIONS
from agent.normalize.render_cef import CEF_TO_COMMON_SECURITY_LOG, EXTENSION_LIMITS
from agent.normalize.sentinel_columns import ASIM_TABLES

__all__ = ["generate", "main"]

DEFAULT_PATH = Path(__file__).parents[2] / "docs" / "formats.md"

_INTRO = """\
# Output formats

Generated from the code by `python -m agent.normalize.docgen`; do not edit by hand (a test fails
when this file and the code disagree).

Every event is canonicalized once (`agent/normalize/canonical.py`), its action looked up in the
catalog below, and rendered by one pure function per format. The *member* is the event's `user`;
the *actor* is the MSP admin from `metadata.msp` when present (as NordPass's own Sentinel mapper
does), otherwise the member. NordPass does not document whether `user` is the actor or the
subject of an admin action, so the member is also the target where a format has one.
"""


def _keys(keys: Iterable[str]) -> str:
    return ", ".join(f"`{key}`" for key in sorted(keys))


def _cell(text: object) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def _table(header: Sequence[str], rows: Iterable[Sequence[object]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(_cell(value) for value in row) + " |" for row in rows]
    return lines


def _privacy() -> list[str]:
    names, types = _keys(ITEM_NAME_KEYS), _keys(ITEM_TYPE_KEYS)
    rows = [
        ("`full`", "everything NordPass sent"),
        (
            "`admin`",
            (
                f"what a NordPass Admin sees: item names ({names}) and types ({types}) removed "
                "anywhere under `metadata`; bare strings in `metadata.items` dropped"
            ),
        ),
        (
            "`pseudonymize`",
            (
                "every email address anywhere in the event, and item names, replaced by "
                "HMAC-SHA256 under a key derived per tenant: `<24 hex>@pseudonymized.invalid`, "
                "`item-<24 hex>`"
            ),
        ),
        (
            "`drop_fields`",
            (
                "dotted paths into the raw event removed, with any profile, e.g. "
                "`metadata.ip_address`, `metadata.items.name`"
            ),
        ),
    ]
    return [
        "## Privacy profiles",
        "",
        "Applied to the raw event before canonicalization, so every format obeys them.",
        "",
        *_table(("profile", "effect"), rows),
    ]


def _formats() -> list[str]:
    lines = ["## Formats", ""]
    lines += _table(
        ("format", "record", "serialized as"),
        (
            (f"`{name}`", renderer.summary, "one CEF line" if renderer.text else "compact JSON")
            for name, renderer in RENDERERS.items()
        ),
    )
    for name, renderer in RENDERERS.items():
        if name == "asim":
            lines += ["", *_asim()]
            continue
        lines += ["", f"### `{name}`", ""]
        lines += _table(
            ("field", "source"), ((f"`{doc.name}`", doc.source) for doc in renderer.fields)
        )
    return lines


def _asim() -> list[str]:
    tables = list(ASIM_TABLES.items())
    header = ("column", "type", *(f"{schema} ({SCHEMA_VERSIONS[schema]})" for schema, _ in tables))
    rows = []
    for doc in ASIM_FIELDS:
        kinds = {table.columns[doc.name] for _, table in tables if doc.name in table.columns}
        marks = ["yes" if doc.name in table.columns else "-" for _, table in tables]
        rows.append((f"`{doc.name}`", "/".join(sorted(kinds)), *marks, doc.source))
    return [
        "### `asim`",
        "",
        "Tables: " + ", ".join(f"{schema} -> `{table.name}`" for schema, table in tables) + ".",
        "Only real columns of each table are sent (column lists in `sentinel_columns.py`).",
        "",
        *_table((*header, "source"), rows),
    ]


def _cef_mapping() -> list[str]:
    rows = (
        (f"`{key}`", f"`{column}`", EXTENSION_LIMITS.get(key, "-"))
        for key, column in CEF_TO_COMMON_SECURITY_LOG.items()
    )
    return [
        "### CEF -> CommonSecurityLog",
        "",
        *_table(("CEF", "CommonSecurityLog column", "max length"), rows),
    ]


def _catalog() -> list[str]:
    rows = []
    for spec in CATALOG:
        kind = spec.kind
        ecs = "/".join((",".join(kind.ecs_category), ",".join(kind.ecs_type))).strip("/")
        cim = "/".join(part for part in (kind.cim_datamodel, kind.cim_action) if part)
        rows.append(
            (
                f"`{spec.event_type}`",
                f"`{spec.action}`" + (f" ({spec.variant})" if spec.variant else ""),
                spec.name,
                spec.area,
                spec.outcome,
                spec.severity,
                f"{kind.asim_schema}/{kind.asim_event_type}",
                f"{kind.ocsf_class_uid}/{kind.ocsf_activity_id}",
                ecs or "-",
                cim or "-",
            )
        )
    header = ("type", "action", "name", "area", "outcome", "severity", "ASIM", "OCSF", "ECS", "CIM")
    return [
        "## Action catalog",
        "",
        (
            f"{len(CATALOG)} entries over {len(KINDS)} kinds of activity. CEF signature id:"
            " `type:action`. CIM is the Splunk data model and its `action` (for Authentication"
            " the outcome). An action not listed maps to a generic entry (AuditEvent/Other,"
            " OCSF 6003/99, severity 5), is forwarded and counted."
        ),
        "",
        *_table(header, rows),
    ]


def generate() -> str:
    """The whole of docs/formats.md."""
    sections = [_INTRO.splitlines(), _formats(), _cef_mapping(), _privacy(), _catalog()]
    return "\n".join(line for section in sections for line in [*section, ""]).rstrip("\n") + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Write docs/formats.md from the code.")
    parser.add_argument("path", nargs="?", type=Path, default=DEFAULT_PATH)
    parser.add_argument("--check", action="store_true", help="exit 1 if the file is stale")
    args = parser.parse_args(argv)
    text = generate()
    if args.check:
        current = args.path.read_text(encoding="utf-8") if args.path.exists() else ""
        return 0 if current == text else 1
    args.path.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
