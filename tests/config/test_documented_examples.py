"""The YAML examples in README.md and docs/ are valid: each one parses, and the README's whole
configuration passes validation with its variables set."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from agent.config import parse_config

ROOT = Path(__file__).parents[2]
DOCUMENTS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
_BLOCK = re.compile(r"```ya?ml\n(.*?)```", re.DOTALL)
_VARIABLE = re.compile(r"\$\{([A-Z_][A-Z0-9_]*)")


def _blocks(document: Path) -> list[str]:
    return _BLOCK.findall(document.read_text(encoding="utf-8"))


EXAMPLES = [
    pytest.param(block, id=f"{document.name}[{index}]")
    for document in DOCUMENTS
    for index, block in enumerate(_blocks(document))
]


def test_the_documents_have_examples() -> None:
    assert len(EXAMPLES) >= 3


@pytest.mark.parametrize("block", EXAMPLES)
def test_each_yaml_example_parses_as_a_mapping(block: str) -> None:
    assert isinstance(yaml.safe_load(block), dict)


def test_the_readme_configuration_is_valid() -> None:
    (block,) = _blocks(ROOT / "README.md")
    environ = dict.fromkeys(_VARIABLE.findall(block), "secret")
    config = parse_config(block, environ, source="README.md")
    assert list(config.tenants) == ["acme"]
    assert list(config.destinations) == ["local-file"]
