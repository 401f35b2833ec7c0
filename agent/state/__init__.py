"""Durable agent state: the event-id key, watermarks and fingerprint counts per tenant."""

from agent.state.sqlite import SCHEMA_VERSION, SqliteStateStore, StateLockedError

__all__ = ["SCHEMA_VERSION", "SqliteStateStore", "StateLockedError"]
