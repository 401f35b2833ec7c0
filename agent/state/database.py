"""Opening the SQLite state file: single-owner lock, owner-only files, WAL, migrations.

One agent process owns a state file at a time (an exclusive lock on `<file>.lock`). WAL mode with
`synchronous=FULL` makes a committed transaction survive a process or machine crash; the files are
created readable by their owner only because the log and fingerprints hold personal data.
"""

from __future__ import annotations

import fcntl
import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

from agent.errors import FatalError
from agent.state.schema import MIGRATIONS, SCHEMA_VERSION

__all__ = ["Database", "StateLockedError"]

_JOURNAL_SIZE_LIMIT = 64 * 1024 * 1024


class StateLockedError(FatalError):
    """Another agent process already owns this state file."""


class Database:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock_handle = _acquire_lock(path)
        try:
            self.connection = _connect(path)
            self._migrate()
        except BaseException:
            self._lock_handle.close()
            raise

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One short write transaction; `BEGIN IMMEDIATE` so it never fails half-way on a lock."""
        self.connection.execute("BEGIN IMMEDIATE")
        try:
            yield self.connection
        except BaseException:
            self.connection.execute("ROLLBACK")
            raise
        self.connection.execute("COMMIT")

    def size_bytes(self) -> int:
        pages = self.connection.execute("PRAGMA page_count").fetchone()[0]
        page_size = self.connection.execute("PRAGMA page_size").fetchone()[0]
        wal = self.path.with_name(self.path.name + "-wal")
        return int(pages * page_size) + (wal.stat().st_size if wal.exists() else 0)

    def checkpoint(self) -> None:
        """Fold the WAL back into the database so it does not grow without bound."""
        self.connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    def close(self) -> None:
        self.connection.close()
        self._lock_handle.close()

    def _migrate(self) -> None:
        current = self.connection.execute("PRAGMA user_version").fetchone()[0]
        if current > SCHEMA_VERSION:
            raise FatalError(
                f"state {self.path} has schema version {current}, newer than this agent supports "
                f"({SCHEMA_VERSION}); upgrade the agent"
            )
        for version in range(current, SCHEMA_VERSION):
            with self.transaction() as db:
                for statement in MIGRATIONS[version].split(";"):
                    if statement.strip():
                        db.execute(statement)
                db.execute(f"PRAGMA user_version = {version + 1}")


def _acquire_lock(path: Path) -> IO[str]:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handle = _private_open(path.with_name(path.name + ".lock"))
    except OSError as error:
        raise FatalError(
            f"cannot use state directory {path.parent}: {error.strerror or error}"
        ) from error
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.close()
        raise StateLockedError(
            f"state {path} is in use by another agent process; run one agent per state file"
        ) from None
    return handle


def _private_open(path: Path) -> IO[str]:
    descriptor = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    return os.fdopen(descriptor, "r+")


def _connect(path: Path) -> sqlite3.Connection:
    try:
        for suffix in ("", "-wal", "-shm"):
            # Create the files owner-only before SQLite does, so no moment is world-readable.
            _private_open(path.with_name(path.name + suffix)).close()
        db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        db.execute("PRAGMA journal_mode = WAL")
        db.execute("PRAGMA synchronous = FULL")
        db.execute(f"PRAGMA journal_size_limit = {_JOURNAL_SIZE_LIMIT}")
        db.execute("PRAGMA busy_timeout = 5000")
    except (OSError, sqlite3.Error) as error:
        raise FatalError(f"cannot open state {path}: {error}") from error
    return db
