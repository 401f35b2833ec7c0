"""The Splunk add-on: every .conf parses, the action lookup matches the catalog, every catalog
action's CIM data model gets each CIM field from somewhere for both sourcetypes, the CEF
extractions read the agent's own CEF lines, and the package is what Splunk installs."""

from __future__ import annotations

import configparser
import csv
import functools
import io
import re
import tarfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from agent import __version__
from agent.normalize import CATALOG, ActionSpec, escape_extension, render
from connectors.splunk_hec.addon import ADDON_NAME, LOOKUP_COLUMNS, lookup_csv, package
from tests.normalize.samples import sample_event

ADDON = Path(__file__).parents[3] / "config" / "splunk" / ADDON_NAME
NATIVE, CEF = "nordpass:activity", "nordpass:activity:cef"
# CIM fields per data model, as listed in the reference (siem-targets.md, "Splunk CIM").
CIM_FIELDS = {
    "Authentication": (
        "action", "app", "dest", "src", "src_user", "user", "signature", "signature_id",
        "authentication_method", "reason", "user_agent", "vendor_account",
    ),
    "Change": (
        "action", "change_type", "command", "dest", "object", "object_attrs", "object_category",
        "object_id", "result", "src", "status", "user", "vendor_product",
    ),
}  # fmt: skip
# The data models' tags: Account Management is Change plus `account`.
CIM_TAGS = {
    "Authentication": {"authentication"},
    "Change": {"change"},
    "Change.Account_Management": {"change", "account"},
}
MAPPED = tuple(CIM_TAGS)


@functools.cache
def conf(name: str) -> configparser.RawConfigParser:
    parser = configparser.RawConfigParser(strict=False)
    parser.optionxform = str  # type: ignore[assignment,method-assign]  # Splunk keys keep case
    parser.read(ADDON / "default" / name, encoding="utf-8")
    return parser


def mapped_specs() -> list[ActionSpec]:
    return [spec for spec in CATALOG if spec.kind.cim_datamodel in MAPPED]


@functools.cache
def lookup() -> tuple[dict[str, str], ...]:
    text = (ADDON / "lookups" / "nordpass_actions.csv").read_text(encoding="utf-8")
    return tuple(csv.DictReader(io.StringIO(text)))


def first_match(signature_id: str) -> dict[str, str]:
    """The lookup row Splunk picks: WILDCARD(signature_id), first match wins."""
    for row in lookup():
        pattern = "^" + ".*".join(map(re.escape, row["signature_id"].split("*"))) + "$"
        if re.match(pattern, signature_id):
            return row
    raise AssertionError(f"no lookup row matches {signature_id}")


@functools.cache
def field_sources(sourcetype: str) -> frozenset[str]:
    """Fields a sourcetype's props create: aliases, calculated fields, lookup outputs and named
    groups of its REPORT transforms."""
    props, transforms = conf("props.conf"), conf("transforms.conf")
    sources: set[str] = set()
    for key, value in props.items(sourcetype):
        if key.startswith("FIELDALIAS-"):
            sources |= set(re.findall(r"\bAS\s+(\S+)", value))
        elif key.startswith("EVAL-"):
            sources.add(key.removeprefix("EVAL-"))
        elif key.startswith("LOOKUP-"):
            sources |= set(value.partition(" OUTPUT ")[2].split())
        elif key.startswith("REPORT-"):
            for stanza in (name.strip() for name in value.split(",")):
                regex = transforms.get(stanza, "REGEX")
                sources |= set(re.findall(r"\(\?<([A-Za-z_]\w*)>", regex))
                if transforms.get(stanza, "FORMAT", fallback="") == "$1::$2":
                    sources |= _cef_extension_keys()  # key=value pairs name their own fields
    return frozenset(sources)


@functools.cache
def _cef_extension_keys() -> frozenset[str]:
    keys: set[str] = set()
    for index, spec in enumerate(CATALOG):
        line = render(sample_event(spec, index), tenant="acme", event_id="e", output_format="cef")
        keys |= set(cef_fields(line.decode())) - {"cef_extension"}
    return frozenset(keys)


def python_regex(splunk_regex: str) -> re.Pattern[str]:
    return re.compile(re.sub(r"\(\?<(?=[A-Za-z_])", "(?P<", splunk_regex))


def cef_fields(line: str) -> dict[str, str]:
    transforms = conf("transforms.conf")
    header = python_regex(transforms.get("nordpass_cef_header", "REGEX")).match(line)
    assert header is not None, line
    fields = header.groupdict()
    extension = python_regex(transforms.get("nordpass_cef_extension", "REGEX"))
    fields |= dict(extension.findall(fields["cef_extension"]))
    return fields


@pytest.mark.parametrize("name", sorted(path.name for path in (ADDON / "default").glob("*.conf")))
def test_every_conf_file_parses(name: str) -> None:
    parser = configparser.RawConfigParser(strict=False)
    assert parser.read(ADDON / "default" / name, encoding="utf-8")
    assert parser.sections()


def test_the_metadata_exports_the_knowledge_objects_to_every_app() -> None:
    parser = configparser.RawConfigParser(strict=False)
    parser.SECTCRE = re.compile(r"\[(?P<header>[^]]*)\]")  # Splunk .meta files use `[]`
    parser.read(ADDON / "metadata" / "default.meta", encoding="utf-8")
    assert parser.get("", "export") == "system"


def test_the_app_identifies_itself_with_the_agents_version() -> None:
    app = conf("app.conf")
    assert app.get("package", "id") == app.get("id", "name") == ADDON_NAME
    assert app.get("launcher", "version") == app.get("id", "version") == __version__
    assert app.get("ui", "is_visible") == "false"


def test_both_sourcetypes_break_one_event_per_line() -> None:
    props = conf("props.conf")
    for sourcetype in (NATIVE, CEF):
        assert props.get(sourcetype, "SHOULD_LINEMERGE") == "false"
    assert props.get(NATIVE, "KV_MODE") == "json"


def test_the_lookup_is_the_one_generated_from_the_catalog() -> None:
    checked_in = (ADDON / "lookups" / "nordpass_actions.csv").read_text(encoding="utf-8")
    assert checked_in == lookup_csv(), "run: python -m connectors.splunk_hec.addon " + str(ADDON)
    assert tuple(lookup()[0]) == LOOKUP_COLUMNS
    assert conf("transforms.conf").get("nordpass_actions", "match_type") == (
        "WILDCARD(signature_id)"
    )


@pytest.mark.parametrize("spec", list(CATALOG), ids=lambda spec: spec.signature_id)
def test_every_catalog_action_finds_its_own_lookup_row(spec: ActionSpec) -> None:
    row = first_match(spec.signature_id)
    assert row["signature"] == spec.name
    assert row["nordpass_datamodel"] == (spec.kind.cim_datamodel or "")
    expected = spec.kind.cim_action or ""
    if spec.kind.cim_datamodel == "Authentication":
        expected = "failure" if spec.outcome == "failure" else "success"
    assert row["action"] == expected


def test_a_status_the_catalog_does_not_list_falls_back_to_the_base_action() -> None:
    assert first_match("access:user_status_updated:active")["signature"] == "Member status updated"


def test_the_native_signature_id_carries_every_catalog_variant() -> None:
    evaluation = conf("props.conf").get(NATIVE, "EVAL-signature_id")
    for spec in CATALOG:
        if spec.variant_key is not None:
            assert f'action == "{spec.action}"' in evaluation
            assert f"'metadata.{spec.variant_key}'" in evaluation


@pytest.mark.parametrize("sourcetype", [NATIVE, CEF])
@pytest.mark.parametrize("spec", mapped_specs(), ids=lambda spec: spec.signature_id)
def test_every_cim_field_of_an_actions_data_model_has_a_source(
    spec: ActionSpec, sourcetype: str
) -> None:
    assert spec.kind.cim_datamodel is not None
    model = spec.kind.cim_datamodel.partition(".")[0]
    missing = set(CIM_FIELDS[model]) - field_sources(sourcetype)
    assert not missing, f"{sourcetype}: no source for {sorted(missing)}"


@pytest.mark.parametrize("datamodel", MAPPED)
def test_each_data_model_has_an_event_type_with_its_tags(datamodel: str) -> None:
    eventtypes, tags = conf("eventtypes.conf"), conf("tags.conf")
    matching = [
        name
        for name in eventtypes.sections()
        if re.fullmatch(
            re.search(r'nordpass_datamodel="([^"]+)"', eventtypes.get(name, "search"))[1]  # type: ignore[index]
            .replace(".", r"\.")
            .replace("*", ".*"),
            datamodel,
        )
    ]
    assigned = {
        tag
        for name in matching
        for tag, state in tags.items(f"eventtype={name}")
        if state == "enabled"
    }
    assert assigned == CIM_TAGS[datamodel]


@pytest.mark.parametrize("spec", list(CATALOG), ids=lambda spec: spec.signature_id)
def test_the_cef_extraction_reads_the_agents_own_cef_lines(spec: ActionSpec) -> None:
    raw = sample_event(spec, 3)
    line = render(raw, tenant="acme", event_id="e-7", output_format="cef").decode()
    fields = cef_fields(line)
    assert fields["signature_id"] == spec.signature_id
    assert (fields["cs4"], fields["externalId"], fields["cs1"]) == ("e-7", "e-7", "acme")
    assert fields["act"] == spec.action
    assert first_match(fields["signature_id"]) is not None


# Control characters are replaced by the renderer, so they do not round-trip by design.
_values = st.text(
    st.characters(blacklist_categories=("Cs", "Cc", "Zl", "Zp")), min_size=1, max_size=30
).filter(lambda value: value == value.strip())


@given(values=st.lists(_values, min_size=1, max_size=5))
def test_escaped_extension_values_come_back_whole(values: list[str]) -> None:
    extension = " ".join(f"k{i}={escape_extension(value)}" for i, value in enumerate(values))
    line = f"CEF:0|NordPass|NordPass Business|1|t:a|Name|3|{extension}"
    fields = cef_fields(line)
    unescape = {"\\\\": "\\", "\\=": "=", "\\n": "\n", "\\r": "\r"}
    for index, value in enumerate(values):
        read = re.sub(r"\\[\\=nr]", lambda match: unescape[match.group()], fields[f"k{index}"])
        assert read == value


def test_dedup_by_event_id_works_for_both_sourcetypes() -> None:
    assert conf("macros.conf").get("dedup_nordpass", "definition") == "dedup event_id"
    assert "cs4 AS event_id" in conf("props.conf").get(CEF, "FIELDALIAS-nordpass_cef")


def test_the_package_holds_the_add_on_under_its_own_directory(tmp_path: Path) -> None:
    built = package(ADDON, tmp_path)
    assert built.name == f"{ADDON_NAME}-{__version__}.tgz"
    with tarfile.open(built) as archive:
        members: dict[str, Any] = {member.name: member for member in archive.getmembers()}
    assert f"{ADDON_NAME}/default/app.conf" in members
    assert f"{ADDON_NAME}/lookups/nordpass_actions.csv" in members
    assert all(name.split("/")[0] == ADDON_NAME for name in members)
    modes = {member.mode for member in members.values()}
    assert modes <= {0o644, 0o755}
