"""The SQLite state store: durable counts and watermarks, one owner, private files, migrations."""

from __future__ import annotations

import sqlite3
import stat
from pathlib import Path

import pytest

from agent.errors import FatalError
from agent.state import SCHEMA_VERSION, SqliteStateStore, StateLockedError

FP_A = b"a" * 16
FP_B = b"b" * 16


@pytest.fixture
def store(tmp_path: Path) -> SqliteStateStore:
    opened = SqliteStateStore(tmp_path / "state.db")
    yield opened  # type: ignore[misc]
    opened.close()


def test_counts_only_grow_and_survive_reopening(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    store = SqliteStateStore(path)
    store.append_window("acme", {FP_A: (100, 2), FP_B: (101, 1)}, [], watermark=None, now=0)
    store.append_window("acme", {FP_A: (100, 1)}, [], watermark=None, now=0)
    store.close()
    reopened = SqliteStateStore(path)
    assert reopened.stored_counts("acme", [FP_A, FP_B, b"c" * 16]) == {FP_A: 2, FP_B: 1}
    assert reopened.count_in_range("acme", 100, 101) == 2
    assert reopened.count_in_range("acme", 100, 102) == 3
    reopened.close()


def test_tenants_do_not_share_counts(store: SqliteStateStore) -> None:
    store.append_window("acme", {FP_A: (100, 1)}, [], watermark=200, now=0)
    assert store.stored_counts("globex", [FP_A]) == {}
    assert store.watermark("globex") is None
    assert store.watermark("acme") == 200


def test_watermark_never_moves_backwards(store: SqliteStateStore) -> None:
    store.append_window("acme", {}, [], watermark=500, now=0)
    store.append_window("acme", {}, [], watermark=400, now=0)
    assert store.watermark("acme") == 500


def test_many_fingerprints_are_looked_up_past_the_parameter_limit(store: SqliteStateStore) -> None:
    counts = {i.to_bytes(16, "big"): (i, 1) for i in range(2500)}
    store.append_window("acme", counts, [], watermark=None, now=0)
    assert len(store.stored_counts("acme", counts)) == 2500


def test_a_second_process_on_the_same_state_is_refused(store: SqliteStateStore) -> None:
    with pytest.raises(StateLockedError, match="in use by another agent process"):
        SqliteStateStore(store.path)


def test_state_files_are_readable_by_their_owner_only(store: SqliteStateStore) -> None:
    for suffix in ("", "-wal", "-shm", ".lock"):
        mode = stat.S_IMODE((store.path.parent / (store.path.name + suffix)).stat().st_mode)
        assert mode == 0o600, suffix


def test_schema_is_versioned_and_a_newer_schema_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    SqliteStateStore(path).close()
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        db.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    db.close()
    with pytest.raises(FatalError, match="newer than this agent supports"):
        SqliteStateStore(path)


def test_unwritable_state_directory_is_a_clear_fatal_error(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("")
    with pytest.raises(FatalError, match="cannot use state directory"):
        SqliteStateStore(blocker / "state.db")


def test_meta_values_round_trip(store: SqliteStateStore) -> None:
    assert store.meta_value("event_id_key") is None
    store.set_meta_value("event_id_key", b"\x00\x01")
    assert store.meta_value("event_id_key") == b"\x00\x01"
