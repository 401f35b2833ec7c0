"""A strict CEF reader written from the ArcSight spec, to check lines independently of the
renderer (and of pycef's own quirks).

Header: seven `|`-separated fields after `CEF:0`; `\\|` and `\\\\` are the only escapes.
Extension: `key=value` pairs separated by spaces, keys alphanumeric; in values `\\=`, `\\\\`,
`\\n` and `\\r` are the only escapes, and an unescaped `=` only ends a key.
"""

from __future__ import annotations

import re

HEADER_FIELDS = (
    "Version",
    "Vendor",
    "Product",
    "Device Version",
    "Signature ID",
    "Name",
    "Severity",
)
_VALUE_ESCAPES = {"\\": "\\", "=": "=", "n": "\n", "r": "\r"}
_KEY = re.compile(r"[A-Za-z0-9]+\Z")
# Characters CEF cannot carry raw: C0 and C1 controls and Unicode line separators.
CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


class CefSyntaxError(ValueError):
    pass


def split_line(line: str) -> tuple[list[str], str]:
    """(the 7 unescaped header fields, the raw extension); the header must have exactly 7
    unescaped pipes before the extension."""
    fields: list[str] = []
    current: list[str] = []
    index = 0
    while len(fields) < len(HEADER_FIELDS):
        if index >= len(line):
            raise CefSyntaxError(f"header ends after {len(fields)} fields")
        character = line[index]
        if character == "\\":
            escaped = line[index + 1 : index + 2]
            if escaped not in ("\\", "|"):
                raise CefSyntaxError(f"bad header escape \\{escaped!r} at {index}")
            current.append(escaped)
            index += 2
        elif character == "|":
            fields.append("".join(current))
            current = []
            index += 1
        else:
            current.append(character)
            index += 1
    return fields, line[index:]


def _unescaped_equals(extension: str) -> list[int]:
    positions = []
    index = 0
    while index < len(extension):
        if extension[index] == "\\":
            index += 2
            continue
        if extension[index] == "=":
            positions.append(index)
        index += 1
    return positions


def unescape_value(text: str) -> str:
    out = []
    index = 0
    while index < len(text):
        if text[index] == "\\":
            escaped = text[index + 1 : index + 2]
            if escaped not in _VALUE_ESCAPES:
                raise CefSyntaxError(f"bad extension escape \\{escaped!r}")
            out.append(_VALUE_ESCAPES[escaped])
            index += 2
        else:
            out.append(text[index])
            index += 1
    return "".join(out)


def parse_extension(extension: str) -> dict[str, str]:
    """Key -> unescaped value. Each unescaped `=` ends a key that starts after a space."""
    pairs: dict[str, str] = {}
    equals = _unescaped_equals(extension)
    starts = []
    for position in equals:
        key_start = extension.rfind(" ", 0, position) + 1
        key = extension[key_start:position]
        if not _KEY.match(key):
            raise CefSyntaxError(f"bad key {key!r}")
        starts.append((key_start, position, key))
    for number, (_, position, key) in enumerate(starts):
        end = starts[number + 1][0] - 1 if number + 1 < len(starts) else len(extension)
        if key in pairs:
            raise CefSyntaxError(f"duplicate key {key}")
        pairs[key] = unescape_value(extension[position + 1 : end])
    return pairs


def parse(line: str) -> tuple[list[str], dict[str, str]]:
    if not line.startswith("CEF:"):
        raise CefSyntaxError("not a CEF line")
    if CONTROL.search(line):
        raise CefSyntaxError("raw control character")
    header, extension = split_line(line)
    return header, parse_extension(extension)


def sanitized(text: str) -> str:
    """What an extension value must read back as: controls other than CR and LF become spaces."""
    return CONTROL.sub(lambda match: match.group() if match.group() in "\r\n" else " ", text)
