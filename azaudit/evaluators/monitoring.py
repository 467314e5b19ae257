"""Logging evaluators: diagnostic settings, server parameters, activity-log alerts, policies."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

from azaudit.evaluators.access import (
    ShapeError,
    kind_of,
    objects,
    optional_bool,
    optional_list,
    optional_obj,
    optional_str,
    require,
    require_bool,
    require_int,
    require_list,
    require_obj,
    require_str,
    strings,
)
from azaudit.evaluators.base import (
    EvalContext,
    EvaluatorSpec,
    MissingData,
    Outcome,
    Param,
    list_values,
    passed,
)
from azaudit.evaluators.common import RESOURCE_ONLY, RESOURCE_OR_SUBSCRIPTION, SUBSCRIPTION_ONLY
from azaudit.models import JSON, Status
from azaudit.reference import normalise_region
from azaudit.snapshot import subscription_scope
from azaudit.sources import DIAGNOSTIC_SETTINGS

POLICY_ASSIGNMENTS = "providers/Microsoft.Authorization/policyAssignments"
POLICY_SET_DEFINITIONS = "providers/Microsoft.Authorization/policySetDefinitions"
WORKSPACE_TABLES = "tables"
ACTIVITY_LOG_ALERTS = "Microsoft.Insights/activityLogAlerts"
VIRTUAL_NETWORKS = "Microsoft.Network/virtualNetworks"
NETWORK_WATCHERS = "Microsoft.Network/networkWatchers"

DESTINATIONS = (
    "workspaceId",
    "storageAccountId",
    "eventHubAuthorizationRuleId",
    "marketplacePartnerId",
)


# -- diagnostic settings ------------------------------------------------------------------------


def setting_gaps(
    setting: Mapping[str, Any], required: list[str], any_of: list[str], groups_ok: set[str]
) -> tuple[list[str], list[str]]:
    """`(enabled logs, problems)` of one diagnostic setting against the required categories.

    `required` must all be enabled; of `any_of` (the resource type's audit-trail categories) at
    least one must be. An enabled category group in `groups_ok` satisfies both. `logs` and each
    destination are omitted when unused (https://learn.microsoft.com/rest/api/monitor/
    diagnostic-settings/get#diagnosticsettingsresource), so absence reads as "none".
    """
    name = str(setting.get("name") or setting.get("id"))
    at = f"diagnosticSettings[name={name}].properties"
    props = require_obj(setting, "properties", at=f"diagnosticSettings[name={name}]")
    logs = objects(optional_list(props, "logs", at=at), at=f"{at}.logs")
    shown: list[str] = []
    shown_groups: list[str] = []
    for index, log in enumerate(logs):
        log_at = f"{at}.logs[{index}]"
        if not require_bool(log, "enabled", at=log_at):
            continue
        category = optional_str(log, "category", at=log_at)
        group = optional_str(log, "categoryGroup", at=log_at)
        if not category and not group:
            raise ShapeError(f"{log_at}.category", "a category or categoryGroup", "neither")
        if category:
            shown.append(category)
        if group:
            shown_groups.append(group)
    categories = {c.lower() for c in shown}
    groups = {g.lower() for g in shown_groups}
    enabled = sorted(shown) + [f"{g} (category group)" for g in sorted(shown_groups)]
    problems = []
    if not any(optional_str(props, d, at=at) for d in DESTINATIONS):
        problems.append("has no destination")
    if not enabled:
        problems.append("enables no log category")
    elif not groups & groups_ok:
        missing = [c for c in required if c.lower() not in categories]
        if missing:
            problems.append(f"does not enable {', '.join(missing)}")
        if any_of and not categories & {c.lower() for c in any_of}:
            problems.append(f"enables none of the audit categories {' / '.join(any_of)}")
    return enabled, problems


def _audit_categories(ctx: EvalContext, params: Mapping[str, Any]) -> list[str]:
    """The audit-trail categories of the target's resource type (any one of them suffices).

    A check that maps resource types must map every type it targets: an unmapped type raises,
    since "any log at all" would pass a setting that only sends unrelated logs.
    """
    mapping = params.get("audit_categories")
    if mapping is None:
        return []
    by_type = {str(k).lower(): [str(c) for c in v] for k, v in mapping.items()}
    resource_type = require_str(ctx.resource, "type", at="resource").lower()
    if resource_type not in by_type:
        raise ShapeError(
            "resource.type",
            f"one of the mapped types ({', '.join(sorted(by_type))})",
            resource_type,
        )
    return by_type[resource_type]


def _diagnostic_categories_enabled(
    ctx: EvalContext, params: Mapping[str, Any]
) -> Iterator[Outcome]:
    """PASS when one diagnostic setting with a destination enables the audit trail.

    The audit trail is every category of `categories`, plus one of the resource type's
    `audit_categories` when mapped (AKS `kube-audit` / `kube-audit-admin`, Key Vault
    `AuditEvent`), or a category group of `category_groups_ok` (`audit`, `allLogs`) that Azure
    expands to them. Metrics, or logs of unrelated categories, are not an audit trail.
    """
    source = str(params.get("source", DIAGNOSTIC_SETTINGS))
    required = [str(c) for c in params.get("categories", [])]
    groups_ok = {str(g).lower() for g in params.get("category_groups_ok", [])}
    any_of = _audit_categories(ctx, params)
    settings = objects(list_values(ctx.own(source), source), at=source)
    wanted = ", ".join(required) if required or any_of else "at least one log category"
    if any_of:
        wanted = (wanted + " and " if required else "") + f"one of {' / '.join(any_of)}"
    accepted = f" (or category group {' / '.join(sorted(groups_ok))})" if groups_ok else ""
    expected = f"a diagnostic setting with a destination enabling {wanted}{accepted}"
    observed: dict[str, JSON] = {}
    problems_by_setting: list[str] = []
    sufficient: str | None = None
    for setting in settings:
        name = str(setting.get("name") or setting.get("id"))
        enabled, problems = setting_gaps(setting, required, any_of, groups_ok)
        observed[name] = enabled
        if not problems and sufficient is None:
            sufficient = name
        elif problems:
            problems_by_setting.append(f"{name!r} {', '.join(problems)}")
    if sufficient is not None:
        yield Outcome(
            Status.PASS,
            "diagnosticSettings",
            observed,
            expected,
            f"diagnostic setting {sufficient!r} sends {', '.join(observed[sufficient])} "
            "to a destination",
        )
        return
    message = (
        "no diagnostic setting exists"
        if not settings
        else "no diagnostic setting is sufficient: " + "; ".join(problems_by_setting)
    )
    yield Outcome(Status.FAIL, "diagnosticSettings", observed, expected, message)


# -- Log Analytics retention --------------------------------------------------------------------


def table_retention(table: Mapping[str, Any], at: str) -> tuple[int, int]:
    """`(interactive, total)` retention days of one table of the Tables list.

    ARM reports both as effective values, whether they come from the workspace default
    (`retentionInDaysAsDefault`) or are set on the table; `totalRetentionInDays` includes the
    archive (long-term) period: https://learn.microsoft.com/rest/api/loganalytics/tables/list
    """
    props = require_obj(table, "properties", at=at)
    return (
        require_int(props, "retentionInDays", at=f"{at}.properties"),
        require_int(props, "totalRetentionInDays", at=f"{at}.properties"),
    )


def _workspace_retention(ctx: EvalContext, params: Mapping[str, Any]) -> Iterator[Outcome]:
    """FAIL per audit table that keeps its records for fewer than `min_days` in total.

    A record kept in long-term (archive) retention still exists and can be searched or restored
    (https://learn.microsoft.com/azure/azure-monitor/logs/data-retention-configure), so it is
    the table's total retention that counts, not the workspace's interactive default: a 90-day
    workspace whose audit tables keep two years passes, and a two-year workspace with an audit
    table cut to 30 days fails for that table. Without any audit table in the workspace, the
    workspace default (what a new table gets) is judged.
    """
    minimum = int(params["min_days"])
    wanted = [str(t) for t in params["audit_tables"]]
    default = require_int(ctx.resource, "properties.retentionInDays", at="resource")
    tables = objects(list_values(ctx.own(WORKSPACE_TABLES), WORKSPACE_TABLES), at="tables")
    by_name: dict[str, tuple[str, Mapping[str, Any]]] = {}
    for index, table in enumerate(tables):
        name = require_str(table, "name", at=f"tables[{index}]")
        by_name[name.lower()] = (name, table)
    expected = f"audit tables kept for at least {minimum} days (interactive + long-term)"
    judged: dict[str, JSON] = {}
    short: list[Outcome] = []
    for wanted_name in wanted:
        found = by_name.get(wanted_name.lower())
        if found is None:
            continue
        name, table = found
        at = f"tables[name={name}]"
        interactive, total = table_retention(table, at)
        judged[name] = total
        if total < minimum:
            short.append(
                Outcome(
                    Status.FAIL,
                    f"{at}.properties.totalRetentionInDays",
                    total,
                    f">= {minimum}",
                    f"table {name} keeps records for {total} days "
                    f"({interactive} interactive, {total - interactive} long-term), "
                    f"fewer than {minimum}",
                    sub_item=name,
                )
            )
    yield from short
    if short:
        return
    if not judged:
        yield Outcome(
            passed(default >= minimum),
            "properties.retentionInDays",
            default,
            f">= {minimum}",
            f"no audit table in the workspace yet; its default retention is {default} days",
        )
        return
    yield Outcome(
        Status.PASS,
        "tables[].properties.totalRetentionInDays",
        judged,
        expected,
        f"{len(judged)} audit table(s) keep records for at least {minimum} days "
        f"(workspace default {default} days)",
    )


# -- server parameters ---------------------------------------------------------------------------


def _server_parameters(ctx: EvalContext, params: Mapping[str, Any]) -> Iterator[Outcome]:
    source = str(params.get("source", "configurations"))
    required = {str(k): str(v) for k, v in params["required"].items()}
    values: dict[str, JSON] = {}
    for item in list_values(ctx.own(source), source):
        props = item.get("properties")
        if not isinstance(props, Mapping):
            raise ValueError(f"server parameter {item.get('name')!r} has no properties")
        values[str(item.get("name", "")).lower()] = props.get("value")
    observed = {name: values.get(name.lower()) for name in required}
    problems = []
    for name, want in required.items():
        value = observed[name]
        if value is None:
            problems.append(f"{name} is not reported")
        elif str(value).lower() != want.lower():
            problems.append(f"{name} is {value!r}")
    expected = ", ".join(f"{k} = {v}" for k, v in required.items())
    message = (
        "; ".join(problems) + f"; expected {expected}"
        if problems
        else ", ".join(f"{k} = {v}" for k, v in observed.items())
    )
    yield Outcome(passed(not problems), ", ".join(required), observed, expected, message)


# -- activity log alerts and network watcher (inventory rows) ------------------------------------


ADMINISTRATIVE = "administrative"


def _operation_fields(operation: str) -> dict[str, str]:
    """The values every activity log event of `operation` carries in the fields an alert can test.

    `Microsoft.Network/networkSecurityGroups/write` is an Administrative event whose resource
    provider is `Microsoft.Network` and resource type `Microsoft.Network/networkSecurityGroups`:
    https://learn.microsoft.com/azure/azure-monitor/essentials/activity-log-schema
    """
    op = operation.lower()
    return {
        "operationname": op,
        "category": ADMINISTRATIVE,
        "resourceprovider": op.split("/", 1)[0],
        "resourcetype": op.rsplit("/", 1)[0],
    }


def _leaf_values(leaf: Mapping[str, Any], at: str) -> list[str]:
    """The values a leaf condition accepts: `equals`, or any of `containsAny`.

    A leaf has one of the two (https://learn.microsoft.com/rest/api/monitor/activity-log-alerts/
    get#alertruleleafcondition); a leaf with neither matches nothing we can prove.
    """
    values = strings(optional_list(leaf, "containsAny", at=at), at=f"{at}.containsAny")
    equals = optional_str(leaf, "equals", at=at)
    if equals is not None:
        values.append(equals)
    if not values:
        raise ShapeError(f"{at}.equals", "equals or containsAny", "neither")
    return [v.lower() for v in values]


def _leaf_matches_all(leaf: Mapping[str, Any], fields: Mapping[str, str], at: str) -> bool:
    """Whether a leaf condition is true for every event of the operation.

    Only fields every event of the operation shares (operation name, category, resource
    provider and type) can be; a condition on anything else (`status`, `caller`, `level`,
    `resourceGroup`, `resourceId`, `properties.*`) narrows the alert to some of the events, so
    it no longer covers the operation.
    """
    field = require_str(leaf, "field", at=at).lower()
    values = _leaf_values(leaf, at)
    want = fields.get(field)
    return want is not None and want in values


def _alert_covers(condition: Mapping[str, Any], operation: str, at: str) -> bool:
    """Whether an `allOf` condition fires on every event of `operation`.

    Every item of `allOf` must hold; an `anyOf` item holds when one of its leaves does.
    """
    fields = _operation_fields(operation)
    items = objects(require_list(condition, "allOf", at=at), at=f"{at}.allOf")
    if not items:
        return False
    for index, item in enumerate(items):
        item_at = f"{at}.allOf[{index}]"
        any_of = optional_list(item, "anyOf", at=item_at)
        if any_of:
            leaves = objects(any_of, at=f"{item_at}.anyOf")
            if not any(
                _leaf_matches_all(leaf, fields, f"{item_at}.anyOf[{i}]")
                for i, leaf in enumerate(leaves)
            ):
                return False
        elif not _leaf_matches_all(item, fields, item_at):
            return False
    return True


def _covers_subscription(props: Mapping[str, Any], subscription_id: str, at: str) -> bool:
    """Whether one of the alert's scopes is the whole subscription.

    Scopes are resource id prefixes: a resource group or resource scope sees only its own events
    (https://learn.microsoft.com/rest/api/monitor/activity-log-alerts/get#activitylogalertresource).
    """
    wanted = subscription_scope(subscription_id).strip("/").lower()
    scopes = strings(require_list(props, "scopes", at=at), at=f"{at}.scopes")
    return any(s.strip("/").lower() == wanted for s in scopes)


def _activity_log_alerts(ctx: EvalContext, params: Mapping[str, Any]) -> Iterator[Outcome]:
    """FAIL per operation that no enabled, subscription-wide alert with an action group covers.

    An alert covers an operation only when its condition fires on every event of it: a further
    condition on status, caller, level, resource group or resource id, or a scope below the
    subscription, leaves events unalerted.
    """
    sub_id = str(ctx.subscription_id)
    operations = [str(op) for op in params["operations"]]
    need_action = bool(params.get("require_action_group", True))
    alerts = ctx.resources_of_type(ACTIVITY_LOG_ALERTS, subscription_id=sub_id)
    covered: dict[str, str] = {}
    unusable: list[str] = []
    narrowed: dict[str, list[str]] = {}
    for alert in alerts:
        name = str(alert.get("name") or alert.get("id"))
        at = f"activityLogAlerts[name={name}].properties"
        props = require_obj(alert, "properties", at=f"activityLogAlerts[name={name}]")
        # `enabled` defaults to true when omitted (REST spec); only an explicit true is read as on.
        if optional_bool(props, "enabled", at=at) is not True:
            unusable.append(f"{name!r} is disabled")
            continue
        if not _covers_subscription(props, sub_id, at):
            unusable.append(f"{name!r} is not scoped to the whole subscription")
            continue
        groups = optional_list(props, "actions.actionGroups", at=at)
        if need_action and not groups:
            unusable.append(f"{name!r} notifies no action group")
            continue
        condition = require_obj(props, "condition", at=at)
        for op in operations:
            if op.lower() in covered:
                continue
            if _alert_covers(condition, op, f"{at}.condition"):
                covered[op.lower()] = name
            elif _names_operation(condition, op, f"{at}.condition"):
                narrowed.setdefault(op.lower(), []).append(name)
    # One finding per missing operation: the operation is the finding's sub-item, so that each
    # keeps its identity across runs.
    expected = (
        "an enabled, subscription-wide activity log alert with an action group, "
        "not narrowed by status, caller, level, resource group or resource"
    )
    note = f" ({'; '.join(unusable)})" if unusable else ""
    missing = [op for op in operations if op.lower() not in covered]
    for op in missing:
        partial = narrowed.get(op.lower())
        detail = (
            f"; {', '.join(repr(n) for n in partial)} only fire(s) on some of its events "
            "(narrowed by a further condition)"
            if partial
            else ""
        )
        yield Outcome(
            Status.FAIL,
            f"activityLogAlerts[operationName=={op!r}]",
            partial,
            expected,
            f"no usable activity log alert for {op}{detail}{note}",
            sub_item=op,
        )
    if not missing:
        observed = {op: covered[op.lower()] for op in operations}
        yield Outcome(
            Status.PASS,
            "activityLogAlerts",
            observed,
            expected,
            f"all {len(operations)} operations are alerted on",
        )


def _names_operation(condition: Mapping[str, Any], operation: str, at: str) -> bool:
    """Whether the condition mentions `operation` at all (for the message of a narrowed alert)."""
    op = operation.lower()
    for index, item in enumerate(objects(require_list(condition, "allOf", at=at), at=at)):
        leaves = optional_list(item, "anyOf", at=f"{at}.allOf[{index}]") or [item]
        for leaf in objects(leaves, at=f"{at}.allOf[{index}]"):
            if str(leaf.get("field", "")).lower() == "operationname" and op in _leaf_values(
                leaf, f"{at}.allOf[{index}]"
            ):
                return True
    return False


def _network_watcher_regions(ctx: EvalContext, params: Mapping[str, Any]) -> Iterator[Outcome]:
    sub_id = str(ctx.subscription_id)
    vnet_regions = sorted(
        {
            normalise_region(require_str(v, "location", at=f"virtualNetworks[{v.get('id')}]"))
            for v in ctx.resources_of_type(VIRTUAL_NETWORKS, subscription_id=sub_id)
        }
    )
    watchers = {
        normalise_region(require_str(w, "location", at=f"networkWatchers[{w.get('id')}]"))
        for w in ctx.resources_of_type(NETWORK_WATCHERS, subscription_id=sub_id)
        if require_str(
            w, "properties.provisioningState", at=f"networkWatchers[{w.get('id')}]"
        ).lower()
        == "succeeded"
    }
    expected = "a Network Watcher in every region that has a virtual network"
    if not vnet_regions:
        yield Outcome(
            Status.NOT_APPLICABLE,
            "location",
            [],
            expected,
            "the subscription has no virtual networks",
        )
        return
    missing = [r for r in vnet_regions if r not in watchers]
    for region in missing:
        yield Outcome(
            Status.FAIL,
            "networkWatchers[location]",
            region,
            expected,
            f"virtual networks in {region} have no Network Watcher",
            sub_item=region,
        )
    if not missing:
        yield Outcome(
            Status.PASS,
            "networkWatchers[location]",
            vnet_regions,
            expected,
            f"Network Watcher present in {', '.join(vnet_regions)}",
        )


# -- flow logs ----------------------------------------------------------------------------------

FLOW_LOGS = "flowLogs"
NSG_FLOW_LOG_RETIREMENT = (
    "NSG flow logs are being retired (none can be created since 30 June 2025; they stop on "
    "30 September 2027): migrate to VNet flow logs"
)


def _flow_log_problem(log: Mapping[str, Any], min_days: int, at: str) -> str | None:
    """Why one flow log does not keep the traffic record, or None.

    `retentionPolicy.enabled` false or `days` 0 keeps records indefinitely; otherwise `days`
    is when the storage copy is deleted:
    https://learn.microsoft.com/rest/api/network-watcher/flow-logs/get#retentionpolicyparameters
    """
    props = require_obj(log, "properties", at=at)
    if not require_bool(props, "enabled", at=f"{at}.properties"):
        return "is disabled"
    retention = require_obj(props, "retentionPolicy", at=f"{at}.properties")
    r_at = f"{at}.properties.retentionPolicy"
    if require_bool(retention, "enabled", at=r_at):
        days = require_int(retention, "days", at=r_at)
        if 0 < days < min_days:
            return f"keeps records for {days} days, fewer than {min_days}"
    return None


def _flow_logs(ctx: EvalContext, params: Mapping[str, Any]) -> Iterator[Outcome]:
    """PASS when the VNet's traffic is recorded: a VNet flow log on the VNet, or every subnet
    covered by a flow log on the subnet or on its NSG (legacy NSG flow logs, reported as such).

    Flow logs belong to the Network Watcher of the VNet's region, so only those watchers'
    `flowLogs` are read; an unreadable one is ERROR unless the VNet is already covered.
    """
    min_days = int(params.get("min_retention_days", 90))
    sub_id = str(ctx.subscription_id)
    vnet_id = require_str(ctx.resource, "id", at="resource")
    region = normalise_region(require_str(ctx.resource, "location", at="resource"))
    props = require_obj(ctx.resource, "properties", at="resource")
    # A VNet without subnets has no `subnets` entries to cover (absent = empty list).
    subnets = objects(optional_list(props, "subnets", at="properties"), at="properties.subnets")
    expected = (
        f"an enabled flow log (kept {min_days}+ days) on the VNet, or on every subnet or its NSG"
    )
    watchers = [
        w
        for w in ctx.resources_of_type(NETWORK_WATCHERS, subscription_id=sub_id)
        if normalise_region(require_str(w, "location", at=f"networkWatchers[{w.get('id')}]"))
        == region
    ]
    if not watchers:
        yield Outcome(
            Status.FAIL,
            "networkWatchers[location]",
            region,
            expected,
            f"no Network Watcher in {region}, so no flow log can record this VNet's traffic",
        )
        return
    unreadable: list[MissingData] = []
    covering: dict[str, str] = {}
    problems: list[str] = []
    for watcher in watchers:
        watcher_id = str(watcher.get("id"))
        try:
            body = ctx.detail(watcher_id, FLOW_LOGS)
        except MissingData as missing:
            unreadable.append(missing)
            continue
        for index, log in enumerate(objects(list_values(body, FLOW_LOGS), at=FLOW_LOGS)):
            name = str(log.get("name") or index)
            at = f"flowLogs[name={name}]"
            target = require_str(log, "properties.targetResourceId", at=at).rstrip("/").lower()
            problem = _flow_log_problem(log, min_days, at)
            if problem is not None:
                problems.append(f"{name!r} on {target.rsplit('/', 1)[-1]} {problem}")
                continue
            covering.setdefault(target, name)
    vnet = vnet_id.rstrip("/").lower()
    if vnet in covering:
        yield Outcome(
            Status.PASS,
            "flowLogs[targetResourceId]",
            covering[vnet],
            expected,
            f"VNet flow log {covering[vnet]!r} records this VNet's traffic",
        )
        return
    uncovered: list[str] = []
    legacy: list[str] = []
    for index, subnet in enumerate(subnets):
        s_at = f"properties.subnets[{index}]"
        subnet_id = require_str(subnet, "id", at=s_at).rstrip("/").lower()
        nsg = optional_str(subnet, "properties.networkSecurityGroup.id", at=s_at)
        if subnet_id in covering:
            continue
        if nsg is not None and nsg.rstrip("/").lower() in covering:
            legacy.append(covering[nsg.rstrip("/").lower()])
            continue
        uncovered.append(str(subnet.get("name") or subnet_id.rsplit("/", 1)[-1]))
    if subnets and not uncovered:
        note = f"; {NSG_FLOW_LOG_RETIREMENT}" if legacy else ""
        yield Outcome(
            Status.PASS,
            "flowLogs[targetResourceId]",
            sorted(set(legacy)) or None,
            expected,
            f"every subnet's traffic is recorded by a flow log{note}",
        )
        return
    if unreadable:
        raise unreadable[0]
    detail = f" ({'; '.join(problems)})" if problems else ""
    what = (
        f"subnet(s) {', '.join(uncovered)} have no flow log"
        if subnets
        else "no flow log targets this VNet"
    )
    yield Outcome(
        Status.FAIL,
        "flowLogs[targetResourceId]",
        uncovered,
        expected,
        f"{what}{detail}",
    )


# -- policy assignments --------------------------------------------------------------------------


def _assignment_applies(props: Mapping[str, Any], subscription_id: str) -> bool:
    # ARM always returns an assignment's scope; an absent one must not read as the root.
    scope = require_str(props, "scope", at="policyAssignments[].properties").rstrip("/").lower()
    sub = subscription_scope(subscription_id).lower()
    above = scope in ("", sub) or scope.startswith(
        "/providers/microsoft.management/managementgroups/"
    )
    excluded = any(
        sub == str(n).rstrip("/").lower() or sub.startswith(str(n).rstrip("/").lower() + "/")
        # Absent when nothing is excluded:
        # https://learn.microsoft.com/rest/api/policy/policy-assignments/get
        for n in strings(
            optional_list(props, "notScopes", at="policyAssignments[].properties"),
            at="notScopes",
        )
    )
    return above and not excluded


def _guid(definition_id: str) -> str:
    return definition_id.rstrip("/").rsplit("/", 1)[-1].lower()


def _assignment_rejection(
    props: Mapping[str, Any], name: str, sub_id: str, require_enforced: bool
) -> str | None:
    """Why an assignment does not enforce its policy on the whole subscription, or None."""
    at = f"policyAssignments[{name}].properties"
    if not _assignment_applies(props, sub_id):
        return f"{name!r} does not cover the whole subscription"
    # Absent means Default (enforced): https://learn.microsoft.com/rest/api/policy/policy-assignments/get
    mode = optional_str(props, "enforcementMode", "Default", at=at)
    if require_enforced and str(mode).lower() == "donotenforce":
        return f"{name!r} is not enforced (enforcementMode DoNotEnforce)"
    # Resource selectors narrow an assignment to some locations or types, and overrides can
    # change its effect (https://learn.microsoft.com/azure/governance/policy/concepts/
    # assignment-structure): either way it no longer denies everything it would otherwise.
    if require_enforced and optional_list(props, "resourceSelectors", at=at):
        return f"{name!r} is narrowed by resource selectors"
    if require_enforced and optional_list(props, "overrides", at=at):
        return f"{name!r} overrides the policy effect"
    return None


def _outside_regions(ctx: EvalContext, listed: list[str]) -> list[str]:
    # The built-in definitions never restrict `global` resources, so listing it is harmless.
    return [
        v
        for v in listed
        if normalise_region(v) not in ctx.config.allowed_regions and normalise_region(v) != "global"
    ]


_PARAMETER_REFERENCE = re.compile(r"^\[parameters\('([^']+)'\)\]$")


def _resolve_reference(
    raw: JSON, assignment: Mapping[str, Any], set_definition: Mapping[str, Any], at: str
) -> list[str] | str:
    """The list an initiative passes to a member definition's parameter, or why it is unknown.

    An initiative passes either a literal or `[parameters('x')]`, its own parameter `x`, whose
    value comes from the assignment or else from the initiative's `defaultValue`
    (https://learn.microsoft.com/azure/governance/policy/concepts/initiative-definition-structure).
    Any other template expression cannot be evaluated here, so it proves nothing.
    """
    if isinstance(raw, list):
        return strings(raw, at=at)
    if not isinstance(raw, str):
        raise ShapeError(at, "a list or a [parameters('...')] reference", kind_of(raw))
    match = _PARAMETER_REFERENCE.match(raw.strip())
    if match is None:
        return f"passes the expression {raw!r}"
    name = match.group(1)
    given = (assignment.get("parameters") or {}).get(name)
    if isinstance(given, Mapping) and "value" in given:
        value, origin = given["value"], f"assignment parameter {name}"
    else:
        declared = (set_definition.get("parameters") or {}).get(name)
        if not isinstance(declared, Mapping) or "defaultValue" not in declared:
            return f"initiative parameter {name} has neither a value nor a default"
        value, origin = declared["defaultValue"], f"default of initiative parameter {name}"
    if not isinstance(value, list):
        raise ShapeError(f"{at} ({origin})", "a list of regions", kind_of(value))
    return strings(value, at=f"{at} ({origin})")


def _set_definition_index(ctx: EvalContext) -> dict[str, Mapping[str, Any]]:
    items = objects(
        list_values(ctx.own(POLICY_SET_DEFINITIONS), POLICY_SET_DEFINITIONS),
        at=POLICY_SET_DEFINITIONS,
    )
    index: dict[str, Mapping[str, Any]] = {}
    for i, item in enumerate(items):
        index[require_str(item, "id", at=f"policySetDefinitions[{i}]").rstrip("/").lower()] = item
    return index


def _initiative_locations(
    set_definition: Mapping[str, Any],
    props: Mapping[str, Any],
    definitions: Mapping[str, str],
    location_param: str | None,
) -> tuple[bool, list[list[str]], list[str]]:
    """`(contains a definition, location lists it passes, unresolved reasons)` of an initiative."""
    set_id = str(set_definition.get("id"))
    at = f"policySetDefinitions[{set_id}].properties"
    set_props = require_obj(set_definition, "properties", at=f"policySetDefinitions[{set_id}]")
    members = objects(require_list(set_props, "policyDefinitions", at=at), at=at)
    found = False
    lists: list[list[str]] = []
    unresolved: list[str] = []
    for index, member in enumerate(members):
        member_at = f"{at}.policyDefinitions[{index}]"
        member_id = require_str(member, "policyDefinitionId", at=member_at)
        if _guid(member_id) not in definitions:
            continue
        found = True
        if not location_param:
            continue
        passed_on = optional_obj(member, f"parameters.{location_param}", at=member_at)
        if passed_on is None:
            unresolved.append(f"sets no {location_param}")
            continue
        raw = require(passed_on, "value", at=f"{member_at}.parameters.{location_param}")
        resolved = _resolve_reference(
            raw, props, set_props, f"{member_at}.parameters.{location_param}.value"
        )
        if isinstance(resolved, str):
            unresolved.append(resolved)
        else:
            lists.append(resolved)
    return found, lists, unresolved


def _policy_assigned(ctx: EvalContext, params: Mapping[str, Any]) -> Iterator[Outcome]:
    """PASS when a definition is assigned at or above the subscription, enforced, with allowed
    regions only; with `search_initiatives`, also when it is a member of an assigned initiative.

    An initiative is judged through its definition (the subscription's policy set definitions
    list, which includes those of management groups above it) and the parameter mapping from the
    assignment through the initiative to the member; an initiative whose mapping cannot be
    resolved is ERROR unless another assignment already qualifies.
    """
    definitions = {str(k).lower(): str(v) for k, v in params["definitions"].items()}
    location_param = params.get("allowed_locations_parameter")
    require_enforced = bool(params.get("require_enforced", False))
    search_initiatives = bool(params.get("search_initiatives", False))
    sub_id = str(ctx.subscription_id)
    names = " or ".join(f"{v!r}" for v in definitions.values())
    expected = f"{names} assigned at the subscription or a management group above it"
    if search_initiatives:
        expected += " (directly or in an initiative)"
    if location_param:
        expected += ", listing only allowed regions"
    rejected: list[str] = []
    initiatives: list[tuple[str, Mapping[str, Any], str]] = []
    assignments = objects(
        list_values(ctx.own(POLICY_ASSIGNMENTS), POLICY_ASSIGNMENTS), at=POLICY_ASSIGNMENTS
    )
    for assignment in assignments:
        props = assignment.get("properties")
        if not isinstance(props, Mapping):
            raise ValueError(f"policy assignment {assignment.get('id')!r} has no properties")
        definition_id = require_str(props, "policyDefinitionId", at="policyAssignments[]")
        name = str(props.get("displayName") or assignment.get("name"))
        guid = _guid(definition_id)
        if guid not in definitions:
            if search_initiatives and "/policysetdefinitions/" in definition_id.lower():
                initiatives.append((name, props, definition_id))
            continue
        why = _assignment_rejection(props, name, sub_id, require_enforced)
        if why is not None:
            rejected.append(why)
            continue
        observed: dict[str, JSON] = {
            "assignment": name,
            "definition": definitions[guid],
            "scope": props.get("scope"),
        }
        if location_param:
            parameter = (props.get("parameters") or {}).get(str(location_param))
            if not isinstance(parameter, Mapping) or not isinstance(parameter.get("value"), list):
                raise ValueError(
                    f"policy assignment {name!r}: parameter {location_param} has no list value"
                )
            listed = [str(v) for v in parameter["value"]]
            observed["locations"] = listed
            outside = _outside_regions(ctx, listed)
            if outside:
                rejected.append(f"{name!r} allows non-allowed region(s) {', '.join(outside)}")
                continue
        yield Outcome(
            Status.PASS,
            "policyAssignments",
            observed,
            expected,
            f"{definitions[guid]} is assigned as {name!r} at {props.get('scope')}",
        )
        return
    unresolved: list[str] = []
    index: dict[str, Mapping[str, Any]] | None = None
    for name, props, definition_id in initiatives:
        why = _assignment_rejection(props, name, sub_id, require_enforced)
        if why is not None:
            continue
        if index is None:
            index = _set_definition_index(ctx)
        set_definition = index.get(definition_id.rstrip("/").lower())
        if set_definition is None:
            unresolved.append(f"initiative {definition_id} of {name!r} is not readable")
            continue
        found, lists, reasons = _initiative_locations(
            set_definition, props, definitions, str(location_param) if location_param else None
        )
        if not found:
            continue
        unresolved.extend(f"{name!r} {reason}" for reason in reasons)
        for listed in lists:
            outside = _outside_regions(ctx, listed)
            if outside:
                rejected.append(f"{name!r} allows non-allowed region(s) {', '.join(outside)}")
                continue
            yield Outcome(
                Status.PASS,
                "policyAssignments",
                {"assignment": name, "initiative": definition_id, "locations": listed},
                expected,
                f"{', '.join(definitions.values())} is part of initiative {definition_id} "
                f"assigned as {name!r} at {props.get('scope')}, listing {', '.join(listed)}",
            )
            return
    detail = f": {'; '.join(rejected)}" if rejected else ""
    if unresolved:
        yield Outcome(
            Status.ERROR,
            "policyAssignments",
            unresolved,
            expected,
            f"cannot evaluate: {'; '.join(unresolved)}" + (f" (also{detail})" if detail else ""),
        )
        return
    yield Outcome(
        Status.FAIL,
        "policyAssignments",
        rejected,
        expected,
        f"no qualifying assignment of {names}{detail}",
    )


SPECS: tuple[EvaluatorSpec, ...] = (
    EvaluatorSpec(
        "diagnostic_categories_enabled",
        _diagnostic_categories_enabled,
        {
            "categories": Param(
                (list,), doc="log categories that must all be enabled; empty = any log"
            ),
            "category_groups_ok": Param(
                (list,), required=False, doc="category groups that cover all categories"
            ),
            "audit_categories": Param(
                (dict,),
                required=False,
                doc="{resource type: audit-trail categories, one of which must be enabled}",
            ),
            "source": Param((str,), required=False, doc="diagnostic settings source name"),
        },
        RESOURCE_OR_SUBSCRIPTION,
        "PASS when one diagnostic setting with a destination enables the audit-trail categories.",
    ),
    EvaluatorSpec(
        "workspace_retention",
        _workspace_retention,
        {
            "min_days": Param((int,), doc="days every audit table must keep its records"),
            "audit_tables": Param((list,), doc="Log Analytics tables that hold the audit trail"),
        },
        RESOURCE_ONLY,
        "FAIL per audit table whose total (interactive + long-term) retention is below "
        "min_days; the workspace default is judged only when no audit table exists.",
    ),
    EvaluatorSpec(
        "server_parameters",
        _server_parameters,
        {
            "required": Param((dict,), doc="{parameter: value}"),
            "source": Param((str,), required=False),
        },
        RESOURCE_ONLY,
        "PASS when every listed server parameter has the required value (case-insensitive).",
    ),
    EvaluatorSpec(
        "activity_log_alerts",
        _activity_log_alerts,
        {
            "operations": Param((list,), doc="operationName values that must each have an alert"),
            "require_action_group": Param((bool,), required=False),
        },
        SUBSCRIPTION_ONLY,
        "FAIL for every operation without an enabled, subscription-wide activity log alert "
        "that fires on all of its events (no narrowing condition).",
    ),
    EvaluatorSpec(
        "network_watcher_regions",
        _network_watcher_regions,
        {},
        SUBSCRIPTION_ONLY,
        "FAIL for every region with a virtual network but no Network Watcher.",
    ),
    EvaluatorSpec(
        "flow_logs",
        _flow_logs,
        {"min_retention_days": Param((int,), required=False, doc="default 90")},
        RESOURCE_ONLY,
        "PASS when a VNet flow log, or flow logs on every subnet or its NSG, record the VNet's "
        "traffic and keep it min_retention_days.",
    ),
    EvaluatorSpec(
        "policy_assigned",
        _policy_assigned,
        {
            "definitions": Param((dict,), doc="{policy (set) definition GUID: display name}"),
            "allowed_locations_parameter": Param(
                (str,), required=False, doc="parameter whose regions must all be allowed"
            ),
            "require_enforced": Param((bool,), required=False),
            "search_initiatives": Param(
                (bool,),
                required=False,
                doc="also look for the definitions inside assigned initiatives",
            ),
        },
        SUBSCRIPTION_ONLY,
        "PASS when one of the definitions is assigned at or above the subscription.",
    ),
)
