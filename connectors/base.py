"""What every destination connector is: send a batch, check health, close.

The engine hands a connector `OutboundEvent`s (raw NordPass event plus its stable id and tenant);
the connector renders them in its configured format, delivers, and says what happened. Failures are
raised as the classes in `agent.errors`: RetryableError (try the batch later), FatalError (stop this
destination, keep its backlog). Single undeliverable events come back in `DeliveryReport.poisoned`;
a configuration error that concerns only some tenants (a token or index set for one tenant) comes
back in `DeliveryReport.held`, so the other tenants' events keep flowing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Annotated, Any, ClassVar, Literal, NamedTuple, Protocol

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, SecretStr, model_validator

from agent.normalize.privacy import PrivacyConfigError, PrivacyProfile

__all__ = [
    "DeliveryReport",
    "Destination",
    "DestinationSettings",
    "Health",
    "OutboundEvent",
    "PrivacySettings",
    "Token",
]


class OutboundEvent(NamedTuple):  # a tuple: built per event and destination
    tenant: str
    event_id: str
    raw: dict[str, Any]


def _header_safe(token: SecretStr) -> SecretStr:
    """A token travels in an HTTP header, where the HTTP stack refuses whitespace, control and
    non-ASCII characters with an error quoting the whole header, token included. Refuse them here
    instead, without showing the value."""
    text = token.get_secret_value()
    if not (text.isascii() and text.isprintable()) or any(char.isspace() for char in text):
        raise ValueError(
            "contains whitespace, a control or a non-ASCII character (a trailing newline or "
            "space in its variable?); the value is not shown"
        )
    return token


# An API token from the configuration: never shown, and fit for an HTTP header.
Token = Annotated[SecretStr, Field(min_length=1), AfterValidator(_header_safe)]


@dataclass(slots=True)
class DeliveryReport:
    """`delivered` events are confirmed by the destination; `poisoned` maps batch index → reason.
    `held` maps tenant → reason for tenants whose events in the batch were not delivered because
    of a fatal error of their own: they stay in the backlog and are retried on the slow schedule
    of fatal errors."""

    delivered: int
    poisoned: dict[int, str] = field(default_factory=dict)
    held: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Health:
    ok: bool
    detail: str


class Destination(Protocol):
    name: str
    # Batches the dispatcher may have under way at once (1: strictly one after the other).
    max_in_flight: int
    # Partial batches go out at most once per this many seconds, so trickles share requests
    # (0: each at once).
    linger: float

    async def send(self, batch: Sequence[OutboundEvent]) -> DeliveryReport: ...

    async def check(self) -> Health: ...

    async def close(self) -> None: ...


class DestinationSettings(BaseModel):
    """Base of every destination's config model: strict keys, immutable, and the names of the
    settings a tenant may override (an MSP sends each client to its own Splunk index, say)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    tenant_overrides: ClassVar[frozenset[str]] = frozenset()


class PrivacySettings(BaseModel):
    """A destination's `privacy:` block: what of each event it may see. `full` forwards all;
    `admin` removes item names and types (what a NordPass Admin sees); `pseudonymize` replaces
    emails and item names by a keyed HMAC, stable per tenant; `drop_fields` removes dotted paths."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    mode: Literal["full", "admin", "pseudonymize"] = "full"
    pseudonymize_key: Annotated[SecretStr, Field(min_length=1)] | None = None
    drop_fields: tuple[str, ...] = ()

    @model_validator(mode="after")
    def _valid_profile(self) -> PrivacySettings:
        try:
            self.profile()
        except PrivacyConfigError as error:
            raise ValueError("; ".join(error.problems)) from None
        return self

    def profile(self) -> PrivacyProfile:
        key = self.pseudonymize_key
        return PrivacyProfile.from_config(
            self.mode,
            drop_fields=self.drop_fields,
            pseudonymize_key=None if key is None else key.get_secret_value(),
        )
