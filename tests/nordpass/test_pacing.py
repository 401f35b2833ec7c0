"""Client-side pacing: the configured rate in the long run, slots missed by a busy caller made up
for, and never more than a small burst above the rate in any second."""

from __future__ import annotations

import bisect
import random

import pytest

from agent.clock import ManualClock
from agent.nordpass.pacing import RequestPacer, catch_up_slots


async def _paced_requests(
    pacer: RequestPacer, clock: ManualClock, work: list[float]
) -> list[float]:
    """Request times of a caller that works `work[i]` seconds (on the clock) after request i."""
    times = []
    for seconds in work:
        await pacer.acquire()
        times.append(clock.now())
        clock.advance(seconds)
    return times


def _most_in_one_second(times: list[float]) -> int:
    """The most requests any window [t, t + 1) holds (a busiest window starts at a request). A
    request due exactly one second after another may be granted a rounding error early (an
    epoch-sized clock's last bits), so the window ends a microsecond short."""
    return max(
        bisect.bisect_left(times, start + 1 - 1e-6) - index for index, start in enumerate(times)
    )


@pytest.mark.parametrize(("rate", "slots"), [(0.5, 1), (5, 1), (10, 2), (12, 2), (20, 4), (100, 4)])
def test_a_late_caller_may_make_up_a_few_slots_growing_with_the_rate(
    rate: float, slots: int
) -> None:
    assert catch_up_slots(rate) == slots


async def test_a_caller_that_never_waits_gets_exactly_the_configured_rate() -> None:
    clock = ManualClock()
    pacer = RequestPacer(10, clock=clock)
    start = clock.now()

    times = await _paced_requests(pacer, clock, [0.0] * 1003)

    # The first three (the slot due plus two missed ones) pass at once, then one every 0.1 s.
    assert times[:3] == [start] * 3
    assert times[-1] - start == pytest.approx(100.0)


async def test_slots_missed_while_the_caller_was_busy_are_made_up() -> None:
    # Work alternating between 0.13 s and 0.07 s: on average one slot, but every other request
    # comes 0.03 s after its slot.
    work = [0.13, 0.07] * 500

    caught_up = ManualClock()
    times = await _paced_requests(RequestPacer(10, clock=caught_up), caught_up, work)
    lossy = ManualClock()
    lossy_times = await _paced_requests(RequestPacer(10, clock=lossy, catch_up=0), lossy, work)

    assert times[-1] - times[0] == pytest.approx(99.9, abs=0.11)  # 10 requests/s
    assert lossy_times[-1] - lossy_times[0] == pytest.approx(114.9, abs=0.11)  # 8.7 requests/s


@pytest.mark.parametrize("rate", [2, 5, 10, 25, 100])
async def test_no_second_holds_more_than_the_rate_plus_the_catch_up_slots(rate: int) -> None:
    rng = random.Random(rate)
    # Bursts of eager requests between busy and idle spells of every length.
    work = [rng.choice([0.0, 0.0, 0.0, rng.random() / rate, rng.random() * 3]) for _ in range(3000)]
    clock = ManualClock()

    times = await _paced_requests(RequestPacer(rate, clock=clock), clock, work)

    assert _most_in_one_second(times) <= rate + catch_up_slots(rate)
    assert len(times) / (times[-1] - times[0]) <= rate * 1.001


def test_a_rate_that_is_not_positive_is_refused() -> None:
    with pytest.raises(ValueError, match="rate must be positive"):
        RequestPacer(0, clock=ManualClock())
