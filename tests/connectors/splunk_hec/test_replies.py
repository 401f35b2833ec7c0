"""The reply table: every HEC code and bare status maps to what the connector must do."""

from __future__ import annotations

import pytest

from connectors.splunk_hec import REPLY_TABLE, Action, HecReply, rule_for
from connectors.splunk_hec.replies import parse_retry_after

NOW = 1_767_225_600.0


@pytest.mark.parametrize(
    ("status", "code", "action"),
    [
        (200, 0, Action.DELIVERED),
        (403, 1, Action.FATAL),
        (401, 2, Action.FATAL),
        (401, 3, Action.FATAL),
        (403, 4, Action.FATAL),
        (400, 5, Action.BUG),
        (400, 6, Action.POISON),
        (400, 7, Action.FATAL),
        (500, 8, Action.RETRY),
        (503, 9, Action.RETRY),
        (400, 10, Action.FATAL),
        (400, 11, Action.NEW_CHANNEL),
        (400, 12, Action.POISON),
        (400, 13, Action.POISON),
        (400, 14, Action.ACKS_DISABLED),
        (400, 15, Action.POISON),
        (400, 16, Action.FATAL),
        (200, 17, Action.HEALTHY),
        (503, 18, Action.RETRY),
        (503, 19, Action.RETRY),
        (503, 20, Action.RETRY),
        (400, 21, Action.FATAL),
        (400, 22, Action.FATAL),
    ],
)
def test_every_documented_hec_code_has_its_action(status: int, code: int, action: Action) -> None:
    assert rule_for(status, code).action is action


@pytest.mark.parametrize(
    ("status", "action"),
    [
        (0, Action.RETRY),
        (408, Action.RETRY),
        (413, Action.SPLIT),
        (429, Action.RETRY),
        (500, Action.RETRY),
        (501, Action.FATAL),
        (502, Action.RETRY),
        (503, Action.RETRY),
        (504, Action.RETRY),
        (599, Action.RETRY),
        (401, Action.FATAL),
        (404, Action.FATAL),
        (418, Action.FATAL),
        (204, Action.FATAL),  # HEC's own successes carry a code
        (200, Action.FATAL),
        (302, Action.FATAL),
    ],
)
def test_bare_statuses_from_proxies_follow_the_status_rows(status: int, action: Action) -> None:
    assert rule_for(status, None).action is action


def test_a_code_sent_with_an_unexpected_status_falls_back_to_the_status() -> None:
    assert rule_for(503, 6).action is Action.RETRY
    assert rule_for(413, 6).action is Action.SPLIT


def test_every_row_explains_itself_without_naming_a_secret() -> None:
    for rule in REPLY_TABLE.values():
        assert rule.meaning
        assert "Splunk " not in rule.meaning  # the header scheme that precedes a token


def test_a_reply_body_is_read_leniently() -> None:
    reply = HecReply.parse(
        400, b'{"text":"Invalid data format","code":6,"invalid-event-number":3}', None, NOW
    )
    assert (reply.code, reply.invalid_event_number, reply.rule.action) == (6, 3, Action.POISON)
    html = HecReply.parse(502, b"<html>Bad gateway</html>", None, NOW)
    assert (html.code, html.rule.action) == (None, Action.RETRY)


def test_ack_replies_carry_the_acknowledged_ids() -> None:
    reply = HecReply.parse(200, b'{"acks":{"0":true,"1":false,"x":true}}', None, NOW)
    assert reply.acks == {0: True, 1: False}
    assert reply.rule.action is Action.DELIVERED  # an answer of the ack endpoint, not a proxy's


def test_a_success_reply_carries_its_ack_id() -> None:
    assert HecReply.parse(200, b'{"text":"Success","code":0,"ackId":7}', None, NOW).ack_id == 7


@pytest.mark.parametrize(
    ("header", "seconds"),
    [
        ("42", 42.0),
        ("1.5", 1.5),
        ("-3", 0.0),
        ("Thu, 01 Jan 2026 00:01:00 GMT", 60.0),
        ("soon", None),
        ("inf", None),
        (None, None),
    ],
)
def test_retry_after_is_seconds_or_an_http_date(header: str | None, seconds: float | None) -> None:
    assert parse_retry_after(header, NOW) == seconds


def test_a_description_names_status_code_and_text() -> None:
    reply = HecReply(status=403, code=4, text="Invalid token")
    assert (
        reply.describe()
        == 'HEC rejected the token; check `token` (HTTP 403, code 4 "Invalid token")'
    )
    assert HecReply.no_reply("ConnectError refused").describe() == (
        "no reply from HEC: ConnectError refused"
    )
