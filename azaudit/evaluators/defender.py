"""Defender for Cloud evaluators: the plans (pricings) of a subscription, its security contacts."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from azaudit.evaluators.access import (
    ShapeError,
    objects,
    optional_bool,
    optional_list,
    optional_str,
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
    shape_error_outcome,
)
from azaudit.evaluators.common import SUBSCRIPTION_ONLY
from azaudit.models import JSON, Status

PRICINGS = "providers/Microsoft.Security/pricings"
SECURITY_CONTACTS = "providers/Microsoft.Security/securityContacts"
SEVERITY_RANK = {"low": 1, "medium": 2, "high": 3}


PRICING_TYPE = "Microsoft.Security/pricings"
TIERS = frozenset({"free", "standard"})
COVERAGE_STATES = frozenset({"fullycovered", "partiallycovered", "notcovered"})
EXTENSION_STATES = frozenset({"true", "false"})


def _one_of(value: str, allowed: frozenset[str], path: str) -> str:
    """`value` lower-cased, or a ShapeError when it is outside the documented vocabulary."""
    if value.lower() not in allowed:
        raise ShapeError(path, f"one of {', '.join(sorted(allowed))}", repr(value))
    return value.lower()


def _extension_problems(props: Mapping[str, Any], wanted: list[str], at: str) -> list[str]:
    """Why the plan's required extensions (`OnUploadMalwareScanning`) are not in effect.

    `extensions` is optional and lists what the plan offers; `isEnabled` is the string
    "True"/"False" (https://learn.microsoft.com/rest/api/defenderforcloud/pricings/list). An
    extension whose last enablement `operationStatus.code` is Failed is not in effect.
    """
    if not wanted:
        return []
    found: dict[str, Mapping[str, Any]] = {}
    for index, entry in enumerate(objects(optional_list(props, "extensions", at=at), at=at)):
        found[require_str(entry, "name", at=f"{at}.extensions[{index}]").lower()] = entry
    problems = []
    for name in wanted:
        ext = found.get(name.lower())
        ext_at = f"{at}.extensions[name={name}]"
        if ext is None:
            problems.append(f"extension {name} is not listed")
            continue
        state = _one_of(
            require_str(ext, "isEnabled", at=ext_at), EXTENSION_STATES, f"{ext_at}.isEnabled"
        )
        if state != "true":
            problems.append(f"extension {name} is disabled")
        elif str(optional_str(ext, "operationStatus.code", "", at=ext_at)).lower() == "failed":
            problems.append(f"extension {name} failed to enable")
    return problems


def _plan_outcome(
    item: Mapping[str, Any] | None,
    name: str,
    label: str,
    rid: str,
    rules: Mapping[str, Any],
) -> Outcome:
    """The verdict on one plan: tier, resource-level coverage, sub-plan and extensions."""
    tier = str(rules["tier"])
    sub_plans = [str(s) for s in rules["sub_plans"].get(name.lower(), [])]
    extensions = [str(e) for e in rules["extensions"].get(name.lower(), [])]
    expected = f"pricingTier {tier}" + (f", subPlan {' or '.join(sub_plans)}" if sub_plans else "")
    if extensions:
        expected += f", extension(s) {', '.join(extensions)} enabled"
    target = {"resource_id": rid, "resource_type": PRICING_TYPE}
    if item is None:
        message = f"{label} ({name}) is not reported by Defender for Cloud"
        return Outcome(Status.FAIL, "properties.pricingTier", None, expected, message, **target)
    at = f"pricings[name={name}].properties"
    props = require_obj(item, "properties", at=f"pricings[name={name}]")
    observed_tier = require_str(props, "pricingTier", at=at)
    _one_of(observed_tier, TIERS, f"{at}.pricingTier")
    observed: dict[str, JSON] = {"pricingTier": observed_tier}
    problems: list[str] = []
    if observed_tier.lower() != tier.lower():
        # A plan that is off has no sub-plan or extensions worth reading.
        message = f"{label} ({name}) is on the {observed_tier} tier, not {tier}"
        return Outcome(Status.FAIL, "properties.pricingTier", observed, expected, message, **target)
    # Subscription level only; a plan switched off on some resources reads PartiallyCovered
    # (https://learn.microsoft.com/rest/api/defenderforcloud/pricings/list#resourcescoveragestatus).
    coverage = optional_str(props, "resourcesCoverageStatus", at=at)
    if coverage is not None:
        observed["resourcesCoverageStatus"] = coverage
        state = _one_of(coverage, COVERAGE_STATES, f"{at}.resourcesCoverageStatus")
        if state != "fullycovered":
            problems.append(f"is {coverage}: the plan is switched off on some resources")
    if sub_plans:
        # Servers and Storage always report their sub-plan; an absent one cannot be judged.
        sub_plan = require_str(props, "subPlan", at=at)
        observed["subPlan"] = sub_plan
        if sub_plan.lower() not in {s.lower() for s in sub_plans}:
            problems.append(f"is on sub-plan {sub_plan}, not {' or '.join(sub_plans)}")
    else:
        sub_plan = optional_str(props, "subPlan", at=at)
    ext_problems = _extension_problems(props, extensions, at)
    if extensions:
        observed["extensions"] = ext_problems or [f"{e} enabled" for e in extensions]
    problems += ext_problems
    if problems:
        message = f"{label} ({name}) " + "; ".join(problems)
        return Outcome(Status.FAIL, "properties", observed, expected, message, **target)
    shown = f"{observed_tier}" + (f" ({sub_plan})" if sub_plan else "")
    suffix = f" with {', '.join(extensions)} enabled" if extensions else ""
    message = f"{label} ({name}) is on {shown}{suffix}"
    return Outcome(Status.PASS, "properties", observed, expected, message, **target)


def _defender_plans(ctx: EvalContext, params: Mapping[str, Any]) -> Iterator[Outcome]:
    """One finding per plan: Standard tier, covering every resource, on an accepted sub-plan.

    A plan the API marks `deprecated` (KubernetesService and ContainerRegistry, replaced by
    Containers) is NOT_APPLICABLE and its replacements are judged instead: requiring a plan
    that can no longer be bought would fail every subscription, and passing it would credit
    protection nobody gets.
    """
    plans = {str(k): str(v) for k, v in params["plans"].items()}
    rules = {
        "tier": str(params.get("tier", "Standard")),
        "sub_plans": {str(k).lower(): v for k, v in (params.get("sub_plans") or {}).items()},
        "extensions": {str(k).lower(): v for k, v in (params.get("extensions") or {}).items()},
    }
    items = objects(list_values(ctx.own(PRICINGS), PRICINGS), at="pricings")
    pricings: dict[str, Mapping[str, Any]] = {}
    for index, entry in enumerate(items):
        pricings[require_str(entry, "name", at=f"pricings[{index}]").lower()] = entry
    base = f"{ctx.scope_id}/providers/Microsoft.Security/pricings"
    queue = list(plans.items())
    judged = {name.lower() for name in plans}
    while queue:
        name, label = queue.pop(0)
        item = pricings.get(name.lower())
        rid = f"{base}/{name}"
        try:
            if item is not None:
                rid = optional_str(item, "id", rid, at=f"pricings[name={name}]")
                at = f"pricings[name={name}].properties"
                if optional_bool(item, "properties.deprecated", False, at=f"pricings[name={name}]"):
                    replaced = strings(
                        optional_list(item, "properties.replacedBy", at=at), at=f"{at}.replacedBy"
                    )
                    for new in replaced:
                        if new.lower() not in judged:
                            judged.add(new.lower())
                            queue.append((new, f"{new} (replaces {label})"))
                    instead = f"; judged as {', '.join(replaced)}" if replaced else ""
                    yield Outcome(
                        Status.NOT_APPLICABLE,
                        "properties.deprecated",
                        True,
                        "a plan Defender for Cloud still offers",
                        f"{label} ({name}) is deprecated{instead}",
                        resource_id=rid,
                        resource_type=PRICING_TYPE,
                    )
                    continue
            yield _plan_outcome(item, name, label, rid, rules)
        except ShapeError as error:
            yield shape_error_outcome(error, resource_id=rid, resource_type=PRICING_TYPE)


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


SPECS: tuple[EvaluatorSpec, ...] = (
    EvaluatorSpec(
        "defender_plans",
        _defender_plans,
        {
            "plans": Param((dict,), doc="{pricing name: plan label}"),
            "tier": Param((str,), required=False),
            "sub_plans": Param(
                (dict,), required=False, doc="{pricing name: [accepted subPlan values]}"
            ),
            "extensions": Param(
                (dict,), required=False, doc="{pricing name: [extensions that must be enabled]}"
            ),
        },
        SUBSCRIPTION_ONLY,
        "One finding per plan: PASS when it is on the tier, fully covering the subscription's "
        "resources, on an accepted sub-plan with the required extensions; deprecated plans are "
        "NOT_APPLICABLE and their replacements judged.",
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
)
