"""Logging evaluators: diagnostic settings, server parameters, activity-log alerts, policies."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from azaudit.evaluators.access import (
    ShapeError,
    objects,
    optional_bool,
    optional_list,
    optional_str,
    require_bool,
    require_list,
    require_obj,
    require_str,
    strings,
)
from azaudit.evaluators.base import (
    EvalContext,
    EvaluatorSpec,
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


def _setting_gaps(
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
        enabled, problems = _setting_gaps(setting, required, any_of, groups_ok)
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


def _policy_assigned(ctx: EvalContext, params: Mapping[str, Any]) -> Iterator[Outcome]:
    definitions = {str(k).lower(): str(v) for k, v in params["definitions"].items()}
    location_param = params.get("allowed_locations_parameter")
    require_enforced = bool(params.get("require_enforced", False))
    sub_id = str(ctx.subscription_id)
    names = " or ".join(f"{v!r}" for v in definitions.values())
    expected = f"{names} assigned at the subscription or a management group above it"
    if location_param:
        expected += ", listing only allowed regions"
    rejected = []
    for assignment in list_values(ctx.own(POLICY_ASSIGNMENTS), POLICY_ASSIGNMENTS):
        props = assignment.get("properties")
        if not isinstance(props, Mapping):
            raise ValueError(f"policy assignment {assignment.get('id')!r} has no properties")
        definition_id = require_str(props, "policyDefinitionId", at="policyAssignments[]")
        guid = definition_id.rstrip("/").rsplit("/", 1)[-1].lower()
        if guid not in definitions:
            continue
        name = str(props.get("displayName") or assignment.get("name"))
        if not _assignment_applies(props, sub_id):
            rejected.append(f"{name!r} does not cover the whole subscription")
            continue
        if (
            require_enforced
            and str(props.get("enforcementMode", "Default")).lower() == "donotenforce"
        ):
            rejected.append(f"{name!r} is not enforced (enforcementMode DoNotEnforce)")
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
            # The built-in definitions never restrict `global` resources, so listing it is harmless.
            outside = [
                v
                for v in listed
                if normalise_region(v) not in ctx.config.allowed_regions
                and normalise_region(v) != "global"
            ]
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
    detail = f": {'; '.join(rejected)}" if rejected else ""
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
        "policy_assigned",
        _policy_assigned,
        {
            "definitions": Param((dict,), doc="{policy (set) definition GUID: display name}"),
            "allowed_locations_parameter": Param(
                (str,), required=False, doc="parameter whose regions must all be allowed"
            ),
            "require_enforced": Param((bool,), required=False),
        },
        SUBSCRIPTION_ONLY,
        "PASS when one of the definitions is assigned at or above the subscription.",
    ),
)
