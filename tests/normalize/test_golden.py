"""Golden files: every catalog entry has one, and each still renders exactly as checked in.

After an intended change run `python -m tests.normalize.golden_files` (or set
NORMALIZE_REGENERATE_GOLDEN=1) and review the diff.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from agent.normalize import CATALOG, OUTPUT_FORMATS
from tests.normalize import golden_files, samples

REGENERATING = bool(os.environ.get(golden_files.REGENERATE_VARIABLE))


@pytest.fixture(scope="module", autouse=True)
def _regenerate_when_asked() -> None:
    if REGENERATING:
        golden_files.regenerate()


def test_every_catalog_entry_has_a_golden_file() -> None:
    missing = [
        samples.golden_name(spec)
        for spec in CATALOG
        if not (golden_files.GOLDEN / f"{samples.golden_name(spec)}.json").exists()
    ]
    assert not missing, f"no golden file for {missing}; run python -m tests.normalize.golden_files"


def test_every_golden_file_has_every_format() -> None:
    for path in golden_files.golden_paths():
        document = golden_files.load(path)
        assert set(OUTPUT_FORMATS) <= document.keys(), path.name


@pytest.mark.parametrize("path", golden_files.golden_paths(), ids=lambda path: path.stem)
def test_golden_file_renders_as_checked_in(path: Path) -> None:
    expected = path.read_text(encoding="utf-8")
    rendered = golden_files.dumps(golden_files.render_all(golden_files.load(path)))
    assert rendered == expected, (
        f"{path.name} changed; if intended, run python -m tests.normalize.golden_files"
    )


def test_golden_events_carry_the_catalog_entry_they_are_named_after() -> None:
    for spec in CATALOG:
        document = golden_files.load(golden_files.GOLDEN / f"{samples.golden_name(spec)}.json")
        assert document["cef"].split("|")[4] == spec.signature_id
