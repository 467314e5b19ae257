"""Defender for Cloud evaluators: the plans (pricings) of a subscription, its security contacts."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from azaudit.evaluators.base import (
    EvalContext,
    EvaluatorSpec,
    Outcome,
    Param,
    list_values,
    passed,
)
from azaudit.evaluators.common import SUBSCRIPTION_ONLY
from azaudit.models import Status

PRICINGS = "providers/Microsoft.Security/pricings"
SECURITY_CONTACTS = "providers/Microsoft.Security/securityContacts"
SEVERITY_RANK = {"low": 1, "medium": 2, "high": 3}


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


SPECS: tuple[EvaluatorSpec, ...] = (
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
)
