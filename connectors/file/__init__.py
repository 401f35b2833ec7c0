"""Local NDJSON destinations: `file` and `stdout`."""

from connectors.file.config import FileDestinationConfig, StdoutDestinationConfig
from connectors.file.destination import (
    FileDestination,
    StdoutDestination,
    render_native_line,
    repair_partial_line,
)

__all__ = [
    "FileDestination",
    "FileDestinationConfig",
    "StdoutDestination",
    "StdoutDestinationConfig",
    "render_native_line",
    "repair_partial_line",
]
