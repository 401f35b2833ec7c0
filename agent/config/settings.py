"""Agent-level settings from the environment (prefix `NORDPASS_AGENT_`), separate from the YAML file
so a container can be steered without editing it."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["AgentSettings"]


class AgentSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="NORDPASS_AGENT_", extra="ignore")

    config: Path = Path("agent.yaml")
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    # `auto`: human-readable on a terminal, JSON lines otherwise (containers, log shippers).
    log_format: Literal["auto", "json", "console"] = "auto"
