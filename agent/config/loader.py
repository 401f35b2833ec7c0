"""Reads the YAML configuration, resolves references and validates it, reporting every problem.

Problems are collected from each stage (YAML syntax, interpolation, schema, cross-references) and
raised together as one `ConfigError`, each as `path: message`. Pydantic's error text is rebuilt
from its structured errors without the offending input, so a secret pasted into the wrong field
never reaches a terminal or a log.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from agent.config.interpolate import interpolate
from agent.config.model import AgentConfig
from agent.errors import ConfigError
from connectors.registry import override_keys_for_type

__all__ = ["load_config", "parse_config"]


def load_config(path: Path, environ: Mapping[str, str]) -> AgentConfig:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(
            [f"{path}: no such file (set --config or NORDPASS_AGENT_CONFIG)"]
        ) from None
    except OSError as error:
        raise ConfigError([f"{path}: cannot read: {error.strerror or error}"]) from None
    return parse_config(text, environ, source=str(path))


def parse_config(text: str, environ: Mapping[str, str], *, source: str = "<config>") -> AgentConfig:
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f"{source}:{mark.line + 1}:{mark.column + 1}" if mark else source
        problem = getattr(error, "problem", None) or "invalid YAML"
        raise ConfigError([f"{where}: {problem}"]) from None
    if not isinstance(document, dict):
        raise ConfigError([f"{source}: expected a mapping with state, destinations and tenants"])

    problems: list[str] = []
    resolved = interpolate(document, environ, problems)
    unresolved = {problem.split(":", 1)[0] for problem in problems}
    config: AgentConfig | None = None
    try:
        config = AgentConfig.model_validate(resolved)
    except ValidationError as error:
        problems.extend(
            line for line in _describe(error, resolved) if line.split(":", 1)[0] not in unresolved
        )
    problems.extend(_check_references(resolved))
    if problems or config is None:
        raise ConfigError(problems)
    return config


def _describe(error: ValidationError, document: dict[str, Any]) -> list[str]:
    lines = []
    for detail in error.errors(include_url=False, include_input=False, include_context=True):
        path = _path(detail["loc"], document)
        lines.append(f"{path}: {_message(detail)}")
    return lines


def _path(location: tuple[int | str, ...], document: dict[str, Any]) -> str:
    parts: list[str] = []
    for index, part in enumerate(location):
        # A discriminated union inserts the tag ("file") after the destination name; drop it.
        if index == 2 and location[0] == "destinations" and _is_tag(document, location):
            continue
        if isinstance(part, int):
            parts.append(f"[{part}]")
        else:
            parts.append(f".{part}" if parts else str(part))
    return "".join(parts) or "<root>"


def _is_tag(document: dict[str, Any], location: tuple[int | str, ...]) -> bool:
    entry = (document.get("destinations") or {}).get(location[1])
    return isinstance(entry, dict) and entry.get("type") == location[2]


_MESSAGES = {
    "extra_forbidden": "unknown key",
    "missing": "required",
    "union_tag_not_found": "missing 'type'",
}


def _message(detail: Any) -> str:
    kind = detail["type"]
    if kind in _MESSAGES:
        return _MESSAGES[kind]
    if kind == "union_tag_invalid":
        return f"unknown type; expected one of {detail['ctx']['expected_tags']}"
    message: str = detail["msg"]
    return message.removeprefix("Value error, ")


def _check_references(document: dict[str, Any]) -> list[str]:
    """Tenants may only name declared destinations, and override only what each type allows."""
    destinations = document.get("destinations") or {}
    tenants = document.get("tenants") or {}
    problems: list[str] = []
    if not isinstance(destinations, dict) or not isinstance(tenants, dict):
        return problems
    for tenant_name, tenant in tenants.items():
        refs = tenant.get("destinations") if isinstance(tenant, dict) else None
        for index, ref in enumerate(refs if isinstance(refs, list) else []):
            name = ref.get("name") if isinstance(ref, dict) else ref
            path = f"tenants.{tenant_name}.destinations[{index}]"
            if not isinstance(name, str):
                continue
            if name not in destinations:
                known = ", ".join(sorted(destinations)) or "none declared"
                problems.append(f"{path}: unknown destination '{name}' (declared: {known})")
                continue
            target = destinations[name]
            kind = target.get("type") if isinstance(target, dict) else None
            allowed = override_keys_for_type(kind)
            for key in sorted(set(ref) - {"name"} if isinstance(ref, dict) else ()):
                if key not in allowed:
                    choice = ", ".join(sorted(allowed)) or "none"
                    problems.append(f"{path}.{key}: cannot be overridden per tenant ({choice})")
    return problems
