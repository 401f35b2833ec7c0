"""Configuration of the local file destinations (`file` and `stdout`)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from connectors.base import DestinationSettings

__all__ = ["FileDestinationConfig", "StdoutDestinationConfig"]


class FileDestinationConfig(DestinationSettings):
    """NDJSON file, one event per line; the directory is created when missing."""

    type: Literal["file"]
    path: Path
    format: Literal["native"] = "native"
    # fsync after each batch: the offset is committed only once the lines are on disk.
    fsync: bool = True


class StdoutDestinationConfig(DestinationSettings):
    """NDJSON on standard output, for `docker logs` pipelines and quick looks."""

    type: Literal["stdout"]
    format: Literal["native"] = "native"
