"""The settled-events cache keeps every entry of the batches being sent, however large they are
against its capacity, and stays bounded once they are reported."""

from __future__ import annotations

from connectors.splunk_hec.outcomes import DELIVERED, Outcomes


def _keys(batch: str, count: int) -> list[tuple[str, str]]:
    return [("acme", f"{batch}-{index}") for index in range(count)]


def test_batches_being_sent_keep_their_entries_beyond_the_capacity() -> None:
    outcomes = Outcomes(capacity=10)
    first, second = _keys("a", 8), _keys("b", 8)
    with outcomes.sending(len(first)), outcomes.sending(len(second)):
        for key in first + second:  # the two batches' requests settle interleaved or not
            outcomes.record(key)
        assert all(outcomes.get(key) == DELIVERED for key in first + second)
    outcomes.forget(first)
    assert len(outcomes) == len(second)


def test_left_over_entries_stay_within_the_capacity() -> None:
    outcomes = Outcomes(capacity=10)
    with outcomes.sending(8):
        for key in _keys("failed", 8):  # a batch that failed part-way keeps its entries
            outcomes.record(key)
    for key in _keys("later", 5):
        outcomes.record(key)
    assert len(outcomes) == 10
    assert outcomes.get(("acme", "failed-0")) is None  # the oldest went first
    assert outcomes.get(("acme", "later-4")) == DELIVERED
