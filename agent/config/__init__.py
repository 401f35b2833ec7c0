"""Configuration: the YAML file (destinations, tenants) and agent-level environment settings."""

from agent.config.durations import Duration, StartPoint, parse_duration, parse_start_point
from agent.config.loader import load_config, parse_config
from agent.config.model import AgentConfig, Defaults, DestinationRef, NordPassSource, Tenant
from agent.config.settings import AgentSettings

__all__ = [
    "AgentConfig",
    "AgentSettings",
    "Defaults",
    "DestinationRef",
    "Duration",
    "NordPassSource",
    "StartPoint",
    "Tenant",
    "load_config",
    "parse_config",
    "parse_duration",
    "parse_start_point",
]
