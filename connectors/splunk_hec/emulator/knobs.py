"""The HEC emulator's dials: random fault rates, limits, acknowledgement timing, poison events,
and faults scripted for the next requests."""

from __future__ import annotations

import enum
import random
from dataclasses import dataclass, field
from typing import Literal

__all__ = ["Fault", "FaultKind", "HecKnobs", "roll_fault"]


class FaultKind(enum.Enum):
    NONE = "none"  # answer normally (a placeholder in a script of faults)
    BUSY = "busy"  # 503, code 9 "Server is busy"
    THROTTLE = "throttle"  # 429 (with Retry-After when the fault or the knobs give one)
    ERROR = "error"  # 500, code 8 "Internal server error"
    UNHEALTHY = "unhealthy"  # 503, code 18 "HEC is unhealthy, queues are full"
    DROP = "drop"  # connection closed after reading the request; nothing indexed
    DROP_AFTER_INDEX = "drop_after_index"  # indexed, then the connection closed: no reply
    SLOW = "slow"  # the reply waits `delay` real seconds
    LOSE_ACK = "lose_ack"  # indexed and answered with an ackId that never reads true
    INVALID_CHANNEL = "invalid_channel"  # 400, code 11 "Invalid data channel"
    LOGIN_PAGE = "login_page"  # 200 with an HTML page, as a proxy's sign-in wall: nothing indexed


@dataclass(frozen=True, slots=True)
class Fault:
    kind: FaultKind
    retry_after: float | None = None
    delay: float = 0.0


@dataclass(slots=True)
class HecKnobs:
    """Random faults apply to event requests (never ack queries or health checks)."""

    busy_fraction: float = 0.0
    throttle_fraction: float = 0.0
    error_fraction: float = 0.0
    drop_fraction: float = 0.0
    # Sent with random 429/503 faults; None: no Retry-After header.
    retry_after: float | None = None
    # The share of those random faults that carry it (the rest come without a hint).
    retry_after_fraction: float = 1.0
    reply_delay: float = 0.0  # real seconds before every event reply
    # Splunk's [http_input] max_content_length, checked on the bytes received.
    max_content_length: int = 800 * 1024 * 1024
    # Ack queries an ackId needs before it reads true, drawn per id from this range.
    queries_per_ack: tuple[int, int] = (1, 1)
    hold_acks: bool = False  # no ackId reads true until released
    # An envelope containing any of these strings is refused with code 6 (a poison event).
    poison: frozenset[str] = frozenset()
    # Whether refusals say where processing stopped; a proxy may strip it from the reply.
    invalid_event_number: bool = True
    healthy: bool = True
    scripted: list[Fault] = field(default_factory=list)
    # What is kept of each indexed event: "events" records them whole (`HecEmulator.indexed`);
    # "event_ids" keeps only the count and the distinct event ids, so a benchmark of a million
    # events measures the agent rather than the emulator's memory.
    record: Literal["events", "event_ids"] = "events"


def roll_fault(knobs: HecKnobs, rng: random.Random) -> Fault | None:
    """One draw per event request, so a seeded run repeats its faults."""
    draw = rng.random()
    for kind, fraction in (
        (FaultKind.BUSY, knobs.busy_fraction),
        (FaultKind.THROTTLE, knobs.throttle_fraction),
        (FaultKind.ERROR, knobs.error_fraction),
        (FaultKind.DROP, knobs.drop_fraction),
    ):
        if draw < fraction:
            # Where the draw fell inside this fault's band decides the hint: no extra draw, so a
            # seeded run repeats the same faults whatever `retry_after_fraction` is.
            hinted = draw < fraction * knobs.retry_after_fraction
            return Fault(kind, retry_after=knobs.retry_after if hinted else None)
        draw -= fraction
    return None
