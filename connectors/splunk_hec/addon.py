"""The Splunk add-on (`config/splunk/TA-nordpass`): its action lookup, generated from the action
catalog, and its packaging as a `.tgz` Splunk installs.

The lookup gives every catalog action its CIM data model, CIM `action`, `status`, `signature`,
`reason` and `object_category`; the add-on's props apply it to both sourcetypes by
`signature_id` (`type:action`, `:value` for a variant), so the CIM mapping follows the catalog
instead of being written out twice. Run `python -m connectors.splunk_hec.addon --help`.
"""

from __future__ import annotations

import argparse
import csv
import io
import re
import tarfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Final

from agent import __version__
from agent.normalize import CATALOG, ActionSpec, Catalog

__all__ = ["ADDON_NAME", "LOOKUP_COLUMNS", "lookup_csv", "lookup_rows", "main", "package"]

ADDON_NAME: Final = "TA-nordpass"
LOOKUP_PATH: Final = Path("lookups") / "nordpass_actions.csv"
LOOKUP_COLUMNS: Final = (
    "signature_id",
    "signature",
    "nordpass_datamodel",
    "action",
    "status",
    "reason",
    "object_category",
    "result",
)
# CIM object_category values for the catalog's objects that have one; the rest keep their name.
_OBJECT_CATEGORIES: Final = {"Member account": "user", "Group": "group"}
_EXCLUDED: Final = re.compile(r"(^|/)(\.|__pycache__)")


def _row(spec: ActionSpec, signature_id: str) -> dict[str, str]:
    datamodel = spec.kind.cim_datamodel or ""
    failed = spec.outcome == "failure"
    if datamodel == "Authentication":
        action = "failure" if failed else "success"
    else:
        action = spec.kind.cim_action or ""
    return {
        "signature_id": signature_id,
        "signature": spec.name,
        "nordpass_datamodel": datamodel,
        "action": action,
        "status": "failure" if failed else "success",
        "reason": spec.result_detail or "",
        "object_category": _OBJECT_CATEGORIES.get(spec.object_name, spec.object_name.lower()),
        "result": spec.name,
    }


def lookup_rows(catalog: Catalog = CATALOG) -> Iterator[dict[str, str]]:
    """One row per catalog entry. The lookup matches wildcards and takes the first match, so a
    variant's rows come before its base action's, and `base:*` catches values not listed."""
    for spec in catalog:
        if spec.variant is not None:
            continue  # written with their base action, first
        for variant in spec.variants.values():
            yield _row(variant, variant.signature_id)
        yield _row(spec, spec.signature_id)
        if spec.variants:
            yield _row(spec, f"{spec.signature_id}:*")


def lookup_csv(catalog: Catalog = CATALOG) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=LOOKUP_COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(lookup_rows(catalog))
    return buffer.getvalue()


def package(source: Path, dist: Path) -> Path:
    """`dist/TA-nordpass-<version>.tgz` with the add-on under its own top-level directory,
    files 0644 and directories 0755 (AppInspect refuses world-writable or executable files)."""
    dist.mkdir(parents=True, exist_ok=True)
    target = dist / f"{ADDON_NAME}-{__version__}.tgz"
    with tarfile.open(target, "w:gz") as archive:
        for path in [source, *sorted(source.rglob("*"))]:
            relative = path.relative_to(source).as_posix()
            if _EXCLUDED.search(relative):
                continue
            name = ADDON_NAME if relative == "." else f"{ADDON_NAME}/{relative}"
            info = archive.gettarinfo(str(path), arcname=name)
            info.mode = 0o755 if path.is_dir() else 0o644
            info.uid = info.gid = 0
            info.uname = info.gname = ""
            if path.is_dir():
                archive.addfile(info)
            else:
                with path.open("rb") as handle:
                    archive.addfile(info, handle)
    return target


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m connectors.splunk_hec.addon")
    parser.add_argument(
        "source", type=Path, help="the add-on directory (config/splunk/TA-nordpass)"
    )
    parser.add_argument("--dist", type=Path, help="also package it as a .tgz in this directory")
    arguments = parser.parse_args(argv)
    (arguments.source / LOOKUP_PATH).write_text(lookup_csv(), encoding="utf-8")
    if arguments.dist is not None:
        print(package(arguments.source, arguments.dist))  # noqa: T201 - the command's output
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
