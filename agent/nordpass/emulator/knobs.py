"""The dials of the emulated Activity Log API: data shape, ordering, bounds and faults.

`EmulatorKnobs` is deliberately mutable: a test turns a dial while the server runs and the next
request sees it. `Fault` scripts exactly what the N-th request gets, so a test can aim at one page.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, get_args

__all__ = [
    "BoundMode",
    "EmulatorKnobs",
    "Fault",
    "FaultKind",
    "OrderMode",
    "VisibilityRules",
]

OrderMode = Literal["newest_first", "oldest_first", "unstable"]
BoundMode = Literal["inclusive", "exclusive"]

FaultKind = Literal[
    # Passes the request through untouched: a placeholder so a script can aim at a later request.
    "none",
    # Answered before authentication, as a gateway in front of the API would.
    "401",
    "403",
    "429",
    "500",
    "502",
    "503",
    "504",
    "timeout",
    # Applied to an otherwise successful reply.
    "malformed",
    "truncated",
    "missing_data",
    "wrong_types",
    "empty_page",
    "repeat_previous_page",
    "total_bump",
]

_FAULT_KINDS: frozenset[str] = frozenset(get_args(FaultKind))


@dataclass(frozen=True, slots=True)
class Fault:
    """One scripted misbehaviour, consumed by the next request that arrives.

    `retry_after` (seconds) becomes a `Retry-After` header on 429/5xx replies; `amount` is how far
    `total_bump` inflates `metadata.total`. A body fault (malformed ... total_bump) drawn by a
    request that is refused anyway (401, 429, 400) is spent without effect.
    """

    kind: FaultKind
    retry_after: float | None = None
    amount: int = 1

    def __post_init__(self) -> None:
        # Literal types are not checked at run time and a typo would silently script nothing.
        if self.kind not in _FAULT_KINDS:
            raise ValueError(f"unknown fault kind {self.kind!r}; expected one of {_FAULT_KINDS}")
        if self.amount < 1:
            raise ValueError("Fault.amount must be at least 1")


@dataclass(frozen=True, slots=True)
class VisibilityRules:
    """The knobs that decide which generated events a query can see; part of every cache key."""

    late_fraction: float
    late_max_seconds: float
    duplicate_fraction: float

    def lateness(self, late_draw: float) -> float:
        """Seconds an event stays invisible, from its fixed uniform draw in [0, 1).

        An event is late when its draw falls under `late_fraction`; the draw rescaled to [0, 1)
        then shapes the delay: 85 % land within the first twentieth of `late_max_seconds`, the
        rest spread over a tail up to `late_max_seconds` (slow replicas are rare but real).
        """
        if late_draw >= self.late_fraction or self.late_max_seconds <= 0:
            return 0.0
        shape = late_draw / self.late_fraction
        short = self.late_max_seconds / 20
        if shape < 0.85:
            return short * shape / 0.85
        return short + (self.late_max_seconds - short) * (shape - 0.85) / 0.15

    def is_duplicated(self, duplicate_draw: float) -> bool:
        return duplicate_draw < self.duplicate_fraction


@dataclass(slots=True)
class EmulatorKnobs:
    """Behaviour of the emulated API; every field may change between two requests.

    Random faults (`*_fraction`) are drawn from a RNG seeded with `fault_seed`, so a run repeats.
    `scripted` faults are consumed in request order and take precedence over random ones.
    """

    # "unstable": newest second first, but the events within one second come in a different
    # order on every request (a database without a tie-breaker in ORDER BY).
    order: OrderMode = "newest_first"
    lower_bound: BoundMode = "inclusive"
    upper_bound: BoundMode = "inclusive"
    per_page_cap: int = 100
    late_fraction: float = 0.0
    late_max_seconds: float = 0.0
    duplicate_fraction: float = 0.0
    growth_per_request: int = 0
    rate_limit_per_second: float | None = None
    retry_after_fraction: float = 1.0
    error_5xx_fraction: float = 0.0
    # Random 429s, independent of `rate_limit_per_second` (a shared gateway throttling the token
    # for reasons of its own); `retry_after_fraction` of them carry `throttle_retry_after`.
    throttle_fraction: float = 0.0
    throttle_retry_after: float = 1.0
    timeout_fraction: float = 0.0
    timeout_hold_seconds: float = 30.0
    malformed_fraction: float = 0.0
    truncated_fraction: float = 0.0
    latency_seconds: float = 0.0
    fault_seed: int = 0
    # What a revoked or expired token gets; the real API's choice is unknown.
    revoked_status: Literal[401, 403] = 401
    scripted: list[Fault] = field(default_factory=list)

    def visibility_rules(self) -> VisibilityRules:
        return VisibilityRules(
            late_fraction=self.late_fraction,
            late_max_seconds=self.late_max_seconds,
            duplicate_fraction=self.duplicate_fraction,
        )
