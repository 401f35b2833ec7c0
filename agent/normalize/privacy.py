"""Privacy profiles: what one destination may see of each event, applied before any renderer.

- `full`: everything NordPass sent.
- `admin`: what a NordPass Admin (not an Owner) sees: item names and item types are removed.
- `pseudonymize`: every email address (anywhere in the event) and every item name is replaced by
  a keyed HMAC, stable per tenant, so analysts can still follow one person or item across events.
- `drop_fields`: dotted paths into the raw event removed outright, e.g. `metadata.ip_address`.

The profile rewrites the raw event (copying only what changes: the caller's dict is shared by all
destinations) before canonicalization, so every format, the native one included, obeys it.
MSPs forward many organisations into one SIEM and often must not put one client's personal data in
a shared index; that is what these exist for.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final, Literal, cast, get_args

__all__ = [
    "ITEM_NAME_KEYS",
    "ITEM_TYPE_KEYS",
    "PrivacyConfigError",
    "PrivacyMode",
    "PrivacyProfile",
    "RawTransform",
    "compile_privacy",
]

PrivacyMode = Literal["full", "admin", "pseudonymize"]
RawTransform = Callable[[Mapping[str, Any], str], Mapping[str, Any]]

# Keys under `metadata`, at any depth, that carry an item's (or shared folder's) name or type.
# NordPass publishes no metadata schema, so every plausible spelling is covered.
ITEM_NAME_KEYS: Final = frozenset(
    {"name", "item_name", "item_title", "title", "folder_name", "shared_folder_name"}
)
ITEM_TYPE_KEYS: Final = frozenset({"type", "item_type", "folder_type"})
# Renderers need these to classify and date an event; dropping them would garble every format.
_UNDROPPABLE = frozenset({"type", "action", "timestamp"})
_FIELD_PATH = re.compile(r"[A-Za-z0-9_]+(?:\.[A-Za-z0-9_]+)*")
_MIN_KEY_BYTES = 16
# Over-inclusive on purpose: anything shaped like local@domain in any string is treated as an
# address, because leaking one is worse than hiding a look-alike.
_EMAIL = re.compile(r"[^\s@\"'<>()\[\],;]+@[^\s@\"'<>()\[\],;]+")
_UUID = re.compile(r"[0-9a-fA-F]{8}-(?:[0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}")
_KEY_CONTEXT = b"nordpass-siem-agent/pseudonymize/v1\x00"
_PSEUDONYM_HEX_DIGITS = 24  # 96 bits: collisions stay negligible within one tenant
_MEMO_LIMIT = 100_000


class PrivacyConfigError(ValueError):
    """An invalid profile; `problems` lists each issue as `field: message`."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


def _problems(mode: str, drop_fields: tuple[str, ...], key: bytes | None) -> list[str]:
    problems = []
    if mode not in get_args(PrivacyMode):
        problems.append(f"mode: must be one of {', '.join(get_args(PrivacyMode))}, not {mode!r}")
    if mode == "pseudonymize" and (key is None or len(key) < _MIN_KEY_BYTES):
        problems.append(f"pseudonymize_key: at least {_MIN_KEY_BYTES} bytes are required")
    if mode != "pseudonymize" and key is not None:
        problems.append("pseudonymize_key: only used when mode is pseudonymize")
    for index, path in enumerate(drop_fields):
        if not isinstance(path, str) or not _FIELD_PATH.fullmatch(path):
            problems.append(f"drop_fields[{index}]: {path!r} is not a dotted field path")
        elif path in _UNDROPPABLE:
            problems.append(f"drop_fields[{index}]: {path!r} is needed to classify the event")
    return problems


@dataclass(frozen=True, slots=True)
class PrivacyProfile:
    """One destination's (or tenant's) privacy settings. Invalid settings raise
    `PrivacyConfigError` listing every problem, which a pydantic validator can pass on."""

    mode: PrivacyMode = "full"
    drop_fields: tuple[str, ...] = ()
    pseudonymize_key: bytes | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        problems = _problems(self.mode, self.drop_fields, self.pseudonymize_key)
        if problems:
            raise PrivacyConfigError(problems)

    @classmethod
    def from_config(
        cls,
        mode: str = "full",
        *,
        drop_fields: Iterable[str] = (),
        pseudonymize_key: str | bytes | None = None,
    ) -> PrivacyProfile:
        """From configuration values: a text key is taken as its UTF-8 bytes."""
        key = pseudonymize_key.encode() if isinstance(pseudonymize_key, str) else pseudonymize_key
        return cls(cast(PrivacyMode, mode), tuple(drop_fields), key)

    @property
    def changes_events(self) -> bool:
        return self.mode != "full" or bool(self.drop_fields)


def compile_privacy(profile: PrivacyProfile) -> RawTransform | None:
    """The rewrite `profile` makes to a raw event, or None when it keeps events unchanged."""
    steps: list[RawTransform] = []
    if profile.drop_fields:
        steps.append(_FieldDropper(profile.drop_fields))
    if profile.mode == "admin":
        steps.append(_strip_item_details)
    elif profile.mode == "pseudonymize" and profile.pseudonymize_key is not None:
        steps.append(_Pseudonymizer(profile.pseudonymize_key))
    if not steps:
        return None
    if len(steps) == 1:
        return steps[0]
    first, second = steps
    return lambda raw, tenant: second(first(raw, tenant), tenant)


class _FieldDropper:
    """Removes dotted paths; a path crossing a list applies to each of its objects."""

    def __init__(self, paths: tuple[str, ...]) -> None:
        # Nested dicts of path segments; None marks "remove this key and all below it".
        self._tree: dict[str, Any] = {}
        for path in paths:
            *parents, leaf = path.split(".")
            node = self._tree
            for part in parents:
                child = node.setdefault(part, {})
                if child is None:  # an ancestor is removed whole already
                    break
                node = child
            else:
                node[leaf] = None

    def __call__(self, raw: Mapping[str, Any], tenant: str) -> Mapping[str, Any]:
        return cast(Mapping[str, Any], self._drop(raw, self._tree))

    def _drop(self, value: Any, tree: Mapping[str, Any]) -> Any:
        if type(value) is list:
            dropped = [self._drop(element, tree) for element in value]
            unchanged = all(new is old for new, old in zip(dropped, value, strict=True))
            return value if unchanged else dropped
        if not isinstance(value, Mapping):
            return value
        copy: dict[str, Any] | None = None
        for key, subtree in tree.items():
            if key not in value:
                continue
            inner = None if subtree is None else self._drop(value[key], subtree)
            if subtree is not None and inner is value[key]:
                continue
            if copy is None:
                copy = dict(value)
            if subtree is None:
                del copy[key]
            else:
                copy[key] = inner
        return value if copy is None else copy


def _is_item_name_string(value: object) -> bool:
    # A bare string in `items` is a name unless it is plainly an id.
    return type(value) is str and not _UUID.fullmatch(value)


_ITEM_DETAIL_KEYS: Final = ITEM_NAME_KEYS | ITEM_TYPE_KEYS


def _strip_object(value: dict[str, Any]) -> dict[str, Any]:
    changes: dict[str, Any] | None = None  # stripped nested containers, by key
    for key, inner in value.items():
        kind = type(inner)
        if kind is dict:
            stripped: Any = _strip_object(inner)
        elif kind is list:
            stripped = _strip_list(inner, in_items=key == "items")
        else:
            continue
        if stripped is not inner:
            changes = changes or {}
            changes[key] = stripped
    if _ITEM_DETAIL_KEYS.isdisjoint(value):
        return value if changes is None else {**value, **changes}
    # A detail key goes whatever its value holds, a nested object included.
    return {
        key: inner if changes is None else changes.get(key, inner)
        for key, inner in value.items()
        if key not in _ITEM_DETAIL_KEYS
    }


def _strip_list(value: list[Any], in_items: bool) -> list[Any]:
    kept = []
    changed = False
    for element in value:
        if type(element) is dict:
            stripped = _strip_object(element)
            changed = changed or stripped is not element
            kept.append(stripped)
        elif in_items and _is_item_name_string(element):
            changed = True
        else:
            kept.append(element)
    return kept if changed else value


def _strip_item_details(raw: Mapping[str, Any], tenant: str) -> Mapping[str, Any]:
    metadata = raw.get("metadata")
    if type(metadata) is not dict:
        return raw
    stripped = _strip_object(metadata)
    return raw if stripped is metadata else {**raw, "metadata": stripped}


class _TenantPseudonyms:
    """Pseudonyms under one tenant's key: HMAC-SHA256(tenant key, kind + value), memoised."""

    def __init__(self, root_key: bytes, tenant: str) -> None:
        message = _KEY_CONTEXT + tenant.encode("utf-8", "surrogatepass")
        self._key = hmac.new(root_key, message, hashlib.sha256).digest()
        self._memo: dict[tuple[str, str], str] = {}

    def _digest(self, kind: str, value: str) -> str:
        cached = self._memo.get((kind, value))
        if cached is not None:
            return cached
        if len(self._memo) >= _MEMO_LIMIT:
            self._memo.clear()
        message = f"{kind}\x00{value}".encode("utf-8", "surrogatepass")
        digest = hmac.new(self._key, message, hashlib.sha256).hexdigest()[:_PSEUDONYM_HEX_DIGITS]
        self._memo[(kind, value)] = digest
        return digest

    def email(self, match: re.Match[str]) -> str:
        # Case-folded so one mailbox spelled two ways still correlates.
        return f"{self._digest('email', match.group().lower())}@pseudonymized.invalid"

    def item_name(self, name: str) -> str:
        return f"item-{self._digest('item', name)}"

    def text(self, value: str) -> str:
        return _EMAIL.sub(self.email, value) if "@" in value else value

    def rewrite_object(self, value: dict[str, Any], in_metadata: bool) -> dict[str, Any]:
        """`value` with addresses (and, under `metadata`, item names) replaced; copied only when
        something changes."""
        changes: dict[str, Any] | None = None
        for key, inner in value.items():
            kind = type(inner)
            if kind is str:
                if in_metadata and key in ITEM_NAME_KEYS:
                    new_inner: Any = self.item_name(inner)
                elif "@" in inner:
                    new_inner = self.text(inner)
                else:
                    continue
            elif kind is dict:
                new_inner = self.rewrite_object(inner, in_metadata or key == "metadata")
            elif kind is list:
                new_inner = self._rewrite_list(inner, in_metadata, key == "items")
            else:
                continue
            if new_inner is not inner:
                changes = changes or {}
                changes[key] = new_inner
        if "@" in "".join(value):  # an address used as a key: rare, rebuild in order
            return {self.text(key): (changes or {}).get(key, inner) for key, inner in value.items()}
        return value if changes is None else {**value, **changes}

    def _rewrite_list(self, value: list[Any], in_metadata: bool, in_items: bool) -> list[Any]:
        rewritten = []
        for element in value:
            kind = type(element)
            replacement = element
            if kind is str:
                if in_items and _is_item_name_string(element):
                    replacement = self.item_name(element)
                elif "@" in element:
                    replacement = self.text(element)
            elif kind is dict:
                replacement = self.rewrite_object(element, in_metadata)
            elif kind is list:
                replacement = self._rewrite_list(element, in_metadata, False)
            rewritten.append(replacement)
        unchanged = all(new is old for new, old in zip(rewritten, value, strict=True))
        return value if unchanged else rewritten


class _Pseudonymizer:
    """Applies pseudonyms with a key derived per tenant (HMAC of the tenant id under the root
    key), so one tenant's pseudonyms say nothing about another's."""

    def __init__(self, root_key: bytes) -> None:
        self._root_key = root_key
        self._tenants: dict[str, _TenantPseudonyms] = {}

    def __call__(self, raw: Mapping[str, Any], tenant: str) -> Mapping[str, Any]:
        pseudonyms = self._tenants.get(tenant)
        if pseudonyms is None:
            pseudonyms = self._tenants[tenant] = _TenantPseudonyms(self._root_key, tenant)
        event = raw if type(raw) is dict else dict(raw)
        return pseudonyms.rewrite_object(event, in_metadata=False)
