"""Shapes every demo area shares: ARM ids, Resource Graph rows, diagnostic settings, the estate.

Resource rows look like rows of Resource Graph's `resources` table (Microsoft's
`Resources_BasicQuery` example): every column present, `type` in lower case as Resource Graph
returns it, missing values as null. Documents stored under `details` look like the ARM GET
response for the data source, lists as `{"value": [...]}`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from azaudit.demo.org import SECURITY_WORKSPACE_ID, TENANT_ID, Subscription, guid, hexid
from azaudit.models import CollectionGap
from azaudit.sources import DIAGNOSTIC_SETTINGS

Doc = dict[str, Any]


def resource_id(sub: Subscription, rg: str, rtype: str, *names: str) -> str:
    """ARM id of a resource: `rtype` `Microsoft.Sql/servers/databases` takes two names."""
    namespace, *kinds = rtype.split("/")
    if len(kinds) != len(names):
        raise ValueError(f"{rtype} needs {len(kinds)} name(s), got {names}")
    path = "/".join(f"{kind}/{name}" for kind, name in zip(kinds, names, strict=True))
    return f"{sub.scope}/resourceGroups/{rg}/providers/{namespace}/{path}"


def arm_list(items: list[Doc]) -> Doc:
    """An ARM list body with every page merged (how the snapshot stores lists)."""
    return {"value": items}


def arg_row(
    sub: Subscription,
    rg: str,
    rtype: str,
    names: str | tuple[str, ...],
    location: str,
    properties: Doc,
    *,
    kind: str = "",
    sku: Doc | None = None,
    tags: dict[str, str] | None = None,
    identity: Doc | None = None,
    zones: list[str] | None = None,
    managed_by: str = "",
    plan: Doc | None = None,
) -> Doc:
    """A Resource Graph `resources` row with all of its columns."""
    parts = (names,) if isinstance(names, str) else names
    return {
        "id": resource_id(sub, rg, rtype, *parts),
        "name": parts[-1],
        "type": rtype.lower(),
        "tenantId": TENANT_ID,
        "kind": kind,
        "location": location,
        "resourceGroup": rg,
        "subscriptionId": sub.subscription_id,
        "managedBy": managed_by,
        "sku": sku,
        "plan": plan,
        "properties": properties,
        "tags": tags if tags is not None else sub.tags(),
        "identity": identity,
        "zones": zones,
        "extendedLocation": None,
    }


def system_identity(name: str) -> Doc:
    """A system-assigned managed identity block (ids derived from the resource name)."""
    return {"type": "SystemAssigned", "principalId": guid(f"msi:{name}"), "tenantId": TENANT_ID}


def private_endpoint_connection(
    target_id: str, target_type: str, endpoint_id: str, group: str
) -> Doc:
    """An approved private endpoint connection as the target resource reports it."""
    name = f"{endpoint_id.rsplit('/', 1)[-1]}.{hexid(endpoint_id, 8)}"
    return {
        "id": f"{target_id}/privateEndpointConnections/{name}",
        "name": name,
        "type": f"{target_type}/privateEndpointConnections",
        "properties": {
            "provisioningState": "Succeeded",
            "privateEndpoint": {"id": endpoint_id},
            "groupIds": [group],
            "privateLinkServiceConnectionState": {
                "status": "Approved",
                "description": "Auto-Approved",
                "actionsRequired": "None",
            },
        },
    }


# -- diagnostic settings (Microsoft.Insights/diagnosticSettings, 2021-05-01-preview) -------------


def _retention() -> Doc:
    return {"enabled": False, "days": 0}


def _log(category: str | None, group: str | None, enabled: bool) -> Doc:
    """A `logs` entry: ARM names either a category or a category group and nulls the other."""
    return {
        "category": category,
        "categoryGroup": group,
        "enabled": enabled,
        "retentionPolicy": _retention(),
    }


def log_group(group: str, *, enabled: bool = True) -> Doc:
    """A log entry by category group (`allLogs`, `audit`)."""
    return _log(None, group, enabled)


def log_category(category: str, *, enabled: bool = True) -> Doc:
    """A log entry by category (`AuditEvent`, `SQLSecurityAuditEvents`, ...)."""
    return _log(category, None, enabled)


def diagnostic_setting(
    resource: str,
    logs: list[Doc],
    *,
    name: str = "send-to-law-nw-security",
    workspace: str | None = SECURITY_WORKSPACE_ID,
    storage: str | None = None,
    metrics: bool = True,
) -> Doc:
    """One diagnostic setting of a resource, shaped like Microsoft's `listDiagnosticSettings`."""
    return {
        "id": f"{resource}/providers/microsoft.insights/diagnosticSettings/{name}",
        "type": "Microsoft.Insights/diagnosticSettings",
        "name": name,
        "properties": {
            "storageAccountId": storage,
            "serviceBusRuleId": None,
            "workspaceId": workspace,
            "eventHubAuthorizationRuleId": None,
            "eventHubName": None,
            "metrics": (
                [{"category": "AllMetrics", "enabled": True, "retentionPolicy": _retention()}]
                if metrics
                else []
            ),
            "logs": logs,
            "logAnalyticsDestinationType": None,
        },
    }


# -- the estate under construction ----------------------------------------------------------------


@dataclass
class Estate:
    """Collects resource rows, per-scope documents and gaps while the demo modules run."""

    resources: list[Doc] = field(default_factory=list)
    details: dict[str, dict[str, Any]] = field(default_factory=dict)
    gaps: list[CollectionGap] = field(default_factory=list)

    def add(self, row: Doc, diagnostics: list[Doc] | None = None) -> str:
        """Add an inventory row and its diagnostic settings (an empty list when none exist).

        Every resource gets a diagnostic-settings document, as a collector that read them would
        store: an empty list is evidence of "none configured", an absent document is not.
        """
        self.resources.append(row)
        self.doc(row["id"], DIAGNOSTIC_SETTINGS, arm_list(diagnostics or []))
        return str(row["id"])

    def add_logged(self, row: Doc, logs: list[Doc], *, enabled: bool = True) -> str:
        """Add an inventory row whose one diagnostic setting sends `logs` to the security workspace.

        This is how most demo resources are monitored. With `enabled` false the resource has no
        diagnostic setting at all (the story's unmonitored resources).
        """
        return self.add(row, [diagnostic_setting(str(row["id"]), logs)] if enabled else [])

    def doc(self, scope: str, source: str, body: Any) -> None:
        """Store the document `source` of `scope`."""
        self.details.setdefault(scope, {})[source] = body

    def gap(self, gap: CollectionGap) -> None:
        """Record data the demo collector 'could not read'."""
        self.gaps.append(gap)
