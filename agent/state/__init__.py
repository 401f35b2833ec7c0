"""Durable agent state (SQLite): event-id key, watermarks, fingerprint counts, the event log with
per-destination offsets, dead letters and backfill progress."""

from agent.state.base import DeadLetterStore, OutboxStore, StateStore
from agent.state.database import Database, StateLockedError
from agent.state.dead_letters import DeadLetters
from agent.state.outbox import PRUNE_CHUNK, DeadLetter, Gap, LogRow, Outbox
from agent.state.schema import SCHEMA_VERSION
from agent.state.sqlite import LogEntry, SqliteStateStore

__all__ = [
    "PRUNE_CHUNK",
    "SCHEMA_VERSION",
    "Database",
    "DeadLetter",
    "DeadLetterStore",
    "DeadLetters",
    "Gap",
    "LogEntry",
    "LogRow",
    "Outbox",
    "OutboxStore",
    "SqliteStateStore",
    "StateLockedError",
    "StateStore",
]
