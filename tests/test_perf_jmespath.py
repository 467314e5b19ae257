"""Compiled check expressions give exactly what the strict JMESPath interpreter gives.

Rules are evaluated through closures compiled once per expression (`access.compile_strict`)
instead of walking the parsed tree at every search; the strict interpreter stays the reference.
Every expression of the built-in catalogue is run both ways over every document of the demo
tenant and over shape-mutated copies of them (fields null, a string, a number, a list, absent):
values, and any exception with its message, must be the same.
"""

from __future__ import annotations

import copy
import functools
from collections.abc import Iterator
from typing import Any

import jmespath
import pytest

from azaudit.demo import build_demo_snapshot
from azaudit.evaluators.access import _STRICT as INTERPRETER
from azaudit.evaluators.access import ShapeError, compile_strict, strict_search
from tests.catalogue_support import builtin_catalogue


def _expressions() -> list[str]:
    """`applies_if` and every string rule parameter that parses as JMESPath."""
    found: dict[str, None] = {}
    for check in builtin_catalogue().checks:
        texts = [check.applies_if] if check.applies_if else []
        texts += [v for v in check.rule.params.values() if isinstance(v, str)]
        for text in texts:
            try:
                jmespath.compile(text)
            except jmespath.exceptions.JMESPathError:
                continue
            found[text] = None
    return list(found)


@functools.cache
def _documents() -> list[Any]:
    """Every resource row and detail document of the demo, each with its odd-shaped variants."""
    snapshot = build_demo_snapshot()
    docs: list[Any] = [dict(r) for r in snapshot.resources]
    docs += [body for scoped in snapshot.details.values() for body in scoped.values()]
    return [variant for doc in docs for variant in _mutations(doc)]


def _mutations(doc: Any) -> Iterator[Any]:
    """The document with each top-level and `properties` field replaced by odd shapes."""
    yield doc
    if not isinstance(doc, dict):
        return
    for odd in (None, "text", 0, [{"x": 1}], True):
        for key in list(doc)[:8]:
            changed = copy.copy(doc)
            changed[key] = odd
            yield changed
        props = doc.get("properties")
        if isinstance(props, dict):
            for key in list(props)[:8]:
                changed = copy.copy(doc)
                changed["properties"] = {**props, key: odd}
                yield changed
            changed = copy.copy(doc)
            changed["properties"] = {k: v for k, v in props.items() if k != next(iter(props), "")}
            yield changed


def _outcome(run: Any, doc: Any) -> tuple[str, Any]:
    try:
        return "value", run(doc)
    except Exception as exc:  # the reference may raise anything JMESPath raises
        return type(exc).__name__, str(exc)


EXPRESSIONS = _expressions()


def test_the_catalogue_has_expressions_to_compare() -> None:
    assert len(EXPRESSIONS) > 20


@pytest.mark.parametrize("expression", EXPRESSIONS)
def test_compiled_expression_matches_the_strict_interpreter(expression: str) -> None:
    tree = jmespath.compile(expression).parsed
    compiled = compile_strict(tree)
    compared = 0
    for variant in _documents():
        expected = _outcome(lambda d: INTERPRETER.visit(tree, d), variant)
        assert _outcome(compiled, variant) == expected, (expression, variant)
        compared += 1
    assert compared > 100


@pytest.mark.parametrize(
    ("expression", "doc", "expected"),
    [
        ("a.b", {"a": {"b": 1}}, 1),
        ("a.b", {"a": None}, None),
        ("a[].b", {"a": [{"b": 1}, {"b": 2}]}, [1, 2]),
        ("a[?b > `1`].b", {"a": [{"b": 1}, {"b": 2}, {"c": 3}]}, [2]),
        ("!a", {"a": 0}, False),
        ("a || `5`", {"a": ""}, 5),
        ("a && b", {"a": [], "b": 1}, []),
        ("a[0]", {"a": []}, None),
        ("length(a)", {"a": "xyz"}, 3),
        ("a[1:]", {"a": [1, 2, 3]}, [2, 3]),
        ("a.*", {"a": {"x": 1, "y": 2}}, [1, 2]),
    ],
)
def test_compiled_expressions_follow_jmespath(expression: str, doc: Any, expected: Any) -> None:
    assert strict_search(expression, doc) == expected


@pytest.mark.parametrize(
    ("expression", "doc"),
    [
        ("a.b", {"a": "text"}),
        ("a[].b", {"a": [{"b": 1}, {"c": 2}]}),
        ("a[?b == `1`].c.d", {"a": [{"b": 1, "c": 5}]}),
    ],
)
def test_compiled_expressions_raise_on_unexpected_shapes(expression: str, doc: Any) -> None:
    with pytest.raises(ShapeError) as raised:
        strict_search(expression, doc)
    assert raised.value.path == expression
