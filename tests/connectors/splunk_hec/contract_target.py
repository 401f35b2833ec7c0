"""The Splunk HEC connector as a contract target: the HEC emulator is the SIEM it can break."""

from __future__ import annotations

from collections.abc import AsyncIterator, Collection
from contextlib import asynccontextmanager
from pathlib import Path

from pydantic import SecretStr

from agent.clock import ManualClock
from connectors.base import Destination
from connectors.splunk_hec import SplunkHecConfig, SplunkHecDestination
from connectors.splunk_hec.emulator import Fault, FaultKind, HecEmulator
from tests.connectors.contract import DESTINATION, Capabilities

__all__ = ["SplunkHecTarget", "open_splunk_hec_target"]

_TOKEN = "8d2f0c1e-4b5a-4c3d-9e8f-7a6b5c4d3e2f"


class SplunkHecTarget:
    capabilities = Capabilities(
        byte_cap=True, retryable_faults=True, retry_after=True, poison=True, fatal=True
    )

    def __init__(self, emulator: HecEmulator, clock: ManualClock, *, acks: bool) -> None:
        self._emulator = emulator
        self._clock = clock
        self._acks = acks
        self._opened: list[SplunkHecDestination] = []

    def destination(self, *, batch_max_bytes: int | None = None) -> Destination:
        settings: dict[str, object] = {
            "type": "splunk_hec",
            "url": self._emulator.url,
            "token": SecretStr(_TOKEN),
            "index": "nordpass",
            "indexer_ack": self._acks,
            "ack_poll_interval": "1s",
        }
        if batch_max_bytes is not None:
            settings["batch_max_bytes"] = batch_max_bytes
        config = SplunkHecConfig.model_validate(settings)
        destination = SplunkHecDestination(
            DESTINATION, config, clock=self._clock, jitter=lambda: 0.5
        )
        self._opened.append(destination)
        return destination

    def delivered(self) -> list[tuple[str, str]]:
        return [
            (event.fields["tenant"], event.fields["event_id"]) for event in self._emulator.indexed
        ]

    def request_sizes(self) -> list[int]:
        return [request.body_bytes for request in self._emulator.requests]

    def fail_next(self, count: int, *, retry_after: float | None = None) -> None:
        self._emulator.script(*[Fault(FaultKind.BUSY, retry_after=retry_after)] * count)

    def poison(self, event_ids: Collection[str]) -> None:
        self._emulator.knobs.poison = frozenset(f'"{event_id}"' for event_id in event_ids)

    def break_config(self) -> None:
        self._emulator.tokens[_TOKEN].enabled = False

    def repair(self) -> None:
        self._emulator.tokens[_TOKEN].enabled = True

    async def close(self) -> None:
        for destination in self._opened:
            await destination.close()


@asynccontextmanager
async def open_splunk_hec_target(
    tmp_path: Path, clock: ManualClock, *, acks: bool = False
) -> AsyncIterator[SplunkHecTarget]:
    emulator = HecEmulator(seed=3)
    emulator.add_token(_TOKEN, name="nordpass", default_index="nordpass", ack=acks)
    await emulator.start()
    target = SplunkHecTarget(emulator, clock, acks=acks)
    try:
        yield target
    finally:
        await target.close()
        await emulator.stop()
