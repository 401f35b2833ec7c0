"""What to do with each HEC reply: the one table keyed by HTTP status and HEC code.

HEC answers every request with `{"text": ..., "code": N}` (plus `ackId` on success with indexer
acknowledgement, `invalid-event-number` when it stopped at a bad event). Codes and statuses are
Splunk's ("Troubleshoot HTTP Event Collector", see docs/splunk.md); proxies in front of Splunk
answer with bare statuses, which the status-only rows cover; a 2xx without a code is therefore
not HEC's (the ack endpoint's answer, `{"acks": ...}`, aside). Status 0 stands for "no HTTP
reply" (connection refused or dropped, timeout).
"""

from __future__ import annotations

import email.utils
import enum
import json
import math
from dataclasses import dataclass
from datetime import UTC
from typing import Final

__all__ = ["REPLY_TABLE", "Action", "HecReply", "Rule", "Scope", "parse_retry_after", "rule_for"]


class Action(enum.Enum):
    DELIVERED = "delivered"  # accepted (with acks: once its ackId is acknowledged)
    RETRY = "retry"  # transient: back off, send the same request again
    FATAL = "fatal"  # configuration or credentials: stop the destination, keep the backlog
    POISON = "poison"  # an event in the request is unacceptable: isolate it, dead-letter it
    SPLIT = "split"  # the request is too large: halve it
    NEW_CHANNEL = "new_channel"  # the channel is gone: open a new one, resend its requests
    ACKS_DISABLED = "acks_disabled"  # the token does not do indexer acknowledgement
    HEALTHY = "healthy"  # the health endpoint's "all good"
    BUG = "bug"  # the agent sent something it never should (an empty request)


class Scope(enum.Enum):
    """What a fatal reply is about: the whole destination, or only the token or index of the
    request (which may be one tenant's own, set in its overrides)."""

    DESTINATION = "destination"
    TOKEN = "token"  # noqa: S105 - a category, not a secret
    INDEX = "index"


@dataclass(frozen=True, slots=True)
class Rule:
    action: Action
    meaning: str  # for the operator: what happened and what to fix
    scope: Scope = Scope.DESTINATION


_R = Rule
_TOKEN = Scope.TOKEN
# HEC always answers with a code; a 2xx without one comes from something else (nothing indexed).
_NOT_HEC: Final = _R(
    Action.FATAL,
    "a reply without HEC's body (code 0): something other than HEC answers at `url` "
    "(a proxy's sign-in page?)",
)
# The acknowledgement endpoint answers with `acks` instead of a code.
_ACKS_ANSWER: Final = _R(Action.DELIVERED, "acknowledgement status")
# (HTTP status, HEC code) -> rule. `None` as code: any reply with that status that no exact row
# matches (a proxy's bare 503, a 413 without a JSON body).
REPLY_TABLE: Final[dict[tuple[int, int | None], Rule]] = {
    (200, 0): _R(Action.DELIVERED, "success"),
    (200, 17): _R(Action.HEALTHY, "HEC is healthy"),
    (403, 1): _R(Action.FATAL, "the HEC token is disabled; enable it in Splunk", _TOKEN),
    (401, 2): _R(Action.FATAL, "HEC wants a token and none was sent", _TOKEN),
    (401, 3): _R(
        Action.FATAL, "HEC did not accept the authorization header; check `token`", _TOKEN
    ),
    (403, 4): _R(Action.FATAL, "HEC rejected the token; check `token`", _TOKEN),
    (400, 5): _R(Action.BUG, "HEC received no data"),
    (400, 6): _R(Action.POISON, "HEC rejected the event: invalid data format"),
    (400, 7): _R(
        Action.FATAL,
        "HEC refused the index; add it to the token's allowed indexes or fix `index`",
        Scope.INDEX,
    ),
    (500, 8): _R(Action.RETRY, "HEC internal server error"),
    (503, 9): _R(Action.RETRY, "HEC is busy"),
    (400, 10): _R(
        Action.FATAL, "HEC says the data channel header is missing (a proxy dropping headers?)"
    ),
    (400, 11): _R(Action.NEW_CHANNEL, "HEC no longer knows the data channel"),
    (400, 12): _R(Action.POISON, "HEC rejected the event: event field is required"),
    (400, 13): _R(Action.POISON, "HEC rejected the event: event field cannot be blank"),
    (400, 14): _R(
        Action.ACKS_DISABLED,
        "indexer acknowledgement is off on the token; enable it or set indexer_ack: false",
    ),
    (400, 15): _R(Action.POISON, "HEC rejected the event: error in handling indexed fields"),
    (400, 16): _R(Action.FATAL, "HEC refused query-string authorization"),
    (503, 18): _R(Action.RETRY, "HEC is unhealthy: queues are full"),
    (503, 19): _R(Action.RETRY, "HEC is unhealthy: acknowledgement is unavailable"),
    (503, 20): _R(Action.RETRY, "HEC is unhealthy: queues are full"),
    (400, 21): _R(Action.FATAL, "HEC rejected the token; check `token`", _TOKEN),
    (400, 22): _R(Action.FATAL, "the HEC token is disabled; enable it in Splunk", _TOKEN),
    (0, None): _R(Action.RETRY, "no reply from HEC"),
    (200, None): _NOT_HEC,
    (401, None): _R(Action.FATAL, "HEC rejected the token (HTTP 401); check `token`", _TOKEN),
    (403, None): _R(Action.FATAL, "HEC rejected the token (HTTP 403); check `token`", _TOKEN),
    (404, None): _R(Action.FATAL, "no HEC endpoint at this URL (HTTP 404); check `url`"),
    (408, None): _R(Action.RETRY, "HEC timed out reading the request"),
    (413, None): _R(Action.SPLIT, "the request is larger than HEC's max_content_length"),
    (429, None): _R(Action.RETRY, "HEC is throttling"),
    (500, None): _R(Action.RETRY, "HEC internal server error"),
    (501, None): _R(Action.FATAL, "the server does not implement this HEC endpoint; check `url`"),
    (502, None): _R(Action.RETRY, "bad gateway in front of HEC"),
    (503, None): _R(Action.RETRY, "HEC is unavailable"),
    (504, None): _R(Action.RETRY, "gateway timeout in front of HEC"),
}
# Anything neither row names, by status class: 5xx transient, the rest (2xx too: HEC's own
# successes carry a code) needs a human.
_BY_CLASS: Final = {
    2: _NOT_HEC,
    5: _R(Action.RETRY, "HEC server error"),
}
_OTHERWISE: Final = _R(Action.FATAL, "unexpected reply from HEC")


def rule_for(status: int, code: int | None) -> Rule:
    """The exact (status, code) row, else the status row, else the status class."""
    rule = REPLY_TABLE.get((status, code)) or REPLY_TABLE.get((status, None))
    return rule or _BY_CLASS.get(status // 100, _OTHERWISE)


@dataclass(frozen=True, slots=True)
class HecReply:
    """One HEC reply, reduced to what decides the next step."""

    status: int
    code: int | None = None
    text: str = ""
    ack_id: int | None = None
    invalid_event_number: int | None = None
    retry_after: float | None = None
    acks: dict[int, bool] | None = None  # the ack endpoint's answer

    @property
    def rule(self) -> Rule:
        if self.acks is not None and self.status // 100 == 2 and self.code is None:
            return _ACKS_ANSWER
        return rule_for(self.status, self.code)

    def describe(self) -> str:
        """`rule meaning (HTTP 400, code 6 "Invalid data format")` for logs and dead letters."""
        if self.status == 0:
            return f"{self.rule.meaning}: {self.text}"
        code = "" if self.code is None else f", code {self.code}"
        text = f" {json.dumps(self.text[:200])}" if self.text else ""
        return f"{self.rule.meaning} (HTTP {self.status}{code}{text})"

    @classmethod
    def no_reply(cls, reason: str) -> HecReply:
        return cls(status=0, text=reason)

    @classmethod
    def parse(cls, status: int, body: bytes, retry_after: str | None, now: float) -> HecReply:
        """Read a reply body leniently: a proxy's HTML page still yields the status row."""
        try:
            document = json.loads(body) if body else None
        except ValueError:
            document = None
        if not isinstance(document, dict):
            return cls(status, retry_after=parse_retry_after(retry_after, now))
        return cls(
            status=status,
            code=_integer(document.get("code")),
            text=str(document.get("text", "")),
            ack_id=_integer(document.get("ackId")),
            invalid_event_number=_integer(document.get("invalid-event-number")),
            retry_after=parse_retry_after(retry_after, now),
            acks=_acks(document.get("acks")),
        )


def _integer(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.isdigit():
        return int(value)
    return None


def _acks(value: object) -> dict[int, bool] | None:
    if not isinstance(value, dict):
        return None
    return {int(key): flag is True for key, flag in value.items() if str(key).isdigit()}


def parse_retry_after(value: str | None, now: float) -> float | None:
    """`Retry-After` as seconds from now: delta-seconds or an HTTP date; None if absent/garbled."""
    if value is None:
        return None
    text = value.strip()
    try:
        seconds = float(text)
    except ValueError:
        pass
    else:
        return max(0.0, seconds) if math.isfinite(seconds) else None
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, when.timestamp() - now)
