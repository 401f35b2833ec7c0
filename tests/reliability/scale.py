"""How big the reliability scenarios are: `RELIABILITY_SCALE=full` (what `make test-reliability`
runs) or `reduced` (the default, so the suite fits inside `make test`). Both run the same
scenarios with the same bounds; only the amounts differ.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

__all__ = ["ENVIRONMENT_VARIABLE", "FULL", "REDUCED", "Scale", "scale_from_environment"]

ENVIRONMENT_VARIABLE = "RELIABILITY_SCALE"


@dataclass(frozen=True, slots=True)
class Scale:
    name: str
    storm_events: int  # events in the backfill that the SIGKILL storm interrupts
    storm_kills: int
    outage_seconds: float  # how long HEC is unreachable while the agent polls
    throttling_events: int
    poison_events: int  # one event in POISON_ONE_IN of these is refused by the SIEM
    bad_source_events: int
    slow_siem_events: int

    def liveness(self, seconds: float) -> float:
        """A bounded wait, stretched for the full size's longer runs."""
        return seconds * (4 if self.name == "full" else 1)


FULL = Scale(
    name="full",
    storm_events=200_000,
    storm_kills=50,
    outage_seconds=120,
    throttling_events=50_000,
    poison_events=100_000,
    bad_source_events=20_000,
    slow_siem_events=50_000,
)
REDUCED = Scale(
    name="reduced",
    storm_events=10_000,
    storm_kills=4,
    outage_seconds=8,
    throttling_events=5_000,
    poison_events=20_000,
    bad_source_events=5_000,
    slow_siem_events=3_000,
)


def scale_from_environment(environment: dict[str, str] | None = None) -> Scale:
    value = (environment if environment is not None else dict(os.environ)).get(
        ENVIRONMENT_VARIABLE, "reduced"
    )
    scales = {scale.name: scale for scale in (FULL, REDUCED)}
    if value not in scales:
        raise ValueError(f"{ENVIRONMENT_VARIABLE}={value!r}; expected one of {sorted(scales)}")
    return scales[value]
