"""Demo logging and monitoring: workspaces, activity-log export, activity-log alerts.

Shapes follow Microsoft's `SubscriptionDiagnosticSettings_List` (note its `type: null` and the id
without a leading slash) and `ActivityLogAlerts_ListBySubscriptionId` examples.

The story: every subscription's activity log should land in the central security workspace (two
years' retention). Platform exports everything by category group, clinical lists every category;
the portal team's setting leaves Policy and Alert off, and dev exports nothing into a 30-day
workspace. Platform and clinical alert on all twelve high-risk operations; the portal alerts on
policy and NSG changes only; dev has no alerts.

Workspace tables follow Microsoft's `TablesList` example. The security workspace keeps everything
two years; the portal workspace keeps 90 days interactively but archives its audit tables for two
years (a pass a look at the workspace default alone would miss); the dev workspace keeps 30 days.
Every subscription sees the same built-in initiatives (`PolicySetDefinitions_List`), none of
which contains "Allowed locations".
"""

from __future__ import annotations

from azaudit.demo.arm import Doc, Estate, arg_row, arm_list, log_group, resource_id
from azaudit.demo.org import (
    ACTIVITY_ARCHIVE_ID,
    CLINICAL,
    DEV,
    DOMAIN,
    PLATFORM,
    PORTAL,
    SECURITY_WORKSPACE_ID,
    Subscription,
    days_ago,
    guid,
)
from azaudit.sources import DIAGNOSTIC_SETTINGS

STORAGE_ACCOUNTS = "Microsoft.Storage/storageAccounts"
POLICY_SET_DEFINITIONS = "providers/Microsoft.Authorization/policySetDefinitions"

WORKSPACE = "Microsoft.OperationalInsights/workspaces"

WORKSPACES: tuple[tuple[Subscription, str, str, str, int], ...] = (
    (PLATFORM, "rg-nw-management-eus", "law-nw-security-eus", "eastus", 730),
    (PORTAL, "rg-portal-monitoring-eus2", "law-nw-portal-apps-eus2", "eastus2", 90),
    (DEV, "rg-dev-analytics-eus", "law-nw-dev-eus", "eastus", 30),
)

HIGH_RISK_OPERATIONS = (
    "Microsoft.Authorization/policyAssignments/write",
    "Microsoft.Authorization/policyAssignments/delete",
    "Microsoft.Network/networkSecurityGroups/write",
    "Microsoft.Network/networkSecurityGroups/delete",
    "Microsoft.Network/networkSecurityGroups/securityRules/write",
    "Microsoft.Network/networkSecurityGroups/securityRules/delete",
    "Microsoft.Security/securitySolutions/write",
    "Microsoft.Security/securitySolutions/delete",
    "Microsoft.Sql/servers/firewallRules/write",
    "Microsoft.Sql/servers/firewallRules/delete",
    "Microsoft.Network/publicIPAddresses/write",
    "Microsoft.Network/publicIPAddresses/delete",
)

ALERTED_OPERATIONS: dict[str, tuple[str, ...]] = {
    PLATFORM.key: HIGH_RISK_OPERATIONS,
    CLINICAL.key: HIGH_RISK_OPERATIONS,
    PORTAL.key: HIGH_RISK_OPERATIONS[:6],
    DEV.key: (),
}

ACTIVITY_CATEGORIES = (
    "Administrative",
    "Security",
    "ServiceHealth",
    "Alert",
    "Recommendation",
    "Policy",
    "Autoscale",
    "ResourceHealth",
)


def _add_workspace(
    estate: Estate, sub: Subscription, rg: str, name: str, location: str, retention: int
) -> None:
    row = arg_row(
        sub,
        rg,
        WORKSPACE,
        name,
        location,
        {
            "provisioningState": "Succeeded",
            "customerId": guid(f"law:{name}"),
            "sku": {"name": "PerGB2018", "lastSkuUpdate": days_ago(700)},
            "retentionInDays": retention,
            "features": {
                "legacy": 0,
                "searchVersion": 1,
                "enableLogAccessUsingOnlyResourcePermissions": True,
            },
            "workspaceCapping": {
                "dailyQuotaGb": -1.0,
                "quotaNextResetTime": days_ago(-0.5),
                "dataIngestionStatus": "RespectQuota",
            },
            "publicNetworkAccessForIngestion": "Enabled",
            "publicNetworkAccessForQuery": "Enabled",
            "createdDate": days_ago(700),
            "modifiedDate": days_ago(60),
        },
    )
    workspace_id = estate.add_logged(row, [log_group("audit")], enabled=sub.phi or sub is PLATFORM)
    estate.doc(
        workspace_id,
        "tables",
        arm_list([_table(workspace_id, t, retention) for t in _TABLES[name]]),
    )


_TABLES: dict[str, tuple[str, ...]] = {
    "law-nw-security-eus": (
        "AzureActivity",
        "AzureDiagnostics",
        "AuditLogs",
        "SigninLogs",
        "AZKVAuditLogs",
        "StorageBlobLogs",
        "SecurityEvent",
        "Heartbeat",
        "Perf",
    ),
    "law-nw-portal-apps-eus2": (
        "AppServiceHTTPLogs",
        "AppServiceAuditLogs",
        "AKSAudit",
        "AKSAuditAdmin",
        "AppRequests",
        "ContainerLogV2",
    ),
    "law-nw-dev-eus": ("AzureActivity", "AzureDiagnostics", "Heartbeat"),
}
_AUDIT_ARCHIVE = {
    "AppServiceHTTPLogs",
    "AppServiceAuditLogs",
    "AKSAudit",
    "AKSAuditAdmin",
}
"""The portal workspace's audit tables: 90 days interactive, then long-term up to two years."""
_SHORT = {"Heartbeat", "Perf", "ContainerLogV2"}
"""Operational tables cut to 30 days to save cost (not part of the audit trail)."""


def _table(workspace_id: str, name: str, default: int) -> Doc:
    """One table of `Tables_List` (2023-09-01) without its column schema."""
    interactive, total = default, default
    if name in _AUDIT_ARCHIVE:
        total = 730
    elif name in _SHORT:
        interactive = total = min(default, 30)
    return {
        "properties": {
            "schema": {
                "name": name,
                "tableSubType": "DataCollectionRuleBased",
                "tableType": "Microsoft",
                "displayName": None,
                "description": None,
                "columns": None,
                "standardColumns": [],
                "categories": None,
                "labels": None,
                "source": None,
                "solutions": ["LogManagement"],
            },
            "provisioningState": "Succeeded",
            "retentionInDays": interactive,
            "totalRetentionInDays": total,
            "archiveRetentionInDays": total - interactive,
            "retentionInDaysAsDefault": interactive == default,
            "totalRetentionInDaysAsDefault": total == interactive,
            "plan": "Analytics",
        },
        "name": name,
        "id": f"{workspace_id}/tables/{name}",
    }


def _built_in_initiatives() -> Doc:
    """The built-in initiatives the demo's assignments use, with a few of their members."""

    def initiative(guid_: str, display: str, members: tuple[tuple[str, str], ...]) -> Doc:
        return {
            "id": f"/providers/Microsoft.Authorization/policySetDefinitions/{guid_}",
            "name": guid_,
            "type": "Microsoft.Authorization/policySetDefinitions",
            "properties": {
                "displayName": display,
                "policyType": "BuiltIn",
                "metadata": {"category": "Regulatory Compliance"},
                "parameters": {},
                "policyDefinitions": [
                    {
                        "policyDefinitionReferenceId": reference,
                        "policyDefinitionId": (
                            f"/providers/Microsoft.Authorization/policyDefinitions/{member}"
                        ),
                        "parameters": {},
                    }
                    for member, reference in members
                ],
            },
        }

    return arm_list(
        [
            initiative(
                "1f3afdf9-d0c9-4c3d-847f-89da613e70a8",
                "Microsoft cloud security benchmark",
                (
                    ("404c3081-a854-4457-ae30-26a93ef643f9", "secureTransferToStorageAccount"),
                    ("0e246bcf-5f6f-4f87-bc6f-775d4712c7ea", "aksAuthorizedIpRanges"),
                ),
            ),
            initiative(
                "a169a624-5599-4385-a696-c8d643089fab",
                "HITRUST/HIPAA",
                (("404c3081-a854-4457-ae30-26a93ef643f9", "secureTransferToStorageAccount"),),
            ),
        ]
    )


PORTAL_INSTRUMENTATION_KEY = guid("ikey:appi-nw-portal")
"""The portal's Application Insights key: its web pages send telemetry here (demo web scan)."""


def _add_app_insights(estate: Estate) -> None:
    workspace = (
        f"{PORTAL.scope}/resourceGroups/rg-portal-monitoring-eus2/providers/{WORKSPACE}/"
        "law-nw-portal-apps-eus2"
    )
    estate.add(
        arg_row(
            PORTAL,
            "rg-portal-monitoring-eus2",
            "Microsoft.Insights/components",
            "appi-nw-portal",
            "eastus2",
            {
                "ApplicationId": "appi-nw-portal",
                "AppId": guid("appi:appi-nw-portal"),
                "Application_Type": "web",
                "Flow_Type": "Redfield",
                "Request_Source": "IbizaAIExtension",
                "TenantId": PORTAL.subscription_id,
                "InstrumentationKey": PORTAL_INSTRUMENTATION_KEY,
                "ConnectionString": (
                    f"InstrumentationKey={PORTAL_INSTRUMENTATION_KEY};"
                    "IngestionEndpoint=https://eastus2-3.in.applicationinsights.azure.com/;"
                    "LiveEndpoint=https://eastus2.livediagnostics.monitor.azure.com/"
                ),
                "CreationDate": days_ago(300, fraction=True),
                "provisioningState": "Succeeded",
                "WorkspaceResourceId": workspace,
                "IngestionMode": "LogAnalytics",
                "publicNetworkAccessForIngestion": "Enabled",
                "publicNetworkAccessForQuery": "Enabled",
                "DisableLocalAuth": True,
                "RetentionInDays": 90,
            },
            kind="web",
        )
    )


def _add_action_group(estate: Estate, sub: Subscription, rg: str) -> str:
    row = arg_row(
        sub,
        rg,
        "Microsoft.Insights/actionGroups",
        "ag-nw-secops",
        "global",
        {
            "groupShortName": "nwsecops",
            "enabled": True,
            "emailReceivers": [
                {
                    "name": "secops-mailbox",
                    "emailAddress": f"secops@{DOMAIN}",
                    "useCommonAlertSchema": True,
                    "status": "Enabled",
                }
            ],
            "smsReceivers": [],
            "webhookReceivers": [],
            "armRoleReceivers": [
                {
                    "name": "owners",
                    "roleId": "8e3af657-a8ff-443c-a75c-2fe8c4bcb635",
                    "useCommonAlertSchema": True,
                }
            ],
        },
    )
    return estate.add(row)


def _add_activity_alerts(estate: Estate, sub: Subscription, rg: str, action_group: str) -> None:
    for operation in ALERTED_OPERATIONS[sub.key]:
        parts = operation.split("/")
        short = "-".join(p for p in parts[1:] if p not in ("write", "delete"))
        name = f"alert-{short.lower()}-{parts[-1]}"
        # The platform team created its rules from the portal (scope without a leading slash, as
        # in Microsoft's example); clinical and portal used Bicep (with one).
        scope = sub.scope.lstrip("/") if sub is PLATFORM else sub.scope
        estate.add(
            arg_row(
                sub,
                rg,
                "Microsoft.Insights/activityLogAlerts",
                name,
                "global",
                {
                    "scopes": [scope],
                    "condition": {
                        "allOf": [
                            {"field": "category", "equals": "Administrative"},
                            {"field": "operationName", "equals": operation},
                        ]
                    },
                    "actions": {
                        "actionGroups": [{"actionGroupId": action_group, "webhookProperties": {}}]
                    },
                    "enabled": True,
                    "description": f"Alert on {operation}",
                },
                tags={},
            )
        )


def _activity_log_export(sub: Subscription) -> Doc:
    def setting(name: str, logs: list[Doc], storage: str | None) -> Doc:
        return {
            "id": (
                f"{sub.scope.lstrip('/')}/providers/AzureResourceManager/diagnosticSettings/{name}"
            ),
            "type": None,
            "name": name,
            "properties": {
                "storageAccountId": storage,
                "workspaceId": SECURITY_WORKSPACE_ID,
                "eventHubAuthorizationRuleId": None,
                "eventHubName": None,
                "logs": logs,
            },
        }

    if sub is PLATFORM:
        items = [
            setting(
                "activity-to-security",
                [{"categoryGroup": "allLogs", "enabled": True}],
                ACTIVITY_ARCHIVE_ID,
            )
        ]
    elif sub is CLINICAL:
        items = [
            setting(
                "activity-to-security",
                [{"category": c, "enabled": True} for c in ACTIVITY_CATEGORIES],
                ACTIVITY_ARCHIVE_ID,
            )
        ]
    elif sub is PORTAL:
        items = [
            setting(
                "portal-activity",
                [
                    {"category": c, "enabled": c not in ("Policy", "Alert", "Autoscale")}
                    for c in ACTIVITY_CATEGORIES
                ],
                # Archived into the Functions runtime account, which accepts any network.
                resource_id(PORTAL, "rg-portal-app-eus2", STORAGE_ACCOUNTS, "stnwportalfunc"),
            )
        ]
    else:
        items = []
    return arm_list(items)


def build(estate: Estate) -> None:
    """Add workspaces, App Insights, action groups, alerts and the activity-log export."""
    for sub, rg, name, location, retention in WORKSPACES:
        _add_workspace(estate, sub, rg, name, location, retention)
    _add_app_insights(estate)
    for sub, rg in (
        (PLATFORM, "rg-nw-management-eus"),
        (CLINICAL, "rg-clinical-monitoring-eus"),
        (PORTAL, "rg-portal-monitoring-eus2"),
    ):
        group = _add_action_group(estate, sub, rg)
        _add_activity_alerts(estate, sub, rg, group)
    for sub in (PLATFORM, CLINICAL, PORTAL, DEV):
        estate.doc(sub.scope, DIAGNOSTIC_SETTINGS, _activity_log_export(sub))
        estate.doc(sub.scope, POLICY_SET_DEFINITIONS, _built_in_initiatives())
