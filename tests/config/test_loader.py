"""Configuration loading: interpolation, validation with paths, secrets kept out of errors."""

from __future__ import annotations

import textwrap
from datetime import timedelta
from pathlib import Path

import pytest

from agent.config import load_config, parse_config
from agent.errors import ConfigError

VALID = """
state: sqlite:///data/state.db
defaults: {poll_interval: 60s, settle_delay: 60s, lookback: 15m, page_size: 100}
destinations:
  local-file: {type: file, path: ./out/events.ndjson, format: native}
tenants:
  acme:
    nordpass:
      region: eu
      token: "${ACME_TOKEN}"
      organization_uuid: "101b4232-0688-4599-bca8-4636c91cd687"
    destinations: [local-file]
    start: 7d
"""


def problems_of(text: str, environ: dict[str, str] | None = None) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        parse_config(textwrap.dedent(text), environ or {})
    return caught.value.problems


def test_a_valid_file_loads_with_its_durations_and_defaults() -> None:
    config = parse_config(VALID, {"ACME_TOKEN": "tok-123"})
    acme = config.tenants["acme"]
    assert acme.nordpass.token.get_secret_value() == "tok-123"
    assert acme.nordpass.endpoint == "https://api-activities.eu.nordpass.com/activities/query"
    assert config.defaults.lookback == timedelta(minutes=15)
    assert acme.start.ago == timedelta(days=7)
    assert [ref.name for ref in acme.destinations] == ["local-file"]


def test_environment_variable_is_substituted() -> None:
    config = parse_config(VALID, {"ACME_TOKEN": "from-env"})
    assert config.tenants["acme"].nordpass.token.get_secret_value() == "from-env"


def test_default_is_used_when_the_variable_is_unset_or_empty() -> None:
    text = VALID.replace("${ACME_TOKEN}", "${ACME_TOKEN:-fallback}")
    assert parse_config(text, {}).tenants["acme"].nordpass.token.get_secret_value() == "fallback"
    empty = parse_config(text, {"ACME_TOKEN": ""})
    assert empty.tenants["acme"].nordpass.token.get_secret_value() == "fallback"


def test_file_reference_reads_the_secret_without_its_trailing_newline(tmp_path: Path) -> None:
    secret = tmp_path / "token"
    secret.write_text("file-token\n")
    text = VALID.replace("${ACME_TOKEN}", "${file:" + str(secret) + "}")
    config = parse_config(text, {})
    assert config.tenants["acme"].nordpass.token.get_secret_value() == "file-token"


def test_interpolation_applies_to_values_not_to_the_document_text() -> None:
    # A value that looks like YAML structure stays one string.
    text = VALID.replace("./out/events.ndjson", '"${OUT}"')
    config = parse_config(text, {"ACME_TOKEN": "t", "OUT": "a: b\n- c # d"})
    assert str(config.destinations["local-file"].path) == "a: b\n- c # d"  # type: ignore[union-attr]


@pytest.mark.parametrize("token", ["np-9f3a\n", " np-9f3a", "np 9f3a", "np-9f3a\x00", "np-9f3ä"])
def test_a_token_unfit_for_an_http_header_is_refused_without_being_shown(token: str) -> None:
    problems = problems_of(VALID, {"ACME_TOKEN": token})
    assert problems == [
        (
            "tenants.acme.nordpass.token: contains whitespace, a control or a non-ASCII character "
            "(a trailing newline or space in its variable?); the value is not shown"
        )
    ]
    assert all("9f3" not in problem for problem in problems)


@pytest.mark.parametrize(
    ("lines", "problem"),
    [
        (["ca_file: /nonexistent/ca.pem"], "ca_file /nonexistent/ca.pem: no such file"),
        (["ca_file: CA", "verify_tls: false"], "ca_file is only used when verify_tls is true"),
    ],
)
def test_nordpass_tls_settings_are_checked_with_the_file(
    tmp_path: Path, lines: list[str], problem: str
) -> None:
    ca = tmp_path / "ca.pem"
    ca.write_text("a certificate")
    extra = "".join(f"      {line.replace('CA', str(ca))}\n" for line in lines)
    text = VALID.replace("      region: eu\n", "      region: eu\n" + extra)
    assert problems_of(text, {"ACME_TOKEN": "t"}) == [f"tenants.acme.nordpass: {problem}"]


def test_a_secret_file_loses_its_trailing_line_ends(tmp_path: Path) -> None:
    secret = tmp_path / "token"
    secret.write_bytes(b"np-token-value\r\n\n")
    text = VALID.replace("${ACME_TOKEN}", f"${{file:{secret}}}")
    config = parse_config(text, {})
    assert config.tenants["acme"].nordpass.token.get_secret_value() == "np-token-value"


def test_a_secret_file_that_is_not_text_is_a_clear_problem(tmp_path: Path) -> None:
    secret = tmp_path / "token"
    secret.write_bytes(b"\xff\xfe binary")
    text = VALID.replace("${ACME_TOKEN}", f"${{file:{secret}}}")
    assert problems_of(text) == [f"tenants.acme.nordpass.token: {secret} is not UTF-8 text"]


def test_doubled_dollar_escapes_a_literal_reference() -> None:
    config = parse_config(VALID.replace("${ACME_TOKEN}", "$${NOT_A_VAR}"), {})
    assert config.tenants["acme"].nordpass.token.get_secret_value() == "${NOT_A_VAR}"


def test_interpolation_works_in_lists_and_nested_values() -> None:
    text = VALID.replace("[local-file]", "['${DEST}']")
    config = parse_config(text, {"ACME_TOKEN": "t", "DEST": "local-file"})
    assert config.tenants["acme"].destinations[0].name == "local-file"


def test_unset_variable_is_reported_with_its_path() -> None:
    assert problems_of(VALID) == [
        "tenants.acme.nordpass.token: environment variable ACME_TOKEN is not set"
    ]


def test_unreadable_secret_file_is_reported_with_its_path(tmp_path: Path) -> None:
    text = VALID.replace("${ACME_TOKEN}", "${file:" + str(tmp_path / "missing") + "}")
    (problem,) = problems_of(text)
    assert problem.startswith("tenants.acme.nordpass.token: cannot read ")


def test_five_mistakes_are_all_reported_with_their_paths() -> None:
    text = """
    state: sqlite:///data/state.db
    defaults: {poll_interval: soon, page_size: 100}
    destinations:
      local-file: {type: file, path: ./out/events.ndjson, colour: blue}
    tenants:
      acme:
        nordpass: {region: mars, token: t}
        destinations: [local-file, siem-nowhere]
        start: whenever
    """
    assert problems_of(text) == [
        "defaults.poll_interval: expected a duration such as 90s, 15m, 1h or 7d",
        "destinations.local-file.colour: unknown key",
        "tenants.acme.nordpass.region: Input should be 'eu' or 'us'",
        (
            "tenants.acme.start: expected now, a duration ago (7d), an ISO-8601 date or "
            "date-time, or Unix seconds"
        ),
        "tenants.acme.destinations[1]: unknown destination 'siem-nowhere' (declared: local-file)",
    ]


def test_a_secret_in_a_wrongly_typed_field_never_appears_in_the_errors() -> None:
    secret = "npk_live_9f8e7d6c5b4a"
    text = f"""
    defaults: {{page_size: "{secret}", poll_interval: "{secret}", lookback: ["{secret}"]}}
    destinations:
      local-file: {{type: file, path: "{secret}", fsync: "{secret}"}}
      other: {{type: "{secret}"}}
    tenants:
      acme:
        nordpass: {{region: "{secret}", token: t, organization_uuid: "{secret}"}}
        destinations: [local-file]
        start: "{secret}"
    """
    with pytest.raises(ConfigError) as caught:
        parse_config(textwrap.dedent(text), {})
    assert len(caught.value.problems) >= 8
    assert secret not in str(caught.value)
    assert secret not in repr(caught.value.problems)


def test_unknown_destination_type_lists_the_known_ones() -> None:
    text = VALID.replace("type: file, path: ./out/events.ndjson, format: native", "type: kafka")
    problems = problems_of(text, {"ACME_TOKEN": "t"})
    assert problems == [
        "destinations.local-file: unknown type; expected one of 'file', 'stdout', 'splunk_hec'"
    ]


def test_region_and_url_are_mutually_exclusive_and_one_is_required() -> None:
    both = VALID.replace("region: eu", "region: eu\n      url: 'https://np.example'")
    assert problems_of(both, {"ACME_TOKEN": "t"}) == [
        "tenants.acme.nordpass: set exactly one of region (eu or us) or url"
    ]
    neither = VALID.replace("region: eu", "")
    assert problems_of(neither, {"ACME_TOKEN": "t"}) == [
        "tenants.acme.nordpass: set exactly one of region (eu or us) or url"
    ]


def test_per_tenant_override_of_a_setting_the_destination_does_not_allow_is_an_error() -> None:
    text = VALID.replace("[local-file]", "[{name: local-file, index: client_a}]")
    assert problems_of(text, {"ACME_TOKEN": "t"}) == [
        "tenants.acme.destinations[0].index: cannot be overridden per tenant (none)"
    ]


@pytest.mark.parametrize(
    ("start", "expected"),
    [
        ("2026-01-31", 1_769_817_600.0),
        ("'2026-01-31T12:00:00+01:00'", 1_769_857_200.0),
        ("1769817600", 1_769_817_600.0),
    ],
)
def test_start_accepts_dates_date_times_and_unix_seconds(start: str, expected: float) -> None:
    config = parse_config(VALID.replace("start: 7d", f"start: {start}"), {"ACME_TOKEN": "t"})
    assert config.tenants["acme"].start.resolve(now=0) == expected


@pytest.mark.parametrize(("start", "ago"), [("now", 0.0), ("NOW", 0.0), ("7d", 604_800.0)])
def test_start_now_is_the_moment_of_the_first_start(start: str, ago: float) -> None:
    config = parse_config(VALID.replace("start: 7d", f"start: {start}"), {"ACME_TOKEN": "t"})
    assert config.tenants["acme"].start.resolve(now=2_000_000_000) == 2_000_000_000 - ago


def test_yaml_syntax_error_reports_line_and_column() -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config("tenants: [unclosed\n", {}, source="agent.yaml")
    assert caught.value.problems[0].startswith("agent.yaml:2:")


def test_missing_file_names_the_path_and_how_to_set_it(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        load_config(tmp_path / "nope.yaml", {})
    assert "nope.yaml: no such file" in str(caught.value)


def test_shipped_example_configuration_is_valid() -> None:
    example = Path(__file__).parents[2] / "config" / "agent.example.yaml"
    environ = {"ACME_NORDPASS_TOKEN": "a", "GLOBEX_NORDPASS_TOKEN": "b", "SPLUNK_HEC_TOKEN": "c"}
    config = load_config(example, environ)
    assert config.tenants


@pytest.mark.parametrize(("rate", "accepted"), [("0", False), ("0.5", True), ("1000", True),
                                                ("1001", False)])  # fmt: skip
def test_request_pacing_is_positive_and_at_most_a_thousand_per_second(
    rate: str, accepted: bool
) -> None:
    text = VALID.replace("region: eu", f"region: eu\n      requests_per_second: {rate}")
    if not accepted:
        (problem,) = problems_of(text, {"ACME_TOKEN": "t"})
        assert problem.startswith("tenants.acme.nordpass.requests_per_second: ")
        return
    source = parse_config(text, {"ACME_TOKEN": "t"}).tenants["acme"].nordpass
    assert source.requests_per_second == float(rate)
