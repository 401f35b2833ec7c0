"""The `splunk_hec` settings: defaults, accepted URL forms, per-tenant overrides, registration."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from pydantic import SecretStr, TypeAdapter, ValidationError

from agent.errors import ConfigError
from connectors import DestinationConfig, build_destination
from connectors.registry import override_keys_for_type
from connectors.splunk_hec import SplunkHecConfig, SplunkHecDestination

BASE = {"type": "splunk_hec", "url": "https://splunk.example:8088", "token": "t0k"}


def config(**settings: Any) -> SplunkHecConfig:
    return SplunkHecConfig.model_validate({**BASE, **settings})


def test_defaults_follow_the_issue() -> None:
    settings = config()
    assert (settings.format, settings.gzip, settings.verify_tls, settings.indexer_ack) == (
        "native", True, True, False,
    )  # fmt: skip
    assert settings.batch_max_bytes == 1_000_000
    assert settings.max_in_flight == 4
    assert settings.ack_timeout == timedelta(minutes=5)
    assert settings.ack_poll_interval == timedelta(seconds=10)
    assert settings.linger == timedelta(seconds=1)


@pytest.mark.parametrize(
    "url",
    [
        "https://splunk.example:8088",
        "https://splunk.example:8088/",
        "https://splunk.example:8088/services/collector",
        "https://splunk.example:8088/services/collector/event",
        "https://splunk.example:8088/services/collector/event/1.0",
    ],
)
def test_the_base_url_is_found_in_every_accepted_form(url: str) -> None:
    assert config(url=url).base_url == "https://splunk.example:8088"


def test_durations_are_written_like_the_rest_of_the_file() -> None:
    settings = config(ack_timeout="2m", ack_poll_interval="5s", timeout="45s")
    assert settings.ack_timeout == timedelta(minutes=2)
    assert settings.timeout == timedelta(seconds=45)


@pytest.mark.parametrize(
    "settings",
    [
        {"index": "Has Spaces"},
        {"format": "asim"},
        {"ca_file": "/ca.pem", "verify_tls": False},
        {"ack_timeout": "5s", "ack_poll_interval": "10s"},
        {"batch_max_bytes": 10},
        {"linger": "2m"},
        {"lingering": "1s"},
    ],
)
def test_incoherent_settings_are_refused(settings: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        config(**settings)


def test_the_token_never_shows_in_the_settings_repr() -> None:
    assert "t0k" not in repr(config())


def test_it_joins_the_destination_union() -> None:
    parsed = TypeAdapter(DestinationConfig).validate_python(BASE)
    assert isinstance(parsed, SplunkHecConfig)


def test_index_sourcetype_source_token_and_privacy_may_be_overridden_per_tenant() -> None:
    expected = {"index", "sourcetype", "source", "token", "privacy"}
    assert override_keys_for_type("splunk_hec") == expected


async def test_the_registry_builds_it_with_tenant_overrides() -> None:
    destination = build_destination("splunk", config(), {"acme": {"index": "acme"}})
    assert isinstance(destination, SplunkHecDestination)
    assert destination.max_in_flight == 4
    await destination.close()


async def test_bad_override_values_are_all_reported_with_their_paths() -> None:
    overrides = {"acme": {"index": "BAD INDEX"}, "globex": {"token": "", "sourcetype": ""}}
    with pytest.raises(ConfigError) as raised:
        SplunkHecDestination("splunk", config(), overrides)
    problems = sorted(raised.value.problems)
    assert [problem.partition(": ")[0] for problem in problems] == [
        "tenants.acme.destinations[splunk].index",
        "tenants.globex.destinations[splunk].sourcetype",
        "tenants.globex.destinations[splunk].token",
    ]
    assert "String should match pattern" in problems[0]


def test_a_secret_override_is_kept_secret() -> None:
    parsed = SplunkHecConfig.model_validate({**BASE, "token": SecretStr("x")})
    assert parsed.token.get_secret_value() == "x"
