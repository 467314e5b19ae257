"""Every renderer copes with any string or number Azure can send (issue: crash while rendering)."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import pytest

from azaudit.models import ScanResult
from azaudit.render import OutputFormat, render
from azaudit.render.console import summary_text
from azaudit.render.json_format import json_safe
from tests.fixtures_result import build_fixture_result

LONE_SURROGATE = "name-\udc80-end"
CONTROL = "bell\x07esc\x1b[2Jnul\x00"
HUGE = 7**20_000  # about 16,900 decimal digits: more than Python will print


def _hostile() -> ScanResult:
    result = build_fixture_result()
    first = result.findings[0]
    hostile = first._replace(
        resource_name=LONE_SURROGATE,
        message=f"{CONTROL} {LONE_SURROGATE}",
        observed={
            "nan": float("nan"),
            "inf": float("inf"),
            "ninf": float("-inf"),
            "huge": HUGE,
            "big": 2**80,
            "text": [LONE_SURROGATE, CONTROL],
        },
    )
    return dataclasses.replace(
        result,
        tenant_name=f"Contoso {LONE_SURROGATE} {CONTROL}",
        findings=(hostile, *result.findings[1:]),
    )


def _reject_constant(name: str) -> Any:
    raise AssertionError(f"non-standard JSON constant {name}")


def test_results_json_stays_strict_json() -> None:
    data = render(OutputFormat.JSON, _hostile())
    document = json.loads(data.decode("utf-8"), parse_constant=_reject_constant)
    observed = document["findings"][0]["observed"]
    assert observed["nan"] == "NaN"
    assert observed["inf"] == "Infinity"
    assert observed["ninf"] == "-Infinity"
    assert observed["huge"].startswith("<integer of ")
    assert observed["big"] == 2**80
    # The lone surrogate survives as its JSON escape; control characters are escaped by JSON.
    assert document["findings"][0]["resource_name"] == LONE_SURROGATE
    assert observed["text"][1] == CONTROL


def test_report_html_is_valid_utf8_and_shows_the_values() -> None:
    page = render(OutputFormat.HTML, _hostile()).decode("utf-8")
    assert "NaN" in page
    assert "Infinity" in page
    assert "&lt;integer of " in page
    assert "name-\\udc80-end" in page


def test_console_summary_is_printable() -> None:
    text = summary_text(_hostile())
    text.encode("utf-8", "strict")
    assert "\x1b" not in text
    assert "\x07" not in text


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (float("nan"), "NaN"),
        ([1.5, float("inf")], [1.5, "Infinity"]),
        ({"a": {"b": [float("-inf"), True, None]}}, {"a": {"b": ["-Infinity", True, None]}}),
        ("text", "text"),
    ],
)
def test_json_safe_replaces_only_what_json_cannot_carry(value: Any, expected: Any) -> None:
    assert json_safe(value) == expected


def test_json_safe_handles_deep_nesting_without_recursion() -> None:
    deep: Any = float("nan")
    for _ in range(5000):
        deep = [deep]
    safe = json_safe(deep)
    for _ in range(5000):
        safe = safe[0]
    assert safe == "NaN"
