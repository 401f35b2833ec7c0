"""docs/formats.md is generated from the code, and the field lists it is generated from match
what the renderers really emit (checked over every golden file)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from agent.normalize import RENDERERS, FieldDoc
from agent.normalize.docgen import generate
from tests.normalize import cef_spec, golden_files

DOCS = Path(__file__).parents[2] / "docs" / "formats.md"
_CEF_HEADER = ("Vendor", "Product", "Version", "Signature ID", "Name", "Severity")


def test_the_formats_document_is_up_to_date() -> None:
    assert DOCS.read_text(encoding="utf-8") == generate(), (
        "docs/formats.md is stale: run python -m agent.normalize.docgen"
    )


def _paths(value: dict[str, Any], opaque: set[str], prefix: str = "") -> Iterator[str]:
    for key, inner in value.items():
        path = f"{prefix}{key}"
        if isinstance(inner, dict) and inner and path not in opaque:
            yield from _paths(inner, opaque, f"{path}.")
        else:
            yield path


def _emitted(output_format: str, document: dict[str, Any], opaque: set[str]) -> set[str]:
    if output_format == "cef":
        _, extension = cef_spec.parse(document["cef"])
        keys = {key.removesuffix("Label") for key in extension}
        return keys | set(_CEF_HEADER)
    if output_format == "native":
        raw_only = set(document["raw"]) - {doc.name for doc in RENDERERS["native"].fields}
        return {key for key in document["native"] if key not in raw_only}
    return set(_paths(document[output_format], opaque))


def _documented(docs: tuple[FieldDoc, ...]) -> tuple[set[str], set[str]]:
    names = {doc.name for doc in docs if not doc.name.startswith(("<", "original_"))}
    return names, {doc.name for doc in docs if doc.opaque}


@pytest.mark.parametrize("output_format", list(RENDERERS))
def test_every_emitted_field_is_documented_and_every_documented_field_is_emitted(
    output_format: str,
) -> None:
    documented, opaque = _documented(RENDERERS[output_format].fields)
    emitted: set[str] = set()
    for path in golden_files.golden_paths():
        emitted |= {
            name
            for name in _emitted(output_format, golden_files.load(path), opaque)
            if not name.startswith("original_")
        }
    assert emitted - documented == set(), "emitted but not documented"
    assert documented - emitted == set(), "documented but never emitted by a golden event"
