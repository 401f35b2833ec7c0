"""NDJSON destinations: a local file (crash-consistent) and standard output.

A batch is confirmed only after its lines are written (and, by default, fsynced), so the engine's
offset never runs ahead of the file. A crash can leave a partial last line: it is cut off when the
file is opened again, and the engine resends that batch. A write that fails (a full disk) is cut
back off at once, so its retry never follows a partial line; a file deleted or renamed away (by
log rotation, say) is opened anew at its path before the next batch.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import IO

from agent.errors import FatalError
from connectors.base import DeliveryReport, Health, OutboundEvent
from connectors.file.config import FileDestinationConfig, StdoutDestinationConfig

__all__ = ["FileDestination", "StdoutDestination", "render_native_line", "repair_partial_line"]


def render_native_line(event: OutboundEvent) -> bytes:
    """The raw NordPass event unchanged, plus `event_id` and `tenant`, as one JSON line."""
    record = {**event.raw, "event_id": event.event_id, "tenant": event.tenant}
    return json.dumps(record, ensure_ascii=False, separators=(",", ":")).encode() + b"\n"


def repair_partial_line(path: Path) -> int:
    """Cut a trailing line that has no newline (left by a crash); return the bytes removed."""
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        return 0
    if size == 0:
        return 0
    with path.open("rb+") as handle:
        end = size
        chunk = 65536
        while end > 0:
            start = max(0, end - chunk)
            handle.seek(start)
            block = handle.read(end - start)
            if end == size and block.endswith(b"\n"):
                return 0
            newline = block.rfind(b"\n")
            if newline >= 0:
                keep = start + newline + 1
                handle.truncate(keep)
                return size - keep
            end = start
        handle.truncate(0)
        return size


class FileDestination:
    max_in_flight = 1  # lines are appended in log order
    linger = 0.0  # a local write costs the same for one line or many

    def __init__(self, name: str, config: FileDestinationConfig) -> None:
        self.name = name
        self._config = config
        self._handle: IO[bytes] | None = None

    def _open(self) -> IO[bytes]:
        if self._handle is not None and self._moved_away(self._handle):
            self._close_handle()
        if self._handle is None:
            path = self._config.path
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
                repair_partial_line(path)
                self._handle = path.open("ab")
            except OSError as error:
                raise FatalError(
                    f"destination '{self.name}': cannot open {path}: {error.strerror or error}"
                ) from error
        return self._handle

    def _moved_away(self, handle: IO[bytes]) -> bool:
        """Whether the open file is no longer the one at the path (deleted, rotated)."""
        try:
            current = os.stat(self._config.path)
        except FileNotFoundError:
            return True
        opened = os.fstat(handle.fileno())
        return (opened.st_dev, opened.st_ino) != (current.st_dev, current.st_ino)

    def _close_handle(self) -> None:
        handle, self._handle = self._handle, None
        if handle is not None:
            with contextlib.suppress(OSError):
                handle.close()

    def _write(self, payload: bytes) -> None:
        handle = self._open()
        size = handle.tell()
        try:
            handle.write(payload)
            handle.flush()
            if self._config.fsync:
                os.fsync(handle.fileno())
        except OSError as error:
            # Cut off whatever part of the batch got in (the batch is sent again later); should
            # that fail too, the partial line is cut when the file is opened again.
            self._close_handle()
            with contextlib.suppress(OSError):
                os.truncate(self._config.path, size)
            raise FatalError(
                f"destination '{self.name}': cannot write {self._config.path}: "
                f"{error.strerror or error}"
            ) from error

    async def send(self, batch: Sequence[OutboundEvent]) -> DeliveryReport:
        payload = b"".join(render_native_line(event) for event in batch)
        await asyncio.to_thread(self._write, payload)
        return DeliveryReport(delivered=len(batch))

    async def check(self) -> Health:
        """The file can be appended to. Nothing is repaired here: an agent may be writing it."""
        path = self._config.path
        try:
            await asyncio.to_thread(_touch, path)
        except OSError as error:
            detail = f"destination '{self.name}': cannot open {path}: {error.strerror or error}"
            return Health(ok=False, detail=detail)
        return Health(ok=True, detail=f"appends to {path}")

    async def close(self) -> None:
        self._close_handle()


def _touch(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("ab"):
        pass


class StdoutDestination:
    max_in_flight = 1
    linger = 0.0

    def __init__(self, name: str, config: StdoutDestinationConfig, stream: IO[bytes] | None = None):
        self.name = name
        self._config = config
        self._stream = stream if stream is not None else sys.stdout.buffer

    async def send(self, batch: Sequence[OutboundEvent]) -> DeliveryReport:
        payload = b"".join(render_native_line(event) for event in batch)
        try:  # in a thread: a reader that stalls the pipe must not stall the agent
            await asyncio.to_thread(self._write, payload)
        except OSError as error:  # the reader went away (a broken pipe)
            raise FatalError(
                f"destination '{self.name}': cannot write standard output: "
                f"{error.strerror or error}"
            ) from error
        return DeliveryReport(delivered=len(batch))

    def _write(self, payload: bytes) -> None:
        self._stream.write(payload)
        self._stream.flush()

    async def check(self) -> Health:
        return Health(ok=True, detail="writes standard output")

    async def close(self) -> None:
        with contextlib.suppress(OSError):  # a reader gone at shutdown must not stop the rest
            self._stream.flush()
