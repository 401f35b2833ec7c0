"""SQLite state store: the event-id key, per-tenant watermarks and fingerprint counts.

One agent process owns a state file at a time (an exclusive lock on `<file>.lock`). The database
runs in WAL mode with `synchronous=FULL`, so a committed window survives a process or machine
crash, and is created readable by its owner only, because fingerprints and (later) the event log
hold personal data. The schema is versioned; `_MIGRATIONS[n]` upgrades version n to n + 1.
"""

from __future__ import annotations

import fcntl
import os
import sqlite3
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import IO

from agent.errors import FatalError

__all__ = ["SCHEMA_VERSION", "SqliteStateStore", "StateLockedError"]

_MIGRATIONS: list[str] = [
    """
    CREATE TABLE meta (key TEXT PRIMARY KEY, value BLOB NOT NULL) WITHOUT ROWID;
    CREATE TABLE watermarks (
        tenant TEXT PRIMARY KEY,
        watermark INTEGER NOT NULL,
        updated_at REAL NOT NULL
    ) WITHOUT ROWID;
    CREATE TABLE fingerprints (
        tenant TEXT NOT NULL,
        fingerprint BLOB NOT NULL,
        second INTEGER NOT NULL,
        count INTEGER NOT NULL,
        PRIMARY KEY (tenant, fingerprint)
    ) WITHOUT ROWID;
    CREATE INDEX fingerprints_by_second ON fingerprints (tenant, second);
    """,
]
SCHEMA_VERSION = len(_MIGRATIONS)
_LOOKUP_CHUNK = 500  # stays under SQLite's bound-parameter limit


class StateLockedError(FatalError):
    """Another agent process already owns this state file."""


class SqliteStateStore:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock_handle = _acquire_lock(path)
        try:
            self._db = _open(path)
            self._migrate()
        except BaseException:
            self._lock_handle.close()
            raise

    def _migrate(self) -> None:
        current = self._db.execute("PRAGMA user_version").fetchone()[0]
        if current > SCHEMA_VERSION:
            raise FatalError(
                f"state {self.path} has schema version {current}, newer than this agent supports "
                f"({SCHEMA_VERSION}); upgrade the agent"
            )
        for version in range(current, SCHEMA_VERSION):
            with self._db:
                self._db.executescript(f"BEGIN; {_MIGRATIONS[version]}")
                self._db.execute(f"PRAGMA user_version = {version + 1}")

    def meta_value(self, key: str) -> bytes | None:
        row = self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else bytes(row[0])

    def set_meta_value(self, key: str, value: bytes) -> None:
        with self._db:
            self._db.execute(
                "INSERT INTO meta (key, value) VALUES (?, ?) "
                "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                (key, value),
            )

    def watermark(self, tenant: str) -> int | None:
        row = self._db.execute(
            "SELECT watermark FROM watermarks WHERE tenant = ?", (tenant,)
        ).fetchone()
        return None if row is None else int(row[0])

    def stored_counts(self, tenant: str, fingerprints: Iterable[bytes]) -> dict[bytes, int]:
        wanted = list(fingerprints)
        found: dict[bytes, int] = {}
        for offset in range(0, len(wanted), _LOOKUP_CHUNK):
            chunk = wanted[offset : offset + _LOOKUP_CHUNK]
            marks = ",".join("?" * len(chunk))
            rows = self._db.execute(
                f"SELECT fingerprint, count FROM fingerprints "  # noqa: S608 - only ? marks
                f"WHERE tenant = ? AND fingerprint IN ({marks})",
                (tenant, *chunk),
            )
            found.update((bytes(fp), int(count)) for fp, count in rows)
        return found

    def count_in_range(self, tenant: str, start: int, end: int) -> int:
        """Occurrences stored for seconds in [start, end)."""
        row = self._db.execute(
            "SELECT COALESCE(SUM(count), 0) FROM fingerprints "
            "WHERE tenant = ? AND second >= ? AND second < ?",
            (tenant, start, end),
        ).fetchone()
        return int(row[0])

    def commit_window(
        self,
        tenant: str,
        counts: Mapping[bytes, tuple[int, int]],
        *,
        watermark: int | None,
        now: float,
    ) -> None:
        """Store new fingerprint counts (fingerprint → (second, count)) and move the watermark
        forward, in one transaction. A watermark never moves backwards."""
        with self._db:
            self._db.executemany(
                "INSERT INTO fingerprints (tenant, fingerprint, second, count) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (tenant, fingerprint) DO UPDATE "
                "SET count = MAX(count, excluded.count)",
                ((tenant, fp, second, count) for fp, (second, count) in counts.items()),
            )
            if watermark is not None:
                self._db.execute(
                    "INSERT INTO watermarks (tenant, watermark, updated_at) VALUES (?, ?, ?) "
                    "ON CONFLICT (tenant) DO UPDATE SET "
                    "watermark = MAX(watermark, excluded.watermark), "
                    "updated_at = excluded.updated_at",
                    (tenant, watermark, now),
                )

    def prune_fingerprints(self, tenant: str, before_second: int) -> int:
        with self._db:
            cursor = self._db.execute(
                "DELETE FROM fingerprints WHERE tenant = ? AND second < ?", (tenant, before_second)
            )
        return cursor.rowcount

    def close(self) -> None:
        self._db.close()
        self._lock_handle.close()


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


def _open(path: Path) -> sqlite3.Connection:
    for suffix in ("", "-wal", "-shm"):
        # Create the files owner-only before SQLite does, so personal data is never world-readable.
        _private_open(path.with_name(path.name + suffix)).close()
    try:
        db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        db.execute("PRAGMA journal_mode = WAL")
        db.execute("PRAGMA synchronous = FULL")
        db.execute("PRAGMA journal_size_limit = 67108864")
        db.execute("PRAGMA busy_timeout = 5000")
    except sqlite3.Error as error:
        raise FatalError(f"cannot open state {path}: {error}") from error
    db.isolation_level = "DEFERRED"  # `with db:` then wraps each block in one transaction
    return db
