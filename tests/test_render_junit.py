"""results.junit.xml: golden file, parsed by junitparser, one case per check × scope."""

from __future__ import annotations

import dataclasses
import io
from pathlib import Path

import pytest
from junitparser import Error, Failure, JUnitXml, Skipped, TestSuite

from azaudit.models import Status
from azaudit.render import OutputFormat, render
from azaudit.render.json_format import RESULTS_SCHEMA_VERSION
from azaudit.render.junit import render_junit, write_junit
from tests.fixtures_result import TOOL_VERSION, assert_matches_golden, build_fixture_result


@pytest.fixture(scope="module")
def parsed(tmp_path_factory: pytest.TempPathFactory) -> JUnitXml:
    path = tmp_path_factory.mktemp("junit") / "results.junit.xml"
    path.write_bytes(render(OutputFormat.JUNIT, build_fixture_result()))
    xml = JUnitXml.fromfile(str(path))
    assert isinstance(xml, JUnitXml)
    return xml


def _suites(xml: JUnitXml) -> list[TestSuite]:
    return [suite for suite in xml if isinstance(suite, TestSuite)]


def test_junit_matches_golden_file() -> None:
    assert_matches_golden("results.junit.xml", render_junit(build_fixture_result()))


def test_stream_and_string_agree() -> None:
    buffer = io.StringIO()
    write_junit(build_fixture_result(), buffer)
    assert buffer.getvalue() == render_junit(build_fixture_result())
    assert OutputFormat.JUNIT.filename == "results.junit.xml"


def test_totals_match_the_summary(parsed: JUnitXml) -> None:
    counts = build_fixture_result().summary["counts"]
    assert parsed.tests == sum(counts.values()) == 29
    assert parsed.failures == counts["FAIL"] == 5
    assert parsed.errors == counts["ERROR"] == 6
    assert parsed.skipped == counts["MANUAL"] + counts["NOT_APPLICABLE"] == 3


def test_one_suite_per_check_and_one_case_per_finding(parsed: JUnitXml) -> None:
    result = build_fixture_result()
    suites = _suites(parsed)
    assert [s.name.split(":")[0] for s in suites] == [c.id for c in result.checks]
    cases = [(case.classname.rsplit(".", 1)[1], case.name) for s in suites for case in s]
    expected = sorted((f.check_id, f.resource_id) for f in result.findings)
    assert sorted(cases) == expected


def test_status_mapping_per_case(parsed: JUnitXml) -> None:
    result = build_fixture_result()
    outcomes = {
        (case.classname.rsplit(".", 1)[1], case.name): case.result
        for suite in _suites(parsed)
        for case in suite
    }
    kinds = {Status.FAIL: Failure, Status.ERROR: Error}
    for finding in result.findings:
        outcome = outcomes[(finding.check_id, finding.resource_id)]
        if finding.status is Status.PASS:
            assert outcome == []
        elif finding.status in kinds:
            assert isinstance(outcome[0], kinds[finding.status])
        else:
            assert isinstance(outcome[0], Skipped)
    failure = next(
        r[0] for r in outcomes.values() if r and isinstance(r[0], Failure) and r[0].type == "high"
    )
    assert "HIPAA: 45 CFR" in (failure.text or "")
    assert "Expected:" in (failure.text or "")


def test_suites_record_versions_and_waivers_are_skipped(tmp_path: Path) -> None:
    result = build_fixture_result()
    findings = list(result.findings)
    findings[0] = findings[0]._replace(status=Status.WAIVED, waiver_id="W-1")
    path = tmp_path / "waived.xml"
    path.write_text(render_junit(dataclasses.replace(result, findings=tuple(findings))))
    xml = JUnitXml.fromfile(str(path))
    suite = _suites(xml)[0]
    properties = {p.name: p.value for p in suite.properties()}  # type: ignore[no-untyped-call]
    assert properties["azaudit.version"] == TOOL_VERSION
    assert properties["azaudit.results_schema_version"] == str(RESULTS_SCHEMA_VERSION)
    assert suite.timestamp == "2026-11-02T08:00:00"  # UTC, no zone designator (JUnit schema)
    waived = [c for s in _suites(xml) for c in s if c.name == findings[0].resource_id]
    skipped = [r for c in waived for r in c.result if isinstance(r, Skipped)]
    assert any("Waived (W-1)" in (r.message or "") for r in skipped)


def test_control_characters_in_tenant_text_keep_the_xml_well_formed(tmp_path: Path) -> None:
    result = dataclasses.replace(build_fixture_result(), tenant_name="Contoso\x00\x1b[2J Health")
    path = tmp_path / "ctl.xml"
    path.write_text(render_junit(result), encoding="utf-8")
    xml = JUnitXml.fromfile(str(path))
    assert _suites(xml)[0].hostname == "Contoso\ufffd\ufffd[2J Health"
