"""Azure SQL evaluators through the engine: where audit events really go and how long they stay,
firewall rules that take effect, Entra-only logins, vulnerability assessment, LTR, managed
instances, and the demo tenant's SQL story."""

from __future__ import annotations

from typing import Any

import pytest

from azaudit.casebook import CASE_SUBSCRIPTION, case_config
from azaudit.collect.plan import arm_url, build_plan
from azaudit.demo.build import build_demo_snapshot
from azaudit.engine import evaluate
from azaudit.models import Finding, Severity, Status, TargetKind
from azaudit.sources import find_source
from tests.catalogue_support import builtin_catalogue
from tests.evaluator_support import builtin_check, run_check

SUB = f"/subscriptions/{CASE_SUBSCRIPTION}"
SERVER_ID = f"{SUB}/resourceGroups/rg-case/providers/Microsoft.Sql/servers/case-resource"
MASTER = "databases/master/providers/Microsoft.Insights/diagnosticSettings"
WS = f"{SUB}/resourceGroups/rg-sec/providers/Microsoft.OperationalInsights/workspaces/law-a"
WS_B = f"{SUB}/resourceGroups/rg-sec/providers/Microsoft.OperationalInsights/workspaces/law-b"
TABLE = "tables"

AUDITING = builtin_check("log_sql_auditing")
RETENTION = builtin_check("log_sql_audit_retention")


def _policy(**props: Any) -> dict[str, Any]:
    """A server auditing policy as `ServerBlobAuditingPolicies_Get` returns it."""
    base: dict[str, Any] = {
        "state": "Enabled",
        "storageEndpoint": "",
        "retentionDays": 0,
        "auditActionsAndGroups": ["BATCH_COMPLETED_GROUP"],
        "isAzureMonitorTargetEnabled": True,
    }
    base.update(props)
    return {"name": "Default", "type": "Microsoft.Sql/servers/auditingSettings", "properties": base}


def _setting(name: str, logs: list[dict[str, Any]], **destinations: str) -> dict[str, Any]:
    return {
        "id": f"{SERVER_ID}/databases/master/providers/microsoft.insights/"
        f"diagnosticSettings/{name}",
        "name": name,
        "properties": {"logs": logs, "metrics": [], **destinations},
    }


AUDIT_LOG = [{"category": "SQLSecurityAuditEvents", "enabled": True}]


def _workspace(rid: str, days: int) -> dict[str, Any]:
    return {
        "id": rid,
        "name": rid.rsplit("/", 1)[-1],
        "type": "Microsoft.OperationalInsights/workspaces",
        "properties": {"retentionInDays": days, "sku": {"name": "PerGB2018"}},
    }


def _table(total: int, interactive: int | None = None) -> dict[str, Any]:
    return {
        "name": "AzureDiagnostics",
        "properties": {
            "retentionInDays": total if interactive is None else interactive,
            "totalRetentionInDays": total,
            "retentionInDaysAsDefault": interactive is None,
        },
    }


def _body(
    policy: dict[str, Any],
    settings: list[dict[str, Any]],
    workspaces: dict[str, tuple[int, dict[str, Any] | None]] | None = None,
    gaps: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    workspaces = workspaces or {}
    return {
        "resource": {"name": "case-resource", "properties": {"publicNetworkAccess": "Disabled"}},
        "details": {"auditingSettings/default": policy, MASTER: {"value": settings}},
        "resources": [_workspace(rid, days) for rid, (days, _) in workspaces.items()],
        "scopes": {
            rid: {TABLE: {"value": [table]}} for rid, (_, table) in workspaces.items() if table
        },
        "gaps": gaps or [],
    }


def _one(check: Any, body: dict[str, Any]) -> Finding:
    (finding,) = run_check(check, body)
    return finding


# -- auditing: events must arrive ------------------------------------------------------------------


def test_azure_monitor_target_without_master_setting_is_not_an_audit_trail() -> None:
    """The false PASS: `state: Enabled` to Log Analytics, but nothing sends the events."""
    finding = _one(AUDITING, _body(_policy(), []))
    assert finding.status is Status.FAIL
    assert "master database" in finding.message
    assert finding.observed == {
        "state": "Enabled",
        "isAzureMonitorTargetEnabled": True,
        "masterDiagnosticSettings": [],
    }


@pytest.mark.parametrize(
    "logs",
    [
        [{"category": "SQLSecurityAuditEvents", "enabled": True}],
        [{"categoryGroup": "audit", "enabled": True}],
        [{"categoryGroup": "allLogs", "enabled": True}],
    ],
)
def test_master_setting_sending_the_audit_category_delivers(logs: list[dict[str, Any]]) -> None:
    finding = _one(AUDITING, _body(_policy(), [_setting("a", logs, workspaceId=WS)]))
    assert finding.status is Status.PASS
    assert "'a'" in finding.message


@pytest.mark.parametrize(
    "setting",
    [
        _setting("off", [{"category": "SQLSecurityAuditEvents", "enabled": False}], workspaceId=WS),
        _setting("other", [{"category": "SQLInsights", "enabled": True}], workspaceId=WS),
        _setting("nowhere", AUDIT_LOG),
        _setting("metrics-only", [], workspaceId=WS),
    ],
)
def test_master_settings_that_do_not_carry_audit_events_fail(setting: dict[str, Any]) -> None:
    assert _one(AUDITING, _body(_policy(), [setting])).status is Status.FAIL


def test_storage_destination_passes_without_a_master_setting() -> None:
    policy = _policy(storageEndpoint="https://st.blob.core.windows.net/", retentionDays=90)
    assert _one(AUDITING, _body(policy, [])).status is Status.PASS


def test_enabled_policy_with_no_destination_fails() -> None:
    finding = _one(AUDITING, _body(_policy(isAzureMonitorTargetEnabled=False), []))
    assert finding.status is Status.FAIL
    assert "no destination" in finding.message


def test_absent_monitor_flag_is_no_destination_not_a_pass() -> None:
    policy = _policy()
    del policy["properties"]["isAzureMonitorTargetEnabled"]
    settings = [_setting("a", AUDIT_LOG, workspaceId=WS)]
    assert _one(AUDITING, _body(policy, settings)).status is Status.FAIL


@pytest.mark.parametrize(
    "setting",
    [
        {"name": "x", "properties": {"workspaceId": WS, "logs": [{"enabled": True}]}},
        {"name": "x", "properties": {"workspaceId": WS, "logs": [{"category": "A"}]}},
        {"name": "x", "properties": {"workspaceId": WS, "logs": "SQLSecurityAuditEvents"}},
        {"properties": {"workspaceId": WS, "logs": AUDIT_LOG}},
        "not-a-setting",
    ],
)
def test_unreadable_master_settings_are_errors(setting: Any) -> None:
    finding = _one(AUDITING, _body(_policy(), [setting]))
    assert finding.status is Status.ERROR


# -- retention: the workspace table's, not retentionDays -------------------------------------------


def test_log_analytics_only_retention_zero_is_not_forever() -> None:
    """The false PASS: retentionDays 0 ("unlimited") governs storage only."""
    body = _body(
        _policy(retentionDays=0),
        [_setting("a", AUDIT_LOG, workspaceId=WS)],
        {WS: (30, _table(30))},
    )
    finding = _one(RETENTION, body)
    assert finding.status is Status.FAIL
    assert "law-a" in finding.message and "30 days" in finding.message
    assert "storage destination only" in finding.message
    assert finding.observed["workspaceRetention"] == {
        "law-a": {"retentionInDays": 30, "totalRetentionInDays": 30}
    }


def test_table_retention_below_the_workspace_default_decides() -> None:
    body = _body(_policy(), [_setting("a", AUDIT_LOG, workspaceId=WS)], {WS: (365, _table(30))})
    assert _one(RETENTION, body).status is Status.FAIL


def test_table_long_term_retention_counts() -> None:
    body = _body(_policy(), [_setting("a", AUDIT_LOG, workspaceId=WS)], {WS: (30, _table(400, 30))})
    finding = _one(RETENTION, body)
    assert finding.status is Status.PASS
    assert "400 days" in finding.message


def test_workspace_id_matches_case_insensitively() -> None:
    body = _body(
        _policy(), [_setting("a", AUDIT_LOG, workspaceId=WS.lower())], {WS: (120, _table(120))}
    )
    assert _one(RETENTION, body).status is Status.PASS


def test_one_long_enough_workspace_of_several_passes() -> None:
    settings = [
        _setting("short", AUDIT_LOG, workspaceId=WS),
        _setting("long", AUDIT_LOG, workspaceId=WS_B),
    ]
    body = _body(_policy(), settings, {WS: (30, _table(30)), WS_B: (365, _table(365))})
    assert _one(RETENTION, body).status is Status.PASS


def test_event_hub_only_cannot_prove_retention() -> None:
    hub = (
        "/subscriptions/x/resourceGroups/r/providers/Microsoft.EventHub/namespaces/n/"
        "authorizationrules/a"
    )
    body = _body(_policy(), [_setting("siem", AUDIT_LOG, eventHubAuthorizationRuleId=hub)])
    assert _one(AUDITING, body).status is Status.PASS
    finding = _one(RETENTION, body)
    assert finding.status is Status.FAIL
    assert "event hub" in finding.message


def test_storage_retention_proves_it_without_reading_workspaces() -> None:
    """Partial evidence: an unreadable workspace table cannot hide storage's proven retention."""
    policy = _policy(storageEndpoint="https://st.blob.core.windows.net/", retentionDays=0)
    gap = {"scope": WS, "source": TABLE, "reason": "403 AuthorizationFailed"}
    body = _body(policy, [_setting("a", AUDIT_LOG, workspaceId=WS)], {WS: (30, None)}, [gap])
    assert _one(RETENTION, body).status is Status.PASS


def test_short_storage_falls_back_to_the_workspace() -> None:
    policy = _policy(storageEndpoint="https://st.blob.core.windows.net/", retentionDays=30)
    body = _body(policy, [_setting("a", AUDIT_LOG, workspaceId=WS)], {WS: (180, _table(180))})
    assert _one(RETENTION, body).status is Status.PASS
    body = _body(policy, [_setting("a", AUDIT_LOG, workspaceId=WS)], {WS: (60, _table(60))})
    finding = _one(RETENTION, body)
    assert finding.status is Status.FAIL
    assert "storage keeps them 30 days" in finding.message


@pytest.mark.parametrize(
    ("workspaces", "gaps"),
    [
        ({}, []),  # workspace not in the inventory
        ({WS: (365, None)}, [{"scope": WS, "source": TABLE, "reason": "403"}]),
        ({WS: (365, None)}, []),  # table document never collected
        ({WS: (365, {"properties": {"retentionInDays": 365}})}, []),
        ({WS: (365, _table(365))}, [{"scope": SUB, "source": "resources", "reason": "403"}]),
    ],
)
def test_unknown_workspace_retention_is_an_error_never_a_pass(
    workspaces: dict[str, tuple[int, dict[str, Any] | None]], gaps: list[dict[str, Any]]
) -> None:
    body = _body(_policy(), [_setting("a", AUDIT_LOG, workspaceId=WS)], workspaces, gaps)
    assert _one(RETENTION, body).status is Status.ERROR


# -- firewall rules that take effect ---------------------------------------------------------------

OPEN = builtin_check("net_sql_firewall_open")
DORMANT = builtin_check("net_sql_firewall_dormant")
ALLOW_ALL = {
    "name": "AllowAll",
    "properties": {"startIpAddress": "0.0.0.0", "endIpAddress": "255.255.255.255"},  # noqa: S104
}


def _server(access: str | None, *rules: dict[str, Any]) -> dict[str, Any]:
    props = {} if access is None else {"publicNetworkAccess": access}
    return {"resource": {"properties": props}, "details": {"firewallRules": {"value": list(rules)}}}


def test_rules_on_a_private_server_are_not_a_high_fail_but_a_low_one() -> None:
    """The false FAIL: with public access Disabled the rules have no effect."""
    high = _one(OPEN, _server("Disabled", ALLOW_ALL))
    assert high.status is Status.NOT_APPLICABLE
    assert high.property_path == "properties.publicNetworkAccess"
    assert high.observed == "Disabled"
    low = _one(DORMANT, _server("Disabled", ALLOW_ALL))
    assert low.status is Status.FAIL
    assert DORMANT.meta.severity is Severity.LOW
    assert low.resource_id.endswith("/firewallRules/AllowAll")
    assert "re-enabled" in low.message


@pytest.mark.parametrize("access", ["Enabled", "SecuredByPerimeter", None])
def test_rules_in_force_stay_high(access: str | None) -> None:
    assert _one(OPEN, _server(access, ALLOW_ALL)).status is Status.FAIL
    assert _one(DORMANT, _server(access, ALLOW_ALL)).status is Status.NOT_APPLICABLE


@pytest.mark.parametrize("access", ["disabled ", 0, ["Disabled"]])
def test_unknown_public_access_is_an_error(access: Any) -> None:
    assert _one(OPEN, _server(access, ALLOW_ALL)).status is Status.ERROR
    assert _one(DORMANT, _server(access, ALLOW_ALL)).status is Status.ERROR


# -- Entra-only authentication ---------------------------------------------------------------------

ENTRA = builtin_check("idn_sql_entra_auth")


def _entra(admins: list[dict[str, Any]], only: Any) -> dict[str, Any]:
    return {
        "details": {
            "administrators": {"value": admins},
            "azureADOnlyAuthentications/Default": {
                "properties": {"azureADOnlyAuthentication": only}
            },
        }
    }


ADMIN = {"properties": {"administratorType": "ActiveDirectory", "login": "sg-sql-admins"}}


@pytest.mark.parametrize(
    ("admins", "only", "status"),
    [
        ([ADMIN], True, Status.PASS),
        ([ADMIN], False, Status.FAIL),
        ([], False, Status.FAIL),
        ([], True, Status.FAIL),
        ([ADMIN], "true", Status.ERROR),
        (
            [{"properties": {"administratorType": "ActiveDirectory", "login": ""}}],
            True,
            Status.ERROR,
        ),
        ([{"properties": {"login": "x"}}], True, Status.ERROR),
    ],
)
def test_entra_only_needs_an_admin_and_the_flag(
    admins: list[dict[str, Any]], only: Any, status: Status
) -> None:
    assert _one(ENTRA, _entra(admins, only)).status is status


def test_entra_check_covers_managed_instances() -> None:
    body = _entra([ADMIN], False) | {"resource": {"type": "Microsoft.Sql/managedInstances"}}
    finding = _one(ENTRA, body)
    assert finding.status is Status.FAIL
    assert finding.resource_type == "Microsoft.Sql/managedInstances"


# -- vulnerability assessment ----------------------------------------------------------------------

VA = builtin_check("mdc_sql_vuln_assessment")


def _va(express: Any, classic: dict[str, Any]) -> dict[str, Any]:
    return {
        "details": {
            "sqlVulnerabilityAssessments/default": {"properties": {"state": express}},
            "vulnerabilityAssessments/default": {"properties": classic},
        }
    }


@pytest.mark.parametrize(
    ("express", "classic", "status"),
    [
        ("Enabled", {}, Status.PASS),
        (
            "Disabled",
            {"storageContainerPath": "https://s/va/", "recurringScans": {"isEnabled": True}},
            Status.PASS,
        ),
        (
            "Disabled",
            {"storageContainerPath": "https://s/va/", "recurringScans": {"isEnabled": False}},
            Status.FAIL,
        ),
        ("Disabled", {"storageContainerPath": "https://s/va/"}, Status.FAIL),
        ("Disabled", {}, Status.FAIL),
        ("enabled", {}, Status.ERROR),
        ("Disabled", {"recurringScans": "on"}, Status.ERROR),
    ],
)
def test_vulnerability_assessment_express_or_classic(
    express: Any, classic: dict[str, Any], status: Status
) -> None:
    assert _one(VA, _va(express, classic)).status is status


# -- long-term retention and geo-redundant backups -------------------------------------------------

LTR = builtin_check("bkp_sql_ltr_geo")


def _db(redundancy: Any, **policy: Any) -> dict[str, Any]:
    return {
        "resource": {"name": "db1", "properties": {"requestedBackupStorageRedundancy": redundancy}},
        "details": {"backupLongTermRetentionPolicies/default": {"properties": policy}},
    }


@pytest.mark.parametrize(
    ("redundancy", "policy", "status"),
    [
        ("Geo", {"weeklyRetention": "P4W"}, Status.PASS),
        ("GeoZone", {"yearlyRetention": "P10Y", "weeklyRetention": "PT0S"}, Status.PASS),
        ("Geo", {"monthlyRetention": "P0M", "weeklyRetention": "PT0S"}, Status.FAIL),
        ("Geo", {}, Status.FAIL),
        ("Zone", {"weeklyRetention": "P4W"}, Status.FAIL),
        ("Local", {"weeklyRetention": "P4W"}, Status.FAIL),
        ("geo", {"weeklyRetention": "P4W"}, Status.ERROR),
        ("Geo", {"weeklyRetention": "P"}, Status.ERROR),
        ("Geo", {"weeklyRetention": 4}, Status.ERROR),
    ],
)
def test_ltr_and_geo_redundancy(redundancy: Any, policy: dict[str, Any], status: Status) -> None:
    assert _one(LTR, _db(redundancy, **policy)).status is status


def test_ltr_failure_names_both_problems() -> None:
    finding = _one(LTR, _db("Local"))
    assert "no long-term retention" in finding.message
    assert "Local-redundant" in finding.message


# -- managed instances -----------------------------------------------------------------------------


def test_managed_instance_databases_are_checked_for_tde() -> None:
    tde = builtin_check("ear_sql_tde_enabled")
    body = {
        "resource": {"type": "Microsoft.Sql/managedInstances/databases", "name": "db1"},
        "details": {"transparentDataEncryption/current": {"properties": {"state": "Disabled"}}},
    }
    assert _one(tde, body).status is Status.FAIL


def test_managed_instance_public_data_endpoint() -> None:
    check = builtin_check("net_sql_mi_public_endpoint")
    on = {"resource": {"properties": {"publicDataEndpointEnabled": True}}}
    off = {"resource": {"properties": {"publicDataEndpointEnabled": False}}}
    assert _one(check, on).status is Status.FAIL
    assert _one(check, off).status is Status.PASS


def test_managed_instance_documents_are_collected() -> None:
    plan = build_plan(builtin_catalogue().checks)
    row = {"type": "Microsoft.Sql/managedInstances"}
    names = {source.name for source in plan.sources_for(row)}
    assert {"encryptionProtector/current", "administrators"} <= names
    assert "azureADOnlyAuthentications/Default" in names
    db_names = {
        s.name for s in plan.sources_for({"type": "Microsoft.Sql/managedInstances/databases"})
    }
    assert "transparentDataEncryption/current" in db_names


def test_master_database_settings_are_read_under_the_server() -> None:
    source = find_source(TargetKind.RESOURCE, MASTER)
    assert source is not None
    assert arm_url("https://management.azure.com", SERVER_ID, source) == (
        f"https://management.azure.com{SERVER_ID}/databases/master/providers/"
        "Microsoft.Insights/diagnosticSettings?api-version=2021-05-01-preview"
    )
    plan = build_plan(builtin_catalogue().checks)
    assert source in plan.sources_for({"type": "Microsoft.Sql/servers"})
    assert source not in plan.sources_for({"type": "Microsoft.Sql/servers/databases"})


# -- the demo tenant -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def demo_findings() -> dict[tuple[str, str], Finding]:
    catalogue = builtin_catalogue()
    findings = evaluate(build_demo_snapshot(), catalogue.checks, case_config())
    return {(f.check_id, f.resource_id.rsplit("/", 1)[-1]): f for f in findings}


def test_demo_log_analytics_only_server_keeps_events_30_days(
    demo_findings: dict[tuple[str, str], Finding],
) -> None:
    assert demo_findings[("log_sql_auditing", "sql-nw-dev-eus")].status is Status.PASS
    retention = demo_findings[("log_sql_audit_retention", "sql-nw-dev-eus")]
    assert retention.status is Status.FAIL
    assert "law-nw-dev-eus" in retention.message
    billing = demo_findings[("log_sql_audit_retention", "sql-nw-portal-billing")]
    assert billing.status is Status.PASS
    assert "law-nw-security-eus" in billing.message


def test_demo_dormant_rule_is_low_not_high(demo_findings: dict[tuple[str, str], Finding]) -> None:
    assert (
        demo_findings[("net_sql_firewall_open", "sql-nw-portal-billing")].status
        is Status.NOT_APPLICABLE
    )
    dormant = demo_findings[("net_sql_firewall_dormant", "AllowAllWindowsAzureIps")]
    assert dormant.status is Status.FAIL
    assert "sql-nw-portal-billing" in dormant.resource_id


def test_managed_instance_vulnerability_assessment_reads_classic_only() -> None:
    check = builtin_check("mdc_sql_mi_vuln_assessment")
    classic = {"storageContainerPath": "https://s/va/", "recurringScans": {"isEnabled": True}}
    body = {
        "resource": {"type": "Microsoft.Sql/managedInstances"},
        "details": {"vulnerabilityAssessments/default": {"properties": classic}},
    }
    finding = _one(check, body)
    assert finding.status is Status.PASS
    assert "express.state" not in finding.observed
    body["details"] = {"vulnerabilityAssessments/default": {"properties": {}}}
    finding = _one(check, body)
    assert finding.status is Status.FAIL
    assert "express" not in finding.message


def test_a_workspace_without_the_audit_table_yet_is_judged_on_its_default() -> None:
    """The table is created with the workspace default when the first audit events arrive."""
    other = {**_table(730), "name": "SigninLogs"}
    body = _body(_policy(), [_setting("a", AUDIT_LOG, workspaceId=WS)], {WS: (30, other)})
    assert _one(RETENTION, body).status is Status.FAIL
    body = _body(_policy(), [_setting("a", AUDIT_LOG, workspaceId=WS)], {WS: (120, other)})
    assert _one(RETENTION, body).status is Status.PASS
