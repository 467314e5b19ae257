"""Demo tenant-level ARM settings: the Microsoft Entra diagnostic settings (scope `/`).

Shapes follow Microsoft's `DiagnosticSettings_List` example for `microsoft.aadiam` (api-version
2017-04-01: the id without a leading slash, `type` and `location` empty strings, one `logs` entry
per category with `enabled` and a `retentionPolicy`, unused destinations as empty strings).

The story: the security team streams every sign-in and audit category to the central security
workspace; an older setting, kept for the compliance archive, still sends AuditLogs to storage
but had its SignInLogs category switched off. The tenant as a whole exports every required
category, so `log_entra_logs_export` passes (a tenant has one verdict; the inline cases of the
check show its failures).
"""

from __future__ import annotations

from typing import Any

from azaudit.demo.arm import Estate
from azaudit.demo.org import ACTIVITY_ARCHIVE_ID, SECURITY_WORKSPACE_ID
from azaudit.models import TENANT_SCOPE

ENTRA_DIAGNOSTIC_SETTINGS = "providers/microsoft.aadiam/diagnosticSettings"


def _log(category: str, enabled: bool) -> dict[str, Any]:
    return {
        "category": category,
        "enabled": enabled,
        "retentionPolicy": {"enabled": False, "days": 0},
    }


def _setting(name: str, workspace: str, storage: str, logs: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "id": f"providers/Microsoft.Aadiam/diagnosticSettings/{name}",
        "type": "",
        "name": name,
        "location": "",
        "properties": {
            "storageAccountId": storage,
            "workspaceId": workspace,
            "eventHubAuthorizationRuleId": "",
            "logs": logs,
        },
    }


def build(estate: Estate) -> None:
    """Add the tenant's Microsoft Entra diagnostic settings."""
    settings = [
        _setting(
            "entra-to-security-law",
            SECURITY_WORKSPACE_ID,
            "",
            [
                _log("AuditLogs", True),
                _log("SignInLogs", True),
                _log("NonInteractiveUserSignInLogs", True),
                _log("ServicePrincipalSignInLogs", True),
                _log("ManagedIdentitySignInLogs", True),
                _log("ProvisioningLogs", False),
                _log("RiskyUsers", True),
                _log("UserRiskEvents", True),
            ],
        ),
        _setting(
            "entra-audit-archive",
            "",
            ACTIVITY_ARCHIVE_ID,
            [_log("AuditLogs", True), _log("SignInLogs", False)],
        ),
    ]
    estate.doc(TENANT_SCOPE, ENTRA_DIAGNOSTIC_SETTINGS, {"value": settings})
