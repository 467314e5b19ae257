"""results.json finding lines: the template writes exactly what the encoder writes.

Each finding line is either filled into a template (texts copied between quotes) or encoded from
`finding_document` by the C encoder, with `json_safe` for values strict JSON cannot carry. The
two must give the same bytes for every finding, including texts with quotes, backslashes,
control characters, non-ASCII and lone surrogates, and observed values with NaN or integers too
long to print.
"""

from __future__ import annotations

import dataclasses
import functools
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from azaudit.models import Finding, ScanResult, Severity, Status
from azaudit.render.json_format import (
    _BATCH,
    _SEVERITY_JSON,
    _template_lines,
    dumps,
    finding_document,
    render_json,
)
from tests.fixtures_result import build_fixture_result

ODD_CHARACTERS = ['"', "\\", "\n", "\t", "\x00", "\x1f", "\x7f", "é", "\u2028", "\udc80", "𝄞"]
HUGE = 7**5_000  # more digits than Python prints


@functools.cache
def _base() -> ScanResult:
    return build_fixture_result()


def _finding(check_id: str, **fields: Any) -> Finding:
    values: dict[str, Any] = {
        "check_id": check_id,
        "status": Status.FAIL,
        "resource_id": "/subscriptions/0000/resourceGroups/rg/providers/Microsoft.Storage/x/sa1",
        "resource_type": "Microsoft.Storage/storageAccounts",
        "resource_name": "sa1",
        "subscription_id": "0000",
        "location": "eastus",
        "property_path": "properties.minimumTlsVersion",
        "observed": {"minimumTlsVersion": "TLS1_0", "n": [1, 2.5, None, True]},
        "expected": "TLS1_2",
        "message": "Storage account sa1 accepts TLS 1.0",
        "sub_item": "",
        "severity": Severity.HIGH,
        "phi": True,
        "waiver_id": None,
    }
    values.update(fields)
    return Finding(**values)


def _with_findings(findings: list[Finding]) -> ScanResult:
    return dataclasses.replace(_base(), findings=tuple(findings))


def _written_lines(result: ScanResult) -> list[str]:
    """The finding lines of results.json as written."""
    text = render_json(result)
    _, _, rest = text.partition('\n  "findings": [')
    body, _, _ = rest.partition('\n  ],\n  "collection_gaps"')
    assert body.startswith("\n    ")
    return body[len("\n    ") :].split(",\n    ")


def _encoded_lines(result: ScanResult) -> list[str]:
    """The lines the encoder writes for `finding_document` of each finding."""
    metas = {c.id: c for c in result.checks}
    return [
        dumps(finding_document(f, metas[f.check_id])).encode("utf-8", "backslashreplace").decode()
        for f in result.findings
    ]


def _check_severity(result: ScanResult) -> dict[str, str]:
    return {c.id: _SEVERITY_JSON[c.severity] for c in result.checks}


def test_plain_findings_are_filled_into_the_template() -> None:
    check = _base().checks[0].id
    findings = [
        _finding(check),
        _finding(check, subscription_id=None, location=None, observed=None, sub_item="op"),
        _finding(check, observed="TLS1_0", severity=None, phi=False, waiver_id="W-1"),
        _finding(check, observed=True, status=Status.WAIVED, phi=None),
        _finding(check, observed=[], message="Zürich résumé ✓ 𝄞"),
    ]
    result = _with_findings(findings)
    assert _template_lines(findings, _check_severity(result)) is not None
    assert _written_lines(result) == _encoded_lines(result)


def test_a_finding_the_template_cannot_take_is_encoded_and_the_rest_still_match() -> None:
    check = _base().checks[0].id
    findings = [_finding(check, resource_name=f"sa{i}") for i in range(2 * _BATCH + 3)]
    findings[_BATCH + 7] = _finding(check, message='quoted "name" with \\ and\ttab')
    findings[_BATCH + 9] = _finding(check, observed={"nan": float("nan"), "huge": HUGE})
    findings[-1] = _finding(check, resource_name="name-\udc80-end")
    result = _with_findings(findings)
    severities = _check_severity(result)
    assert _template_lines(findings[_BATCH : 2 * _BATCH], severities) is None
    assert _template_lines(findings[:_BATCH], severities) is not None
    written = _written_lines(result)
    assert written == _encoded_lines(result)
    assert '"nan": "NaN"' in written[_BATCH + 9]
    assert "name-\\udc80-end" in written[-1]


def test_a_field_that_is_not_text_is_left_to_the_encoder() -> None:
    check = _base().checks[0].id
    findings = [_finding(check, location=7), _finding(check, resource_name=None)]
    result = _with_findings(findings)
    assert _template_lines(findings[:1], _check_severity(result)) is None
    assert _written_lines(result) == _encoded_lines(result)


TEXT_FIELDS = (
    "resource_id",
    "resource_type",
    "resource_name",
    "subscription_id",
    "location",
    "property_path",
    "observed",
    "expected",
    "message",
    "sub_item",
    "waiver_id",
)


@pytest.mark.parametrize("character", ODD_CHARACTERS)
def test_one_odd_character_in_any_text_is_written_as_the_encoder_writes_it(
    character: str,
) -> None:
    check = _base().checks[0].id
    findings = [_finding(check)]
    for name in TEXT_FIELDS:
        findings.append(_finding(check, **{name: f"a{character}b"}))
        findings.append(_finding(check))
    result = _with_findings(findings)
    assert _written_lines(result) == _encoded_lines(result)


_plain = st.text(alphabet="abcXYZ019-_./ :", max_size=12)
_text = st.one_of(
    _plain,
    st.tuples(_plain, st.sampled_from(ODD_CHARACTERS), _plain).map("".join),
    st.text(alphabet=st.characters(exclude_categories=()), max_size=12),
)
_json = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.sampled_from([HUGE, -HUGE])
    | st.floats(allow_nan=True, allow_infinity=True)
    | _text,
    lambda children: st.lists(children, max_size=3) | st.dictionaries(_text, children, max_size=3),
    max_leaves=6,
)


@st.composite
def _findings(draw: st.DrawFn) -> list[Finding]:
    checks = [c.id for c in _base().checks]
    return [
        _finding(
            draw(st.sampled_from(checks)),
            status=draw(st.sampled_from(list(Status))),
            resource_id=draw(_text),
            resource_type=draw(_text),
            resource_name=draw(_text),
            subscription_id=draw(st.none() | _text),
            location=draw(st.none() | _text),
            property_path=draw(_text),
            observed=draw(_json),
            expected=draw(_text),
            message=draw(_text),
            sub_item=draw(_text),
            severity=draw(st.none() | st.sampled_from(list(Severity))),
            phi=draw(st.sampled_from([None, True, False])),
            waiver_id=draw(st.none() | _text),
        )
        for _ in range(draw(st.integers(min_value=1, max_value=4)))
    ]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(findings=_findings())
def test_every_finding_is_written_as_the_encoder_writes_it(findings: list[Finding]) -> None:
    result = _with_findings(findings)
    assert _written_lines(result) == _encoded_lines(result)
