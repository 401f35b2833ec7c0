"""Golden files: a raw event and its rendering in every format, checked in under `golden/`.

One file per catalog entry (`<type>.<action>.json`) plus edge cases (`edge.<case>.json`). The raw
event, tenant, event id and privacy profile in a file are its inputs; everything else is output.
Regenerate the outputs (and seed files for new catalog entries) after an intended change with

    python -m tests.normalize.golden_files

or by running the tests with NORMALIZE_REGENERATE_GOLDEN=1; then review the diff.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from agent.normalize import CATALOG, OUTPUT_FORMATS, Formatter, PrivacyProfile
from tests.normalize import samples

GOLDEN = Path(__file__).with_name("golden")
REGENERATE_VARIABLE = "NORMALIZE_REGENERATE_GOLDEN"
# The key tests use for pseudonymized goldens; not a secret, only a fixed input.
PSEUDONYMIZE_KEY = b"golden-files-pseudonymize-key!!"


def privacy_of(inputs: dict[str, Any]) -> PrivacyProfile:
    settings = inputs.get("privacy", {"mode": "full"})
    key = PSEUDONYMIZE_KEY if settings["mode"] == "pseudonymize" else None
    return PrivacyProfile.from_config(
        settings["mode"], drop_fields=settings.get("drop_fields", ()), pseudonymize_key=key
    )


def render_all(inputs: dict[str, Any]) -> dict[str, Any]:
    """The golden document for these inputs: the inputs, then every format's output."""
    document: dict[str, Any] = {
        key: inputs[key] for key in ("tenant", "event_id", "privacy", "raw") if key in inputs
    }
    for output_format in OUTPUT_FORMATS:
        formatter = Formatter(output_format, privacy_of(inputs))
        route, body = formatter.to_routed_bytes(
            inputs["raw"], tenant=inputs["tenant"], event_id=inputs["event_id"]
        )
        if output_format == "cef":
            document["cef"] = body.decode("utf-8")
        else:
            document[output_format] = json.loads(body)
        if output_format == "asim":
            document["asim_table"] = route
    return document


def dumps(document: dict[str, Any]) -> str:
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def golden_paths() -> list[Path]:
    return sorted(GOLDEN.glob("*.json"))


def load(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8"))  # type: ignore[no-any-return]


def seed_missing() -> list[Path]:
    """A golden file, from the sample builder, for each catalog entry that has none."""
    created = []
    for index, spec in enumerate(CATALOG):
        name = samples.golden_name(spec)
        path = GOLDEN / f"{name}.json"
        if path.exists():
            continue
        inputs = {
            "tenant": samples.TENANT,
            "event_id": samples.event_id_for(name),
            "raw": samples.sample_event(spec, index),
        }
        path.write_text(dumps(render_all(inputs)), encoding="utf-8")
        created.append(path)
    return created


def regenerate() -> list[Path]:
    """Rewrites every golden file's outputs from its inputs; returns the files that changed."""
    GOLDEN.mkdir(exist_ok=True)
    changed = seed_missing()
    for path in golden_paths():
        before = path.read_text(encoding="utf-8")
        after = dumps(render_all(load(path)))
        if after != before:
            path.write_text(after, encoding="utf-8")
            changed.append(path)
    return changed


if __name__ == "__main__":
    for path in regenerate():
        print(f"wrote {path.relative_to(Path.cwd()) if path.is_relative_to(Path.cwd()) else path}")  # noqa: T201
