"""Maps a destination's config `type` to its config model and constructor. No discovery magic:
a new connector adds one line to `_CONNECTORS` and its model to `DestinationConfig`."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Annotated, Any, get_args

from pydantic import Field

from connectors.base import Destination, DestinationSettings
from connectors.file import (
    FileDestination,
    FileDestinationConfig,
    StdoutDestination,
    StdoutDestinationConfig,
)
from connectors.splunk_hec import SplunkHecConfig, SplunkHecDestination

__all__ = ["DestinationConfig", "TenantOverrides", "build_destination", "override_keys_for_type"]

DestinationConfig = Annotated[
    FileDestinationConfig | StdoutDestinationConfig | SplunkHecConfig,
    Field(discriminator="type"),
]
# tenant -> the settings it overrides on one destination (the keys `tenant_overrides` allows).
TenantOverrides = Mapping[str, Mapping[str, Any]]
_Constructor = Callable[[str, Any, TenantOverrides], Destination]


def _no_overrides(build: Callable[[str, Any], Destination]) -> _Constructor:
    return lambda name, config, _overrides: build(name, config)


_CONNECTORS: dict[type[DestinationSettings], _Constructor] = {
    FileDestinationConfig: _no_overrides(FileDestination),
    StdoutDestinationConfig: _no_overrides(StdoutDestination),
    SplunkHecConfig: SplunkHecDestination,
}


def build_destination(
    name: str, config: DestinationSettings, overrides: TenantOverrides | None = None
) -> Destination:
    return _CONNECTORS[type(config)](name, config, overrides or {})


def override_keys_for_type(kind: object) -> frozenset[str]:
    """What a tenant may override on a destination of this `type` (empty for unknown types)."""
    for model in _CONNECTORS:
        if _literal_value(model) == kind:
            return model.tenant_overrides
    return frozenset()


def _literal_value(model: type[DestinationSettings]) -> object:
    annotation = model.model_fields["type"].annotation
    return get_args(annotation)[0] if get_args(annotation) else None
