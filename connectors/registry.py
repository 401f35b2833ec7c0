"""Maps a destination's config `type` to its config model and constructor. No discovery magic:
a new connector adds one line to `_CONNECTORS` and its model to `DestinationConfig`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, get_args

from pydantic import Field

from connectors.base import Destination, DestinationSettings
from connectors.file import (
    FileDestination,
    FileDestinationConfig,
    StdoutDestination,
    StdoutDestinationConfig,
)

__all__ = ["DestinationConfig", "build_destination", "override_keys_for_type"]

DestinationConfig = Annotated[
    FileDestinationConfig | StdoutDestinationConfig,
    Field(discriminator="type"),
]

_CONNECTORS: dict[type[DestinationSettings], Callable[[str, Any], Destination]] = {
    FileDestinationConfig: FileDestination,
    StdoutDestinationConfig: StdoutDestination,
}


def build_destination(name: str, config: DestinationSettings) -> Destination:
    return _CONNECTORS[type(config)](name, config)


def override_keys_for_type(kind: object) -> frozenset[str]:
    """What a tenant may override on a destination of this `type` (empty for unknown types)."""
    for model in _CONNECTORS:
        if _literal_value(model) == kind:
            return model.tenant_overrides
    return frozenset()


def _literal_value(model: type[DestinationSettings]) -> object:
    annotation = model.model_fields["type"].annotation
    return get_args(annotation)[0] if get_args(annotation) else None
