"""What is known of the API's bound convention, and the queries derived from it."""

from __future__ import annotations

import pytest

from agent.pipeline.cursor import BoundKnowledge


@pytest.mark.parametrize("lower", [True, False])
@pytest.mark.parametrize("upper", [True, False])
def test_a_one_second_query_holds_that_second_alone_under_the_known_convention(
    lower: bool, upper: bool
) -> None:
    knowledge = BoundKnowledge(lower_inclusive=lower, upper_inclusive=upper)
    query = knowledge.one_second(1_000)
    assert query is not None
    low, high = query
    seconds = [s for s in range(990, 1_010) if (s >= low if lower else s > low)]
    seconds = [s for s in seconds if (s <= high if upper else s < high)]
    assert seconds == [1_000]


def test_no_one_second_query_before_both_bounds_are_known() -> None:
    assert BoundKnowledge().one_second(1_000) is None
    assert BoundKnowledge(lower_inclusive=True).one_second(1_000) is None
