"""The `splunk_hec` destination: NordPass events to Splunk's HTTP Event Collector.

`send` renders a batch into envelopes, skips what HEC already settled in an earlier attempt of the
same batch, delivers the rest (see `delivery`) and reports back only once every event is confirmed
(indexed, or with indexer acknowledgement acknowledged) or dead-lettered. It is safe to call
concurrently: batches share the in-flight limit, the channels and the outcome cache.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import httpx
from pydantic import ValidationError

from agent.clock import Clock, SystemClock
from agent.errors import ConfigError
from agent.normalize import Formatter, UnknownActionCounter, default_codec
from connectors.base import DeliveryReport, Health, OutboundEvent
from connectors.splunk_hec.acks import AckChannel
from connectors.splunk_hec.client import HecClient
from connectors.splunk_hec.config import SplunkHecConfig, TenantOverride
from connectors.splunk_hec.delivery import BatchDelivery, DeliveryContext, HecStats
from connectors.splunk_hec.envelopes import EnvelopeWriter
from connectors.splunk_hec.ordering import PostingOrder
from connectors.splunk_hec.outcomes import DELIVERED, Held, Outcomes
from connectors.splunk_hec.replies import Action, HecReply

__all__ = ["SplunkHecDestination"]

_NO_DATA = 5  # the code a valid token gets for an empty request


class SplunkHecDestination:
    def __init__(
        self,
        name: str,
        config: SplunkHecConfig,
        overrides: Mapping[str, Mapping[str, Any]] | None = None,
        *,
        clock: Clock | None = None,
        jitter: Callable[[], float] = random.random,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.name = name
        self.max_in_flight = config.max_in_flight
        self.linger = config.linger.total_seconds()
        self._config = config
        clock = clock or SystemClock()
        validated = _validated(name, overrides or {})
        # Per destination; a tenant's own privacy profile gets a formatter of its own, which
        # counts into its own counter (see `EnvelopeWriter`).
        self.unknown_actions = UnknownActionCounter()
        self._writer = EnvelopeWriter(
            config,
            validated,
            Formatter(
                config.format, config.privacy.profile(), unknown_actions=self.unknown_actions
            ),
            default_codec(),
        )
        self._client = HecClient(config, clock=clock, transport=transport)
        self._context = DeliveryContext(
            name=name,
            config=config,
            client=self._client,
            tokens=self._writer.tokens,
            token_label=self._writer.token_label,
            channels={},
            clock=clock,
            jitter=jitter,
            outcomes=Outcomes(),
            slots=asyncio.Semaphore(config.max_in_flight),
            order=PostingOrder(clock),
            own_index=frozenset(tenant for tenant, values in validated.items() if values.index),
        )
        for slot in range(len(self._writer.tokens)):  # every token is known from the overrides
            self._channel(slot)

    @property
    def stats(self) -> HecStats:
        return self._context.stats

    def _channel(self, slot: int) -> AckChannel:
        channel = self._context.channels.get(slot)
        if channel is None:
            token = self._writer.tokens[slot]

            async def poll(guid: str, ack_ids: Sequence[int]) -> HecReply:
                return await self._client.post_acks(token, guid, ack_ids)

            channel = AckChannel(
                poll,
                clock=self._context.clock,
                poll_interval=self._config.ack_poll_interval.total_seconds(),
                ack_timeout=self._config.ack_timeout.total_seconds(),
                label=self._writer.token_label(slot),
            )
            self._context.channels[slot] = channel
        return channel

    async def send(self, batch: Sequence[OutboundEvent]) -> DeliveryReport:
        outcomes = self._context.outcomes
        keys = [(event.tenant, event.event_id) for event in batch]
        # Until the report below is read, no other batch's entries may push these out.
        with outcomes.sending(keys):
            unsettled = [
                self._writer.envelope(event, position)
                for position, event in enumerate(batch)
                if outcomes.get(keys[position]) is None
            ]
            if batch:
                await BatchDelivery(self._context).run(keys[0], unsettled)
            poisoned: dict[int, str] = {}
            held: dict[str, str] = {}
            undelivered = 0
            for position, event in enumerate(batch):
                reason = outcomes.get(keys[position])
                if reason is None:  # the delivery settles every envelope or raises
                    raise RuntimeError(f"event {event.event_id} left unsettled")
                if isinstance(reason, Held):
                    held.setdefault(event.tenant, reason.reason)
                    undelivered += 1
                elif reason != DELIVERED:
                    poisoned[position] = reason
                    undelivered += 1
            outcomes.forget(keys)
        return DeliveryReport(delivered=len(batch) - undelivered, poisoned=poisoned, held=held)

    async def check(self) -> Health:
        """HEC answers its health endpoint, and accepts every token (and acks, when enabled)."""
        client, base = self._client, self._config.base_url
        health = await client.health()
        if health.status == 0:
            return Health(ok=False, detail=f"cannot reach HEC at {base}: {health.text}")
        if health.rule.action is not Action.HEALTHY:
            return Health(ok=False, detail=f"HEC at {base} is not healthy: {health.describe()}")
        for slot, token in enumerate(self._writer.tokens):
            label, guid = self._writer.token_label(slot), self._channel(slot).guid
            probe = await client.probe_token(token, guid)
            if probe.code != _NO_DATA:
                return Health(ok=False, detail=f"{label}: {probe.describe()}")
            if self._config.indexer_ack:
                acks = await client.post_acks(token, guid, [])
                if acks.rule.action in (Action.ACKS_DISABLED, Action.FATAL):
                    return Health(ok=False, detail=f"{label}: {acks.describe()}")
        tokens = len(self._writer.tokens)
        acks_note = ", indexer acknowledgement on" if self._config.indexer_ack else ""
        return Health(
            ok=True,
            detail=f"HEC healthy at {base}, {tokens} token(s) accepted{acks_note}",
        )

    async def close(self) -> None:
        for channel in self._context.channels.values():
            await channel.close()
        await self._client.aclose()


def _validated(name: str, overrides: Mapping[str, Mapping[str, Any]]) -> dict[str, TenantOverride]:
    """Per-tenant overrides as models; every problem reported at once with its path."""
    validated: dict[str, TenantOverride] = {}
    problems: list[str] = []
    for tenant, values in overrides.items():
        try:
            validated[tenant] = TenantOverride.model_validate(values)
        except ValidationError as error:
            for detail in error.errors(include_input=False):
                where = ".".join(str(part) for part in detail["loc"])
                problems.append(f"tenants.{tenant}.destinations[{name}].{where}: {detail['msg']}")
    if problems:
        raise ConfigError(problems)
    return validated
