"""The settled-events cache keeps every entry of the batches being sent, whatever is recorded
meanwhile, and stays bounded otherwise."""

from __future__ import annotations

from connectors.splunk_hec.outcomes import DELIVERED, Outcomes


def _keys(batch: str, count: int) -> list[tuple[str, str]]:
    return [("acme", f"{batch}-{index}") for index in range(count)]


def test_batches_being_sent_keep_their_entries_beyond_the_capacity() -> None:
    outcomes = Outcomes(capacity=10)
    first, second = _keys("a", 8), _keys("b", 8)
    with outcomes.sending(first), outcomes.sending(second):
        for key in first + second:
            outcomes.record(key)
        assert all(outcomes.get(key) == DELIVERED for key in first + second)
        outcomes.forget(first)
    assert len(outcomes) == len(second)


def test_entries_left_by_failed_batches_never_push_out_those_of_a_batch_being_sent() -> None:
    outcomes = Outcomes(capacity=10)
    sending = _keys("sending", 4)
    with outcomes.sending(sending):
        for key in sending[:3]:
            outcomes.record(key)
        for batch in ("failed-1", "failed-2"):  # failed part-way: they keep their entries
            keys = _keys(batch, 8)
            with outcomes.sending(keys):
                for key in keys:
                    outcomes.record(key)
        outcomes.record(sending[3])
        assert all(outcomes.get(key) == DELIVERED for key in sending)
    assert len(outcomes) == 10  # once reported, the oldest go first
    assert outcomes.get(("acme", "failed-1-0")) is None
    assert outcomes.get(sending[3]) == DELIVERED


def test_a_retried_batch_keeps_what_its_earlier_attempt_settled() -> None:
    outcomes = Outcomes(capacity=4)
    batch = _keys("retried", 4)
    with outcomes.sending(batch):  # the first attempt settles half, then fails
        for key in batch[:2]:
            outcomes.record(key)
    with outcomes.sending(batch):  # the retry sends the other half
        for other in ("failed-1", "failed-2"):  # meanwhile other batches fail part-way
            keys = _keys(other, 4)
            with outcomes.sending(keys):
                for key in keys:
                    outcomes.record(key)
        for key in batch[2:]:
            outcomes.record(key)
        assert all(outcomes.get(key) == DELIVERED for key in batch)


def test_an_event_in_two_batches_keeps_its_entry_until_both_are_reported() -> None:
    outcomes = Outcomes()
    shared = ("acme", "shared")
    first, second = [shared, *_keys("a", 2)], [shared, *_keys("b", 2)]
    with outcomes.sending(second):
        with outcomes.sending(first):
            outcomes.record(shared)
            outcomes.forget(first)  # the first batch's report was read
        assert outcomes.get(shared) == DELIVERED
        outcomes.forget(second)
    assert outcomes.get(shared) is None
