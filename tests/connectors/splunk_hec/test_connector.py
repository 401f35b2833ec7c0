"""The connector against the HEC emulator over real sockets: batching, gzip, TLS, retries,
poison isolation, 413 halving, fatal replies (of the destination, or of one tenant's own token or
index), proxies and the health check. Waits run on a manual clock."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Sequence

import pytest
from pydantic import SecretStr

from agent.clock import ManualClock
from agent.errors import FatalError, RetryableError
from connectors.base import OutboundEvent
from connectors.splunk_hec.emulator import Fault, FaultKind, HecEmulator
from tests.connectors.splunk_hec.conftest import (
    TOKEN,
    Authority,
    Build,
    batch_of,
    outbound,
)
from tests.support.forward_proxy import ForwardProxy


def ids(batch: Sequence[OutboundEvent]) -> list[str]:
    return [event.event_id for event in batch]


async def test_a_batch_lands_once_in_order_gzipped(build: Build, emulator: HecEmulator) -> None:
    batch = batch_of(50)
    report = await build().send(batch)
    assert (report.delivered, report.poisoned) == (50, {})
    assert emulator.event_ids() == ids(batch)
    (request,) = emulator.requests
    assert request.gzip
    assert request.wire_bytes * 4 < request.body_bytes
    assert request.channel is not None
    assert uuid.UUID(request.channel).version == 4
    assert {event.index for event in emulator.indexed} == {"nordpass"}
    assert emulator.indexed[0].fields["tenant"] == "acme"


async def test_without_gzip_the_body_goes_as_json(build: Build, emulator: HecEmulator) -> None:
    await build(gzip=False).send(batch_of(3))
    (request,) = emulator.requests
    assert not request.gzip
    assert request.wire_bytes == request.body_bytes


async def test_https_with_a_private_ca(
    build: Build, emulator: HecEmulator, authority: Authority
) -> None:
    await emulator.stop()
    url = await emulator.start(ssl_context=authority.server)
    destination = build(url=url, ca_file=str(authority.ca_file))
    assert (await destination.check()).ok
    assert (await destination.send(batch_of(5))).delivered == 5
    assert len(emulator.indexed) == 5


async def test_an_untrusted_certificate_fails_the_check_in_one_line(
    build: Build, emulator: HecEmulator, authority: Authority
) -> None:
    await emulator.stop()
    url = await emulator.start(ssl_context=authority.server)
    health = await build(url=url).check()
    assert not health.ok
    assert health.detail.startswith(f"cannot reach HEC at {url}: ConnectError")
    assert "CERTIFICATE_VERIFY_FAILED" in health.detail
    assert "\n" not in health.detail


@pytest.fixture
async def proxy() -> AsyncIterator[tuple[ForwardProxy, str]]:
    forward = ForwardProxy()
    url = await forward.start()
    yield forward, url
    await forward.stop()


async def test_https_through_the_configured_proxy(
    build: Build, emulator: HecEmulator, authority: Authority, proxy: tuple[ForwardProxy, str]
) -> None:
    forward, proxy_url = proxy
    await emulator.stop()
    url = await emulator.start(ssl_context=authority.server)
    destination = build(url=url, ca_file=str(authority.ca_file), proxy=proxy_url)
    assert (await destination.check()).ok
    assert (await destination.send(batch_of(5))).delivered == 5
    assert len(emulator.indexed) == 5
    assert forward.tunnels  # TLS end to end with HEC, tunnelled by the proxy
    assert set(forward.tunnels) == {url.removeprefix("https://")}


async def test_the_proxy_comes_from_https_proxy_when_not_configured(
    build: Build,
    emulator: HecEmulator,
    authority: Authority,
    proxy: tuple[ForwardProxy, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    forward, proxy_url = proxy
    for name in ("NO_PROXY", "no_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HTTPS_PROXY", proxy_url)
    await emulator.stop()
    url = await emulator.start(ssl_context=authority.server)
    destination = build(url=url, ca_file=str(authority.ca_file))
    assert (await destination.send(batch_of(3))).delivered == 3
    assert set(forward.tunnels) == {url.removeprefix("https://")}


async def test_plain_http_through_the_configured_proxy(
    build: Build, emulator: HecEmulator, proxy: tuple[ForwardProxy, str]
) -> None:
    forward, proxy_url = proxy
    destination = build(proxy=proxy_url)
    assert (await destination.send(batch_of(4))).delivered == 4
    assert len(emulator.indexed) == 4
    assert forward.forwarded
    assert all(target.startswith(emulator.url) for target in forward.forwarded)


async def test_an_unreachable_proxy_is_a_retryable_failure_that_loses_nothing(
    build: Build, emulator: HecEmulator, clock: ManualClock
) -> None:
    destination = build(proxy="http://127.0.0.1:9", max_attempts=2)
    with pytest.raises(RetryableError, match="no reply from HEC"):
        await destination.send(batch_of(2))
    assert emulator.indexed == []


async def test_tenants_share_a_request_each_with_its_own_index(
    build: Build, emulator: HecEmulator
) -> None:
    batch = [outbound(1), outbound(1, tenant="globex"), outbound(2)]
    await build({"globex": {"index": "globex", "sourcetype": "np:globex"}}).send(batch)
    assert len(emulator.requests) == 1
    placed = [(e.fields["tenant"], e.index, e.sourcetype, e.source) for e in emulator.indexed]
    assert placed == [
        ("acme", "nordpass", "nordpass:activity", "nordpass:acme"),
        ("globex", "globex", "np:globex", "nordpass:globex"),
        ("acme", "nordpass", "nordpass:activity", "nordpass:acme"),
    ]


async def test_a_tenant_with_its_own_token_gets_its_own_requests(
    build: Build, emulator: HecEmulator
) -> None:
    emulator.add_token("globex-token", name="globex", default_index="globex")
    batch = [outbound(1), outbound(1, tenant="globex"), outbound(2)]
    destination = build({"globex": {"token": "globex-token", "index": "globex"}})
    assert (await destination.send(batch)).delivered == 3
    by_token = sorted((e.token, e.fields["event_id"]) for e in emulator.indexed)
    assert by_token == [("globex", "globex-00001"), ("nordpass", "acme-00001"),
                        ("nordpass", "acme-00002")]  # fmt: skip
    assert (await destination.check()).detail.endswith("2 token(s) accepted")


async def test_busy_replies_are_retried_with_backoff_on_the_injected_clock(
    build: Build, emulator: HecEmulator, clock: ManualClock
) -> None:
    emulator.script(Fault(FaultKind.BUSY), Fault(FaultKind.ERROR), Fault(FaultKind.DROP))
    destination = build()
    batch = batch_of(10)
    assert (await destination.send(batch)).delivered == 10
    assert emulator.event_ids() == ids(batch)
    assert clock.sleeps == [0.25, 0.5, 1.0]  # full jitter drawn at 0.5 of 0.5, 1 and 2 s
    assert destination.stats.retries == 3


async def test_retry_after_is_honoured(
    build: Build, emulator: HecEmulator, clock: ManualClock
) -> None:
    emulator.script(Fault(FaultKind.THROTTLE, retry_after=7), Fault(FaultKind.BUSY, retry_after=3))
    await build().send(batch_of(2))
    assert clock.sleeps == [7.0, 3.0]
    assert len(emulator.indexed) == 2


async def test_a_long_retry_after_goes_back_to_the_dispatcher(
    build: Build, emulator: HecEmulator, clock: ManualClock
) -> None:
    emulator.script(Fault(FaultKind.THROTTLE, retry_after=120))
    with pytest.raises(RetryableError) as raised:
        await build().send(batch_of(2))
    assert raised.value.retry_after == 120
    assert clock.sleeps == []


@pytest.mark.parametrize("indexer_ack", [False, True])
async def test_a_sign_in_page_answering_200_is_fatal_and_counts_nothing_delivered(
    build: Build, emulator: HecEmulator, indexer_ack: bool
) -> None:
    emulator.tokens[TOKEN].ack = indexer_ack
    destination = build(indexer_ack=indexer_ack)
    emulator.script(Fault(FaultKind.LOGIN_PAGE))
    with pytest.raises(FatalError, match="something other than HEC answers at `url`"):
        await destination.send(batch_of(3))
    assert emulator.indexed == []
    assert destination.stats.delivered == 0
    assert (await destination.send(batch_of(3))).delivered == 3  # the same batch, once HEC answers
    assert emulator.event_ids() == ids(batch_of(3))


async def test_a_batch_sent_again_after_a_failure_skips_what_hec_already_took(
    build: Build, emulator: HecEmulator
) -> None:
    destination = build(gzip=False, batch_max_bytes=2048, max_attempts=2)
    batch = batch_of(12)
    emulator.script(Fault(FaultKind.NONE), Fault(FaultKind.BUSY), Fault(FaultKind.BUSY))
    with pytest.raises(RetryableError, match="after 2 attempts"):
        await destination.send(batch)
    taken = len(emulator.indexed)
    assert 0 < taken < 12
    assert (await destination.send(batch)).delivered == 12
    assert emulator.event_ids() == ids(batch)


async def test_a_reply_lost_after_indexing_is_resent_so_hec_holds_a_duplicate(
    build: Build, emulator: HecEmulator
) -> None:
    emulator.script(Fault(FaultKind.DROP_AFTER_INDEX))
    batch = batch_of(3)
    assert (await build().send(batch)).delivered == 3
    assert emulator.event_ids() == ids(batch) * 2  # same event ids: `| dedup event_id`


async def test_poison_events_are_dead_lettered_and_the_rest_delivered_once(
    build: Build, emulator: HecEmulator
) -> None:
    batch = batch_of(40)
    emulator.knobs.poison = frozenset({'"acme-00007"', '"acme-00031"'})
    report = await build(gzip=False).send(batch)
    assert sorted(report.poisoned) == [7, 31]
    assert "code 6" in report.poisoned[7]
    assert report.delivered == 38
    good = [event_id for event_id in ids(batch) if event_id not in ("acme-00007", "acme-00031")]
    assert emulator.event_ids() == good


async def test_without_an_invalid_event_number_the_request_is_bisected_to_the_culprit(
    build: Build, emulator: HecEmulator
) -> None:
    emulator.knobs.invalid_event_number = False
    emulator.knobs.poison = frozenset({'"acme-00013"'})
    batch = batch_of(32)
    destination = build()
    report = await destination.send(batch)
    assert list(report.poisoned) == [13]
    assert report.delivered == 31
    # HEC indexed the events before the culprit each time it refused a request holding it.
    assert set(emulator.event_ids()) == set(ids(batch)) - {"acme-00013"}
    assert destination.stats.requests <= 2 * 5 + 1  # one bisection path of a 32-event request


async def test_a_request_too_large_is_halved_and_later_batches_start_smaller(
    build: Build, emulator: HecEmulator
) -> None:
    emulator.knobs.max_content_length = 4000
    destination = build(gzip=False)
    first, second = batch_of(30), batch_of(30, start=30)
    assert (await destination.send(first)).delivered == 30
    assert destination.stats.split_requests > 0
    assert 413 in {request.status for request in emulator.requests}
    before = len(emulator.requests)
    assert (await destination.send(second)).delivered == 30
    assert 413 not in {request.status for request in emulator.requests[before:]}
    assert emulator.event_ids() == ids(first + second)


async def test_an_event_larger_than_hec_accepts_alone_is_dead_lettered(
    build: Build, emulator: HecEmulator
) -> None:
    emulator.knobs.max_content_length = 3000
    batch = [outbound(0), outbound(1, metadata={"blob": "x" * 5000}), outbound(2)]
    report = await build(gzip=False).send(batch)
    assert list(report.poisoned) == [1]
    assert "this event alone is" in report.poisoned[1]
    assert emulator.event_ids() == ["acme-00000", "acme-00002"]


@pytest.mark.parametrize(
    ("break_it", "code"),
    [
        ("disable", 1),
        ("wrong_token", 4),
        ("unknown_index", 7),
    ],
)
async def test_configuration_errors_are_fatal_and_never_name_the_token(
    build: Build, emulator: HecEmulator, break_it: str, code: int
) -> None:
    settings: dict[str, object] = {}
    if break_it == "disable":
        emulator.tokens[TOKEN].enabled = False
    elif break_it == "wrong_token":
        settings["token"] = SecretStr("wrong-secret-value")
    else:
        settings["index"] = "finance"
    destination = build(**settings)
    with pytest.raises(FatalError) as raised:
        await destination.send(batch_of(3))
    message = str(raised.value)
    assert f"code {code}" in message
    assert message.startswith("destination 'splunk' (the destination's token): ")
    assert TOKEN not in message
    assert "wrong-secret-value" not in message
    assert destination.stats.fatal_errors == 1
    assert emulator.indexed == []


async def test_a_refused_tenant_token_holds_only_that_tenants_events(
    build: Build, emulator: HecEmulator
) -> None:
    emulator.add_token("globex-token", name="globex", default_index="globex")
    emulator.tokens["globex-token"].enabled = False
    destination = build({"globex": {"token": "globex-token", "index": "globex"}})
    batch = [outbound(1), outbound(1, tenant="globex"), outbound(2), outbound(2, tenant="globex")]
    report = await destination.send(batch)
    assert report.delivered == 2
    assert report.poisoned == {}
    assert list(report.held) == ["globex"]
    reason = report.held["globex"]
    assert "the token set for tenant 'globex'" in reason
    assert "code 1" in reason
    assert "globex-token" not in reason
    assert sorted(e.fields["event_id"] for e in emulator.indexed) == ["acme-00001", "acme-00002"]
    assert destination.stats.held == 2

    emulator.tokens["globex-token"].enabled = True  # fixed in Splunk: the same batch goes through
    again = await destination.send(batch[1::2])
    assert (again.delivered, again.held) == (2, {})
    assert sorted(e.fields["event_id"] for e in emulator.indexed) == [
        "acme-00001", "acme-00002", "globex-00001", "globex-00002"
    ]  # fmt: skip


async def test_a_refused_tenant_index_holds_only_that_tenant(
    build: Build, emulator: HecEmulator
) -> None:
    destination = build({"globex": {"index": "finance"}})  # not an index the token may write
    batch = [outbound(1), outbound(1, tenant="globex"), outbound(2), outbound(2, tenant="globex")]
    report = await destination.send(batch)
    assert (report.delivered, report.poisoned) == (2, {})
    assert list(report.held) == ["globex"]
    assert report.held["globex"].startswith("tenant 'globex': destination 'splunk'")
    assert "code 7" in report.held["globex"]
    assert [e.fields["event_id"] for e in emulator.indexed] == ["acme-00001", "acme-00002"]


async def test_a_refused_destination_index_stops_the_destination_even_with_overrides(
    build: Build, emulator: HecEmulator
) -> None:
    destination = build({"globex": {"index": "globex"}}, index="finance")
    with pytest.raises(FatalError, match="code 7"):
        await destination.send([outbound(1), outbound(1, tenant="globex")])
    assert emulator.indexed == []


async def test_a_forgotten_channel_is_replaced_and_the_request_resent(
    build: Build, emulator: HecEmulator
) -> None:
    emulator.script(Fault(FaultKind.INVALID_CHANNEL))
    assert (await build().send(batch_of(4))).delivered == 4
    first, second = emulator.requests
    assert (first.code, second.code) == (11, 0)
    assert first.channel != second.channel
    assert len(emulator.indexed) == 4


async def test_concurrent_sends_keep_the_order_they_were_started_in(
    build: Build, emulator: HecEmulator
) -> None:
    emulator.knobs.reply_delay = 0.01
    destination = build()
    batches = [batch_of(20, start=20 * index) for index in range(4)]
    await asyncio.gather(*(destination.send(batch) for batch in batches))
    assert emulator.event_ids() == [event.event_id for batch in batches for event in batch]


async def test_the_check_passes_on_a_healthy_hec_with_a_good_token(build: Build) -> None:
    health = await build().check()
    assert health.ok
    assert health.detail.endswith("1 token(s) accepted")


@pytest.mark.parametrize(
    ("setup", "expected"),
    [
        ("wrong_token", 'HEC rejected the token; check `token` (HTTP 403, code 4 "Invalid token")'),
        ("disabled", '(HTTP 403, code 1 "Token disabled")'),
        ("unhealthy", "is not healthy: HEC is unhealthy: queues are full"),
        ("acks_off", "indexer acknowledgement is off on the token"),
    ],
)  # fmt: skip
async def test_the_check_reports_each_problem_in_one_line_without_the_token(
    build: Build, emulator: HecEmulator, setup: str, expected: str
) -> None:
    settings: dict[str, object] = {}
    if setup == "wrong_token":
        settings["token"] = SecretStr("wrong-secret-value")
    elif setup == "disabled":
        emulator.tokens[TOKEN].enabled = False
    elif setup == "unhealthy":
        emulator.knobs.healthy = False
    else:
        settings["indexer_ack"] = True
    health = await build(**settings).check()
    assert not health.ok
    assert expected in health.detail
    assert "\n" not in health.detail
    assert "wrong-secret-value" not in health.detail
    assert TOKEN not in health.detail


async def test_the_check_says_when_hec_cannot_be_reached(build: Build) -> None:
    health = await build(url="http://127.0.0.1:9").check()
    assert not health.ok
    assert health.detail.startswith("cannot reach HEC at http://127.0.0.1:9: ConnectError")


async def test_a_cef_destination_sends_each_event_as_a_cef_string(
    build: Build, emulator: HecEmulator
) -> None:
    await build(format="cef").send(batch_of(2))
    first = emulator.indexed[0]
    assert first.sourcetype == "nordpass:activity:cef"
    assert isinstance(first.event, str)
    assert first.event.startswith("CEF:0|")
    assert f"externalId={first.fields['event_id']}" in first.event


async def test_unknown_actions_are_forwarded_and_counted_for_every_tenant(
    build: Build, emulator: HecEmulator
) -> None:
    destination = build({"globex": {"privacy": {"mode": "admin"}}})
    batch = [
        outbound(1, action="vault_teleported"),
        outbound(2, tenant="globex", action="vault_teleported"),
        outbound(3),
    ]
    assert (await destination.send(batch)).delivered == 3
    assert len(emulator.indexed) == 3
    assert destination.unknown_actions.counts() == {("login", "vault_teleported"): 2}
