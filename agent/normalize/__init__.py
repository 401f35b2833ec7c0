"""Normalization: raw NordPass events -> canonical events -> one record per output schema.

`canonicalize` extracts the facts every schema needs; the action catalog says what each action
means; one pure renderer per format (native, CEF, ASIM, OCSF, ECS) builds the record; a privacy
profile rewrites the raw event first, so every format obeys it. Destinations use a `Formatter`,
built once, in their hot path.
"""

from agent.normalize.actions import ActionSpec, Catalog, Classifier, Outcome, unknown_action
from agent.normalize.actions import humanize as humanize_action
from agent.normalize.canonical import CanonicalEvent, canonicalize
from agent.normalize.catalog import CATALOG
from agent.normalize.fields import FieldDoc
from agent.normalize.formatter import (
    OUTPUT_FORMATS,
    RENDERERS,
    Formatter,
    OutputFormat,
    Renderer,
    UnknownActionCounter,
    render,
)
from agent.normalize.kinds import KINDS, ActivityKind
from agent.normalize.privacy import PrivacyConfigError, PrivacyMode, PrivacyProfile
from agent.normalize.render_asim import asim_row, asim_table
from agent.normalize.render_cef import cef_line, escape_extension, escape_header
from agent.normalize.render_ecs import ecs_document
from agent.normalize.render_native import native_record
from agent.normalize.render_ocsf import ocsf_event
from agent.normalize.sentinel_columns import (
    ASIM_TABLES,
    COMMON_SECURITY_LOG,
    SENTINEL_TABLES,
    SentinelTable,
)
from agent.normalize.serialization import JsonCodec, default_codec

__all__ = [
    "ASIM_TABLES",
    "CATALOG",
    "COMMON_SECURITY_LOG",
    "KINDS",
    "OUTPUT_FORMATS",
    "RENDERERS",
    "SENTINEL_TABLES",
    "ActionSpec",
    "ActivityKind",
    "CanonicalEvent",
    "Catalog",
    "Classifier",
    "FieldDoc",
    "Formatter",
    "JsonCodec",
    "Outcome",
    "OutputFormat",
    "PrivacyConfigError",
    "PrivacyMode",
    "PrivacyProfile",
    "Renderer",
    "SentinelTable",
    "UnknownActionCounter",
    "asim_row",
    "asim_table",
    "canonicalize",
    "cef_line",
    "default_codec",
    "ecs_document",
    "escape_extension",
    "escape_header",
    "humanize_action",
    "native_record",
    "ocsf_event",
    "render",
    "unknown_action",
]
