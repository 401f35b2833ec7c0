"""Environment and file interpolation in configuration values.

Applied to parsed YAML string values, never to the raw text, so a secret containing `:` or `#` can
never change the document's structure. Forms: `${VAR}`, `${VAR:-default}`, `${file:/path}` (the
file's content with one trailing newline stripped, the Docker/Kubernetes secret convention) and
`$${` for a literal `${`. Every unresolved reference is collected with its path.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

__all__ = ["interpolate"]

_REFERENCE = re.compile(r"\$\$\{|\$\{([^}]*)\}")
_VARIABLE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def interpolate(
    document: Any, environ: Mapping[str, str], problems: list[str], path: str = ""
) -> Any:
    """Return `document` with references resolved; append `path: message` to `problems`."""
    if isinstance(document, dict):
        return {
            key: interpolate(value, environ, problems, _join(path, key))
            for key, value in document.items()
        }
    if isinstance(document, list):
        return [
            interpolate(value, environ, problems, f"{path}[{index}]")
            for index, value in enumerate(document)
        ]
    if isinstance(document, str) and "${" in document:
        return _REFERENCE.sub(lambda match: _resolve(match, environ, problems, path), document)
    return document


def _join(path: str, key: object) -> str:
    return f"{path}.{key}" if path else str(key)


def _resolve(
    match: re.Match[str], environ: Mapping[str, str], problems: list[str], path: str
) -> str:
    expression = match.group(1)
    if expression is None:  # the `$${` escape
        return "${"
    where = path or "<root>"
    if expression.startswith("file:"):
        return _read_secret_file(expression.removeprefix("file:"), problems, where)
    name, has_default, default = expression.partition(":-")
    if not _VARIABLE.match(name):
        problems.append(f"{where}: '${{{expression}}}' is not a valid reference")
        return ""
    value = environ.get(name)
    if value is None or (has_default and value == ""):
        if has_default:
            return default
        problems.append(f"{where}: environment variable {name} is not set")
        return ""
    return value


def _read_secret_file(location: str, problems: list[str], where: str) -> str:
    try:
        content = Path(location).read_text(encoding="utf-8")
    except OSError as error:
        problems.append(f"{where}: cannot read {location}: {error.strerror or error}")
        return ""
    except UnicodeDecodeError:
        problems.append(f"{where}: {location} is not UTF-8 text")
        return ""
    return content.rstrip("\r\n")  # the line end(s) an editor or `echo` leaves
