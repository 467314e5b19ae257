"""Storage service diagnostics: the request logs may be split across diagnostic settings."""

from __future__ import annotations

from typing import Any

from azaudit.casebook import CASE_SUBSCRIPTION
from azaudit.models import Status
from azaudit.snapshot import subscription_scope
from azaudit.sources import DIAGNOSTIC_SETTINGS
from tests.evaluator_support import builtin_check, run_check

SUB = subscription_scope(CASE_SUBSCRIPTION)
RG = f"{SUB}/resourceGroups/rg-case/providers"
WORKSPACE = f"{RG}/Microsoft.OperationalInsights/workspaces/law-case"
ARCHIVE = f"{RG}/Microsoft.Storage/storageAccounts/starchive"
BLOB = f"blobServices/default/{DIAGNOSTIC_SETTINGS}"


def _setting(name: str, categories: list[str], **destination: str | None) -> dict[str, Any]:
    """A blob-service diagnostic setting as Azure returns it (DiagnosticSettings_List shape)."""
    return {
        "id": f"{RG}/Microsoft.Storage/storageAccounts/case-resource/blobServices/default"
        f"/providers/microsoft.insights/diagnosticSettings/{name}",
        "type": "Microsoft.Insights/diagnosticSettings",
        "name": name,
        "properties": {
            "storageAccountId": None,
            "eventHubAuthorizationRuleId": None,
            "workspaceId": None,
            **destination,
            "metrics": [],
            "logs": [
                {
                    "category": c,
                    "categoryGroup": None,
                    "enabled": True,
                    "retentionPolicy": {"enabled": False, "days": 0},
                }
                for c in categories
            ],
        },
    }


def _blob(*settings: dict[str, Any]) -> Any:
    body = {"resource": {"kind": "BlockBlobStorage"}, "details": {BLOB: {"value": list(settings)}}}
    (finding,) = run_check(builtin_check("log_storage_diag"), body)
    return finding


def test_the_three_categories_enabled_individually_pass() -> None:
    requests = ["StorageRead", "StorageWrite", "StorageDelete"]
    finding = _blob(_setting("requests", requests, workspaceId=WORKSPACE))
    assert finding.status is Status.PASS


def test_categories_split_across_settings_with_destinations_pass() -> None:
    finding = _blob(
        _setting("reads", ["StorageRead"], storageAccountId=ARCHIVE),
        _setting("changes", ["StorageWrite", "StorageDelete"], workspaceId=WORKSPACE),
    )
    assert finding.status is Status.PASS
    assert "'changes'" in finding.message and "'reads'" in finding.message


def test_a_split_part_without_destination_does_not_count() -> None:
    finding = _blob(
        _setting("reads", ["StorageRead"]),
        _setting("changes", ["StorageWrite", "StorageDelete"], workspaceId=WORKSPACE),
    )
    assert finding.status is Status.FAIL
    assert "no destination" in finding.message


def test_a_split_that_misses_a_category_fails() -> None:
    finding = _blob(
        _setting("reads", ["StorageRead"], storageAccountId=ARCHIVE),
        _setting("writes", ["StorageWrite"], workspaceId=WORKSPACE),
    )
    assert finding.status is Status.FAIL
