"""HEC envelopes: each event as one JSON object carrying its own index, source and index-time
fields, and how a batch is cut into requests (one token per request, under the size caps).

A batch mixes tenants: each envelope carries its tenant's metadata, so one request serves many
tenants as long as they share a token. Requests keep the batch's order within each token.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import NamedTuple

from pydantic import SecretStr

from agent.normalize import Formatter, JsonCodec
from connectors.base import OutboundEvent
from connectors.splunk_hec.config import SplunkHecConfig, TenantOverride, default_sourcetype

__all__ = ["Envelope", "EnvelopeWriter", "Route", "cut_requests"]


@dataclass(frozen=True, slots=True)
class Route:
    """Where one tenant's events go: the token (slot 0 is the destination's own) and the
    envelope metadata, serialized once."""

    token_slot: int
    metadata: bytes
    formatter: Formatter


class Envelope(NamedTuple):  # a tuple: built per event, and cheaper than a dataclass
    position: int  # index in the dispatcher's batch
    tenant: str
    event_id: str
    token_slot: int
    body: bytes  # the envelope and a newline

    @property
    def key(self) -> tuple[str, str]:
        return (self.tenant, self.event_id)


class EnvelopeWriter:
    """Renders events into envelopes with the destination's formatter and per-tenant metadata."""

    def __init__(
        self,
        config: SplunkHecConfig,
        overrides: Mapping[str, TenantOverride],
        formatter: Formatter,
        codec: JsonCodec,
    ) -> None:
        self._config = config
        self._overrides = overrides
        self._formatter = formatter
        self._dumps = codec.dumps
        self.tokens: list[SecretStr] = [config.token]
        self.token_tenants: dict[int, list[str]] = {}
        self._routes: dict[str, Route] = {}
        for tenant in overrides:
            self.route(tenant)

    def route(self, tenant: str) -> Route:
        route = self._routes.get(tenant)
        if route is None:
            route = self._routes[tenant] = self._new_route(tenant)
        return route

    def _new_route(self, tenant: str) -> Route:
        config, override = self._config, self._overrides.get(tenant, TenantOverride())
        metadata = {
            "index": override.index or config.index,
            "source": override.source or config.source or f"nordpass:{tenant}",
            "sourcetype": override.sourcetype
            or config.sourcetype
            or default_sourcetype(config.format),
            "host": config.host,
        }
        fragment = b"".join(
            self._dumps(key) + b":" + self._dumps(value) + b","
            for key, value in metadata.items()
            if value is not None
        )
        formatter = self._formatter
        if override.privacy is not None:  # this tenant's own privacy profile
            formatter = Formatter(
                config.format,
                override.privacy.profile(),
                unknown_actions=self._formatter.unknown_actions,  # one count per destination
            )
        return Route(self._token_slot(tenant, override.token), fragment, formatter)

    def _token_slot(self, tenant: str, token: SecretStr | None) -> int:
        """Requests go per distinct token; tenants overriding it with the same value share one."""
        if token is None:
            return 0
        known = [existing.get_secret_value() for existing in self.tokens]
        secret = token.get_secret_value()
        if secret in known:
            slot = known.index(secret)
        else:
            slot = len(self.tokens)
            self.tokens.append(token)
        self.token_tenants.setdefault(slot, []).append(tenant)
        return slot

    def envelope(self, event: OutboundEvent, position: int) -> Envelope:
        route = self.route(event.tenant)
        canonical = route.formatter.canonical(
            event.raw, tenant=event.tenant, event_id=event.event_id
        )
        fields = {"event_id": event.event_id, "tenant": event.tenant}
        if canonical.organization_uuid:
            fields["organization_uuid"] = canonical.organization_uuid
        body = b"".join(
            (
                b'{"time":',
                self._dumps(canonical.occurred_at),
                b",",
                route.metadata,
                b'"event":',
                self._dumps(route.formatter.renderer.render(canonical)),
                b',"fields":',
                self._dumps(fields),
                b"}\n",
            )
        )
        return Envelope(position, event.tenant, event.event_id, route.token_slot, body)

    def token_label(self, slot: int) -> str:
        """Which token a message is about, by the tenants that use it (never the token)."""
        if slot == 0:
            return "the destination's token"
        tenants = ", ".join(repr(name) for name in self.token_tenants.get(slot, ()))
        return f"the token set for tenant {tenants}"


def cut_requests(
    envelopes: Iterable[Envelope], max_bytes: int, max_events: int | None
) -> list[list[Envelope]]:
    """Requests of one token each, in batch order per token, each under `max_bytes` (an envelope
    larger than that goes alone: HEC decides) and `max_events`."""
    by_token: dict[int, list[Envelope]] = {}
    for envelope in envelopes:
        by_token.setdefault(envelope.token_slot, []).append(envelope)
    requests: list[list[Envelope]] = []
    for group in by_token.values():
        requests.extend(_cut(group, max_bytes, max_events))
    return requests


def _cut(group: Sequence[Envelope], max_bytes: int, max_events: int | None) -> list[list[Envelope]]:
    requests: list[list[Envelope]] = []
    current: list[Envelope] = []
    size = 0
    for envelope in group:
        full = max_events is not None and len(current) >= max_events
        if current and (full or size + len(envelope.body) > max_bytes):
            requests.append(current)
            current, size = [], 0
        current.append(envelope)
        size += len(envelope.body)
    if current:
        requests.append(current)
    return requests
