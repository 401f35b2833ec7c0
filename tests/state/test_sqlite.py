"""The SQLite state store: durable counts and watermarks, one owner, private files, migrations."""

from __future__ import annotations

import sqlite3
import stat
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from agent.errors import FatalError
from agent.state import SCHEMA_VERSION, SqliteStateStore, StateLockedError
from agent.state.schema import MIGRATIONS

FP_A = b"a" * 16
FP_B = b"b" * 16


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SqliteStateStore]:
    opened = SqliteStateStore(tmp_path / "state.db")
    yield opened
    opened.close()


def test_counts_only_grow_and_survive_reopening(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    store = SqliteStateStore(path)
    store.append_window("acme", {FP_A: (100, 2), FP_B: (101, 1)}, [], watermark=None, now=0)
    store.append_window("acme", {FP_A: (100, 1)}, [], watermark=None, now=0)
    store.close()
    reopened = SqliteStateStore(path)
    assert reopened.stored_counts("acme", 100, 102) == {FP_A: 2, FP_B: 1}
    assert reopened.stored_counts("acme", 101, 200) == {FP_B: 1}
    assert reopened.count_in_range("acme", 100, 101) == 2
    assert reopened.count_in_range("acme", 100, 102) == 3
    reopened.close()


def test_tenants_do_not_share_counts(store: SqliteStateStore) -> None:
    store.append_window("acme", {FP_A: (100, 1)}, [], watermark=200, now=0)
    assert store.stored_counts("globex", 0, 1000) == {}
    assert store.watermark("globex") is None
    assert store.watermark("acme") == 200


def test_watermark_never_moves_backwards(store: SqliteStateStore) -> None:
    store.append_window("acme", {}, [], watermark=500, now=0)
    store.append_window("acme", {}, [], watermark=400, now=0)
    assert store.watermark("acme") == 500


def test_a_range_of_seconds_reads_every_fingerprint_stored_in_it(store: SqliteStateStore) -> None:
    counts = {i.to_bytes(16, "big"): (1000 + i // 3, 1 + i % 2) for i in range(2500)}
    store.append_window("acme", counts, [], watermark=None, now=0)
    expected = {fp: count for fp, (second, count) in counts.items() if 1100 <= second < 1500}
    assert store.stored_counts("acme", 1100, 1500) == expected
    assert len(expected) == 1200


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


@contextmanager
def _migrated(
    path: Path, version: int, fill: Callable[[sqlite3.Connection], None]
) -> Iterator[SqliteStateStore]:
    """The store opened on a state file as an agent of schema `version` left it, holding what
    `fill` wrote: migrated to the current schema on opening."""
    db = sqlite3.connect(path, isolation_level=None)
    try:
        for migration in MIGRATIONS[:version]:
            db.executescript(migration)
        db.execute(f"PRAGMA user_version = {version}")
        fill(db)
    finally:
        db.close()
    store = SqliteStateStore(path)
    try:
        yield store
    finally:
        store.close()


def test_fingerprints_stored_before_the_time_ordered_layout_survive_the_migration(
    tmp_path: Path,
) -> None:
    def fill(db: sqlite3.Connection) -> None:
        db.executemany(
            "INSERT INTO fingerprints (tenant, fingerprint, second, count) VALUES (?, ?, ?, ?)",
            [("acme", FP_A, 100, 2), ("acme", FP_B, 101, 1), ("globex", FP_A, 100, 1)],
        )

    with _migrated(tmp_path / "state.db", 3, fill) as store:
        assert store.stored_counts("acme", 0, 1000) == {FP_A: 2, FP_B: 1}
        assert store.stored_counts("globex", 100, 101) == {FP_A: 1}
        store.append_window("acme", {FP_A: (100, 3)}, [], now=0)
        assert store.count_in_range("acme", 100, 102) == 4


def test_backlogs_stored_before_the_running_counts_are_counted_by_the_migration(
    tmp_path: Path,
) -> None:
    def fill(db: sqlite3.Connection) -> None:
        db.executemany(
            "INSERT INTO event_log (tenant, target, event_id, second, raw) VALUES (?, ?, ?, 1, '')",
            [
                ("acme", None, "e1"),
                ("acme", None, "e2"),
                ("acme", "b", "e3"),
                ("globex", None, "g1"),
            ],
        )
        db.executemany(
            "INSERT INTO offsets (tenant, destination, seq) VALUES (?, ?, ?)",
            [("acme", "a", 1), ("acme", "b", 0), ("globex", "a", 4)],
        )

    with _migrated(tmp_path / "state.db", 4, fill) as store:
        backlogs = {(p.tenant, p.destination): p.backlog for p in store.outbox.positions()}
        assert backlogs == {("acme", "a"): 1, ("acme", "b"): 3, ("globex", "a"): 0}
