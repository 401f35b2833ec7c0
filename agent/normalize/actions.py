"""Catalog entries and how an event finds its entry.

An `ActionSpec` holds everything renderers need to know about one action, computed once; a
`Catalog` finds the entry for an event by (type, action), then by action alone (an action moved to
a new type keeps its meaning); anything else gets a generic "other" entry, so it is still
forwarded. The entries themselves are the data table in `catalog`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Final, Literal

from agent.normalize.kinds import KINDS, ActivityKind

__all__ = ["ActionSpec", "Catalog", "Classifier", "Outcome", "humanize", "unknown_action"]

Outcome = Literal["success", "failure", "n/a"]


@dataclass(frozen=True, slots=True, eq=False)
class ActionSpec:
    """Everything the renderers need to know about one action, computed once.

    Compared and hashed by identity (`eq=False`): renderers key their per-action precomputed
    tables on the spec object, and identity hashing keeps that lookup cheap.
    """

    event_type: str
    action: str
    variant: str | None
    name: str
    area: str
    kind: ActivityKind
    object_name: str
    asim_object_type: str
    severity: int
    outcome: Outcome
    result_detail: str | None
    signature_id: str
    known: bool
    variant_key: str | None = None
    variants: Mapping[str, ActionSpec] = field(default_factory=lambda: MappingProxyType({}))


Classifier = Callable[[str, str, Mapping[str, Any]], ActionSpec]
UnknownHandler = Callable[[str, str], ActionSpec]

_ACRONYMS = {"2fa": "2FA", "mfa": "MFA", "scim": "SCIM", "oauth": "OAuth", "ttl": "TTL"}
# Header-safe identifier characters: CEF parsers split the header on `|` and several stop at
# `\` or `=`, so text from the API that reaches a header is reduced to these.
_NOT_IDENTIFIER = re.compile(r"[^0-9A-Za-z_.:-]+")
_IDENTIFIER_LIMIT = 200


def humanize(action: str) -> str:
    """`user_login_failed` -> `User login failed`; the default name of an action."""
    words = [_ACRONYMS.get(word, word) for word in action.split("_") if word]
    text = " ".join(words) or "Unknown"
    return text[0].upper() + text[1:]


def _identifier(text: str) -> str:
    return _NOT_IDENTIFIER.sub("_", text)[:_IDENTIFIER_LIMIT] or "unknown"


def unknown_action(event_type: str, action: str) -> ActionSpec:
    """The generic entry for an action the catalog does not know: forwarded, never dropped."""
    # An unknown action that names a failure is most likely one; everything else is unknown.
    failed = action.endswith(("_failed", "_failure"))
    return ActionSpec(
        event_type=event_type,
        action=action,
        variant=None,
        name=humanize(_identifier(action)),
        area="Unknown",
        kind=KINDS["other"],
        object_name="Unknown",
        asim_object_type="Other",
        severity=5,
        outcome="failure" if failed else "n/a",
        result_detail=None,
        signature_id=f"{_identifier(event_type)}:{_identifier(action)}",
        known=False,
    )


class Catalog:
    """Finds the entry for an event: by (type, action), then by action alone, else "other"."""

    def __init__(self, specs: tuple[ActionSpec, ...]) -> None:
        self._specs = specs
        self._by_key = {(spec.event_type, spec.action): spec for spec in specs}
        self._by_action: dict[str, ActionSpec] = {}
        for spec in specs:
            # The first area listed wins for an action known under two types.
            self._by_action.setdefault(spec.action, spec)
        self.resolve: Final = self.classifier()

    def classifier(
        self, on_unknown: Callable[[str, str], ActionSpec] = unknown_action
    ) -> Classifier:
        """A function giving an event's entry; `on_unknown(type, action)` gives it for actions
        the catalog lacks. A closure over the tables, so the per-event lookup is one call."""
        by_key, by_action = self._by_key, self._by_action

        def classify(event_type: str, action: str, metadata: Mapping[str, Any]) -> ActionSpec:
            spec = by_key.get((event_type, action)) or by_action.get(action)
            if spec is None:
                return on_unknown(event_type, action)
            if spec.variant_key is None:
                return spec
            chosen = metadata.get(spec.variant_key)
            return spec.variants.get(chosen, spec) if type(chosen) is str else spec

        return classify

    def __iter__(self) -> Iterator[ActionSpec]:
        """Every entry, variants right after their base action, in table order."""
        for spec in self._specs:
            yield spec
            yield from spec.variants.values()

    def __len__(self) -> int:
        return sum(1 + len(spec.variants) for spec in self._specs)
