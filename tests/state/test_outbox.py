"""The event log's delivery side: per-destination offsets, dead letters, detach gaps, pruning."""

from __future__ import annotations

import random
from collections.abc import Iterator
from pathlib import Path

import pytest

from agent.state import PRUNE_CHUNK, LogEntry, SqliteStateStore


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SqliteStateStore]:
    opened = SqliteStateStore(tmp_path / "state.db")
    opened.outbox.set_routes({"acme": ["a", "b"], "globex": ["a"]})
    yield opened
    opened.close()


def append(store: SqliteStateStore, tenant: str, count: int, *, target: str | None = None) -> None:
    entries = [LogEntry(f"{tenant}-{i}", 1000 + i, b'{"n":%d}' % i) for i in range(count)]
    store.append_window(tenant, {}, entries, target=target, now=0)


def test_each_destination_reads_its_own_backlog_across_tenants_in_order(
    store: SqliteStateStore,
) -> None:
    append(store, "acme", 3)
    append(store, "globex", 2)
    rows = store.outbox.pending("a", 10)
    assert [row.event_id for row in rows] == ["acme-0", "acme-1", "acme-2", "globex-0", "globex-1"]
    assert [row.event_id for row in store.outbox.pending("b", 10)] == ["acme-0", "acme-1", "acme-2"]


def test_confirming_moves_only_that_destinations_offsets(store: SqliteStateStore) -> None:
    append(store, "acme", 3)
    batch = store.outbox.pending("a", 2)
    store.outbox.confirm("a", batch, {}, attempts=1, now=0)
    assert [row.event_id for row in store.outbox.pending("a", 10)] == ["acme-2"]
    assert store.outbox.backlog("acme", "b") == 3
    assert store.outbox.delivered("acme", "a") == 2


def test_caught_up_is_an_empty_backlog_whatever_other_destinations_hold(
    store: SqliteStateStore,
) -> None:
    def agrees(tenant: str, destination: str) -> bool:
        empty = store.outbox.backlog(tenant, destination) == 0
        return store.outbox.caught_up(tenant, destination) is empty

    assert store.outbox.caught_up("acme", "a")
    assert store.outbox.caught_up("acme", "b")
    append(store, "acme", 3)
    append(store, "globex", 2)
    store.outbox.confirm("a", store.outbox.pending("a", 3), {}, attempts=1, now=0)
    assert store.outbox.caught_up("acme", "a")
    assert not store.outbox.caught_up("globex", "a")
    assert not store.outbox.caught_up("acme", "b")
    append(store, "acme", 2, target="b")  # a replay meant for b only
    assert store.outbox.caught_up("acme", "a")
    assert not store.outbox.caught_up("acme", "b")
    store.outbox.confirm("b", store.outbox.pending("b", 10), {}, attempts=1, now=0)
    assert store.outbox.caught_up("acme", "b")
    assert store.outbox.caught_up("globex", "b")  # not routed there: nothing to wait for
    assert all(agrees(t, d) for t in ("acme", "globex") for d in ("a", "b"))
    rows = store.outbox.pending("a", 10)
    assert [row.tenant for row in rows] == ["globex", "globex"]
    store.outbox.confirm("a", rows, {rows[-1].seq: "rejected"}, attempts=1, now=0)
    assert store.outbox.caught_up("globex", "a")  # a dead letter is no backlog
    assert all(agrees(t, d) for t in ("acme", "globex") for d in ("a", "b"))


def test_pruning_goes_a_chunk_at_a_time_and_stops_at_the_first_short_one(
    store: SqliteStateStore,
) -> None:
    append(store, "globex", PRUNE_CHUNK + 10)  # routed to "a" only
    store.outbox.confirm("a", store.outbox.pending("a", PRUNE_CHUNK), {}, attempts=1, now=0)
    assert store.outbox.prune_chunk() == PRUNE_CHUNK
    assert store.outbox.prune_chunk() == 0  # the other 10 are not confirmed yet
    store.outbox.confirm("a", store.outbox.pending("a", 20), {}, attempts=1, now=0)
    assert store.outbox.prune() == 10
    assert store.outbox.caught_up("globex", "a")


def test_poisoned_rows_become_dead_letters_and_the_offset_moves_past_them(
    store: SqliteStateStore,
) -> None:
    append(store, "acme", 3)
    batch = store.outbox.pending("a", 3)
    store.outbox.confirm("a", batch, {batch[1].seq: "invalid event"}, attempts=2, now=5)
    assert store.outbox.backlog("acme", "a") == 0
    assert store.outbox.delivered("acme", "a") == 2
    (letter,) = store.dead_letters.list()
    assert (letter.event_id, letter.destination, letter.error, letter.attempts) == (
        "acme-1", "a", "invalid event", 2,
    )  # fmt: skip


def test_replayed_dead_letters_go_to_their_destination_only_with_their_ids(
    store: SqliteStateStore,
) -> None:
    append(store, "acme", 2)
    for name in ("a", "b"):
        store.outbox.confirm(name, store.outbox.pending(name, 10), {}, attempts=1, now=0)
    store.outbox.confirm("a", [], {}, attempts=1, now=0)
    append(store, "acme", 1)
    batch = store.outbox.pending("a", 10)
    store.outbox.confirm("a", batch, {batch[0].seq: "bad"}, attempts=1, now=0)
    assert store.dead_letters.replay(destination="a") == 1
    assert [row.event_id for row in store.outbox.pending("a", 10)] == ["acme-0"]
    assert [row.event_id for row in store.outbox.pending("b", 10)] == ["acme-0"]  # its own copy
    assert store.dead_letters.list() == []


def test_dead_letters_of_a_route_no_longer_configured_are_kept_not_replayed(
    store: SqliteStateStore,
) -> None:
    append(store, "acme", 1)
    batch = store.outbox.pending("a", 10)
    store.outbox.confirm("a", batch, {batch[0].seq: "bad"}, attempts=1, now=0)
    store.outbox.set_routes({"acme": ["b", "c"]})  # acme no longer sends to `a`
    assert store.dead_letters.replay() == 0
    assert store.dead_letters.unrouted() == 1
    assert [letter.event_id for letter in store.dead_letters.list()] == ["acme-0"]
    store.outbox.set_routes({"acme": ["a", "b", "c"]})  # routed again: the replay delivers it
    assert store.dead_letters.unrouted() == 0
    assert store.dead_letters.replay() == 1
    assert [row.event_id for row in store.outbox.pending("a", 10)] == ["acme-0"]


def test_purge_and_expiry_delete_dead_letters(store: SqliteStateStore) -> None:
    append(store, "acme", 2)
    batch = store.outbox.pending("a", 2)
    store.outbox.confirm("a", batch, {batch[0].seq: "x", batch[1].seq: "y"}, attempts=1, now=10)
    assert store.dead_letters.expire(older_than=5) == 0
    assert store.dead_letters.purge(tenant="acme", destination="b") == 0
    assert store.dead_letters.expire(older_than=11) == 2


def test_rows_are_pruned_only_behind_every_destinations_offset(store: SqliteStateStore) -> None:
    append(store, "acme", 4)
    store.outbox.confirm("a", store.outbox.pending("a", 4), {}, attempts=1, now=0)
    assert store.outbox.prune() == 0  # b has not confirmed any
    store.outbox.confirm("b", store.outbox.pending("b", 2), {}, attempts=1, now=0)
    assert store.outbox.prune() == 2
    assert [row.event_id for row in store.outbox.pending("b", 10)] == ["acme-2", "acme-3"]


def test_sequence_numbers_are_never_reused_after_the_log_is_emptied(
    store: SqliteStateStore,
) -> None:
    append(store, "acme", 2)
    for name in ("a", "b"):
        store.outbox.confirm(name, store.outbox.pending(name, 10), {}, attempts=1, now=0)
    store.outbox.prune()
    append(store, "acme", 1)
    assert [row.event_id for row in store.outbox.pending("a", 10)] == ["acme-0"]


def test_a_new_destination_starts_at_the_newest_row_and_a_removed_one_is_dropped(
    store: SqliteStateStore,
) -> None:
    append(store, "acme", 2)
    store.outbox.set_routes({"acme": ["a", "c"]})
    assert store.outbox.backlog("acme", "c") == 0
    assert store.outbox.backlog("acme", "a") == 2
    assert store.outbox.offset("acme", "b") == 0
    append(store, "acme", 1)
    assert [row.event_id for row in store.outbox.pending("c", 10)] == ["acme-0"]


def test_detaching_skips_the_backlog_and_records_its_time_range(store: SqliteStateStore) -> None:
    append(store, "acme", 5)
    gap = store.outbox.detach("acme", "b", now=0)
    assert gap is not None
    assert (gap.start, gap.end) == (1000, 1005)
    assert store.outbox.backlog("acme", "b") == 0
    assert store.outbox.backlog("acme", "a") == 5
    assert store.outbox.gaps("b") == [gap]
    assert store.outbox.close_gap(gap)
    assert store.outbox.gaps() == []


def test_a_gap_that_grew_while_it_was_refetched_is_kept_whole(store: SqliteStateStore) -> None:
    append(store, "acme", 5)
    first = store.outbox.detach("acme", "b", now=0)
    assert first is not None
    # Its re-fetch appends rows for `b` alone; newer events arrive; `b` is detached again before
    # it took any of them, skipping re-fetched rows as well as new ones.
    append(store, "acme", 5, target="b")
    store.append_window("acme", {}, [LogEntry("acme-new", 2000, b"{}")], now=0)
    second = store.outbox.detach("acme", "b", now=1)
    assert second is not None
    assert (second.start, second.end) == (1000, 2001)

    assert not store.outbox.close_gap(first)  # the re-fetch of the first gap completes
    assert [(gap.start, gap.end) for gap in store.outbox.gaps("b")] == [(1000, 2001)]
    assert store.outbox.close_gap(second)
    assert store.outbox.gaps("b") == []


def test_targeted_rows_reach_only_their_destination(store: SqliteStateStore) -> None:
    append(store, "acme", 2, target="b")
    assert store.outbox.backlog("acme", "a") == 0
    assert store.outbox.backlog("acme", "b") == 2


def _counted_backlogs(store: SqliteStateStore) -> dict[tuple[str, str], int]:
    """Each pair's backlog counted row by row in the log: what the running counts must equal."""
    rows = store.database.connection.execute(
        "SELECT o.tenant, o.destination, COUNT(l.seq) FROM offsets o "
        "LEFT JOIN event_log l ON l.tenant = o.tenant AND l.seq > o.seq "
        "AND (l.target IS NULL OR l.target = o.destination) GROUP BY o.tenant, o.destination"
    )
    return {(tenant, destination): count for tenant, destination, count in rows}


@pytest.mark.parametrize("seed", range(8))
def test_running_backlog_counts_equal_the_log_through_every_kind_of_change(
    store: SqliteStateStore, seed: int
) -> None:
    rng = random.Random(seed)
    routes = {"acme": ["a", "b"], "globex": ["a"]}
    for step in range(300):
        tenant, name = rng.choice(["acme", "globex"]), rng.choice(["a", "b"])
        match rng.choice(["append", "append", "confirm", "confirm", "detach", "replay", "route"]):
            case "append":
                target = rng.choice([None, None, "a", "b"])
                append(store, tenant, rng.randrange(6), target=target)
            case "confirm":
                batch = store.outbox.pending(name, rng.randrange(1, 8))
                dead = {row.seq: "refused" for row in batch if rng.random() < 0.2}
                store.outbox.confirm(name, batch, dead, attempts=1, now=step)
            case "detach":
                store.outbox.detach(tenant, name, now=step)
            case "replay":
                store.dead_letters.replay(destination=rng.choice([None, name]))
            case "route":
                names = routes[tenant]
                routes[tenant] = (
                    [n for n in names if n != name] if name in names else [*names, name]
                )
                store.outbox.set_routes(routes)
        if rng.random() < 0.1:
            store.outbox.prune()
        positions = {(p.tenant, p.destination): p.backlog for p in store.outbox.positions()}
        assert positions == _counted_backlogs(store), f"step {step}"
        assert all(store.outbox.backlog(t, d) == n for (t, d), n in positions.items())


def test_a_gap_shrinks_as_it_is_refetched_and_a_later_detach_keeps_what_it_skipped(
    store: SqliteStateStore,
) -> None:
    append(store, "acme", 5)
    gap = store.outbox.detach("acme", "b", now=0)
    assert gap is not None
    append(store, "acme", 3, target="b")  # the re-fetch of [1000, 1003) landed in the log
    left = store.outbox.shrink_gap(gap, 1003)
    assert left is not None
    assert store.outbox.gaps("b") == [left]
    assert (left.start, left.end) == (1003, 1005)
    assert store.outbox.shrink_gap(gap, 1004) is None  # no longer the gap on record

    # `b` is detached again before it took the re-fetched rows and a newer event: one gap
    # holds them and what was left of the first.
    store.append_window("acme", {}, [LogEntry("acme-new", 2000, b"{}")], now=0)
    again = store.outbox.detach("acme", "b", now=1)
    assert again is not None
    assert (again.start, again.end) == (1000, 2001)
    assert store.outbox.gaps("b") == [again]
    assert not store.outbox.close_gap(left)  # the re-fetch of what was left: it grew


def test_detaching_merges_the_gaps_it_overlaps_or_touches(store: SqliteStateStore) -> None:
    append(store, "acme", 5)
    first = store.outbox.detach("acme", "b", now=0)
    assert first is not None
    store.append_window("acme", {}, [LogEntry("acme-far", 3000, b"{}")], now=0)
    apart = store.outbox.detach("acme", "b", now=1)  # later, not touching the first
    assert apart is not None
    assert [(g.start, g.end) for g in store.outbox.gaps("b")] == [(1000, 1005), (3000, 3001)]
    store.append_window("acme", {}, [LogEntry("acme-late", 1005, b"{}")], now=0)
    joined = store.outbox.detach("acme", "b", now=2)  # a late event at the first gap's end
    assert joined is not None
    assert [(g.start, g.end) for g in store.outbox.gaps("b")] == [(1000, 1006), (3000, 3001)]
