"""The fast YAML parser gives what PyYAML's reference safe parser gives, values and errors alike."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pytest
import yaml

from azaudit.paths import checks_dir, data_dir
from azaudit.yaml_text import safe_load

YAML_FILES = sorted([*checks_dir().rglob("*.yaml"), *data_dir().rglob("*.yaml")])


def _typed(value: Any) -> Any:
    """`value` with the type of every node beside it, so that 1 and 1.0 or True and 1 differ."""
    if isinstance(value, dict):
        return ("dict", [(_typed(k), _typed(v)) for k, v in value.items()])
    if isinstance(value, list):
        return ("list", [_typed(v) for v in value])
    return (type(value).__name__, value)


def test_the_fast_parser_is_libyaml_where_pyyaml_ships_it() -> None:
    assert yaml.__with_libyaml__, "PyYAML without libyaml: the catalogue loads ten times slower"


@pytest.mark.parametrize("path", YAML_FILES, ids=lambda p: p.name)
def test_every_shipped_yaml_file_parses_to_the_same_values(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    assert _typed(safe_load(text)) == _typed(yaml.safe_load(text))


@pytest.mark.parametrize(
    "text",
    [
        "id: [unclosed\n",
        "a: 1\nb: [1, 2\nc: 3\n",
        "a:\n  - x\n - y\n",
        "a: 'quote\n",
        "key: value\n\tindented: tab\n",
        "a: 1\na: *missing\n",
        "{a: 1, b\n",
        "- x\n- y\nz: 1\n",
        "a: \x07bell\n",
    ],
)
def test_bad_input_raises_the_reference_parsers_error_at_its_line(text: str) -> None:
    with pytest.raises(yaml.YAMLError) as reference:
        yaml.safe_load(text)
    with pytest.raises(yaml.YAMLError) as fast:
        safe_load(text)
    assert type(fast.value) is type(reference.value)
    assert str(fast.value) == str(reference.value)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("on: yes\noff: no\n", {True: True, False: False}),
        ("when: 2026-09-14\n", {"when": date(2026, 9, 14)}),
        (
            "n: 0x1f\nf: 1e3\ns: '007'\nnull_value: ~\n",
            {"n": 31, "f": "1e3", "s": "007", "null_value": None},
        ),
    ],
)
def test_implicit_types_resolve_as_yaml_1_1_says(text: str, expected: Any) -> None:
    assert _typed(safe_load(text)) == _typed(expected)
