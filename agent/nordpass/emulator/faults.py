"""How the emulated API misbehaves: a per-token rate limit, seeded random faults, broken bodies.

Every request rolls the same number of dice from a RNG seeded with `knobs.fault_seed`, whatever
happens to it, so the N-th request of a run meets the same fault every time.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any, Literal

from agent.nordpass.emulator.knobs import EmulatorKnobs
from agent.nordpass.emulator.replies import encode_json

__all__ = [
    "BODY_FAULTS",
    "GATEWAY_FAULTS",
    "FaultDice",
    "FaultRoll",
    "RateLimiter",
    "break_body",
]

# Scripted kinds answered before authentication, like a gateway in front of the API would.
GATEWAY_FAULTS = frozenset({"401", "403", "429", "500", "502", "503", "504", "timeout"})
# Scripted kinds that spoil an otherwise successful page.
BODY_FAULTS = frozenset(
    {
        "malformed",
        "truncated",
        "missing_data",
        "wrong_types",
        "empty_page",
        "repeat_previous_page",
        "total_bump",
    }
)

_5XX_STATUSES = (500, 502, 503, 504)

RandomFault = Literal["5xx", "timeout", "malformed", "truncated", "429"]
# The order in which the fractions stack up on one uniform draw (later additions go last, so a
# seeded run that does not use them meets the same faults as before).
_RANDOM_FAULTS: tuple[RandomFault, ...] = ("5xx", "timeout", "malformed", "truncated", "429")


@dataclass(frozen=True, slots=True)
class FaultRoll:
    """The dice of one request: which random fault (if any), which 5xx, whether Retry-After."""

    fault: RandomFault | None
    status: int
    retry_after_draw: float


class FaultDice:
    """Seeded fault draws; re-seeds when `fault_seed` changes so a new seed starts a new run."""

    def __init__(self) -> None:
        self._seed: int | None = None
        self._rng = random.Random()

    def roll(self, knobs: EmulatorKnobs) -> FaultRoll:
        if knobs.fault_seed != self._seed:
            self._seed = knobs.fault_seed
            self._rng = random.Random(f"faults:{knobs.fault_seed}")
        fault_draw, status_draw, retry_after_draw = (self._rng.random() for _ in range(3))
        status = _5XX_STATUSES[int(status_draw * len(_5XX_STATUSES))]
        fractions = (
            knobs.error_5xx_fraction,
            knobs.timeout_fraction,
            knobs.malformed_fraction,
            knobs.truncated_fraction,
            knobs.throttle_fraction,
        )
        threshold = 0.0
        for kind, fraction in zip(_RANDOM_FAULTS, fractions, strict=True):
            threshold += fraction
            if fault_draw < threshold:
                return FaultRoll(kind, status, retry_after_draw)
        return FaultRoll(None, status, retry_after_draw)


@dataclass(slots=True)
class _Bucket:
    rate: float
    tokens: float
    updated_at: float


class RateLimiter:
    """A token bucket per API token on the emulator's clock, holding one second's worth."""

    def __init__(self) -> None:
        self._buckets: dict[str, _Bucket] = {}

    def admit(self, token: str, rate: float | None, now: float) -> float | None:
        """None when the request may pass, else the seconds until one would."""
        if rate is None:
            return None
        if rate <= 0:
            raise ValueError("rate_limit_per_second must be positive (or None for no limit)")
        capacity = max(1.0, rate)
        bucket = self._buckets.get(token)
        if bucket is None or bucket.rate != rate:
            bucket = self._buckets[token] = _Bucket(rate, capacity, now)
        # A clock moved backwards refills nothing rather than draining the bucket.
        bucket.tokens = min(capacity, bucket.tokens + max(0.0, now - bucket.updated_at) * rate)
        bucket.updated_at = now
        if bucket.tokens >= 1.0:
            bucket.tokens -= 1.0
            return None
        return (1.0 - bucket.tokens) / rate


def break_body(kind: str, payload: dict[str, Any], amount: int) -> bytes:
    """The reply body for a page spoiled by `kind`; `payload` is the correct page."""
    if kind == "missing_data":
        return encode_json({"metadata": payload["metadata"]})
    if kind == "wrong_types":
        # Numbers as strings: what a careless serializer or a proxy rewrite produces.
        stringly = {name: str(value) for name, value in payload["metadata"].items()}
        events = [{**event, "timestamp": str(event["timestamp"])} for event in payload["data"]]
        return encode_json({"data": events, "metadata": stringly})
    if kind == "empty_page":
        return encode_json({"data": [], "metadata": payload["metadata"]})
    if kind == "total_bump":
        metadata = dict(payload["metadata"])
        metadata["total"] += amount
        metadata["total_pages"] = -(-metadata["total"] // metadata["per_page"])
        return encode_json({"data": payload["data"], "metadata": metadata})
    text = encode_json(payload)
    if kind == "truncated":
        # A strict prefix of a JSON object is never valid JSON: the closing brace is missing.
        return text[: max(1, len(text) // 2)]
    if kind == "malformed":
        # A doubled comma after `data` is invalid JSON wherever it lands.
        return text.replace(b",", b",,", 1)
    raise ValueError(f"{kind!r} does not spoil a body")
