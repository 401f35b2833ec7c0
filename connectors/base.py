"""What every destination connector is: send a batch, check health, close.

The engine hands a connector `OutboundEvent`s (raw NordPass event plus its stable id and tenant);
the connector renders them in its configured format, delivers, and says what happened. Failures are
raised as the classes in `agent.errors`: RetryableError (try the batch later), FatalError (stop this
destination, keep its backlog). Single undeliverable events come back in `DeliveryReport.poisoned`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, Protocol

from pydantic import BaseModel, ConfigDict

__all__ = ["DeliveryReport", "Destination", "DestinationSettings", "Health", "OutboundEvent"]


@dataclass(frozen=True, slots=True)
class OutboundEvent:
    tenant: str
    event_id: str
    raw: dict[str, Any]


@dataclass(slots=True)
class DeliveryReport:
    """`delivered` events are confirmed by the destination; `poisoned` maps batch index → reason."""

    delivered: int
    poisoned: dict[int, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Health:
    ok: bool
    detail: str


class Destination(Protocol):
    name: str
    # Batches the dispatcher may have under way at once (1: strictly one after the other).
    max_in_flight: int

    async def send(self, batch: Sequence[OutboundEvent]) -> DeliveryReport: ...

    async def check(self) -> Health: ...

    async def close(self) -> None: ...


class DestinationSettings(BaseModel):
    """Base of every destination's config model: strict keys, immutable, and the names of the
    settings a tenant may override (an MSP sends each client to its own Splunk index, say)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    tenant_overrides: ClassVar[frozenset[str]] = frozenset()
