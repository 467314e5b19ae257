"""results.json: golden file, JSON Schema, deterministic order, and summary arithmetic."""

from __future__ import annotations

import copy
import dataclasses
import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from azaudit.models import Severity, Status
from azaudit.paths import reports_dir
from azaudit.render import OutputFormat, render
from azaudit.render.json_format import (
    RESULTS_SCHEMA,
    RESULTS_SCHEMA_VERSION,
    SCHEMA_FILE,
    render_json,
)
from azaudit.snapshot import Snapshot
from tests.fixtures_result import (
    SUB_LEGACY,
    XSS_SCRIPT,
    assert_matches_golden,
    build_fixture_result,
    build_programme_result,
    build_result_for,
    clean_snapshot,
    fixture_snapshot,
)


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    return json.loads(render_json(build_fixture_result()))  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
def validator() -> jsonschema.protocols.Validator:
    schema = json.loads((reports_dir() / SCHEMA_FILE).read_text(encoding="utf-8"))
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    return cls(schema)


def test_results_json_matches_golden_file() -> None:
    assert_matches_golden("results.json", render_json(build_fixture_result()))


def test_rendering_is_deterministic_and_ends_with_newline() -> None:
    first = render(OutputFormat.JSON, build_fixture_result())
    second = render(OutputFormat.JSON, build_fixture_result())
    assert first == second
    assert first.endswith(b"}\n")


def test_document_is_versioned_with_a_fixed_key_order(document: dict[str, Any]) -> None:
    assert document["schema"] == RESULTS_SCHEMA
    assert document["schema_version"] == RESULTS_SCHEMA_VERSION == 2
    assert list(document) == [
        "schema",
        "schema_version",
        "tool",
        "scan",
        "phi_scope",
        "evidence",
        "waivers",
        "history",
        "web_sites",
        "display_names",
        "summary",
        "checks",
        "findings",
        "collection_gaps",
    ]
    assert list(document["summary"])[:3] == ["counts", "findings_total", "posture"]


@pytest.mark.parametrize(
    "snapshot",
    [fixture_snapshot(), clean_snapshot()],
    ids=["with-gaps", "complete"],
)
def test_output_validates_against_the_published_schema(
    validator: jsonschema.protocols.Validator, snapshot: Snapshot
) -> None:
    produced = json.loads(render_json(build_result_for(snapshot)))
    errors = sorted(validator.iter_errors(produced), key=lambda e: list(e.absolute_path))
    assert not errors, [f"{list(e.absolute_path)}: {e.message}" for e in errors]


def test_empty_tenant_validates_with_null_posture(
    validator: jsonschema.protocols.Validator,
) -> None:
    empty = dataclasses.replace(fixture_snapshot(), resources=(), details={}, gaps=())
    produced = json.loads(render_json(build_result_for(empty)))
    validator.validate(produced)
    # Only the tenant-level attestation remains: nothing was evaluated, posture is unknown.
    assert produced["summary"]["posture"] is None
    assert produced["summary"]["counts"]["MANUAL"] == 1


@pytest.mark.parametrize(
    ("path", "value"),
    [
        (("summary", "coverage"), None),
        (("findings", 0, "status"), "OK"),
        (("scan", "baa_list", "verified"), "no"),
        (("summary", "counts", "PASS"), -1),
    ],
)
def test_schema_rejects_malformed_documents(
    validator: jsonschema.protocols.Validator,
    document: dict[str, Any],
    path: tuple[str | int, ...],
    value: Any,
) -> None:
    broken = copy.deepcopy(document)
    parent: Any = broken
    for key in path[:-1]:
        parent = parent[key]
    if value is None:
        del parent[path[-1]]
    else:
        parent[path[-1]] = value
    assert list(validator.iter_errors(broken))


def test_counts_add_up_across_every_breakdown(document: dict[str, Any]) -> None:
    summary = document["summary"]
    findings = document["findings"]
    assert summary["findings_total"] == len(findings) == sum(summary["counts"].values())
    for status in Status:
        expected = sum(1 for f in findings if f["status"] == status.value)
        assert summary["counts"][status.value] == expected
        by_safeguard = sum(g["counts"][status.value] for g in summary["safeguards"])
        assert by_safeguard == expected, status
        by_scope = sum(s["counts"][status.value] for s in summary["subscriptions"])
        assert by_scope + summary["tenant_wide"]["counts"][status.value] == expected, status
        by_check = sum(c["counts"][status.value] for c in summary["checks"])
        assert by_check == expected, status


def test_posture_counts_error_as_not_compliant(document: dict[str, Any]) -> None:
    counts = document["summary"]["counts"]
    assert counts == {
        "PASS": 15,
        "FAIL": 5,
        "ERROR": 6,
        "NOT_APPLICABLE": 1,
        "MANUAL": 2,
        "WAIVED": 0,
    }
    assert document["summary"]["posture_raw"] == round(100 * 15 / (15 + 5 + 6), 1)


def test_failing_by_severity_uses_each_findings_effective_severity() -> None:
    document = json.loads(render_json(build_programme_result()))
    expected = {s.value: 0 for s in Severity}
    for finding in document["findings"]:
        if finding["status"] == "FAIL":
            expected[finding["severity"]] += 1
    assert document["summary"]["failing_by_severity"] == expected
    # The production storage account's high finding is escalated in PHI scope.
    https = next(f for f in document["findings"] if f["check_id"] == "eit_storage_https_only")
    assert (https["severity"], https["phi"]) == ("critical", True)
    assert expected["critical"] == 1


def test_top_risks_are_resources_ordered_by_risk_score(document: dict[str, Any]) -> None:
    top = document["summary"]["top_risks"]
    assert [t["rank"] for t in top] == list(range(1, len(top) + 1))
    scores = [t["score"] for t in top]
    assert scores == sorted(scores, reverse=True)
    assert all(t["failing"] >= len(t["findings"]) >= 1 for t in top)
    first = top[0]
    # The failing storage account: high (6) x PHI (2, nothing configured) x public endpoint (2).
    assert first["resource_name"] == XSS_SCRIPT
    assert first["subscription_name"] == "Clinical Production"
    assert (first["score"], first["exposure"], first["phi"]) == (24, "public-endpoint", True)
    assert {f["check_id"] for f in first["findings"]} == {
        "eit_storage_https_only",
        "residency_resource_location_us",
        "org_phi_classification_tag",
    }


def test_coverage_reports_gaps_and_unevaluated_scopes(document: dict[str, Any]) -> None:
    coverage = document["summary"]["coverage"]
    assert coverage["complete"] is False
    assert coverage["gaps"] == len(document["collection_gaps"]) == 2
    assert coverage["error_findings"] == 6
    # The unreadable subscription (one scope for every resource check) and the web app whose
    # configuration could not be read.
    assert coverage["scopes_not_evaluated"] == 2
    error_scopes = {f["resource_id"] for f in document["findings"] if f["status"] == "ERROR"}
    assert f"/subscriptions/{SUB_LEGACY}" in error_scopes


def test_complete_scan_reports_complete_coverage() -> None:
    produced = json.loads(render_json(build_result_for(clean_snapshot())))
    assert produced["summary"]["coverage"] == {
        "complete": True,
        "gaps": 0,
        "error_findings": 0,
        "scopes_not_evaluated": 0,
        "checks_with_errors": [],
    }


def test_safeguards_list_every_safeguard_and_file_checks_by_primary_citation(
    document: dict[str, Any],
) -> None:
    safeguards = {g["safeguard"]: g for g in document["summary"]["safeguards"]}
    assert list(safeguards)[:4] == ["administrative", "physical", "technical", "organizational"]
    assert safeguards["physical"]["checks"] == 0
    assert safeguards["physical"]["posture"] is None
    technical = safeguards["technical"]["citations"]
    assert [c["citation"] for c in technical] == ["164.312(e)(1)", "164.312(e)(2)(ii)"]
    assert technical[0]["checks"] == ["eit_storage_https_only"]
    assert technical[0]["label"] == "45 CFR 164.312(e)(1)"
    assert technical[1]["implementation"] == "addressable"


def test_subscription_breakdown_lists_failing_checks(document: dict[str, Any]) -> None:
    legacy = next(
        s for s in document["summary"]["subscriptions"] if s["subscription_id"] == SUB_LEGACY
    )
    assert legacy["posture"] == 0.0
    assert {c["status"] for c in legacy["failing_checks"]} == {"ERROR"}
    assert len(legacy["failing_checks"]) == 5
    tenant = document["summary"]["tenant_wide"]
    assert tenant["counts"]["MANUAL"] == 1
    assert tenant["failing_checks"] == []


def test_manual_items_are_listed(document: dict[str, Any]) -> None:
    manual = {m["check_id"]: m["count"] for m in document["summary"]["manual"]}
    assert manual == {"org_contingency_plan_tested": 1, "scope_baa_in_scope_service": 1}


def test_findings_carry_full_evidence(document: dict[str, Any]) -> None:
    failing = next(
        f
        for f in document["findings"]
        if f["check_id"] == "eit_storage_https_only" and f["status"] == "FAIL"
    )
    assert failing["resource_id"].startswith("/subscriptions/")
    assert failing["property_path"] == "properties.supportsHttpsTrafficOnly"
    assert failing["observed"] is False
    assert failing["expected"] == "true"
    check = next(c for c in document["checks"] if c["id"] == "eit_storage_https_only")
    assert check["remediation"]["azure_policy_id"].endswith("404c3081-a854-4457-ae30-26a93ef643f9")
    assert check["hipaa"][0]["label"] == "45 CFR 164.312(e)(1)"


def test_baa_list_provenance_is_recorded(document: dict[str, Any]) -> None:
    assert document["scan"]["baa_list"] == {
        "source": "Fixture BAA list (Microsoft Learn audit-scope page, transcribed)",
        "version": "2026-01-15",
        "verified": False,
        "path": "tests/fixtures_result.py",
        "note": "",
    }


def _property_names(node: Any) -> set[str]:
    names: set[str] = set()
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "properties" and isinstance(value, dict):
                names.update(value)
            names |= _property_names(value)
    elif isinstance(node, list):
        for item in node:
            names |= _property_names(item)
    return names


def test_every_schema_field_is_documented() -> None:
    docs = Path(__file__).resolve().parent.parent / "docs" / "results-schema.md"
    text = docs.read_text(encoding="utf-8")
    schema = json.loads((reports_dir() / SCHEMA_FILE).read_text(encoding="utf-8"))
    missing = sorted(name for name in _property_names(schema) if f"`{name}`" not in text)
    assert not missing, f"docs/results-schema.md does not describe {missing}"


def test_findings_carry_identity_effective_severity_phi_and_waiver() -> None:
    document = json.loads(render_json(build_programme_result()))
    waived = [f for f in document["findings"] if f["status"] == "WAIVED"]
    assert len(waived) == 1
    assert waived[0]["waiver_id"] == "W-2026-007"
    for finding in document["findings"]:
        assert finding["identity"] == (
            f"{finding['check_id']}|{finding['resource_id'].lower()}|{finding['sub_item']}"
        )
    research = [f for f in document["findings"] if f["subscription_id"] == SUB_LEGACY]
    assert research
    assert all(f["phi"] is False for f in research)


def test_programme_sections_validate_and_are_written(
    validator: jsonschema.protocols.Validator,
) -> None:
    document = json.loads(render_json(build_programme_result()))
    errors = sorted(validator.iter_errors(document), key=lambda e: list(e.absolute_path))
    assert not errors, [f"{list(e.absolute_path)}: {e.message}" for e in errors]
    assert document["phi_scope"]["configured"] is True
    assert document["evidence"]["snapshot_sha256"].endswith("beef")
    assert [w["state"] for w in document["waivers"]] == ["active", "expired", "unmatched"]
    assert document["summary"]["waivers"] == {"active": 1, "expired": 1, "unmatched": 1}
    assert document["history"]["previous_run_id"] == "run-0041"
    assert [s["scanned"] for s in document["web_sites"]] == [True, False]
    assert document["summary"]["phi"]["in_scope"]["counts"]["FAIL"] >= 1
    assert document["summary"]["phi"]["out_of_scope"]["counts"]["FAIL"] >= 1


def test_programme_results_match_golden_file() -> None:
    assert_matches_golden("results-programme.json", render_json(build_programme_result()))
