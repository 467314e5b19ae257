"""Flow logs, AKS access, App Service slots and per-type audit categories through the engine."""

from __future__ import annotations

from typing import Any

import pytest

from azaudit.casebook import CASE_SUBSCRIPTION
from azaudit.models import Status
from azaudit.snapshot import subscription_scope
from tests.evaluator_support import builtin_check, run_check, statuses

SUB = subscription_scope(CASE_SUBSCRIPTION)
VNET = f"{SUB}/resourceGroups/rg/providers/Microsoft.Network/virtualNetworks/vnet1"
WATCHER = f"{SUB}/resourceGroups/NetworkWatcherRG/providers/Microsoft.Network/networkWatchers/nw"
NSG = f"{SUB}/resourceGroups/rg/providers/Microsoft.Network/networkSecurityGroups"


def _subnet(name: str, nsg: str | None = None) -> dict[str, Any]:
    props: dict[str, Any] = {"addressPrefix": "10.0.1.0/24"}
    if nsg is not None:
        props["networkSecurityGroup"] = {"id": f"{NSG}/{nsg}"}
    return {"name": name, "id": f"{VNET}/subnets/{name}", "properties": props}


def _log(target: str, *, enabled: bool = True, days: int = 90) -> dict[str, Any]:
    return {
        "name": target.rsplit("/", 1)[-1] + "-log",
        "properties": {
            "targetResourceId": target,
            "enabled": enabled,
            "retentionPolicy": {"days": days, "enabled": True},
        },
    }


def _vnet(subnets: list[dict[str, Any]], *logs: dict[str, Any], region: str = "eastus") -> Any:
    watcher = {
        "id": WATCHER,
        "type": "Microsoft.Network/networkWatchers",
        "name": "nw",
        "location": "East US",
        "subscriptionId": CASE_SUBSCRIPTION,
        "properties": {"provisioningState": "Succeeded"},
    }
    return {
        "resource": {"id": VNET, "location": region, "properties": {"subnets": subnets}},
        "resources": [watcher],
        "scopes": {WATCHER: {"flowLogs": {"value": list(logs)}}},
    }


FLOW = builtin_check("log_flow_logs")


def test_vnet_flow_log_covers_every_subnet() -> None:
    body = _vnet([_subnet("a"), _subnet("b")], _log(VNET))
    (finding,) = run_check(FLOW, body)
    assert finding.status is Status.PASS


def test_nsg_flow_logs_leave_a_subnet_without_nsg_unrecorded() -> None:
    body = _vnet([_subnet("app", "nsg-app"), _subnet("aks")], _log(f"{NSG}/nsg-app"))
    (finding,) = run_check(FLOW, body)
    assert finding.status is Status.FAIL
    assert finding.observed == ["aks"]


def test_nsg_flow_logs_on_every_subnet_pass_with_the_retirement_noted() -> None:
    body = _vnet([_subnet("app", "nsg-app")], _log(f"{NSG}/nsg-app"))
    (finding,) = run_check(FLOW, body)
    assert finding.status is Status.PASS
    assert "retired" in finding.message


@pytest.mark.parametrize(("days", "status"), [(0, Status.PASS), (30, Status.FAIL)])
def test_retention_zero_keeps_forever_and_short_retention_fails(days: int, status: Status) -> None:
    (finding,) = run_check(FLOW, _vnet([], _log(VNET, days=days)))
    assert finding.status is status


def test_watcher_in_another_region_does_not_count() -> None:
    (finding,) = run_check(FLOW, _vnet([], _log(VNET), region="westus2"))
    assert finding.status is Status.FAIL
    assert "no Network Watcher in westus2" in finding.message


def test_unreadable_flow_logs_are_an_error_unless_the_vnet_is_covered() -> None:
    body = _vnet([])
    del body["scopes"]
    body["gaps"] = [{"scope": WATCHER, "source": "flowLogs", "reason": "403"}]
    (finding,) = run_check(FLOW, body)
    assert finding.status is Status.ERROR


# -- AKS ------------------------------------------------------------------------------------------

RBAC = builtin_check("idn_aks_rbac_entra")
API = builtin_check("net_aks_api_server_restricted")


def test_local_accounts_absent_means_enabled() -> None:
    body = {"resource": {"properties": {"enableRBAC": True, "aadProfile": {"managed": True}}}}
    (finding,) = run_check(RBAC, body)
    assert finding.status is Status.FAIL
    assert "local accounts are enabled" in finding.message


@pytest.mark.parametrize(
    ("ranges", "status"),
    [
        (["198.51.100.0/24"], Status.PASS),
        (["0.0.0.0/0"], Status.FAIL),
        (["10.0.0.0/7"], Status.FAIL),
        (["2001:db8::/48"], Status.PASS),
        ([], Status.FAIL),
    ],
)
def test_authorized_ranges(ranges: list[str], status: Status) -> None:
    body = {"resource": {"properties": {"apiServerAccessProfile": {"authorizedIPRanges": ranges}}}}
    (finding,) = run_check(API, body)
    assert finding.status is status


# -- App Service slots ----------------------------------------------------------------------------

SLOT = {"type": "Microsoft.Web/sites/slots", "name": "app/staging"}


@pytest.mark.parametrize(
    ("check_id", "config"),
    [
        ("eit_app_tls12", {"minTlsVersion": "1.0", "scmMinTlsVersion": "1.2"}),
        ("eit_app_ftps", {"ftpsState": "AllAllowed"}),
        ("net_app_remote_debug_off", {"remoteDebuggingEnabled": True}),
        ("net_app_cors_wildcard", {"cors": {"allowedOrigins": ["*"]}}),
    ],
)
def test_slot_configuration_is_judged(check_id: str, config: dict[str, Any]) -> None:
    body = {"resource": SLOT, "details": {"config/web": {"properties": config}}}
    (finding,) = run_check(builtin_check(check_id), body)
    assert finding.status is Status.FAIL


def test_slot_https_only_is_judged() -> None:
    body = {"resource": {**SLOT, "properties": {"httpsOnly": False}}}
    assert statuses(run_check(builtin_check("eit_app_https_only"), body)) == [Status.FAIL]


# -- audit categories -----------------------------------------------------------------------------

DIAG = "providers/Microsoft.Insights/diagnosticSettings"
WORKSPACE = f"{SUB}/resourceGroups/rg/providers/Microsoft.OperationalInsights/workspaces/law"


@pytest.mark.parametrize(
    ("rtype", "category", "status"),
    [
        ("Microsoft.RecoveryServices/vaults", "CoreAzureBackup", Status.FAIL),
        ("Microsoft.RecoveryServices/vaults", "AddonAzureBackupJobs", Status.PASS),
        ("Microsoft.EventHub/namespaces", "RuntimeAuditLogs", Status.PASS),
        ("Microsoft.EventHub/namespaces", "ArchiveLogs", Status.FAIL),
        ("Microsoft.ServiceBus/namespaces", "OperationalLogs", Status.PASS),
        ("Microsoft.Devices/IotHubs", "DeviceTelemetry", Status.FAIL),
        ("Microsoft.Devices/IotHubs", "DeviceIdentityOperations", Status.PASS),
        ("Microsoft.StreamAnalytics/streamingjobs", "Execution", Status.FAIL),
        ("Microsoft.Batch/batchAccounts", "AuditLog", Status.PASS),
    ],
)
def test_audit_categories_per_type(rtype: str, category: str, status: Status) -> None:
    setting = {
        "name": "s",
        "properties": {
            "workspaceId": WORKSPACE,
            "logs": [{"category": category, "enabled": True}],
        },
    }
    body = {"resource": {"type": rtype}, "details": {DIAG: {"value": [setting]}}}
    (finding,) = run_check(builtin_check("log_resource_diag"), body)
    assert finding.status is status
