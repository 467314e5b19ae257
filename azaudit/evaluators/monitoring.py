"""Logging and Defender for Cloud evaluators: diagnostic settings, alerts, plans and contacts."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from azaudit.evaluators.access import optional_list, require_str, strings
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

PRICINGS = "providers/Microsoft.Security/pricings"
SECURITY_CONTACTS = "providers/Microsoft.Security/securityContacts"
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
SEVERITY_RANK = {"low": 1, "medium": 2, "high": 3}


# -- diagnostic settings ------------------------------------------------------------------------


def _setting_gaps(
    setting: Mapping[str, Any], required: list[str], groups_ok: set[str]
) -> tuple[list[str], list[str]]:
    """`(enabled logs, problems)` of one diagnostic setting against the required categories."""
    props = setting.get("properties")
    if not isinstance(props, Mapping):
        raise ValueError(f"diagnostic setting {setting.get('name')!r} has no properties")
    logs = props.get("logs") or []
    if not isinstance(logs, list):
        raise ValueError(f"diagnostic setting {setting.get('name')!r}: logs is not a list")
    active = [log for log in logs if isinstance(log, Mapping) and log.get("enabled") is True]
    shown = [str(log["category"]) for log in active if log.get("category")]
    shown_groups = [str(log["categoryGroup"]) for log in active if log.get("categoryGroup")]
    categories = {c.lower() for c in shown}
    groups = {g.lower() for g in shown_groups}
    enabled = sorted(shown) + [f"{g} (category group)" for g in sorted(shown_groups)]
    problems = []
    if not any(props.get(d) for d in DESTINATIONS):
        problems.append("has no destination")
    if not enabled:
        problems.append("enables no log category")
    elif not groups & groups_ok:
        missing = [c for c in required if c.lower() not in categories]
        if missing:
            problems.append(f"does not enable {', '.join(missing)}")
    return enabled, problems


def _diagnostic_categories_enabled(
    ctx: EvalContext, params: Mapping[str, Any]
) -> Iterator[Outcome]:
    source = str(params.get("source", DIAGNOSTIC_SETTINGS))
    required = [str(c) for c in params.get("categories", [])]
    groups_ok = {str(g).lower() for g in params.get("category_groups_ok", [])}
    settings = list_values(ctx.own(source), source)
    wanted = ", ".join(required) if required else "at least one log category"
    accepted = f" (or category group {' / '.join(sorted(groups_ok))})" if groups_ok else ""
    expected = f"a diagnostic setting with a destination enabling {wanted}{accepted}"
    observed: dict[str, JSON] = {}
    problems_by_setting: list[str] = []
    for setting in settings:
        name = str(setting.get("name") or setting.get("id"))
        enabled, problems = _setting_gaps(setting, required, groups_ok)
        observed[name] = enabled
        if not problems:
            yield Outcome(
                Status.PASS,
                "diagnosticSettings",
                observed,
                expected,
                f"diagnostic setting {name!r} sends {', '.join(enabled)} to a destination",
            )
            return
        problems_by_setting.append(f"{name!r} {', '.join(problems)}")
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


def _leaf_conditions(condition: Any) -> Iterator[Mapping[str, Any]]:
    """Leaf conditions of an activity log alert (`allOf`, possibly with nested `anyOf`)."""
    if not isinstance(condition, Mapping):
        raise ValueError("activity log alert condition is not an object")
    for item in condition.get("allOf") or []:
        if isinstance(item, Mapping) and isinstance(item.get("anyOf"), list):
            yield from (leaf for leaf in item["anyOf"] if isinstance(leaf, Mapping))
        elif isinstance(item, Mapping):
            yield item


def _alert_operations(alert: Mapping[str, Any]) -> set[str]:
    ops = set()
    for leaf in _leaf_conditions(alert["properties"].get("condition")):
        if str(leaf.get("field", "")).lower() != "operationname":
            continue
        if leaf.get("equals") is not None:
            ops.add(str(leaf["equals"]).lower())
        for value in leaf.get("containsAny") or []:
            ops.add(str(value).lower())
    return ops


def _covers_subscription(alert: Mapping[str, Any], subscription_id: str) -> bool:
    wanted = subscription_scope(subscription_id).strip("/").lower()
    scopes = alert["properties"].get("scopes") or []
    return any(str(s).strip("/").lower() == wanted for s in scopes)


def _activity_log_alerts(ctx: EvalContext, params: Mapping[str, Any]) -> Iterator[Outcome]:
    sub_id = str(ctx.subscription_id)
    operations = [str(op) for op in params["operations"]]
    need_action = bool(params.get("require_action_group", True))
    alerts = ctx.resources_of_type(ACTIVITY_LOG_ALERTS, subscription_id=sub_id)
    covered: dict[str, str] = {}
    unusable: list[str] = []
    for alert in alerts:
        props = alert.get("properties")
        if not isinstance(props, Mapping):
            raise ValueError(f"activity log alert {alert.get('id')!r} has no properties")
        name = str(alert.get("name"))
        if props.get("enabled") is not True:
            unusable.append(f"{name!r} is disabled")
            continue
        if not _covers_subscription(alert, sub_id):
            unusable.append(f"{name!r} is not scoped to the whole subscription")
            continue
        groups = (props.get("actions") or {}).get("actionGroups") or []
        if need_action and not groups:
            unusable.append(f"{name!r} notifies no action group")
            continue
        for op in _alert_operations(alert):
            covered.setdefault(op, name)
    # One finding per missing operation: the operation is the finding's sub-item, so that each
    # keeps its identity across runs.
    expected = "an enabled, subscription-wide activity log alert with an action group"
    note = f" ({'; '.join(unusable)})" if unusable else ""
    missing = [op for op in operations if op.lower() not in covered]
    for op in missing:
        yield Outcome(
            Status.FAIL,
            f"activityLogAlerts[operationName=={op!r}]",
            None,
            expected,
            f"no usable activity log alert for {op}{note}",
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


# -- Defender for Cloud --------------------------------------------------------------------------


def _defender_plans(ctx: EvalContext, params: Mapping[str, Any]) -> Iterator[Outcome]:
    plans = {str(k): str(v) for k, v in params["plans"].items()}
    tier = str(params.get("tier", "Standard"))
    pricings = {}
    for item in list_values(ctx.own(PRICINGS), PRICINGS):
        props = item.get("properties")
        if not isinstance(props, Mapping):
            raise ValueError(f"pricing {item.get('name')!r} has no properties")
        pricings[str(item.get("name", "")).lower()] = item
    base = f"{ctx.scope_id}/providers/Microsoft.Security/pricings"
    for name, label in plans.items():
        item = pricings.get(name.lower())
        rid = str(item["id"]) if item and item.get("id") else f"{base}/{name}"
        observed = item["properties"].get("pricingTier") if item else None
        ok = observed is not None and str(observed).lower() == tier.lower()
        if item is None:
            message = f"{label} ({name}) is not reported by Defender for Cloud"
        elif ok:
            sub_plan = item["properties"].get("subPlan")
            message = f"{label} ({name}) is on {observed}" + (f" ({sub_plan})" if sub_plan else "")
        else:
            message = f"{label} ({name}) is on the {observed} tier, not {tier}"
        yield Outcome(
            passed(ok),
            "properties.pricingTier",
            observed,
            tier,
            message,
            resource_id=rid,
            resource_type="Microsoft.Security/pricings",
        )


def _contact_problems(contact: Mapping[str, Any], roles: list[str], max_rank: int) -> list[str]:
    props = contact.get("properties")
    if not isinstance(props, Mapping):
        raise ValueError(f"security contact {contact.get('name')!r} has no properties")
    problems = []
    if props.get("isEnabled") is False:
        problems.append("is disabled")
    if not str(props.get("emails") or "").strip():
        problems.append("has no email address")
    by_role = props.get("notificationsByRole") or {}
    held = {str(r).lower() for r in by_role.get("roles") or []}
    if str(by_role.get("state", "")).lower() != "on":
        problems.append("does not notify subscription roles")
    elif not {r.lower() for r in roles} <= held:
        problems.append(f"does not notify {', '.join(roles)}")
    alert_sources = [
        s
        for s in props.get("notificationsSources") or []
        if str(s.get("sourceType", "")).lower() == "alert"
    ]
    ranks = [
        SEVERITY_RANK.get(str(s.get("minimalSeverity", "")).lower(), 99) for s in alert_sources
    ]
    if not alert_sources:
        problems.append("sends no alert notifications")
    elif min(ranks) > max_rank:
        problems.append(f"alerts only above {alert_sources[0].get('minimalSeverity')} severity")
    return problems


def _security_contacts(ctx: EvalContext, params: Mapping[str, Any]) -> Iterator[Outcome]:
    roles = [str(r) for r in params.get("roles", ["Owner"])]
    severity = str(params.get("min_alert_severity", "High"))
    max_rank = SEVERITY_RANK.get(severity.lower())
    if max_rank is None:
        raise ValueError(f"min_alert_severity must be Low, Medium or High, not {severity!r}")
    contacts = list_values(ctx.own(SECURITY_CONTACTS), SECURITY_CONTACTS)
    expected = (
        f"a contact with an email, notifying {', '.join(roles)}, "
        f"for alerts of {severity} severity or lower"
    )
    details = []
    for contact in contacts:
        name = str(contact.get("name"))
        problems = _contact_problems(contact, roles, max_rank)
        if not problems:
            props = contact["properties"]
            yield Outcome(
                Status.PASS,
                "securityContacts",
                {"name": name, "emails": props.get("emails")},
                expected,
                f"security contact {name!r} notifies {props.get('emails')} and {', '.join(roles)}",
            )
            return
        details.append(f"{name!r} {', '.join(problems)}")
    message = "no security contact is configured" if not contacts else "; ".join(details)
    yield Outcome(Status.FAIL, "securityContacts", details, expected, message)


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
            "source": Param((str,), required=False, doc="diagnostic settings source name"),
        },
        RESOURCE_OR_SUBSCRIPTION,
        "PASS when one diagnostic setting with a destination enables every required category.",
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
        "FAIL for every operation without an enabled, subscription-wide activity log alert.",
    ),
    EvaluatorSpec(
        "network_watcher_regions",
        _network_watcher_regions,
        {},
        SUBSCRIPTION_ONLY,
        "FAIL for every region with a virtual network but no Network Watcher.",
    ),
    EvaluatorSpec(
        "defender_plans",
        _defender_plans,
        {
            "plans": Param((dict,), doc="{pricing name: plan label}"),
            "tier": Param((str,), required=False),
        },
        SUBSCRIPTION_ONLY,
        "One finding per plan: PASS when its pricing tier is Standard.",
    ),
    EvaluatorSpec(
        "security_contacts",
        _security_contacts,
        {
            "roles": Param((list,), required=False),
            "min_alert_severity": Param((str,), required=False),
        },
        SUBSCRIPTION_ONLY,
        "PASS when a security contact has an email, notifies the roles and alerts at the severity.",
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
