"""The HEC emulator answers as Splunk does: tokens, envelopes, codes, gzip, limits, acks, faults."""

from __future__ import annotations

import gzip
import json
import uuid
import zlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from connectors.splunk_hec.emulator import (
    Fault,
    FaultKind,
    HecEmulator,
    TokenDefaults,
    read_envelopes,
)
from tests.connectors.splunk_hec.conftest import TOKEN

ACK_TOKEN = "ack-token"
EVENT = "/services/collector/event"
ACK = "/services/collector/ack"


@pytest.fixture
async def http(emulator: HecEmulator) -> AsyncIterator[httpx.AsyncClient]:
    emulator.add_token(ACK_TOKEN, name="acked", ack=True)
    async with httpx.AsyncClient(base_url=emulator.url) as client:
        yield client


def envelopes(*events: Any, **metadata: Any) -> bytes:
    return b"".join(json.dumps({"event": event, **metadata}).encode() + b"\n  " for event in events)


async def post(
    http: httpx.AsyncClient,
    body: bytes,
    *,
    token: str = TOKEN,
    channel: str | None = None,
    path: str = EVENT,
    **headers: str,
) -> tuple[int, dict[str, Any]]:
    sent = {"Authorization": f"Splunk {token}", **headers}
    if channel is not None:
        sent["X-Splunk-Request-Channel"] = channel
    response = await http.post(path, content=body, headers=sent)
    return response.status_code, response.json()


async def test_health_reports_code_17_and_18_when_unhealthy(
    http: httpx.AsyncClient, emulator: HecEmulator
) -> None:
    assert (await http.get("/services/collector/health")).json()["code"] == 17
    emulator.knobs.healthy = False
    response = await http.get("/services/collector/health")
    assert (response.status_code, response.json()["code"]) == (503, 18)


@pytest.mark.parametrize(
    ("headers", "status", "code"),
    [
        ({}, 401, 2),
        ({"Authorization": "Bearer x"}, 401, 3),
        ({"Authorization": "Splunk nope"}, 403, 4),
    ],
)
async def test_tokens_are_checked_with_splunks_codes(
    http: httpx.AsyncClient, headers: dict[str, str], status: int, code: int
) -> None:
    response = await http.post(EVENT, content=envelopes("x"), headers=headers)
    assert (response.status_code, response.json()["code"]) == (status, code)


async def test_a_disabled_token_gets_code_1(http: httpx.AsyncClient, emulator: HecEmulator) -> None:
    emulator.tokens[TOKEN].enabled = False
    assert await post(http, envelopes("x")) == (403, {"text": "Token disabled", "code": 1})


async def test_concatenated_envelopes_are_indexed_in_order_with_their_metadata(
    http: httpx.AsyncClient, emulator: HecEmulator
) -> None:
    body = envelopes({"n": 1}, "two", index="acme", source="s", time=12.5, fields={"k": ["a"]})
    assert await post(http, body) == (200, {"text": "Success", "code": 0})
    assert [event.event for event in emulator.indexed] == [{"n": 1}, "two"]
    first = emulator.indexed[0]
    assert (first.index, first.source, first.time, first.fields) == (
        "acme",
        "s",
        12.5,
        {"k": ["a"]},
    )
    assert (first.sourcetype, first.token) == ("httpevent", "nordpass")


async def test_without_index_an_event_lands_in_the_token_default(
    http: httpx.AsyncClient, emulator: HecEmulator
) -> None:
    await post(http, envelopes("x"))
    assert emulator.indexed[0].index == "main"


@pytest.mark.parametrize(
    ("bad", "code"),
    [
        (b"{not json", 6),
        (b"[1, 2]", 6),
        (b'{"time": 1}', 12),
        (b'{"event": ""}', 13),
        (b'{"event": "x", "fields": {"nested": {"a": 1}}}', 15),
        (b'{"event": "x", "index": "secret"}', 7),
        (b'{"event": "x", "time": "noon"}', 6),
    ],
)
async def test_a_bad_envelope_stops_processing_and_what_preceded_it_is_indexed(
    http: httpx.AsyncClient, emulator: HecEmulator, bad: bytes, code: int
) -> None:
    status, body = await post(http, envelopes("a", "b") + bad + envelopes("c"))
    assert (status, body["code"], body["invalid-event-number"]) == (400, code, 2)
    assert [event.event for event in emulator.indexed] == ["a", "b"]


async def test_an_empty_request_is_no_data(http: httpx.AsyncClient) -> None:
    assert await post(http, b" \n") == (400, {"text": "No data", "code": 5})


async def test_gzip_is_accepted_and_deflate_is_not(
    http: httpx.AsyncClient, emulator: HecEmulator
) -> None:
    status, _ = await post(http, gzip.compress(envelopes("z")), **{"Content-Encoding": "gzip"})
    assert status == 200
    assert emulator.requests[-1].gzip
    deflated = zlib.compress(envelopes("d"))
    status, body = await post(http, deflated, **{"Content-Encoding": "deflate"})
    assert (status, body["code"]) == (400, 6)
    assert [event.event for event in emulator.indexed] == ["z"]


async def test_a_body_over_max_content_length_gets_413(
    http: httpx.AsyncClient, emulator: HecEmulator
) -> None:
    emulator.knobs.max_content_length = 100
    status, body = await post(http, envelopes("x" * 200))
    assert status == 413
    assert "maximum is 100" in body["text"]


async def test_with_acks_each_request_gets_an_ack_id_reported_true_once(
    http: httpx.AsyncClient,
) -> None:
    channel = str(uuid.uuid4())
    first = await post(http, envelopes("a"), token=ACK_TOKEN, channel=channel)
    second = await post(http, envelopes("b"), token=ACK_TOKEN, channel=channel)
    assert (first[1]["ackId"], second[1]["ackId"]) == (0, 1)
    query = json.dumps({"acks": [0, 1, 9]}).encode()
    assert await post(http, query, token=ACK_TOKEN, channel=channel, path=ACK) == (
        200, {"acks": {"0": True, "1": True, "9": False}},
    )  # fmt: skip
    again = await post(http, query, token=ACK_TOKEN, channel=channel, path=ACK)
    assert again[1]["acks"] == {"0": False, "1": False, "9": False}


async def test_acks_can_complete_out_of_order(
    http: httpx.AsyncClient, emulator: HecEmulator
) -> None:
    emulator.knobs.queries_per_ack = (1, 4)
    channel = str(uuid.uuid4())
    for _ in range(8):
        await post(http, envelopes("e"), token=ACK_TOKEN, channel=channel)
    order: list[int] = []
    for _ in range(4):
        _, body = await post(
            http, json.dumps({"acks": list(range(8))}).encode(),
            token=ACK_TOKEN, channel=channel, path=ACK,
        )  # fmt: skip
        order += [int(ack_id) for ack_id, done in body["acks"].items() if done]
    assert sorted(order) == list(range(8))
    assert order != sorted(order)


async def test_a_lost_ack_never_reads_true(http: httpx.AsyncClient, emulator: HecEmulator) -> None:
    emulator.script(Fault(FaultKind.LOSE_ACK))
    channel = str(uuid.uuid4())
    await post(http, envelopes("kept"), token=ACK_TOKEN, channel=channel)
    for _ in range(3):
        _, body = await post(http, b'{"acks":[0]}', token=ACK_TOKEN, channel=channel, path=ACK)
        assert body["acks"] == {"0": False}
    assert [event.event for event in emulator.indexed] == ["kept"]


@pytest.mark.parametrize(("channel", "code"), [(None, 10), ("not-a-guid", 11)])
async def test_an_ack_token_needs_a_valid_channel(
    http: httpx.AsyncClient, channel: str | None, code: int
) -> None:
    status, body = await post(http, envelopes("x"), token=ACK_TOKEN, channel=channel)
    assert (status, body["code"]) == (400, code)


async def test_forgotten_channels_get_code_11_on_events_and_acks(
    http: httpx.AsyncClient, emulator: HecEmulator
) -> None:
    channel = str(uuid.uuid4())
    await post(http, envelopes("x"), token=ACK_TOKEN, channel=channel)
    assert emulator.forget_channels() == 1
    assert (await post(http, envelopes("y"), token=ACK_TOKEN, channel=channel))[1]["code"] == 11
    status, body = await post(http, b'{"acks":[0]}', token=ACK_TOKEN, channel=channel, path=ACK)
    assert (status, body["code"]) == (400, 11)


async def test_the_ack_endpoint_says_code_14_when_the_token_has_no_acks(
    http: httpx.AsyncClient,
) -> None:
    status, body = await post(http, b'{"acks":[0]}', channel=str(uuid.uuid4()), path=ACK)
    assert (status, body["code"]) == (400, 14)


@pytest.mark.parametrize(
    ("fault", "status", "code"),
    [
        (Fault(FaultKind.BUSY, retry_after=7), 503, 9),
        (Fault(FaultKind.THROTTLE), 429, None),
        (Fault(FaultKind.ERROR), 500, 8),
        (Fault(FaultKind.UNHEALTHY), 503, 18),
    ],
)
async def test_scripted_faults_answer_with_their_codes_and_index_nothing(
    http: httpx.AsyncClient, emulator: HecEmulator, fault: Fault, status: int, code: int | None
) -> None:
    emulator.script(fault)
    response = await http.post(
        EVENT, content=envelopes("x"), headers={"Authorization": f"Splunk {TOKEN}"}
    )
    assert (response.status_code, response.json().get("code")) == (status, code)
    assert response.headers.get("Retry-After") == (
        None if fault.retry_after is None else f"{fault.retry_after:g}"
    )
    assert emulator.indexed == []


@pytest.mark.parametrize(
    ("kind", "indexed"), [(FaultKind.DROP, 0), (FaultKind.DROP_AFTER_INDEX, 1)]
)
async def test_a_dropped_connection_gets_no_reply(
    http: httpx.AsyncClient, emulator: HecEmulator, kind: FaultKind, indexed: int
) -> None:
    emulator.script(Fault(kind))
    with pytest.raises(httpx.RemoteProtocolError):
        await post(http, envelopes("x"))
    assert len(emulator.indexed) == indexed


async def test_random_faults_follow_their_fractions(
    http: httpx.AsyncClient, emulator: HecEmulator
) -> None:
    emulator.knobs.busy_fraction = 0.1
    statuses = [(await post(http, envelopes("x")))[0] for _ in range(200)]
    assert 8 <= statuses.count(503) <= 35
    assert len(emulator.indexed) == statuses.count(200)


async def test_what_was_indexed_is_written_as_ndjson(
    http: httpx.AsyncClient, emulator: HecEmulator, tmp_path: Path
) -> None:
    await post(http, envelopes("a", {"b": 1}, fields={"event_id": "e"}))
    path = tmp_path / "indexed.ndjson"
    assert emulator.write_ndjson(path) == 2
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    assert [line["event"] for line in lines] == ["a", {"b": 1}]
    assert emulator.event_ids() == ["e", "e"]


_json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(), inner, max_size=3),
    max_leaves=8,
)


@given(
    events=st.lists(_json_values.filter(lambda v: v not in ("", None, {})), max_size=8),
    gaps=st.lists(st.sampled_from(["", " ", "\n", "\r\n", "\t "]), min_size=9, max_size=9),
)
def test_any_concatenation_of_envelopes_reads_back_event_by_event(
    events: list[Any], gaps: list[str]
) -> None:
    text = "".join(
        gaps[i] + json.dumps({"event": event}, ensure_ascii=i % 2 == 0)
        for i, event in enumerate(events)
    )
    intake = read_envelopes(text + gaps[-1], TokenDefaults("t", "main", None), indexes={"main"})
    if not events:
        assert intake.rejection is not None
        assert intake.rejection.code == 5
        return
    assert intake.rejection is None
    assert [envelope["event"] for envelope in intake.envelopes] == events
