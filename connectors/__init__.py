"""Destination connectors, one sub-package per SIEM (each with its emulator), and their registry."""

from connectors.base import (
    DeliveryReport,
    Destination,
    DestinationSettings,
    Health,
    OutboundEvent,
)
from connectors.registry import DestinationConfig, build_destination

__all__ = [
    "DeliveryReport",
    "Destination",
    "DestinationConfig",
    "DestinationSettings",
    "Health",
    "OutboundEvent",
    "build_destination",
]
