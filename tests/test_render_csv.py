"""findings.csv: golden file, RFC 4180 round trip, stable columns and formula-injection safety."""

from __future__ import annotations

import csv
import dataclasses
import io

from azaudit.models import Status
from azaudit.render import OutputFormat, render
from azaudit.render.csv_format import COLUMNS, render_csv, safe_cell
from azaudit.render.json_format import RESULTS_SCHEMA_VERSION
from tests.fixtures_result import (
    TOOL_VERSION,
    XSS_ATTRIBUTE,
    assert_matches_golden,
    build_fixture_result,
)


def _rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text, newline="")))


def test_csv_matches_golden_file() -> None:
    # The golden file is stored with LF; the rendered CRLF is asserted below.
    assert_matches_golden("findings.csv", render_csv(build_fixture_result()).replace("\r\n", "\n"))


def test_rfc4180_header_crlf_and_one_row_per_finding() -> None:
    result = build_fixture_result()
    text = render(OutputFormat.CSV, result).decode("utf-8")
    assert OutputFormat.CSV.filename == "findings.csv"
    assert text.startswith(",".join(COLUMNS) + "\r\n")
    assert text.count("\r\n") == len(result.findings) + 1
    rows = _rows(text)
    assert [r["identity"] for r in rows] == [f.identity for f in result.findings]
    assert [r["status"] for r in rows] == [f.status.value for f in result.findings]
    assert {r["tool_version"] for r in rows} == {TOOL_VERSION}
    assert {r["results_schema_version"] for r in rows} == {str(RESULTS_SCHEMA_VERSION)}


def test_columns_are_the_documented_stable_set() -> None:
    assert COLUMNS[:5] == ("status", "severity", "check_id", "check_title", "hipaa")
    assert COLUMNS[-2:] == ("tool_version", "results_schema_version")
    assert len(set(COLUMNS)) == len(COLUMNS)


def test_evidence_round_trips_through_a_csv_reader() -> None:
    rows = _rows(render_csv(build_fixture_result()))
    storage = next(
        r for r in rows if r["check_id"] == "eit_storage_https_only" and r["status"] == "FAIL"
    )
    assert storage["observed"] == "false"
    assert storage["expected"] == "true"
    assert storage["subscription_name"] == "Clinical Production"
    assert storage["hipaa"].startswith("45 CFR 164.312(e)(1)")
    tags = next(r for r in rows if r["check_id"] == "org_phi_classification_tag")
    # Quotes and commas inside a cell survive quoting.
    assert XSS_ATTRIBUTE in tags["observed"]


def test_formula_cells_are_escaped() -> None:
    for payload in ('=HYPERLINK("http://x")', "+1", "-2+3", "@SUM(A1)", "\tx", "\rx"):
        assert safe_cell(payload) == "'" + payload
    assert safe_cell("phirecords01") == "phirecords01"
    result = build_fixture_result()
    findings = list(result.findings)
    findings[0] = findings[0]._replace(
        resource_name="=cmd|' /C calc'!A0",
        message="@SUM(1+1)*cmd|' /C calc'!A0",
        status=Status.FAIL,
    )
    rows = _rows(render_csv(dataclasses.replace(result, findings=tuple(findings))))
    assert rows[0]["resource_name"] == "'=cmd|' /C calc'!A0"
    assert rows[0]["message"] == "'@SUM(1+1)*cmd|' /C calc'!A0"
    for row in rows:
        for value in row.values():
            assert not value.startswith(("=", "+", "-", "@", "\t", "\r"))
