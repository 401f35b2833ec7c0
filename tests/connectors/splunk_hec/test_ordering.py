"""Posting order: batches take turns in call order, and a failed batch keeps its place."""

from __future__ import annotations

import asyncio

import pytest

from agent.clock import ManualClock
from agent.errors import RetryableError
from connectors.splunk_hec.ordering import PostingOrder

A, B, C = ("acme", "a"), ("acme", "b"), ("acme", "c")


async def post(
    order: PostingOrder, batch: tuple[str, str], log: list[str], *, fail: bool = False
) -> None:
    async with order.turn(batch):
        await asyncio.sleep(0)
        if fail:
            raise RetryableError("busy")
        log.append(batch[1])


async def test_batches_post_in_the_order_they_asked() -> None:
    order, log = PostingOrder(ManualClock()), list[str]()
    await asyncio.gather(*(post(order, batch, log) for batch in (A, B, C)))
    assert log == ["a", "b", "c"]


async def test_later_batches_wait_for_the_retry_of_a_failed_one() -> None:
    order, log = PostingOrder(ManualClock(), recheck=0.01), list[str]()
    with pytest.raises(RetryableError):
        await post(order, A, log, fail=True)
    waiting = [asyncio.create_task(post(order, batch, log)) for batch in (B, C)]
    await asyncio.sleep(0.05)
    assert log == []
    await post(order, A, log)
    await asyncio.gather(*waiting)
    assert log == ["a", "b", "c"]


async def test_a_failed_batch_never_retried_stops_holding_the_others_once_stale() -> None:
    clock = ManualClock()
    order, log = PostingOrder(clock, stale_after=60, recheck=0.01), list[str]()
    with pytest.raises(RetryableError):
        await post(order, A, log, fail=True)
    waiting = asyncio.create_task(post(order, B, log))
    await asyncio.sleep(0.03)
    assert not waiting.done()
    clock.advance(61)
    await asyncio.wait_for(waiting, timeout=5)
    assert log == ["b"]
