"""Dead letters: events a destination declared undeliverable, kept with their error until an
operator replays or purges them, or they expire after `dead_letter_ttl`."""

from __future__ import annotations

from agent.state.database import Database
from agent.state.outbox import DeadLetter

__all__ = ["DeadLetters"]

_COLUMNS = (
    "id, tenant, destination, event_id, second, error, attempts, first_failed_at, last_failed_at"
)
_FILTER = "(? IS NULL OR tenant = ?) AND (? IS NULL OR destination = ?)"
# The tenant still routes to the destination (an offset exists): only then can a replay arrive.
_ROUTED = (
    "EXISTS (SELECT 1 FROM offsets o WHERE o.tenant = dead_letters.tenant "
    "AND o.destination = dead_letters.destination)"
)


class DeadLetters:
    def __init__(self, database: Database) -> None:
        self._database = database
        self._db = database.connection

    def list(self, tenant: str | None = None, destination: str | None = None) -> list[DeadLetter]:
        rows = self._db.execute(
            f"SELECT {_COLUMNS} FROM dead_letters WHERE {_FILTER} ORDER BY id",  # noqa: S608
            (tenant, tenant, destination, destination),
        )
        return [DeadLetter(*row) for row in rows]

    def counts(self) -> dict[tuple[str, str], int]:
        """Dead letters kept per (tenant, destination)."""
        rows = self._db.execute(
            "SELECT tenant, destination, COUNT(*) FROM dead_letters GROUP BY tenant, destination"
        )
        return {(tenant, destination): int(count) for tenant, destination, count in rows}

    def count_in_range(
        self, tenant: str, destination: str, start: int, end: int, *, since: float | None = None
    ) -> int:
        """Events of (tenant, destination) kept as dead letters whose second is in `[start,
        end)`; with `since`, only those refused at that moment or later."""
        row = self._db.execute(
            "SELECT COUNT(DISTINCT event_id) FROM dead_letters WHERE tenant = ? "
            "AND destination = ? AND second >= ? AND second < ? AND last_failed_at >= ?",
            (tenant, destination, start, end, float("-inf") if since is None else since),
        ).fetchone()
        return int(row[0])

    def replay(self, tenant: str | None = None, destination: str | None = None) -> int:
        """Put the dead letters back into the log for their destination only, same ids. Letters
        of a tenant the configuration no longer routes to their destination stay (`unrouted`)."""
        with self._database.transaction() as db:
            db.execute(
                # The letters replayed join their destination's backlog.
                "UPDATE offsets SET backlog = backlog + (SELECT COUNT(*) "  # noqa: S608
                "FROM dead_letters WHERE dead_letters.tenant = offsets.tenant "
                f"AND dead_letters.destination = offsets.destination AND {_FILTER})",
                (tenant, tenant, destination, destination),
            )
            db.execute(
                "INSERT INTO event_log (tenant, target, event_id, second, raw) "  # noqa: S608
                "SELECT tenant, destination, event_id, second, raw FROM dead_letters "
                f"WHERE {_FILTER} AND {_ROUTED} ORDER BY id",
                (tenant, tenant, destination, destination),
            )
            cursor = db.execute(
                f"DELETE FROM dead_letters WHERE {_FILTER} AND {_ROUTED}",  # noqa: S608
                (tenant, tenant, destination, destination),
            )
        return cursor.rowcount

    def unrouted(self, tenant: str | None = None, destination: str | None = None) -> int:
        """Letters whose tenant the configuration no longer routes to their destination."""
        row = self._db.execute(
            f"SELECT COUNT(*) FROM dead_letters WHERE {_FILTER} AND NOT {_ROUTED}",  # noqa: S608
            (tenant, tenant, destination, destination),
        ).fetchone()
        return int(row[0])

    def purge(self, tenant: str | None = None, destination: str | None = None) -> int:
        with self._database.transaction() as db:
            cursor = db.execute(
                f"DELETE FROM dead_letters WHERE {_FILTER}",  # noqa: S608
                (tenant, tenant, destination, destination),
            )
        return cursor.rowcount

    def expire(self, older_than: float) -> int:
        with self._database.transaction() as db:
            cursor = db.execute("DELETE FROM dead_letters WHERE last_failed_at < ?", (older_than,))
        return cursor.rowcount
