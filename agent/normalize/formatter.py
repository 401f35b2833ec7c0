"""Output formats by name, and the per-destination formatter that turns raw events into bytes.

A destination builds one `Formatter` from its format and privacy profile at start-up and calls
`to_bytes` per event. The renderer, the privacy rewrite and the serializer are chosen once here,
and each renderer keeps its per-action work precomputed, so the hot path does only per-event work.
Unknown actions are forwarded and counted on the formatter's `unknown_actions`.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping
from operator import methodcaller
from types import MappingProxyType
from typing import Any, Final, Literal, NamedTuple, get_args

from agent.normalize.actions import ActionSpec, Catalog, unknown_action
from agent.normalize.canonical import CanonicalEvent, canonical_event
from agent.normalize.catalog import CATALOG
from agent.normalize.fields import FieldDoc
from agent.normalize.privacy import PrivacyProfile, compile_privacy
from agent.normalize.render_asim import ASIM_FIELDS, asim_row, asim_table
from agent.normalize.render_cef import CEF_FIELDS, cef_line
from agent.normalize.render_ecs import ECS_FIELDS, ecs_document
from agent.normalize.render_native import NATIVE_FIELDS, native_record
from agent.normalize.render_ocsf import OCSF_FIELDS, ocsf_event
from agent.normalize.serialization import JsonCodec, default_codec

__all__ = [
    "OUTPUT_FORMATS",
    "RENDERERS",
    "Formatter",
    "OutputFormat",
    "Renderer",
    "UnknownActionCounter",
    "render",
]

OutputFormat = Literal["native", "cef", "asim", "ocsf", "ecs"]
OUTPUT_FORMATS: Final[tuple[OutputFormat, ...]] = get_args(OutputFormat)


class Renderer(NamedTuple):
    """One output format: a pure function from the canonical event to a record (a JSON object,
    or a text line when `text` is set), and where each record goes when a format spans tables."""

    name: OutputFormat
    summary: str
    render: Callable[[CanonicalEvent], Any]
    fields: tuple[FieldDoc, ...]
    text: bool = False
    route: Callable[[CanonicalEvent], str] | None = None


RENDERERS: Final[Mapping[str, Renderer]] = MappingProxyType(
    {
        "native": Renderer(
            "native", "NordPass event + NordPassEventLogs_CL columns", native_record, NATIVE_FIELDS
        ),
        "cef": Renderer("cef", "ArcSight CEF line", cef_line, CEF_FIELDS, text=True),
        "asim": Renderer(
            "asim",
            "Sentinel ASIM row",
            asim_row,
            ASIM_FIELDS,
            route=lambda event: asim_table(event.spec),
        ),
        "ocsf": Renderer("ocsf", "OCSF 1.5 event", ocsf_event, OCSF_FIELDS),
        "ecs": Renderer("ecs", "Elastic Common Schema document", ecs_document, ECS_FIELDS),
    }
)


class UnknownActionCounter:
    """Counts events whose action the catalog does not know, per (type, action), so the catalog
    can grow. Distinct pairs are capped (the API controls them); the rest count as ("*", "*")."""

    def __init__(self, max_distinct: int = 1000) -> None:
        self._max_distinct = max_distinct
        self._counts: Counter[tuple[str, str]] = Counter()
        self.total = 0

    def record(self, event_type: str, action: str) -> None:
        key = (event_type, action)
        if key not in self._counts and len(self._counts) >= self._max_distinct:
            key = ("*", "*")
        self._counts[key] += 1
        self.total += 1

    def counts(self) -> dict[tuple[str, str], int]:
        return dict(self._counts)


class Formatter:
    """Raw API events -> one destination's serialized records, in one format under one privacy
    profile. Build one per destination (and per tenant whose privacy differs)."""

    def __init__(
        self,
        output_format: str,
        privacy: PrivacyProfile | None = None,
        *,
        unknown_actions: UnknownActionCounter | None = None,
        codec: JsonCodec | None = None,
        catalog: Catalog = CATALOG,
    ) -> None:
        renderer = RENDERERS.get(output_format)
        if renderer is None:
            raise ValueError(f"unknown output format {output_format!r}; one of {OUTPUT_FORMATS}")
        self.renderer = renderer
        self.privacy = privacy or PrivacyProfile()
        self.unknown_actions = unknown_actions or UnknownActionCounter()
        self._rewrite = compile_privacy(self.privacy)
        self._render = renderer.render
        self._serialize: Callable[[Any], bytes] = (
            _encode_text if renderer.text else (codec or default_codec()).dumps
        )
        self._unknown_specs: dict[tuple[str, str], ActionSpec] = {}
        self._classify = catalog.classifier(self._unknown)

    def _unknown(self, event_type: str, action: str) -> ActionSpec:
        """The "other" entry for an action the catalog lacks; counted, and reused per pair."""
        self.unknown_actions.record(event_type, action)
        spec = self._unknown_specs.get((event_type, action))
        if spec is None:
            spec = unknown_action(event_type, action)
            if len(self._unknown_specs) < _UNKNOWN_SPEC_CACHE:
                self._unknown_specs[(event_type, action)] = spec
        return spec

    def canonical(
        self,
        raw: Mapping[str, Any],
        *,
        tenant: str,
        event_id: str,
        received_at: float | None = None,
    ) -> CanonicalEvent:
        """The canonical event after this formatter's privacy profile."""
        if self._rewrite is not None:
            raw = self._rewrite(raw, tenant)
        return canonical_event(raw, tenant, event_id, received_at, self._classify)

    def to_record(
        self,
        raw: Mapping[str, Any],
        *,
        tenant: str,
        event_id: str,
        received_at: float | None = None,
    ) -> Any:
        """The record before serialization: a dict, or a str for text formats."""
        event = self.canonical(raw, tenant=tenant, event_id=event_id, received_at=received_at)
        return self._render(event)

    def to_bytes(
        self,
        raw: Mapping[str, Any],
        *,
        tenant: str,
        event_id: str,
        received_at: float | None = None,
    ) -> bytes:
        """The serialized record: compact UTF-8 JSON, or one CEF line without a newline."""
        if self._rewrite is not None:
            raw = self._rewrite(raw, tenant)
        event = canonical_event(raw, tenant, event_id, received_at, self._classify)
        return self._serialize(self._render(event))

    def to_routed_bytes(
        self,
        raw: Mapping[str, Any],
        *,
        tenant: str,
        event_id: str,
        received_at: float | None = None,
    ) -> tuple[str, bytes]:
        """(route, bytes): for ASIM the route is the Sentinel table; otherwise the format name."""
        event = self.canonical(raw, tenant=tenant, event_id=event_id, received_at=received_at)
        route = self.renderer.route(event) if self.renderer.route else self.renderer.name
        return route, self._serialize(self._render(event))


# A feed of ever-new action names must not grow memory without bound.
_UNKNOWN_SPEC_CACHE = 256


# UTF-8 with "?" for a lone surrogate (possible after JSON decoding: it has no UTF-8 form). A C
# callable, because a Python function around it would cost more than the encoding.
_encode_text: Callable[[str], bytes] = methodcaller("encode", "utf-8", "replace")


def render(
    raw: Mapping[str, Any],
    *,
    tenant: str,
    event_id: str,
    output_format: str,
    privacy: PrivacyProfile | None = None,
) -> bytes:
    """One event, one call: builds a formatter each time, so keep it out of hot paths."""
    formatter = Formatter(output_format, privacy)
    return formatter.to_bytes(raw, tenant=tenant, event_id=event_id)
