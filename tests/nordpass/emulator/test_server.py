"""The emulated endpoint over real sockets: reply shape, authentication, errors, the Date header."""

from __future__ import annotations

import ssl
from email.utils import parsedate_to_datetime

import httpx
import pytest
import trustme

from agent.clock import ManualClock
from agent.nordpass.emulator import QUERY_PATH, EmulatorKnobs, NordPassEmulator

from .conftest import START, TOKEN, Api, canonical


async def test_start_serves_the_query_path_on_an_ephemeral_port(emulator: NordPassEmulator) -> None:
    url = httpx.URL(emulator.url)
    assert url.scheme == "http"
    assert url.host == "127.0.0.1"
    assert url.port not in (None, 0)
    assert url.path == QUERY_PATH


async def test_a_reply_carries_data_and_paging_metadata(api: Api, acme: str) -> None:
    payload = await api.page(timestamp_from=int(START) - 86400, per_page=50)
    metadata = payload["metadata"]
    assert set(payload) == {"data", "metadata"}
    assert metadata["per_page"] == 50
    assert metadata["current_page"] == 1
    assert metadata["total"] == len(api.emulator.ground_truth(acme, int(START) - 86400))
    assert metadata["total_pages"] == -(-metadata["total"] // 50)
    assert len(payload["data"]) == 50
    assert all(event["organization_uuid"] == acme for event in payload["data"])


async def test_the_date_header_comes_from_the_emulator_clock(api: Api, clock: ManualClock) -> None:
    clock.set(START + 3 * 86400 + 4321.9)
    reply = await api.query()
    assert parsedate_to_datetime(reply.headers["Date"]).timestamp() == START + 3 * 86400 + 4321
    refused = await api.query(token="nope")
    assert parsedate_to_datetime(refused.headers["Date"]).timestamp() == START + 3 * 86400 + 4321


async def test_no_bounds_return_the_last_seven_full_days(api: Api, acme: str) -> None:
    events = await api.read_all()
    midnight = int(START)
    expected = api.emulator.ground_truth(acme, midnight - 7 * 86400, midnight)
    assert sorted(map(canonical, events)) == sorted(map(canonical, expected))
    assert all(event["timestamp"] < midnight for event in events)


async def test_user_uuids_filter_by_member(api: Api, acme: str) -> None:
    member = api.emulator.organization("acme").members[0]
    events = await api.read_all(timestamp_from=int(START) - 86400, user_uuids=[member.uuid])
    everything = api.emulator.ground_truth(acme, int(START) - 86400)
    expected = [e for e in everything if e.get("user", {}).get("uuid") == member.uuid]
    assert events
    assert sorted(map(canonical, events)) == sorted(map(canonical, expected))


@pytest.mark.parametrize("token", [None, "", "unknown-token", f"Bearer {TOKEN}"])
async def test_a_missing_or_unknown_token_gets_401(api: Api, token: str | None) -> None:
    reply = await api.query(token=token)
    assert reply.status_code == 401
    assert reply.json()["error"] == "unauthorized"


async def test_a_revoked_token_gets_401(api: Api) -> None:
    api.emulator.revoke(TOKEN)
    reply = await api.query()
    assert reply.status_code == 401
    assert api.emulator.requests[-1].auth == "revoked"
    assert api.emulator.requests[-1].organization == "acme"


async def test_a_revoked_token_can_be_configured_to_get_403(api: Api, knobs: EmulatorKnobs) -> None:
    knobs.revoked_status = 403
    api.emulator.revoke(TOKEN)
    assert (await api.query()).status_code == 403


async def test_a_token_stops_working_when_it_expires(
    api: Api, acme: str, clock: ManualClock
) -> None:
    api.emulator.add_token(acme, "short-lived", expires_at=START + 60)
    assert (await api.query(token="short-lived")).status_code == 200
    clock.advance(60)
    assert (await api.query(token="short-lived")).status_code == 401
    assert api.emulator.requests[-1].auth == "expired"


async def test_a_window_over_ninety_days_gets_400_with_a_json_error(api: Api) -> None:
    reply = await api.query(timestamp_from=int(START) - 91 * 86400, timestamp_to=int(START))
    assert reply.status_code == 400
    assert reply.headers["Content-Type"].startswith("application/json")
    assert "90 days" in reply.json()["message"]


async def test_a_body_that_is_not_json_gets_400(api: Api) -> None:
    reply = await api.http.post(
        api.emulator.url, content=b"page=1", headers={"Authorization": TOKEN}
    )
    assert reply.status_code == 400
    assert reply.json()["error"] == "invalid_request"


async def test_every_request_is_recorded(api: Api) -> None:
    await api.query(timestamp_from=int(START) - 3600, page=2, per_page=10)
    await api.query(token="nope")
    first, second = api.emulator.requests
    assert (first.number, first.status, first.organization, first.auth) == (1, 200, "acme", "ok")
    assert (first.timestamp_from, first.page, first.per_page) == (int(START) - 3600, 2, 10)
    assert first.received_at == START
    assert first.events_returned == min(10, max(0, (first.total or 0) - 10))
    assert (second.status, second.auth, second.organization) == (401, "unknown", None)


async def test_the_emulator_serves_https_with_a_given_context(clock: ManualClock) -> None:
    authority = trustme.CA()
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    authority.issue_cert("127.0.0.1").configure_cert(server_context)
    client_context = ssl.create_default_context()
    authority.configure_trust(client_context)
    emulator = NordPassEmulator(clock=clock)
    emulator.add_organization("acme", token=TOKEN, history_start=START - 3600)
    url = await emulator.start(ssl_context=server_context)
    try:
        assert url.startswith("https://127.0.0.1:")
        async with httpx.AsyncClient(verify=client_context) as client:
            reply = await client.post(url, json={}, headers={"Authorization": TOKEN})
        assert reply.status_code == 200
    finally:
        await emulator.stop()


async def test_stop_is_idempotent_and_the_url_goes_away(clock: ManualClock) -> None:
    emulator = NordPassEmulator(clock=clock)
    async with emulator:
        assert emulator.url
    await emulator.stop()
    with pytest.raises(RuntimeError):
        _ = emulator.url


async def test_ground_truth_hands_out_copies(api: Api, acme: str) -> None:
    events = api.emulator.ground_truth(acme, int(START) - 3600)
    before = canonical(events[0])
    events[0]["metadata"].clear()
    events[0].pop("user", None)
    assert canonical(api.emulator.ground_truth(acme, int(START) - 3600)[0]) == before
