"""The ingest side of the state store: event-id key, watermarks, fingerprint counts, the log append
and backfill progress. New events enter the log in the same transaction that raises their
fingerprint counts, so a crash can neither lose an event nor record it as seen without it."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import NamedTuple

from agent.state.database import Database
from agent.state.dead_letters import DeadLetters
from agent.state.outbox import Outbox

__all__ = ["LogEntry", "SqliteStateStore"]


class LogEntry(NamedTuple):  # a tuple: built per event, and cheaper than a dataclass
    event_id: str
    second: int
    raw: bytes


class SqliteStateStore:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.database = Database(path)
        self._db = self.database.connection
        self.outbox = Outbox(self.database)
        self.dead_letters = DeadLetters(self.database)

    def close(self) -> None:
        self.database.close()

    def size_bytes(self) -> int:
        return self.database.size_bytes()

    def checkpoint(self) -> None:
        self.database.checkpoint()

    def meta_value(self, key: str) -> bytes | None:
        row = self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else bytes(row[0])

    def set_meta_value(self, key: str, value: bytes) -> None:
        with self.database.transaction() as db:
            db.execute(
                "INSERT INTO meta (key, value) VALUES (?, ?) "
                "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                (key, value),
            )

    def watermark(self, tenant: str) -> int | None:
        row = self._db.execute(
            "SELECT watermark FROM watermarks WHERE tenant = ?", (tenant,)
        ).fetchone()
        return None if row is None else int(row[0])

    def stored_counts(self, tenant: str, start: int, end: int) -> dict[bytes, int]:
        """The count of every fingerprint stored for the seconds `[start, end)`."""
        rows = self._db.execute(
            "SELECT fingerprint, count FROM fingerprints "
            "WHERE tenant = ? AND second >= ? AND second < ?",
            (tenant, start, end),
        )
        return {bytes(fp): int(count) for fp, count in rows}

    def count_in_range(self, tenant: str, start: int, end: int) -> int:
        """Occurrences stored for seconds in [start, end)."""
        row = self._db.execute(
            "SELECT COALESCE(SUM(count), 0) FROM fingerprints "
            "WHERE tenant = ? AND second >= ? AND second < ?",
            (tenant, start, end),
        ).fetchone()
        return int(row[0])

    def isolated_second(self, tenant: str, start: int, end: int) -> int | None:
        """The newest second in `[start, end)` that has stored events while the seconds either
        side have none (what bound calibration needs), if any."""
        row = self._db.execute(
            "SELECT f.second FROM fingerprints f WHERE f.tenant = ? AND f.second >= ? "
            "AND f.second < ? AND NOT EXISTS (SELECT 1 FROM fingerprints n WHERE n.tenant = "
            "f.tenant AND n.second IN (f.second - 1, f.second + 1)) "
            "ORDER BY f.second DESC LIMIT 1",
            (tenant, start + 1, end - 1),
        ).fetchone()
        return None if row is None else int(row[0])

    def append_window(
        self,
        tenant: str,
        counts: Mapping[bytes, tuple[int, int]],
        entries: Sequence[LogEntry],
        *,
        watermark: int | None = None,
        target: str | None = None,
        now: float,
        before_commit: Callable[[], None] | None = None,
    ) -> None:
        """In one transaction: raise fingerprint counts (fingerprint → (second, count)), append
        `entries` to the log (for every destination, or only `target`) and move the watermark
        forward. Counts and the watermark never go down."""
        with self.database.transaction() as db:
            db.executemany(
                "INSERT INTO fingerprints (tenant, second, fingerprint, count) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (tenant, second, fingerprint) DO UPDATE "
                "SET count = MAX(count, excluded.count)",
                ((tenant, second, fp, count) for fp, (second, count) in counts.items()),
            )
            db.executemany(
                "INSERT INTO event_log (tenant, target, event_id, second, raw) "
                "VALUES (?, ?, ?, ?, ?)",
                ((tenant, target, e.event_id, e.second, e.raw) for e in entries),
            )
            if entries:
                db.execute(
                    "UPDATE offsets SET backlog = backlog + ? "
                    "WHERE tenant = ? AND (? IS NULL OR destination = ?)",
                    (len(entries), tenant, target, target),
                )
            if watermark is not None:
                db.execute(
                    "INSERT INTO watermarks (tenant, watermark, updated_at) VALUES (?, ?, ?) "
                    "ON CONFLICT (tenant) DO UPDATE SET "
                    "watermark = MAX(watermark, excluded.watermark), "
                    "updated_at = excluded.updated_at",
                    (tenant, watermark, now),
                )
            if before_commit is not None:
                before_commit()

    def prune_fingerprints(self, tenant: str, before_second: int) -> int:
        with self.database.transaction() as db:
            cursor = db.execute(
                "DELETE FROM fingerprints WHERE tenant = ? AND second < ?", (tenant, before_second)
            )
        return cursor.rowcount

    def completed_slices(self, tenant: str, target: str) -> list[tuple[int, int]]:
        rows = self._db.execute(
            'SELECT start, "end" FROM backfill_slices WHERE tenant = ? AND target = ? '
            "ORDER BY start",
            (tenant, target),
        )
        return [(int(start), int(end)) for start, end in rows]

    def forget_slices(self, tenant: str, target: str) -> None:
        with self.database.transaction() as db:
            db.execute(
                "DELETE FROM backfill_slices WHERE tenant = ? AND target = ?", (tenant, target)
            )

    def complete_slice(self, tenant: str, target: str, start: int, end: int, now: float) -> None:
        with self.database.transaction() as db:
            db.execute(
                'INSERT OR REPLACE INTO backfill_slices (tenant, target, start, "end", '
                "completed_at) VALUES (?, ?, ?, ?, ?)",
                (tenant, target, start, end, now),
            )
