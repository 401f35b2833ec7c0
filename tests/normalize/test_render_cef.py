"""CEF lines: checked with the third-party `pycef` parser, a strict reader written from the spec,
hand-written escaping vectors and property tests over arbitrary text.

pycef quirks, and what the tests assert instead:
- it returns extension values still escaped; the tests unescape them by the spec's rules;
- it moves a labelled `csN` value under its label's name (`Tenant`), dropping `csN`/`csNLabel`;
- its header regex stops at the first `\\` or `=`, so it cannot read a header field holding either,
  nor an escaped pipe `\\|` (all legal CEF). The renderer reduces API text that reaches the header
  to identifier characters, so every line it emits stays readable by pycef; escaping of arbitrary
  header text is checked with the spec reader, and with pycef only for text without `\\`, `=`
  and `|`.
"""

from __future__ import annotations

import json
from typing import Any

import pycef
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agent import __version__
from agent.normalize import (
    CATALOG,
    COMMON_SECURITY_LOG,
    Formatter,
    canonicalize,
    cef_line,
    escape_extension,
    escape_header,
)
from agent.normalize.render_cef import CEF_TO_COMMON_SECURITY_LOG, EXTENSION_LIMITS
from tests.normalize import cef_spec, golden_files, reference, samples
from tests.normalize.reference import PROPERTY

# Arbitrary text, weighted towards what CEF must escape or cannot carry.
_NASTY = st.sampled_from(
    ["|", "=", "\\", "\n", "\r", "\r\n", "\t", "\x00", "\x7f", "\x85", "\u2028", " "]
)
TEXT = st.lists(st.one_of(st.characters(exclude_categories=["Cs"]), _NASTY), max_size=40).map(
    "".join
)
LABELS = {"cs1": "Tenant", "cs2": "Initiator", "cs3": "Items", "cs4": "Event ID"}
LABELS |= {"cs5": "Login Provider", "cs6": "Details", "c6a1": "Source IPv6 Address"}


def _pycef_values(line: str) -> dict[str, str]:
    """pycef's reading, with values unescaped by the spec and labelled fields keyed back."""
    parsed = pycef.parse(line)
    assert parsed is not None, f"pycef could not parse {line!r}"
    by_label = {label: key for key, label in LABELS.items()}
    return {by_label.get(key, key): cef_spec.unescape_value(value) for key, value in parsed.items()}


_PYCEF_HEADER = (
    *("DeviceVendor", "DeviceProduct", "DeviceVersion", "DeviceEventClassID"),
    *("Name", "Severity"),
)


def _assert_pycef_agrees(line: str) -> None:
    """pycef reads the same header fields and extension values as the spec reader."""
    header, extension = cef_spec.parse(line)
    values = _pycef_values(line)
    for name, field in zip(_PYCEF_HEADER, header[1:], strict=True):
        assert values[name] == field, name
    for key, value in extension.items():
        if not key.endswith("Label"):
            assert values[key] == value, key


@pytest.mark.parametrize("path", golden_files.golden_paths(), ids=lambda path: path.stem)
def test_every_golden_line_parses_with_pycef_to_the_same_fields(path: Any) -> None:
    _assert_pycef_agrees(golden_files.load(path)["cef"])


def _expected_from_raw(document: dict[str, Any]) -> dict[str, str]:
    """Extension values a line must carry, read straight from the golden's raw event."""
    raw, metadata = document["raw"], document["raw"].get("metadata") or {}
    actor = metadata.get("msp") or {}
    user = raw.get("user") or {}
    expected = {
        "act": raw["action"],
        "cat": raw["type"],
        "externalId": document["event_id"],
        "cs1": document["tenant"],
        "cs4": document["event_id"],
        "deviceExternalId": raw.get("organization_uuid"),
        "duser": user.get("email"),
        "duid": user.get("uuid"),
        "suser": actor.get("user_email") or user.get("email"),
        "suid": actor.get("user_uuid") or user.get("uuid"),
        "cs2": raw.get("initiator"),
        "requestClientApplication": metadata.get("platform"),
    }
    if "timestamp" in raw:
        expected["rt"] = str(round(raw["timestamp"] * 1000))
    return {key: cef_spec.sanitized(value) for key, value in expected.items() if value}


_PLAIN_GOLDEN = [
    path for path in golden_files.golden_paths() if "privacy" not in golden_files.load(path)
]


@pytest.mark.parametrize("path", _PLAIN_GOLDEN, ids=lambda path: path.stem)
def test_every_golden_line_carries_the_raw_event_s_values(path: Any) -> None:
    document = golden_files.load(path)
    values = _pycef_values(document["cef"])
    for key, value in _expected_from_raw(document).items():
        assert values[key] == value, key


@pytest.mark.parametrize("path", golden_files.golden_paths(), ids=lambda path: path.stem)
def test_every_golden_line_has_seven_header_fields_and_the_catalog_header(path: Any) -> None:
    document = golden_files.load(path)
    header, _ = cef_spec.parse(document["cef"])
    assert header[:4] == ["CEF:0", "NordPass", "NordPass Business", __version__]
    assert 0 <= int(header[6]) <= 10


def _login_with(metadata: dict[str, Any]) -> str:
    """The CEF line of a failed login (the samples' own) carrying `metadata`."""
    raw = samples.sample_event(CATALOG.resolve("login", "user_login_failed", {}), 0)
    return cef_line(canonicalize({**raw, "metadata": metadata}, tenant="t", event_id="e1"))


@pytest.mark.parametrize(
    "metadata",
    [
        {"ip_address": "203.0.113.7:51234"},
        {"ip_address": ["203.0.113.7", "198.51.100.1"]},
        {"items": {"count": 3, "names": ["Bank"]}},
        {"provider": {"name": "google", "id": "g-123"}},
        {"platform": ["web", "ios"]},
        {"msp": {"user_role": "owner", "org": "MSP-ACME"}},
        {"msp": {"user_uuid": "u1", "user_email": "a@msp.example", "org_name": "MSP-ACME"}},
    ],
    ids=["ip-with-port", "ip-list", "items-object", "provider-object", "platform-list",
         "msp-without-admin", "msp-extra-key"],
)  # fmt: skip
def test_a_metadata_value_its_own_field_cannot_carry_goes_to_cs6(metadata: dict[str, Any]) -> None:
    _, extension = cef_spec.parse(_login_with(metadata))
    assert json.loads(extension["cs6"]) == metadata


def test_metadata_carried_by_fields_of_its_own_stays_out_of_cs6() -> None:
    metadata = {
        "ip_address": "203.0.113.7",
        "provider": "google",
        "platform": "web",
        "items": [{"name": "Bank"}],
        "msp": {"user_uuid": "u1", "user_email": "a@msp.example", "user_role": "owner"},
    }
    _, extension = cef_spec.parse(_login_with(metadata))
    assert "cs6" not in extension
    assert (extension["src"], extension["cs5"], extension["suser"]) == (
        "203.0.113.7", "google", "a@msp.example"
    )  # fmt: skip


def test_golden_lines_only_use_keys_that_map_to_common_security_log_columns() -> None:
    for path in golden_files.golden_paths():
        _, extension = cef_spec.parse(golden_files.load(path)["cef"])
        assert set(extension) <= set(EXTENSION_LIMITS)
        assert set(extension) <= set(CEF_TO_COMMON_SECURITY_LOG)


def test_every_mapped_column_is_a_real_common_security_log_column() -> None:
    reference_columns = reference.sentinel_tables()["CommonSecurityLog"]["columns"]
    assert set(CEF_TO_COMMON_SECURITY_LOG.values()) <= set(reference_columns)
    assert set(CEF_TO_COMMON_SECURITY_LOG.values()) <= set(COMMON_SECURITY_LOG.columns)


@pytest.mark.parametrize(
    ("text", "escaped"),
    [
        ("plain text", "plain text"),
        ("a|b", "a\\|b"),
        ("back\\slash", "back\\\\slash"),
        ("a=b", "a=b"),  # equals needs no escape in the header
        ("two\nlines", "two lines"),  # a header cannot carry a newline at all
        ("tab\there", "tab here"),
        ("\\|", "\\\\\\|"),
    ],
)
def test_header_escaping_follows_the_spec(text: str, escaped: str) -> None:
    assert escape_header(text) == escaped


@pytest.mark.parametrize(
    ("text", "escaped"),
    [
        ("plain text", "plain text"),
        ("a=b", "a\\=b"),
        ("back\\slash", "back\\\\slash"),
        ("a|b", "a|b"),  # pipes are not escaped in the extension
        ("two\nlines", "two\\nlines"),
        ("crlf\r\n", "crlf\\r\\n"),
        ("tab\there", "tab here"),  # CEF has no escape for other control characters
        ("nul\x00del\x7fnel\x85ls\u2028", "nul del nel ls "),
        ("\\=", "\\\\\\="),
        ("\\n", "\\\\n"),  # a literal backslash-n is not a newline
    ],
)
def test_extension_escaping_follows_the_spec(text: str, escaped: str) -> None:
    assert escape_extension(text) == escaped


@pytest.mark.parametrize(
    ("line", "header", "extension"),
    [
        (
            (
                "CEF:0|security|threatmanager|1.0|100|detected a \\| in message|10|src=10.0.0.1 "
                "act=blocked a | dst=1.1.1.1"
            ),
            ["CEF:0", "security", "threatmanager", "1.0", "100", "detected a | in message", "10"],
            {"src": "10.0.0.1", "act": "blocked a |", "dst": "1.1.1.1"},
        ),
        (
            (
                "CEF:0|security|threatmanager|1.0|100|detected a \\\\ in packet|10|src=10.0.0.1 "
                "act=blocked a \\\\ dst=1.1.1.1"
            ),
            ["CEF:0", "security", "threatmanager", "1.0", "100", "detected a \\ in packet", "10"],
            {"src": "10.0.0.1", "act": "blocked a \\", "dst": "1.1.1.1"},
        ),
        (
            (
                "CEF:0|security|threatmanager|1.0|100|detected a = in message|10|src=10.0.0.1 "
                "act=blocked a \\= dst=1.1.1.1"
            ),
            ["CEF:0", "security", "threatmanager", "1.0", "100", "detected a = in message", "10"],
            {"src": "10.0.0.1", "act": "blocked a =", "dst": "1.1.1.1"},
        ),
        (
            "CEF:0|ArcSight|Logger|6.0|200|two lines|3|msg=first\\nsecond\\r\\nthird",
            ["CEF:0", "ArcSight", "Logger", "6.0", "200", "two lines", "3"],
            {"msg": "first\nsecond\r\nthird"},
        ),
    ],
)
def test_the_spec_reader_reads_the_spec_examples(
    line: str, header: list[str], extension: dict[str, str]
) -> None:
    assert cef_spec.parse(line) == (header, extension)


@PROPERTY
@given(TEXT)
def test_any_extension_text_reads_back_with_only_controls_replaced(text: str) -> None:
    escaped = escape_extension(text)
    assert not cef_spec.CONTROL.search(escaped)
    assert cef_spec.unescape_value(escaped) == cef_spec.sanitized(text)


@PROPERTY
@given(TEXT)
def test_any_header_text_reads_back_as_one_field(text: str) -> None:
    escaped = escape_header(text)
    line = f"CEF:0|v|p|1|sig|{escaped}|5|k=v"
    header, extension = cef_spec.parse(line)
    assert header[5] == cef_spec.CONTROL.sub(" ", text)
    assert extension == {"k": "v"}


@PROPERTY
@given(TEXT.filter(lambda text: text.strip() and not set(text) & set("\\=|")))
def test_pycef_reads_header_text_without_backslash_equals_or_pipe(text: str) -> None:
    parsed = pycef.parse(f"CEF:0|v|p|1|sig|{escape_header(text)}|5|k=v")
    assert parsed is not None
    assert parsed["Name"] == cef_spec.CONTROL.sub(" ", text)


def _raw_event(strings: dict[str, str]) -> dict[str, Any]:
    return {
        "type": strings["type"],
        "action": strings["action"],
        "timestamp": 1_767_225_600,
        "organization_uuid": strings["organization"],
        "user": {"uuid": strings["member_uuid"], "email": strings["member_email"]},
        "initiator": strings["initiator"],
        "metadata": {
            "platform": strings["platform"],
            "provider": strings["provider"],
            "items": [{"name": strings["item"]}],
            "msp": {"user_uuid": strings["actor_uuid"], "user_email": strings["actor_email"]},
            "note": strings["note"],
        },
    }


_FIELD_NAMES = (
    "type", "action", "organization", "member_uuid", "member_email", "initiator", "platform",
    "provider", "item", "actor_uuid", "actor_email", "note", "tenant",
)  # fmt: skip
FIELDS = st.fixed_dictionaries(dict.fromkeys(_FIELD_NAMES, TEXT))
EXPECTED_KEYS = {
    "suser": "actor_email",
    "suid": "actor_uuid",
    "duser": "member_email",
    "duid": "member_uuid",
    "requestClientApplication": "platform",
    "cs1": "tenant",
    "cs2": "initiator",
    "cs5": "provider",
    "deviceExternalId": "organization",
}


@settings(PROPERTY, max_examples=150)
@given(FIELDS)
def test_any_event_text_gives_a_line_that_pycef_and_the_spec_reader_read_back(
    strings: dict[str, str],
) -> None:
    event = canonicalize(_raw_event(strings), tenant=strings["tenant"], event_id="e-1")
    line = cef_line(event)
    encoded = line.encode("utf-8")
    assert b"\n" not in encoded
    assert b"\r" not in encoded
    header, extension = cef_spec.parse(line)
    assert len(header) == 7
    _assert_pycef_agrees(line)
    for key, source in EXPECTED_KEYS.items():
        original = strings[source]
        if original:
            assert extension[key] == cef_spec.sanitized(original)[: EXTENSION_LIMITS[key]], key
        else:
            assert key not in extension


def _long_event(initiator: str) -> dict[str, Any]:
    return {
        "type": "login",
        "action": "user_login_failed",
        "timestamp": 1_767_225_600,
        "user": {"uuid": "u" * 2000, "email": "e" * 2000},
        "initiator": initiator,
        "metadata": {"items": [{"name": "n" * 9000}]},
    }


def test_very_long_values_are_cut_to_the_spec_limits() -> None:
    line = cef_line(canonicalize(_long_event("i" * 9000), tenant="t", event_id="x" * 60))
    _, extension = cef_spec.parse(line)
    for key, value in extension.items():
        assert len(value) <= EXTENSION_LIMITS[key], key
    assert extension["suser"] == "e" * 1023
    assert extension["cs2"] == "i" * 4000
    assert extension["externalId"] == "x" * 40
    _assert_pycef_agrees(line)


def test_a_cut_never_splits_an_escape() -> None:
    line = cef_line(canonicalize(_long_event("=\\" * 3000), tenant="t", event_id="e"))
    _, extension = cef_spec.parse(line)
    assert extension["cs2"] == ("=\\" * 2000)
    _assert_pycef_agrees(line)


def test_an_ipv6_source_goes_to_c6a1_with_its_label() -> None:
    raw = {"type": "login", "action": "user_login_successful", "timestamp": 1}
    raw["metadata"] = {"ip_address": "2001:db8::7"}
    _, extension = cef_spec.parse(cef_line(canonicalize(raw, tenant="t", event_id="e")))
    assert extension["c6a1"] == "2001:db8::7"
    assert extension["c6a1Label"] == "Source IPv6 Address"
    assert "src" not in extension


def test_a_malformed_address_is_not_claimed_as_a_source() -> None:
    raw = {"type": "login", "action": "user_login_successful", "metadata": {"ip_address": "1.2.3"}}
    _, extension = cef_spec.parse(cef_line(canonicalize(raw, tenant="t", event_id="e")))
    assert "src" not in extension
    assert "c6a1" not in extension


def test_a_lone_surrogate_becomes_a_question_mark_in_the_bytes() -> None:
    raw = {"type": "login", "action": "user_login_successful", "initiator": "x\ud800y"}
    body = Formatter("cef").to_bytes(raw, tenant="t", event_id="e")
    assert b"cs2=x?y" in body
