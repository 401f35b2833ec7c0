"""The delivery side of the event log: what each destination still has to send, and its offsets.

A destination's offset per tenant is the sequence number of the last log row it confirmed; rows
above it are its backlog, whose size is kept beside the offset (raised by each append or replay,
lowered as the offset moves) so that reading it costs nothing whatever its size. Offsets move
only after the destination confirmed, in one transaction with any dead letters of that batch.
Rows behind every destination's offset are deleted in chunks.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import NamedTuple

from agent.state.database import Database

__all__ = ["PRUNE_CHUNK", "DeadLetter", "Gap", "LogRow", "Outbox", "Position"]

PRUNE_CHUNK = 5000
_PENDING = (
    "SELECT l.seq, l.tenant, l.event_id, l.second, l.raw FROM event_log l "
    "JOIN offsets o ON o.tenant = l.tenant AND o.destination = ? "
    "WHERE l.seq > o.seq AND l.seq > ? AND (l.target IS NULL OR l.target = ?) "
    "ORDER BY l.seq LIMIT ?"
)
_PENDING_EXCLUDING = (  # the same, leaving out the tenants of a JSON array
    "SELECT l.seq, l.tenant, l.event_id, l.second, l.raw FROM event_log l "
    "JOIN offsets o ON o.tenant = l.tenant AND o.destination = ? "
    "WHERE l.seq > o.seq AND l.seq > ? AND (l.target IS NULL OR l.target = ?) "
    "AND l.tenant NOT IN (SELECT value FROM json_each(?)) ORDER BY l.seq LIMIT ?"
)


class LogRow(NamedTuple):  # a tuple: built per event, and cheaper than a dataclass
    seq: int
    tenant: str
    event_id: str
    second: int
    raw: bytes


@dataclass(frozen=True, slots=True)
class DeadLetter:
    id: int
    tenant: str
    destination: str
    event_id: str
    second: int
    error: str
    attempts: int
    first_failed_at: float
    last_failed_at: float


@dataclass(frozen=True, slots=True)
class Position:
    """Where one destination stands for one tenant."""

    tenant: str
    destination: str
    delivered: int  # events confirmed since the pair was configured
    backlog: int  # events waiting


@dataclass(frozen=True, slots=True)
class Gap:
    tenant: str
    destination: str
    start: int
    end: int


class Outbox:
    def __init__(self, database: Database) -> None:
        self._database = database
        self._db = database.connection

    def set_routes(self, routes: Mapping[str, Sequence[str]]) -> None:
        """Make the offsets match the configuration (tenant → its destinations). A new pair starts
        at the tenant's newest row (history reaches it by replay); a removed pair is dropped."""
        wanted = {(tenant, name) for tenant, names in routes.items() for name in names}
        with self._database.transaction() as db:
            existing = {(t, d) for t, d in db.execute("SELECT tenant, destination FROM offsets")}
            db.executemany(
                "DELETE FROM offsets WHERE tenant = ? AND destination = ?", existing - wanted
            )
            for tenant, name in wanted - existing:
                db.execute(
                    "INSERT INTO offsets (tenant, destination, seq) SELECT ?, ?, "
                    "COALESCE((SELECT MAX(seq) FROM event_log WHERE tenant = ?), 0)",
                    (tenant, name, tenant),
                )

    def pending(
        self,
        destination: str,
        limit: int,
        *,
        after: int = 0,
        excluding: Collection[str] = (),
    ) -> list[LogRow]:
        """The oldest rows this destination has not confirmed, across all its tenants but those
        `excluding` names, above sequence number `after` (the newest row already handed out)."""
        query = _PENDING
        parameters: tuple[object, ...] = (destination, after, destination, limit)
        if excluding:
            query = _PENDING_EXCLUDING
            parameters = (destination, after, destination, json.dumps(list(excluding)), limit)
        rows = self._db.execute(query, parameters)
        return list(map(LogRow._make, rows))  # the columns are LogRow's fields, in order

    def confirm(
        self,
        destination: str,
        batch: Sequence[LogRow],
        dead: Mapping[int, str],
        *,
        attempts: int,
        now: float,
    ) -> None:
        """Move offsets past `batch` (all delivered but the rows `dead` maps seq → error, which
        become dead letters), in one transaction."""
        newest: dict[str, int] = {}
        delivered: dict[str, int] = {}
        for row in batch:
            newest[row.tenant] = max(newest.get(row.tenant, 0), row.seq)
            delivered[row.tenant] = delivered.get(row.tenant, 0) + (row.seq not in dead)
        with self._database.transaction() as db:
            # The rows the offset moves over leave the backlog (on the right of SET, `seq` is
            # still the old offset): counted in the index, as many as were confirmed.
            db.executemany(
                "UPDATE offsets SET backlog = backlog - (SELECT COUNT(*) FROM event_log l "
                "WHERE l.tenant = offsets.tenant AND l.seq > offsets.seq AND l.seq <= ? "
                "AND (l.target IS NULL OR l.target = offsets.destination)), "
                "seq = MAX(seq, ?), delivered = delivered + ? WHERE tenant = ? AND destination = ?",
                ((seq, seq, delivered[t], t, destination) for t, seq in newest.items()),
            )
            db.executemany(
                "INSERT INTO dead_letters (tenant, destination, event_id, second, raw, error, "
                "attempts, first_failed_at, last_failed_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    (r.tenant, destination, r.event_id, r.second, r.raw, dead[r.seq], attempts,
                     now, now)
                    for r in batch
                    if r.seq in dead
                ),
            )  # fmt: skip

    def backlog(self, tenant: str, destination: str) -> int:
        """Rows above the offset: a running count, kept with every append and offset move."""
        row = self._db.execute(
            "SELECT backlog FROM offsets WHERE tenant = ? AND destination = ?",
            (tenant, destination),
        ).fetchone()
        return 0 if row is None else int(row[0])

    def positions(self) -> list[Position]:
        """Every (tenant, destination) pair with its delivered count and backlog."""
        rows = self._db.execute(
            "SELECT tenant, destination, delivered, backlog FROM offsets "
            "ORDER BY tenant, destination"
        )
        return [Position(t, d, int(delivered), int(backlog)) for t, d, delivered, backlog in rows]

    def delivered(self, tenant: str, destination: str) -> int:
        row = self._db.execute(
            "SELECT delivered FROM offsets WHERE tenant = ? AND destination = ?",
            (tenant, destination),
        ).fetchone()
        return 0 if row is None else int(row[0])

    def caught_up(self, tenant: str, destination: str) -> bool:
        """Whether `backlog` is 0, without counting: it stops at the first undelivered row."""
        row = self._db.execute(
            "SELECT EXISTS (SELECT 1 FROM offsets o JOIN event_log l ON l.tenant = o.tenant "
            "AND l.seq > o.seq AND (l.target IS NULL OR l.target = o.destination) "
            "WHERE o.tenant = ? AND o.destination = ?)",
            (tenant, destination),
        ).fetchone()
        return not row[0]

    def offset(self, tenant: str, destination: str) -> int:
        row = self._db.execute(
            "SELECT seq FROM offsets WHERE tenant = ? AND destination = ?", (tenant, destination)
        ).fetchone()
        return 0 if row is None else int(row[0])

    def prune(self) -> int:
        """Delete rows every destination has confirmed; rows of unrouted tenants go too."""
        removed = 0
        while True:
            chunk = self.prune_chunk()
            removed += chunk
            if chunk < PRUNE_CHUNK:
                return removed

    def prune_chunk(self) -> int:
        """One transaction of `prune`: up to `PRUNE_CHUNK` rows; fewer means none are left."""
        with self._database.transaction() as db:
            cursor = db.execute(
                "DELETE FROM event_log WHERE seq IN (SELECT l.seq FROM event_log l "
                "WHERE l.seq <= COALESCE((SELECT MIN(o.seq) FROM offsets o "
                "WHERE o.tenant = l.tenant), l.seq) LIMIT ?)",
                (PRUNE_CHUNK,),
            )
        return int(cursor.rowcount)

    def detach(self, tenant: str, destination: str, now: float) -> Gap | None:
        """Skip this destination's backlog for `tenant`, recording the time range it misses
        (merged with the gaps on record it overlaps or touches); returns the gap recorded."""
        with self._database.transaction() as db:
            offset = db.execute(
                "SELECT seq FROM offsets WHERE tenant = ? AND destination = ?",
                (tenant, destination),
            ).fetchone()
            if offset is None:
                return None
            low, high, newest = db.execute(
                "SELECT MIN(second), MAX(second), MAX(seq) FROM event_log "
                "WHERE tenant = ? AND seq > ? AND (target IS NULL OR target = ?)",
                (tenant, offset[0], destination),
            ).fetchone()
            if newest is None:
                return None
            db.execute(
                "UPDATE offsets SET seq = ?, backlog = 0 WHERE tenant = ? AND destination = ?",
                (newest, tenant, destination),
            )
            # Gaps this one overlaps or touches become one (a re-fetch cut short left the end
            # of its gap, say): no time range is re-fetched twice.
            start, end = int(low), int(high) + 1
            touching = (tenant, destination, end, start)
            where = 'tenant = ? AND destination = ? AND start <= ? AND "end" >= ?'
            for old_start, old_end in db.execute(
                f'SELECT start, "end" FROM gaps WHERE {where}',  # noqa: S608 - constant text
                touching,
            ).fetchall():
                start, end = min(start, old_start), max(end, old_end)
            db.execute(f"DELETE FROM gaps WHERE {where}", touching)  # noqa: S608 - constant text
            db.execute(
                'INSERT INTO gaps (tenant, destination, start, "end", recorded_at) '
                "VALUES (?, ?, ?, ?, ?)",
                (tenant, destination, start, end, now),
            )
        return Gap(tenant, destination, start, end)

    def gaps(self, destination: str | None = None) -> list[Gap]:
        rows = self._db.execute(
            'SELECT tenant, destination, start, "end" FROM gaps '
            "WHERE ? IS NULL OR destination = ? ORDER BY start",
            (destination, destination),
        )
        return [Gap(t, d, int(s), int(e)) for t, d, s, e in rows]

    def shrink_gap(self, gap: Gap, start: int) -> Gap | None:
        """`gap` re-fetched up to `start`: what is left of it, or None if it changed meanwhile
        (another detach grew it, which may have skipped re-fetched rows: it is then re-fetched
        whole, as `close_gap` says)."""
        with self._database.transaction() as db:
            cursor = db.execute(
                "UPDATE OR IGNORE gaps SET start = ? "
                'WHERE tenant = ? AND destination = ? AND start = ? AND "end" = ?',
                (start, gap.tenant, gap.destination, gap.start, gap.end),
            )
        return Gap(gap.tenant, gap.destination, start, gap.end) if cursor.rowcount else None

    def close_gap(self, gap: Gap) -> bool:
        """Forget `gap` once it was re-fetched. A gap that grew meanwhile (another detach while it
        was being re-fetched, which may have skipped re-fetched rows too) is kept whole, to be
        re-fetched again. Returns whether it was removed."""
        with self._database.transaction() as db:
            cursor = db.execute(
                'DELETE FROM gaps WHERE tenant = ? AND destination = ? AND start = ? AND "end" = ?',
                (gap.tenant, gap.destination, gap.start, gap.end),
            )
        return bool(cursor.rowcount)
