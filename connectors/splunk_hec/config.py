"""Configuration of the Splunk HTTP Event Collector destination, and what a tenant may override.

An MSP sends each client to its own index (and perhaps with its own token), so `index`,
`sourcetype`, `source` and `token` can be set per tenant; everything else is per destination.
"""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator

from connectors.base import DestinationSettings, PrivacySettings, Token

__all__ = ["EVENT_PATH", "SplunkHecConfig", "TenantOverride", "default_sourcetype"]

EVENT_PATH = "/services/collector/event"
_COLLECTOR_SUFFIX = re.compile(r"/services/collector(/event)?(/1\.0)?/?$")


def _duration(value: Any) -> timedelta:
    # A top-level import would be circular: `agent.config` imports the connector registry.
    from agent.config.durations import parse_duration  # noqa: PLC0415

    return parse_duration(value)


Duration = Annotated[timedelta, BeforeValidator(_duration)]
# Splunk index names: lowercase letters, digits, `_` and `-`, starting with a letter or digit.
IndexName = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,79}$")]
MetadataText = Annotated[str, Field(min_length=1, max_length=1024)]


def default_sourcetype(output_format: str) -> str:
    return "nordpass:activity:cef" if output_format == "cef" else "nordpass:activity"


class TenantOverride(BaseModel):
    """What one tenant may set differently on a `splunk_hec` destination."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    index: IndexName | None = None
    sourcetype: MetadataText | None = None
    source: MetadataText | None = None
    token: Token | None = None
    privacy: PrivacySettings | None = None


class SplunkHecConfig(DestinationSettings):
    """Events to Splunk's HTTP Event Collector as JSON envelopes, one request per batch."""

    tenant_overrides: ClassVar[frozenset[str]] = frozenset(TenantOverride.model_fields)

    type: Literal["splunk_hec"]
    # https://splunk.example:8088, or the full .../services/collector/event URL.
    url: Annotated[str, Field(pattern=r"^https?://[^/]+")]
    token: Token
    format: Literal["native", "cef"] = "native"
    privacy: PrivacySettings = PrivacySettings()
    index: IndexName | None = None  # None: the token's default index
    sourcetype: MetadataText | None = None  # None: nordpass:activity (or :cef)
    source: MetadataText | None = None  # None: nordpass:<tenant>
    host: MetadataText | None = None
    verify_tls: bool = True
    ca_file: Path | None = None
    proxy: str | None = None  # None: HTTPS_PROXY / HTTP_PROXY from the environment
    timeout: Duration = timedelta(seconds=30)
    gzip: bool = True
    # Level 1 compresses JSON about 8x at a fraction of the CPU of the default level 6.
    gzip_level: Annotated[int, Field(ge=1, le=9)] = 1
    # Cap on the uncompressed body of one request; the wire size is never larger.
    batch_max_bytes: Annotated[int, Field(ge=1024, le=800 * 1024 * 1024)] = 1_000_000
    batch_max_events: Annotated[int, Field(ge=1)] | None = None  # per request
    # A partial batch goes out once this long has passed since the previous batch (gathering
    # any tenant's events meanwhile): fewer, fuller requests when many tenants trickle, at most
    # this much added latency, none after a quiet spell.
    linger: Duration = timedelta(seconds=1)
    max_in_flight: Annotated[int, Field(ge=1, le=64)] = 4
    indexer_ack: bool = False
    ack_timeout: Duration = timedelta(minutes=5)
    ack_poll_interval: Duration = timedelta(seconds=10)
    # Attempts per request for transient failures before the batch goes back to the dispatcher.
    max_attempts: Annotated[int, Field(ge=1, le=20)] = 5

    @model_validator(mode="after")
    def _coherent(self) -> SplunkHecConfig:
        if self.ca_file is not None and not self.verify_tls:
            raise ValueError("ca_file is only used when verify_tls is true")
        if self.ca_file is not None and not self.ca_file.is_file():
            raise ValueError(f"ca_file {self.ca_file}: no such file")
        if self.ack_poll_interval.total_seconds() <= 0:
            raise ValueError("ack_poll_interval must be positive")
        if self.ack_timeout < self.ack_poll_interval:
            raise ValueError("ack_timeout must be at least ack_poll_interval")
        if not timedelta(0) <= self.linger <= timedelta(minutes=1):
            raise ValueError("linger must be between 0 and 1 minute")
        return self

    @property
    def base_url(self) -> str:
        """The server part of `url`, whichever of the accepted forms was given."""
        return _COLLECTOR_SUFFIX.sub("", self.url.rstrip("/"))
