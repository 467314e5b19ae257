"""Logging and Defender evaluators through the engine: diagnostics, alerts, plans, policies."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from azaudit.casebook import CASE_SUBSCRIPTION
from azaudit.catalogue import Check, Rule
from azaudit.models import Status
from azaudit.snapshot import subscription_scope
from tests.evaluator_support import builtin_check, run_check, statuses

SUB = subscription_scope(CASE_SUBSCRIPTION)
OTHER_SUB = "/subscriptions/00000000-0000-0000-0000-0000000000c2"
DIAG = "providers/Microsoft.Insights/diagnosticSettings"
PRICINGS = "providers/Microsoft.Security/pricings"
CONTACTS = "providers/Microsoft.Security/securityContacts"
POLICIES = "providers/Microsoft.Authorization/policyAssignments"
WORKSPACE = f"{SUB}/resourceGroups/rg/providers/Microsoft.OperationalInsights/workspaces/law"
ALLOWED_LOCATIONS = "e56962a6-4747-49cd-b67b-bf8b01975c4c"
DEFINITION = f"/providers/Microsoft.Authorization/policyDefinitions/{ALLOWED_LOCATIONS}"
ALERT_TYPE = "microsoft.insights/activityLogAlerts"


def _setting(name: str, logs: list[dict[str, Any]], **destinations: str) -> dict[str, Any]:
    return {"name": name, "properties": {**destinations, "logs": logs}}


def _diag(*settings: dict[str, Any]) -> dict[str, Any]:
    return {"details": {DIAG: {"value": list(settings)}}}


# -- diagnostic settings -------------------------------------------------------------------------


def test_required_categories_must_all_be_in_one_setting() -> None:
    body = _diag(
        _setting("a", [{"category": "Administrative", "enabled": True}], workspaceId=WORKSPACE),
        _setting(
            "b",
            [
                {"category": "Security", "enabled": True},
                {"category": "Policy", "enabled": True},
                {"category": "Alert", "enabled": True},
            ],
            workspaceId=WORKSPACE,
        ),
    )
    (finding,) = run_check(builtin_check("log_activity_log_export"), body)
    assert finding.status is Status.FAIL
    assert "'a' does not enable Security, Policy, Alert" in finding.message


def test_category_names_compare_case_insensitively() -> None:
    logs = [
        {"category": c, "enabled": True} for c in ("administrative", "SECURITY", "Policy", "alert")
    ]
    (finding,) = run_check(
        builtin_check("log_activity_log_export"), _diag(_setting("x", logs, storageAccountId="sa"))
    )
    assert finding.status is Status.PASS


def test_marketplace_partner_is_a_destination() -> None:
    logs = [{"categoryGroup": "audit", "enabled": True}]
    body = _diag(
        _setting(
            "partner", logs, marketplacePartnerId="/subscriptions/x/providers/Datadog/monitors/m"
        )
    )
    (finding,) = run_check(
        builtin_check("log_keyvault_diag"),
        {**body, "resource": {"type": "Microsoft.KeyVault/vaults"}},
    )
    assert finding.status is Status.PASS


def test_audit_group_is_not_accepted_where_only_all_logs_is_configured() -> None:
    body = _diag(
        _setting("x", [{"categoryGroup": "audit", "enabled": True}], workspaceId=WORKSPACE)
    )
    (finding,) = run_check(builtin_check("log_activity_log_export"), body)
    assert finding.status is Status.FAIL


@pytest.mark.parametrize(
    "body",
    [
        {"details": {DIAG: {"value": [{"name": "x", "properties": {"logs": "all"}}]}}},
        {"details": {DIAG: {"value": [{"name": "x"}]}}},
        {"details": {DIAG: {"items": []}}},
    ],
)
def test_malformed_diagnostic_settings_are_errors(body: dict[str, Any]) -> None:
    body = {**body, "resource": {"type": "Microsoft.KeyVault/vaults"}}
    (finding,) = run_check(builtin_check("log_keyvault_diag"), body)
    assert finding.status is Status.ERROR


def test_managed_hsm_is_covered_by_the_key_vault_check() -> None:
    body = {**_diag(), "resource": {"type": "Microsoft.KeyVault/managedHSMs"}}
    (finding,) = run_check(builtin_check("log_keyvault_diag"), body)
    assert finding.status is Status.FAIL


def test_postgres_configurations_that_are_not_a_list_are_an_error() -> None:
    (finding,) = run_check(
        builtin_check("log_postgres_logging"),
        {"details": {"configurations": {"log_connections": "on"}}},
    )
    assert finding.status is Status.ERROR


# -- activity log alerts -------------------------------------------------------------------------


def _alert(
    name: str,
    operations: list[str],
    *,
    enabled: bool = True,
    scopes: list[str] | None = None,
    groups: bool = True,
    subscription: str = SUB,
) -> dict[str, Any]:
    return {
        "id": f"{subscription}/resourceGroups/rg/providers/{ALERT_TYPE}/{name}",
        "type": "microsoft.insights/activitylogalerts",
        "name": name,
        "subscriptionId": subscription.rsplit("/", 1)[-1],
        "properties": {
            "enabled": enabled,
            "scopes": scopes if scopes is not None else [subscription],
            "actions": {"actionGroups": [{"actionGroupId": "ag"}] if groups else []},
            "condition": {
                "allOf": [
                    {"field": "category", "equals": "Administrative"},
                    {"field": "operationName", "containsAny": operations},
                ]
            },
        },
    }


def _alerts_check(*operations: str) -> Check:
    check = builtin_check("log_activity_alerts")
    return replace(
        check,
        rule=Rule(check.rule.evaluator, {**check.rule.params, "operations": list(operations)}),
    )


NSG_WRITE = "Microsoft.Network/networkSecurityGroups/write"
NSG_DELETE = "Microsoft.Network/networkSecurityGroups/delete"


def test_contains_any_condition_covers_several_operations() -> None:
    (finding,) = run_check(
        _alerts_check(NSG_WRITE, NSG_DELETE), {"resources": [_alert("a", [NSG_WRITE, NSG_DELETE])]}
    )
    assert finding.status is Status.PASS
    assert finding.observed == {NSG_WRITE: "a", NSG_DELETE: "a"}


def test_one_finding_per_missing_operation() -> None:
    findings = run_check(
        _alerts_check(NSG_WRITE, NSG_DELETE), {"resources": [_alert("a", [NSG_WRITE])]}
    )
    assert statuses(findings) == [Status.FAIL]
    assert NSG_DELETE in findings[0].message


def test_alert_scoped_to_a_resource_group_does_not_count() -> None:
    alert = _alert("rg-only", [NSG_WRITE], scopes=[f"{SUB}/resourceGroups/rg"])
    (finding,) = run_check(_alerts_check(NSG_WRITE), {"resources": [alert]})
    assert finding.status is Status.FAIL
    assert "not scoped to the whole subscription" in finding.message


def test_alert_without_action_group_counts_only_when_allowed() -> None:
    body = {"resources": [_alert("silent", [NSG_WRITE], groups=False)]}
    assert statuses(run_check(_alerts_check(NSG_WRITE), body)) == [Status.FAIL]
    relaxed = run_check(_alerts_check(NSG_WRITE), body, require_action_group=False)
    assert statuses(relaxed) == [Status.PASS]


def test_alert_of_another_subscription_does_not_count() -> None:
    body = {"resources": [_alert("elsewhere", [NSG_WRITE], subscription=OTHER_SUB)]}
    (finding,) = run_check(_alerts_check(NSG_WRITE), body)
    assert finding.status is Status.FAIL


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("status", "Succeeded"),
        ("caller", "ops@contoso.com"),
        ("resourceGroup", "rg-prod"),
        (
            "resourceId",
            f"{SUB}/resourceGroups/rg-prod/providers/Microsoft.Network/networkSecurityGroups/web",
        ),
        ("level", "Critical"),
        ("category", "Security"),
        ("resourceType", "Microsoft.Sql/servers"),
    ],
)
def test_alert_narrowed_by_another_condition_does_not_cover(field: str, value: str) -> None:
    alert = _alert("narrow", [NSG_WRITE])
    alert["properties"]["condition"]["allOf"].append({"field": field, "equals": value})
    (finding,) = run_check(_alerts_check(NSG_WRITE), {"resources": [alert]})
    assert finding.status is Status.FAIL
    assert "'narrow' only fire(s) on some of its events" in finding.message
    assert finding.observed == ["narrow"]


def test_conditions_every_event_of_the_operation_meets_keep_the_alert() -> None:
    alert = _alert("typed", [NSG_WRITE])
    alert["properties"]["condition"]["allOf"] += [
        {"field": "resourceType", "equals": "microsoft.network/networksecuritygroups"},
        {"field": "resourceProvider", "containsAny": ["Microsoft.Network", "Microsoft.Sql"]},
        {
            "anyOf": [
                {"field": "caller", "equals": "x@contoso.com"},
                {"field": "category", "equals": "Administrative"},
            ]
        },
    ]
    (finding,) = run_check(_alerts_check(NSG_WRITE), {"resources": [alert]})
    assert finding.status is Status.PASS


def test_alert_on_every_administrative_event_covers_each_operation() -> None:
    alert = _alert("all-admin", [NSG_WRITE])
    alert["properties"]["condition"]["allOf"] = [{"field": "category", "equals": "Administrative"}]
    (finding,) = run_check(_alerts_check(NSG_WRITE, NSG_DELETE), {"resources": [alert]})
    assert (finding.status, finding.observed) == (
        Status.PASS,
        {NSG_WRITE: "all-admin", NSG_DELETE: "all-admin"},
    )


def test_a_narrowed_alert_does_not_hide_a_covering_one() -> None:
    narrow = _alert("narrow", [NSG_WRITE])
    narrow["properties"]["condition"]["allOf"].append({"field": "status", "equals": "Failed"})
    body = {"resources": [narrow, _alert("wide", [NSG_WRITE])]}
    (finding,) = run_check(_alerts_check(NSG_WRITE), body)
    assert (finding.status, finding.observed) == (Status.PASS, {NSG_WRITE: "wide"})


@pytest.mark.parametrize(
    "mutate",
    [
        lambda p: p.update(enabled="true"),
        lambda p: p.update(scopes=None),
        lambda p: p["condition"].update(allOf={"field": "category"}),
        lambda p: p["condition"]["allOf"].append({"field": "status"}),
        lambda p: p["condition"]["allOf"].append({"equals": "Succeeded"}),
    ],
)
def test_alerts_of_an_unknown_shape_are_errors(mutate: Any) -> None:
    alert = _alert("odd", [NSG_WRITE])
    mutate(alert["properties"])
    (finding,) = run_check(_alerts_check(NSG_WRITE), {"resources": [alert]})
    assert finding.status is Status.ERROR


# -- audit-trail categories per resource type ------------------------------------------------------

RESOURCE_DIAG = builtin_check("log_resource_diag")


def _typed(resource_type: str, *settings: dict[str, Any]) -> dict[str, Any]:
    return {"resource": {"type": resource_type}, **_diag(*settings)}


@pytest.mark.parametrize("category", ["kube-audit", "kube-audit-admin", "KUBE-AUDIT"])
def test_aks_audit_categories_pass(category: str) -> None:
    body = _typed(
        "Microsoft.ContainerService/managedClusters",
        _setting("aks", [{"category": category, "enabled": True}], workspaceId=WORKSPACE),
    )
    assert statuses(run_check(RESOURCE_DIAG, body)) == [Status.PASS]


@pytest.mark.parametrize(
    ("resource_type", "category"),
    [
        ("Microsoft.ContainerService/managedClusters", "kube-apiserver"),
        ("Microsoft.ContainerService/managedClusters", "guard"),
        ("Microsoft.DocumentDB/databaseAccounts", "PartitionKeyRUConsumption"),
        ("Microsoft.Network/applicationGateways", "ApplicationGatewayPerformanceLog"),
        ("Microsoft.Web/sites", "AppServiceConsoleLogs"),
    ],
)
def test_unrelated_categories_fail(resource_type: str, category: str) -> None:
    body = _typed(
        resource_type,
        _setting("ops", [{"category": category, "enabled": True}], workspaceId=WORKSPACE),
    )
    (finding,) = run_check(RESOURCE_DIAG, body)
    assert finding.status is Status.FAIL
    assert "enables none of the audit categories" in finding.message


def test_audit_group_satisfies_the_type_and_metrics_alone_do_not() -> None:
    group = _setting("g", [{"categoryGroup": "audit", "enabled": True}], workspaceId=WORKSPACE)
    metrics = {
        "name": "m",
        "properties": {
            "workspaceId": WORKSPACE,
            "metrics": [{"category": "AllMetrics", "enabled": True}],
        },
    }
    aks = "Microsoft.ContainerService/managedClusters"
    assert statuses(run_check(RESOURCE_DIAG, _typed(aks, group))) == [Status.PASS]
    (finding,) = run_check(RESOURCE_DIAG, _typed(aks, metrics))
    assert finding.status is Status.FAIL
    assert "enables no log category" in finding.message


def test_unmapped_resource_type_is_an_error_not_any_log() -> None:
    body = _typed(
        "Microsoft.ContainerService/managedClusters",
        _setting("x", [{"category": "kube-audit", "enabled": True}], workspaceId=WORKSPACE),
    )
    only_vaults = {"Microsoft.KeyVault/vaults": ["AuditEvent"]}
    (finding,) = run_check(RESOURCE_DIAG, body, audit_categories=only_vaults)
    assert finding.status is Status.ERROR


def test_every_targeted_type_has_audit_categories() -> None:
    mapped = {t.lower() for t in RESOURCE_DIAG.rule.params["audit_categories"]}
    assert {t.lower() for t in RESOURCE_DIAG.meta.resource_types} == mapped


def test_alert_without_properties_is_an_error() -> None:
    alert = _alert("broken", [NSG_WRITE])
    del alert["properties"]
    (finding,) = run_check(_alerts_check(NSG_WRITE), {"resources": [alert]})
    assert finding.status is Status.ERROR


# -- network watcher -----------------------------------------------------------------------------


def _row(kind: str, name: str, location: str, state: str = "Succeeded") -> dict[str, Any]:
    return {
        "id": f"{SUB}/resourceGroups/rg/providers/Microsoft.Network/{kind}/{name}",
        "type": f"Microsoft.Network/{kind}",
        "name": name,
        "location": location,
        "properties": {"provisioningState": state},
    }


def test_failed_network_watcher_does_not_cover_its_region() -> None:
    body = {
        "resources": [
            _row("virtualNetworks", "v", "eastus"),
            _row("networkWatchers", "nw", "eastus", state="Failed"),
        ]
    }
    (finding,) = run_check(builtin_check("log_network_watcher"), body)
    assert finding.status is Status.FAIL


def test_one_finding_per_region_without_a_watcher() -> None:
    body = {
        "resources": [
            _row("virtualNetworks", "v1", "eastus"),
            _row("virtualNetworks", "v2", "westus3"),
            _row("virtualNetworks", "v3", "West US 3"),
        ]
    }
    findings = run_check(builtin_check("log_network_watcher"), body)
    assert sorted(f.observed for f in findings) == ["eastus", "westus3"]


# -- policy assignments ---------------------------------------------------------------------------


def _locations(values: list[str], scope: str = SUB, **props: Any) -> dict[str, Any]:
    return {
        "details": {
            POLICIES: {
                "value": [
                    {
                        "id": f"{scope}/providers/Microsoft.Authorization/policyAssignments/loc",
                        "name": "loc",
                        "properties": {
                            "policyDefinitionId": DEFINITION,
                            "scope": scope,
                            "parameters": {"listOfAllowedLocations": {"value": values}},
                            **props,
                        },
                    }
                ]
            }
        }
    }


def test_global_in_the_allowed_list_is_harmless() -> None:
    (finding,) = run_check(
        builtin_check("residency_allowed_locations_assigned"), _locations(["eastus", "global"])
    )
    assert finding.status is Status.PASS


def test_root_scope_assignment_applies() -> None:
    (finding,) = run_check(
        builtin_check("residency_allowed_locations_assigned"), _locations(["westus2"], scope="/")
    )
    assert finding.status is Status.PASS


def test_subscription_excluded_through_not_scopes_of_a_parent() -> None:
    body = _locations(["eastus"], scope="/", notScopes=[SUB.upper()])
    (finding,) = run_check(builtin_check("residency_allowed_locations_assigned"), body)
    assert finding.status is Status.FAIL
    assert "does not cover" in finding.message


def test_policy_assignment_without_properties_is_an_error() -> None:
    body = {"details": {POLICIES: {"value": [{"id": "x"}]}}}
    (finding,) = run_check(builtin_check("mdc_hipaa_standard_assigned"), body)
    assert finding.status is Status.ERROR
