"""The shared connector contract: every destination passes these, through the real engine.

Each target declares what its SIEM can be made to do; a behaviour it cannot show is skipped with
the reason. A new connector adds its target to `TARGETS`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AbstractAsyncContextManager
from functools import partial
from pathlib import Path

import pytest

from agent.clock import ManualClock
from tests.connectors.contract import (
    T0,
    TENANTS,
    ContractTarget,
    Harness,
    open_file_target,
    until,
)
from tests.connectors.splunk_hec.contract_target import open_splunk_hec_target

OpenTarget = Callable[[Path, ManualClock], AbstractAsyncContextManager[ContractTarget]]
TARGETS: dict[str, OpenTarget] = {
    "file": open_file_target,
    "splunk_hec": open_splunk_hec_target,
    "splunk_hec_with_acks": partial(open_splunk_hec_target, acks=True),
}


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(start=T0 + 86400)


@pytest.fixture(params=sorted(TARGETS))
async def target(
    request: pytest.FixtureRequest, tmp_path: Path, clock: ManualClock
) -> AsyncIterator[ContractTarget]:
    async with TARGETS[request.param](tmp_path, clock) as opened:
        yield opened


@pytest.fixture
def harness(tmp_path: Path, clock: ManualClock) -> Iterator[Harness]:
    opened = Harness(tmp_path, clock)
    yield opened
    opened.close()


def require(target: ContractTarget, capability: str) -> None:
    if not getattr(target.capabilities, capability):
        pytest.skip(f"{type(target).__name__} cannot show {capability}")


def per_tenant(delivered: list[tuple[str, str]]) -> dict[str, list[str]]:
    grouped: dict[str, list[str]] = {tenant: [] for tenant in TENANTS}
    for tenant, event_id in delivered:
        grouped[tenant].append(event_id)
    return grouped


async def test_it_delivers_everything_once_in_order_per_tenant(
    target: ContractTarget, harness: Harness
) -> None:
    harness.append(60)
    await harness.deliver_all(harness.dispatcher(target.destination()))
    assert per_tenant(target.delivered()) == harness.appended
    assert harness.dead_letter_ids() == set()


async def test_it_respects_the_batch_byte_cap(target: ContractTarget, harness: Harness) -> None:
    require(target, "byte_cap")
    harness.append(20)
    await harness.deliver_all(harness.dispatcher(target.destination(batch_max_bytes=4096)))
    sizes = target.request_sizes()
    assert len(sizes) > 3
    assert max(sizes) <= 4096
    assert per_tenant(target.delivered()) == harness.appended


async def test_it_retries_retryable_failures_without_losing_or_repeating(
    target: ContractTarget, harness: Harness
) -> None:
    require(target, "retryable_faults")
    harness.append(30)
    target.fail_next(8)
    await harness.deliver_all(harness.dispatcher(target.destination()))
    assert per_tenant(target.delivered()) == harness.appended


async def test_it_honours_retry_after(
    target: ContractTarget, harness: Harness, clock: ManualClock
) -> None:
    require(target, "retry_after")
    harness.append(5)
    target.fail_next(1, retry_after=42)
    await harness.deliver_all(harness.dispatcher(target.destination()))
    assert 42.0 in clock.sleeps
    assert per_tenant(target.delivered()) == harness.appended


async def test_it_dead_letters_exactly_the_poison_events(
    target: ContractTarget, harness: Harness
) -> None:
    require(target, "poison")
    harness.append(40)
    poison = {"acme-00003", "globex-00017", "globex-00018", "initech-00039"}
    target.poison(poison)
    await harness.deliver_all(harness.dispatcher(target.destination()))
    assert harness.dead_letter_ids() == poison
    expected = {
        tenant: [event_id for event_id in ids if event_id not in poison]
        for tenant, ids in harness.appended.items()
    }
    assert per_tenant(target.delivered()) == expected


async def test_it_stops_on_a_fatal_error_and_keeps_the_backlog(
    target: ContractTarget, harness: Harness
) -> None:
    require(target, "fatal")
    harness.append(10)
    target.break_config()
    dispatcher = harness.dispatcher(target.destination())
    async with harness.running(dispatcher):
        await until(lambda: dispatcher.fatal)
        assert harness.backlog() == 30
    assert harness.backlog() == 30
    assert target.delivered() == []
    assert harness.dead_letter_ids() == set()
    assert dispatcher.failure is not None


async def test_it_resumes_once_the_fault_is_cleared(
    target: ContractTarget, harness: Harness
) -> None:
    require(target, "fatal")
    harness.append(10)
    target.break_config()
    dispatcher = harness.dispatcher(target.destination())
    async with harness.running(dispatcher):
        await until(lambda: dispatcher.fatal)
        target.repair()
        harness.append(5)
        await until(lambda: harness.backlog() == 0)
    assert per_tenant(target.delivered()) == harness.appended
    assert not dispatcher.fatal
