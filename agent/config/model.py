"""The configuration file's shape: state, defaults, destinations and tenants.

Every model forbids unknown keys (a typo must not silently become a default) and every credential
is a `SecretStr`. Destination models live with their connectors (`connectors.registry`).
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, SecretStr, model_validator

from agent.config.durations import Duration, StartPoint, StartPointField
from agent.nordpass.models import MAX_PER_PAGE, REGION_URLS
from connectors import DestinationConfig
from connectors.base import Token

__all__ = [
    "AgentConfig",
    "Defaults",
    "DestinationRef",
    "NordPassSource",
    "Tenant",
]

_NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"
Name = Annotated[str, Field(pattern=_NAME_PATTERN)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Defaults(_Strict):
    """Per-tenant polling settings that tenants inherit unless they set their own."""

    poll_interval: Duration = timedelta(seconds=60)
    # Events become queryable some time after their timestamp; the live window ends this far
    # before the server's "now" so a second is read only once it has (mostly) settled.
    settle_delay: Duration = timedelta(seconds=60)
    # Each cycle re-checks this much history behind the watermark for events that arrived late.
    lookback: Duration = timedelta(minutes=15)
    page_size: Annotated[int, Field(ge=1, le=MAX_PER_PAGE)] = 100
    # A gap wider than this (first start, long outage) is caught up in backfill slices.
    max_live_window: Duration = timedelta(hours=1)
    backfill_slice: Duration = timedelta(days=1)
    backfill_concurrency: Annotated[int, Field(ge=1, le=32)] = 4
    # Events waiting for one destination before `on_backlog_full` applies.
    max_backlog_events: Annotated[int, Field(ge=1)] = 1_000_000
    # pause: stop polling the tenant (the API still holds the data); detach: skip the lagging
    # destination's backlog, record the gap, and re-fetch it for that destination once it recovers.
    on_backlog_full: Literal["pause", "detach"] = "pause"


class NordPassSource(_Strict):
    region: Literal["eu", "us"] | None = None
    url: Annotated[str, Field(pattern=r"^https?://")] | None = None
    token: Token
    organization_uuid: UUID | None = None
    proxy: str | None = None
    ca_file: Path | None = None
    verify_tls: bool = True
    timeout: Duration = timedelta(seconds=60)
    # Client-side pacing per token; the API's own limit is not published.
    requests_per_second: Annotated[float, Field(gt=0, le=1000)] = 5.0

    @model_validator(mode="after")
    def _one_endpoint(self) -> NordPassSource:
        if (self.region is None) == (self.url is None):
            raise ValueError("set exactly one of region (eu or us) or url")
        if self.ca_file is not None and not self.verify_tls:
            raise ValueError("ca_file is only used when verify_tls is true")
        if self.ca_file is not None and not self.ca_file.is_file():
            raise ValueError(f"ca_file {self.ca_file}: no such file")
        return self

    @property
    def endpoint(self) -> str:
        return self.url if self.url is not None else REGION_URLS[self.region or "eu"]


def _name_to_ref(value: Any) -> Any:
    return {"name": value} if isinstance(value, str) else value


class DestinationRef(BaseModel):
    """A tenant's use of a named destination, with optional per-tenant overrides."""

    model_config = ConfigDict(extra="allow", frozen=True)

    name: Name

    @property
    def overrides(self) -> dict[str, Any]:
        return dict(self.model_extra or {})


class Tenant(_Strict):
    nordpass: NordPassSource
    destinations: Annotated[
        list[Annotated[DestinationRef, BeforeValidator(_name_to_ref)]], Field(min_length=1)
    ]
    start: StartPointField = StartPoint(ago=timedelta(days=7))
    enabled: bool = True
    poll_interval: Duration | None = None
    settle_delay: Duration | None = None
    lookback: Duration | None = None
    page_size: Annotated[int, Field(ge=1, le=MAX_PER_PAGE)] | None = None
    max_backlog_events: Annotated[int, Field(ge=1)] | None = None
    on_backlog_full: Literal["pause", "detach"] | None = None


def _state_url(value: Any) -> Any:
    if isinstance(value, str) and not (value.startswith("sqlite:///") and len(value) > 10):
        raise ValueError("expected sqlite:///relative/path.db or sqlite:////absolute/path.db")
    return value


def _listen_address(value: object) -> object:
    """`host:port` (IPv6 in brackets); the port may be 0 for any free one."""
    if not isinstance(value, str):
        return value
    host, separator, port = value.rpartition(":")
    if not separator or not host or not port.isdigit() or int(port) > 65535:
        raise ValueError("expected host:port, such as 127.0.0.1:9464")
    return value


class Metrics(_Strict):
    """The Prometheus endpoint (`GET /metrics`, `GET /healthz`); off unless `listen` is set."""

    listen: Annotated[str, BeforeValidator(_listen_address)] | None = None

    @property
    def address(self) -> tuple[str, int] | None:
        if self.listen is None:
            return None
        host, _, port = self.listen.rpartition(":")
        return host.strip("[]"), int(port)


class AgentConfig(_Strict):
    # sqlite:///relative/path.db or sqlite:////absolute/path.db
    state: Annotated[str, BeforeValidator(_state_url)] = "sqlite:///data/state.db"
    # Key of the event-id HMAC. Set it to keep ids stable even if the state store is lost;
    # otherwise one is generated at first start and kept in the state store.
    event_id_key: SecretStr | None = None
    defaults: Defaults = Defaults()
    # Dead letters older than this are deleted.
    dead_letter_ttl: Duration = timedelta(days=30)
    # Polling of every tenant pauses while the state file is larger than this.
    max_state_bytes: Annotated[int, Field(ge=1_000_000)] = 10 * 1024**3
    # Events per batch handed to a destination.
    batch_max_events: Annotated[int, Field(ge=1, le=100_000)] = 500
    metrics: Metrics = Metrics()
    destinations: dict[Name, DestinationConfig] = Field(default_factory=dict)
    tenants: Annotated[dict[Name, Tenant], Field(min_length=1)]

    def tenant_overrides(self, destination: str) -> dict[str, dict[str, Any]]:
        """Per-tenant settings overridden for `destination` (tenant → {key: value})."""
        return {
            tenant_name: ref.overrides
            for tenant_name, tenant in self.tenants.items()
            for ref in tenant.destinations
            if ref.name == destination and ref.overrides
        }

    @property
    def state_path(self) -> Path:
        return Path(self.state.removeprefix("sqlite:///"))
