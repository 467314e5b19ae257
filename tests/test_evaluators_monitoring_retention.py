"""Log Analytics retention judged per audit table, interactive plus long-term (archive)."""

from __future__ import annotations

from typing import Any

from azaudit.models import Status
from tests.evaluator_support import builtin_check, run_check, statuses

CHECK = builtin_check("log_retention")


def _table(name: str, interactive: int, total: int) -> dict[str, Any]:
    """A table as Microsoft's `TablesList` example shapes it (schema left out)."""
    return {
        "name": name,
        "properties": {
            "provisioningState": "Succeeded",
            "retentionInDays": interactive,
            "totalRetentionInDays": total,
            "archiveRetentionInDays": total - interactive,
            "plan": "Analytics",
        },
    }


def _workspace(default: int, *tables: dict[str, Any]) -> dict[str, Any]:
    return {
        "resource": {"properties": {"retentionInDays": default}},
        "details": {"tables": {"value": list(tables)}},
    }


def test_short_default_with_archived_audit_tables_passes() -> None:
    body = _workspace(
        90, _table("AzureActivity", 90, 730), _table("SigninLogs", 90, 400), _table("Perf", 30, 30)
    )
    (finding,) = run_check(CHECK, body)
    assert finding.status is Status.PASS
    assert finding.observed == {"AzureActivity": 730, "SigninLogs": 400}


def test_long_default_with_one_audit_table_cut_fails_for_that_table() -> None:
    body = _workspace(730, _table("AzureActivity", 730, 730), _table("SigninLogs", 30, 30))
    findings = run_check(CHECK, body)
    assert statuses(findings) == [Status.FAIL]
    (finding,) = findings
    assert finding.sub_item == "SigninLogs"
    assert finding.observed == 30
    assert "30 interactive, 0 long-term" in finding.message


def test_each_short_audit_table_is_its_own_finding() -> None:
    body = _workspace(30, _table("AzureActivity", 30, 30), _table("AuditLogs", 30, 90))
    findings = run_check(CHECK, body)
    assert statuses(findings) == [Status.FAIL, Status.FAIL]
    assert {f.sub_item for f in findings} == {"AzureActivity", "AuditLogs"}


def test_table_names_compare_case_insensitively() -> None:
    body = _workspace(30, _table("azureactivity", 30, 30))
    (finding,) = run_check(CHECK, body)
    assert finding.status is Status.FAIL


def test_only_non_audit_tables_judges_the_workspace_default() -> None:
    assert statuses(run_check(CHECK, _workspace(30, _table("Perf", 400, 400)))) == [Status.FAIL]
    assert statuses(run_check(CHECK, _workspace(365, _table("Perf", 30, 30)))) == [Status.PASS]


def test_total_retention_as_text_is_an_error_not_a_pass() -> None:
    table = _table("AzureActivity", 730, 730)
    table["properties"]["totalRetentionInDays"] = "730"
    (finding,) = run_check(CHECK, _workspace(730, table))
    assert finding.status is Status.ERROR
    assert "totalRetentionInDays" in finding.property_path


def test_minimum_is_a_parameter() -> None:
    body = _workspace(730, _table("AzureActivity", 730, 730))
    (finding,) = run_check(CHECK, body, min_days=2190)
    assert finding.status is Status.FAIL
    assert ">= 2190" in finding.expected


def test_tables_not_collected_is_an_error_even_with_a_long_default() -> None:
    (finding,) = run_check(CHECK, {"resource": {"properties": {"retentionInDays": 730}}})
    assert finding.status is Status.ERROR
