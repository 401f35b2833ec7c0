"""Descriptions of the fields each renderer emits, kept beside the renderer that emits them.

`docs/formats.md` is generated from these, and a test renders every golden event and checks that
each emitted field is described here and each described field is emitted somewhere, so the
documentation cannot drift from the code.
"""

from __future__ import annotations

from typing import NamedTuple

__all__ = ["FieldDoc"]


class FieldDoc(NamedTuple):
    """One output field: its name (a dotted path inside JSON objects) and where its value comes
    from. `opaque` marks a free-form object whose inner keys are not documented one by one."""

    name: str
    source: str
    opaque: bool = False
