"""Azure SQL evaluators: where audit events really go, firewall rules, Entra-only logins, VA, LTR.

Azure SQL spreads one control over several documents: a server audits to Log Analytics only when
its auditing policy targets Azure Monitor *and* a diagnostic setting of its master database sends
`SQLSecurityAuditEvents` somewhere; the retention of those events is then the workspace table's,
not the policy's `retentionDays`. These evaluators join the documents so that a policy that looks
enabled is not mistaken for an audit trail that exists.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from azaudit.evaluators import network
from azaudit.evaluators.access import (
    ShapeError,
    objects,
    optional_bool,
    optional_list,
    optional_obj,
    optional_str,
    require_bool,
    require_int,
    require_nonempty_str,
    require_obj,
    require_str,
)
from azaudit.evaluators.base import (
    EvalContext,
    EvaluatorSpec,
    MissingData,
    Outcome,
    Param,
    list_values,
)
from azaudit.evaluators.common import RESOURCE_ONLY, resource_properties
from azaudit.evaluators.monitoring import WORKSPACE_TABLES, table_retention
from azaudit.models import JSON, Status
from azaudit.snapshot import subscription_of
from azaudit.sources import DIAGNOSTIC_SETTINGS, INVENTORY

AUDITING = "auditingSettings/default"
MASTER_DIAGNOSTICS = "databases/master/" + DIAGNOSTIC_SETTINGS
AUDIT_TABLE = "AzureDiagnostics"
WORKSPACE_TYPE = "Microsoft.OperationalInsights/workspaces"
AUDIT_CATEGORY = "SQLSecurityAuditEvents"
AUDIT_GROUPS = frozenset({"audit", "alllogs"})
"""Category groups that include `SQLSecurityAuditEvents` on a SQL database."""

OTHER_DESTINATIONS = {
    "eventHubAuthorizationRuleId": "event hub",
    "storageAccountId": "storage account (diagnostic setting)",
    "marketplacePartnerId": "partner solution",
}
"""Diagnostic-setting destinations whose retention Azure does not expose to a reader."""

STATES = ("Enabled", "Disabled")
PUBLIC_ACCESS = ("Enabled", "Disabled", "SecuredByPerimeter")
REDUNDANCY = {"Geo": True, "GeoZone": True, "Local": False, "Zone": False}
"""`requestedBackupStorageRedundancy` values and whether they survive a regional outage."""

_DURATION = re.compile(
    r"^P(?:(\d+)Y)?(?:(\d+)M)?(?:(\d+)W)?(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?)?$"
)


def _state(props: Mapping[str, Any], path: str, at: str) -> str:
    """An `Enabled`/`Disabled` state (anything else is an unknown shape, never "disabled")."""
    value = require_str(props, path, at=at)
    if value not in STATES:
        raise ShapeError(f"{at}.{path}", "Enabled or Disabled", repr(value))
    return value


# -- auditing --------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Delivery:
    """A diagnostic setting of the master database that carries the audit events."""

    setting: str
    workspace: str | None
    others: tuple[str, ...]


def _carries_audit(props: Mapping[str, Any], at: str) -> bool:
    """Whether a setting enables `SQLSecurityAuditEvents` directly or through a category group.

    `logs` is omitted when no log is configured
    (https://learn.microsoft.com/rest/api/monitor/diagnostic-settings/get).
    """
    for index, log in enumerate(objects(optional_list(props, "logs", at=at), at=f"{at}.logs")):
        log_at = f"{at}.logs[{index}]"
        if not require_bool(log, "enabled", at=log_at):
            continue
        category = optional_str(log, "category", at=log_at)
        group = optional_str(log, "categoryGroup", at=log_at)
        if not category and not group:
            raise ShapeError(f"{log_at}.category", "a category or categoryGroup", "neither")
        if (category or "").lower() == AUDIT_CATEGORY.lower():
            return True
        if (group or "").lower() in AUDIT_GROUPS:
            return True
    return False


def _deliveries(ctx: EvalContext) -> list[_Delivery]:
    """The master database's diagnostic settings that send the audit events to a destination.

    Azure delivers server-level audit events to Log Analytics or Event Hubs only through such a
    setting (https://learn.microsoft.com/rest/api/sql/server-blob-auditing-policies/get,
    `isAzureMonitorTargetEnabled`: "for server level audit you should use the 'master'
    database"). Each destination is omitted when unused.
    """
    found: list[_Delivery] = []
    settings = objects(list_values(ctx.own(MASTER_DIAGNOSTICS), MASTER_DIAGNOSTICS), at="settings")
    for index, setting in enumerate(settings):
        name = require_str(setting, "name", at=f"master diagnosticSettings[{index}]")
        at = f"master diagnosticSettings[name={name}].properties"
        props = require_obj(setting, "properties", at=f"master diagnosticSettings[name={name}]")
        if not _carries_audit(props, at):
            continue
        workspace = optional_str(props, "workspaceId", at=at) or None
        others = tuple(
            label for key, label in OTHER_DESTINATIONS.items() if optional_str(props, key, at=at)
        )
        if workspace or others:
            found.append(_Delivery(name, workspace, others))
    return found


def _workspace_retention(ctx: EvalContext, workspace_id: str) -> tuple[str, int, int]:
    """`(name, workspace retention, AzureDiagnostics total retention)` of a workspace.

    SQL audit events land in the `AzureDiagnostics` table
    (https://learn.microsoft.com/azure/azure-sql/database/audit-log-format); a table's own
    retention (and long-term retention) overrides the workspace default
    (https://learn.microsoft.com/azure/azure-monitor/logs/data-retention-configure), so the
    table's `totalRetentionInDays` decides how long they are kept.
    """
    subscription = subscription_of(workspace_id)
    if subscription is None:
        raise ShapeError("workspaceId", "an ARM resource id", repr(workspace_id))
    row = next(
        (
            r
            for r in ctx.resources_of_type(WORKSPACE_TYPE, subscription_id=subscription)
            if str(r.get("id", "")).lower() == workspace_id.lower()
        ),
        None,
    )
    if row is None:
        raise MissingData(
            workspace_id,
            INVENTORY,
            "the Log Analytics workspace is not in the inventory (its subscription was not "
            "scanned, or it no longer exists)",
        )
    name = str(row.get("name") or workspace_id)
    workspace_days = require_int(row, "properties.retentionInDays", at=f"workspace {name}")
    listing = ctx.detail(str(row["id"]), WORKSPACE_TABLES)
    for index, table in enumerate(objects(list_values(listing, WORKSPACE_TABLES), at="tables")):
        if require_str(table, "name", at=f"{name} tables[{index}]").lower() == AUDIT_TABLE.lower():
            _, total = table_retention(table, at=f"{name} tables[name={AUDIT_TABLE}]")
            return name, workspace_days, total
    # A table that does not exist yet is created with the workspace default when the first
    # events arrive (https://learn.microsoft.com/azure/azure-monitor/logs/data-retention-configure).
    return name, workspace_days, workspace_days


def _sql_auditing(ctx: EvalContext, params: Mapping[str, Any]) -> Iterator[Outcome]:
    """PASS when the server's audit events reach a destination (that keeps them long enough).

    - Storage (`storageEndpoint` set): events are written there; `retentionDays` (0 = forever)
      is that storage's retention.
    - Azure Monitor (`isAzureMonitorTargetEnabled`): events arrive only if a diagnostic setting
      of the master database sends `SQLSecurityAuditEvents` (or the `audit`/`allLogs` group);
      their retention is the workspace's AzureDiagnostics table's, never `retentionDays`.
      Event Hubs and partner destinations keep events downstream, out of sight: no retention
      can be proven for them.
    With `min_retention_days`, one destination must keep the events at least that long.
    """
    minimum = params.get("min_retention_days")
    body = ctx.own(AUDITING)
    props = require_obj(body, "properties", at=AUDITING)
    state = _state(props, "state", AUDITING + ".properties")
    expected = (
        "auditing Enabled to a destination that receives the events"
        if minimum is None
        else f"auditing Enabled to a destination that keeps the events {minimum}+ days "
        "(storage retentionDays 0 or >= the minimum; Log Analytics table retention)"
    )
    at = AUDITING + ".properties"
    if state == "Disabled":
        yield Outcome(Status.FAIL, f"{at}.state", state, expected, "server auditing is Disabled")
        return
    # Both are optional in the REST spec: "If state is Enabled, storageEndpoint or
    # isAzureMonitorTargetEnabled is required"; an absent one is a destination not configured.
    storage = optional_str(props, "storageEndpoint", "", at=at)
    monitor = optional_bool(props, "isAzureMonitorTargetEnabled", False, at=at)
    observed: dict[str, JSON] = {"state": state, "isAzureMonitorTargetEnabled": monitor}
    notes: list[str] = []
    storage_kept: str | None = None
    if storage:
        days = require_int(props, "retentionDays", at=at)
        observed |= {"storageEndpoint": storage, "retentionDays": days}
        kept = "forever (retentionDays 0)" if days == 0 else f"{days} days"
        if minimum is None or days == 0 or days >= minimum:
            yield Outcome(
                Status.PASS, at, observed, expected, f"audit events go to storage, kept {kept}"
            )
            return
        storage_kept = kept
        notes.append(f"storage keeps them {kept}")
    if not monitor:
        message = (
            f"auditing is Enabled but writes only to storage, which keeps events {storage_kept}"
            if storage_kept is not None
            else "auditing is Enabled but has no destination (no storage endpoint, Azure "
            "Monitor target off)"
        )
        yield Outcome(Status.FAIL, at, observed, expected, message)
        return
    deliveries = _deliveries(ctx)
    observed["masterDiagnosticSettings"] = [d.setting for d in deliveries]
    if not deliveries:
        notes.append(
            "the Azure Monitor target is on, but no diagnostic setting of the master database "
            f"sends {AUDIT_CATEGORY} (or the audit/allLogs group) to a destination, so no audit "
            "event reaches Log Analytics or Event Hubs"
        )
        yield Outcome(Status.FAIL, "masterDiagnosticSettings", observed, expected, _join(notes))
        return
    if minimum is None:
        names = ", ".join(repr(d.setting) for d in deliveries)
        yield Outcome(
            Status.PASS,
            "masterDiagnosticSettings",
            observed,
            expected,
            f"audit events go to Azure Monitor through the master database's diagnostic "
            f"setting(s) {names}",
        )
        return
    retention: dict[str, JSON] = {}
    for delivery in deliveries:
        if delivery.workspace is not None:
            name, workspace_days, total = _workspace_retention(ctx, delivery.workspace)
            retention[name] = {"retentionInDays": workspace_days, "totalRetentionInDays": total}
            kept = (
                f"Log Analytics workspace {name!r} keeps them {total} days in its "
                f"AzureDiagnostics table (workspace default {workspace_days})"
            )
            if total >= minimum:
                observed["workspaceRetention"] = retention
                yield Outcome(
                    Status.PASS, "workspaceRetention", observed, expected, f"{kept}; enough"
                )
                return
            notes.append(kept)
        for other in delivery.others:
            notes.append(f"the {other} of setting {delivery.setting!r} keeps them out of sight")
    observed["workspaceRetention"] = retention
    if storage_kept is None:
        notes.append("the policy's retentionDays applies to a storage destination only")
    yield Outcome(
        Status.FAIL,
        "workspaceRetention",
        observed,
        expected,
        f"no destination is proven to keep audit events {minimum} days: {_join(notes)}",
    )


def _join(notes: list[str]) -> str:
    return "; ".join(notes)


# -- firewall rules --------------------------------------------------------------------------------


def _public_access(ctx: EvalContext) -> str | None:
    """`publicNetworkAccess` of the server (absent: Enabled, the API's default when unset,
    https://learn.microsoft.com/rest/api/sql/servers/get#servernetworkaccessflag)."""
    # A row without `properties` reads as "not set": the stricter verdict (rules in force).
    props = optional_obj(ctx.resource, "properties", at="resource") or {}
    value = optional_str(props, "publicNetworkAccess", at="properties")
    if value is not None and value not in PUBLIC_ACCESS:
        raise ShapeError("properties.publicNetworkAccess", " or ".join(PUBLIC_ACCESS), repr(value))
    return value if isinstance(value, str) else None


_FIREWALL = next(spec.func for spec in network.SPECS if spec.name == "sql_firewall_open")


def _sql_firewall_rules(ctx: EvalContext, params: Mapping[str, Any]) -> Iterator[Outcome]:
    """The firewall-rule verdict of `sql_firewall_open`, split by whether the rules take effect.

    With public network access Disabled, Azure SQL accepts connections only through private
    endpoints and ignores the firewall rules
    (https://learn.microsoft.com/azure/azure-sql/database/connectivity-settings#deny-public-network-access).
    The rules still matter: re-enabling public access makes them effective again at once. So
    `dormant: false` judges servers whose rules are in force and is NOT_APPLICABLE (with the
    evidence) otherwise; `dormant: true` judges only the dormant rules, at its own severity.
    `SecuredByPerimeter` and an absent value are treated as "in force" (fail closed).
    """
    access = _public_access(ctx)
    disabled = access == "Disabled"
    dormant = params.get("dormant", False) is True
    path = "properties.publicNetworkAccess"
    if disabled != dormant:
        reason = (
            "public network access is Disabled: firewall rules have no effect (rules that "
            "would take effect if it were re-enabled are reported by the dormant-rule check)"
            if disabled
            else f"public network access is {access or 'not set (Enabled)'}: the firewall "
            "rules are in force and judged by the open-firewall check"
        )
        yield Outcome(
            Status.NOT_APPLICABLE, path, access, "Disabled" if dormant else "not Disabled", reason
        )
        return
    inner = {k: v for k, v in params.items() if k != "dormant"}
    for outcome in _FIREWALL(ctx, inner):
        if dormant and outcome.status is Status.FAIL:
            outcome = outcome._replace(
                message=outcome.message + "; it has no effect while public network access is "
                "Disabled, but takes effect the moment public access is re-enabled",
            )
        yield outcome


# -- Microsoft Entra authentication ----------------------------------------------------------------


def _sql_entra_auth(ctx: EvalContext, params: Mapping[str, Any]) -> Iterator[Outcome]:
    """PASS when a Microsoft Entra administrator is set and only Entra logins are accepted.

    `administrators` lists the server's (or managed instance's) Entra admin; its only documented
    `administratorType` is `ActiveDirectory`. `azureADOnlyAuthentications/Default` says whether
    SQL logins (passwords, including the server admin's) are refused.
    """
    admins = objects(list_values(ctx.own("administrators"), "administrators"), at="administrators")
    logins: list[str] = []
    for index, admin in enumerate(admins):
        at = f"administrators[{index}].properties"
        props = require_obj(admin, "properties", at=f"administrators[{index}]")
        kind = require_str(props, "administratorType", at=at)
        if kind != "ActiveDirectory":
            raise ShapeError(f"{at}.administratorType", "ActiveDirectory", repr(kind))
        logins.append(require_nonempty_str(props, "login", at=at))
    only_doc = ctx.own("azureADOnlyAuthentications/Default")
    only = require_bool(
        only_doc, "properties.azureADOnlyAuthentication", at="azureADOnlyAuthentications/Default"
    )
    observed: dict[str, JSON] = {
        "entraAdministrators": list(logins),
        "azureADOnlyAuthentication": only,
    }
    expected = "a Microsoft Entra administrator, and azureADOnlyAuthentication true"
    problems = []
    if not logins:
        problems.append("no Microsoft Entra administrator is set")
    if not only:
        problems.append(
            "SQL authentication (passwords, including the server admin login) is still accepted"
        )
    if problems:
        yield Outcome(
            Status.FAIL, "azureADOnlyAuthentication", observed, expected, "; ".join(problems)
        )
        return
    yield Outcome(
        Status.PASS,
        "azureADOnlyAuthentication",
        observed,
        expected,
        f"only Microsoft Entra logins are accepted (administrator {', '.join(logins)})",
    )


# -- vulnerability assessment ----------------------------------------------------------------------


def _sql_vulnerability_assessment(ctx: EvalContext, params: Mapping[str, Any]) -> Iterator[Outcome]:
    """PASS when vulnerability assessment runs: express configuration Enabled, or the classic
    configuration with recurring scans on and a storage container for their results.

    Classic `recurringScans` and `storageContainerPath` are omitted when never configured
    (https://learn.microsoft.com/rest/api/sql/server-vulnerability-assessments/get): absence
    reads as "not scanning". With `express: false` (managed instances, which have only the
    classic configuration) the express settings are not read.
    """
    with_express = params.get("express", True) is not False
    express: str | None = None
    expected = "classic recurring scans enabled with a storage container"
    if with_express:
        express_doc = ctx.own("sqlVulnerabilityAssessments/default")
        express = _state(
            require_obj(express_doc, "properties", at="sqlVulnerabilityAssessments/default"),
            "state",
            "sqlVulnerabilityAssessments/default.properties",
        )
        expected = "express configuration Enabled, or " + expected
    if express == "Enabled":
        yield Outcome(
            Status.PASS,
            "sqlVulnerabilityAssessments/default.properties.state",
            express,
            expected,
            "vulnerability assessment runs (express configuration)",
        )
        return
    at = "vulnerabilityAssessments/default.properties"
    classic = require_obj(
        ctx.own("vulnerabilityAssessments/default"),
        "properties",
        at="vulnerabilityAssessments/default",
    )
    scans = optional_obj(classic, "recurringScans", at=at)
    recurring = optional_bool(scans or {}, "isEnabled", False, at=f"{at}.recurringScans")
    container = optional_str(classic, "storageContainerPath", "", at=at)
    observed: dict[str, JSON] = {
        "classic.recurringScans.isEnabled": recurring,
        "classic.storageContainerPath": container or None,
    }
    if with_express:
        observed["express.state"] = express
    if recurring and container:
        yield Outcome(
            Status.PASS,
            f"{at}.recurringScans.isEnabled",
            observed,
            expected,
            "vulnerability assessment runs (classic configuration, recurring scans)",
        )
        return
    detail = (
        "classic recurring scans are on but have no storage container for results"
        if recurring
        else "classic recurring scans are off"
    )
    prefix = "express configuration is Disabled and " if with_express else ""
    yield Outcome(
        Status.FAIL,
        f"{at}.recurringScans.isEnabled",
        observed,
        expected,
        f"no vulnerability assessment runs: {prefix}{detail}",
    )


# -- long-term retention and backup redundancy -----------------------------------------------------


def _duration_set(value: str, path: str) -> bool:
    """Whether an ISO 8601 duration (`P1Y`, `P12W`, `PT0S`) is longer than zero."""
    match = _DURATION.match(value)
    if match is None or value in ("P", "PT"):
        raise ShapeError(path, "an ISO 8601 duration", repr(value))
    return any(int(part) > 0 for part in match.groups() if part is not None)


def _sql_backup_ltr_geo(ctx: EvalContext, params: Mapping[str, Any]) -> Iterator[Outcome]:
    """PASS when a database keeps long-term backups and stores backups geo-redundantly.

    LTR keeps weekly/monthly/yearly full backups beyond the 1-35 day point-in-time window; a
    retention of `PT0S` (or an omitted one) keeps none. `requestedBackupStorageRedundancy`
    `Geo`/`GeoZone` replicates backups to the paired region; `Local`/`Zone` lose them with the
    region (https://learn.microsoft.com/azure/azure-sql/database/automated-backups-overview).
    """
    at = "backupLongTermRetentionPolicies/default.properties"
    policy = require_obj(
        ctx.own("backupLongTermRetentionPolicies/default"),
        "properties",
        at="backupLongTermRetentionPolicies/default",
    )
    # Each retention is omitted when unset (https://learn.microsoft.com/rest/api/sql/
    # long-term-retention-policies/get): absent reads as PT0S, "keeps nothing".
    kept: dict[str, str] = {
        key: optional_str(policy, key, "PT0S", at=at)
        for key in ("weeklyRetention", "monthlyRetention", "yearlyRetention")
    }
    ltr = [k for k, v in kept.items() if _duration_set(v, f"{at}.{k}")]
    redundancy = require_str(
        resource_properties(ctx), "requestedBackupStorageRedundancy", at="properties"
    )
    if redundancy not in REDUNDANCY:
        raise ShapeError(
            "properties.requestedBackupStorageRedundancy", " or ".join(REDUNDANCY), repr(redundancy)
        )
    observed: dict[str, JSON] = {**kept, "requestedBackupStorageRedundancy": redundancy}
    expected = "a weekly, monthly or yearly LTR retention, and Geo or GeoZone backup storage"
    problems = []
    if not ltr:
        problems.append("no long-term retention (weekly, monthly and yearly are all unset)")
    if not REDUNDANCY[redundancy]:
        problems.append(
            f"backups are stored {redundancy}-redundant only: a regional outage loses them"
        )
    if problems:
        yield Outcome(Status.FAIL, at, observed, expected, "; ".join(problems))
        return
    shown = ", ".join(f"{k} {kept[k]}" for k in ltr)
    yield Outcome(
        Status.PASS,
        at,
        observed,
        expected,
        f"long-term retention {shown}; backups stored {redundancy}-redundant",
    )


SPECS: tuple[EvaluatorSpec, ...] = (
    EvaluatorSpec(
        "sql_auditing",
        _sql_auditing,
        {
            "min_retention_days": Param(
                (int,), required=False, doc="also require a destination keeping events this long"
            ),
        },
        RESOURCE_ONLY,
        "PASS when server auditing reaches storage, or Azure Monitor through a master-database "
        "diagnostic setting (with min_retention_days: kept that long by storage or the "
        "workspace's AzureDiagnostics table).",
    ),
    EvaluatorSpec(
        "sql_firewall_rules",
        _sql_firewall_rules,
        {
            "dormant": Param(
                (bool,), required=False, doc="judge rules of servers with public access Disabled"
            ),
            "max_addresses": Param(
                (int,), required=False, doc="widest range one rule may admit (default: all)"
            ),
            "allow_azure_services": Param(
                (bool,), required=False, doc="accept the 0.0.0.0 'Azure services' rule"
            ),
        },
        RESOURCE_ONLY,
        "sql_firewall_open for servers whose rules are in force (or, with dormant, only for "
        "servers with public network access Disabled); NOT_APPLICABLE otherwise.",
    ),
    EvaluatorSpec(
        "sql_entra_auth",
        _sql_entra_auth,
        {},
        RESOURCE_ONLY,
        "PASS when an Entra administrator is set and azureADOnlyAuthentication is true.",
    ),
    EvaluatorSpec(
        "sql_vulnerability_assessment",
        _sql_vulnerability_assessment,
        {
            "express": Param(
                (bool,), required=False, doc="also accept express configuration (default true)"
            ),
        },
        RESOURCE_ONLY,
        "PASS when express VA is Enabled or classic recurring scans run with a storage container.",
    ),
    EvaluatorSpec(
        "sql_backup_ltr_geo",
        _sql_backup_ltr_geo,
        {},
        RESOURCE_ONLY,
        "PASS when a database has an LTR retention and Geo/GeoZone backup storage redundancy.",
    ),
)
