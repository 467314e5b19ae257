"""Defender for Cloud evaluators: the plans (pricings) of a subscription, its security contacts."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from azaudit.evaluators.access import (
    ShapeError,
    objects,
    optional_bool,
    optional_list,
    optional_str,
    require_bool,
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


# -- Defender for Endpoint integration -------------------------------------------------------------

SETTINGS = "providers/Microsoft.Security/settings"
WDATP = "WDATP"
WDATP_EXCLUDE_LINUX = "WDATP_EXCLUDE_LINUX_PUBLIC_PREVIEW"


def _by_name(items: list[Any], at: str) -> dict[str, Mapping[str, Any]]:
    """List items by lower-cased `name` (ARM always sends it)."""
    found: dict[str, Mapping[str, Any]] = {}
    for index, item in enumerate(objects(items, at=at)):
        found[require_str(item, "name", at=f"{at}[{index}]").lower()] = item
    return found


def _endpoint_integration(ctx: EvalContext, params: Mapping[str, Any]) -> Iterator[Outcome]:
    """PASS when Defender for Servers is on and hands its machines to Defender for Endpoint.

    The `WDATP` setting turns the integration on; `WDATP_EXCLUDE_LINUX_PUBLIC_PREVIEW` enabled
    keeps Linux machines out of it (subscriptions onboarded before Linux support), so only its
    absence or `false` counts as Linux included
    (https://learn.microsoft.com/azure/defender-for-cloud/enable-defender-for-endpoint). Without
    Defender for Servers the integration deploys nothing.
    """
    settings = _by_name(list_values(ctx.own(SETTINGS), SETTINGS), "settings")
    plans = _by_name(list_values(ctx.own(PRICINGS), PRICINGS), "pricings")
    expected = (
        f"{WDATP} enabled, {WDATP_EXCLUDE_LINUX} not enabled, Defender for Servers on Standard"
    )
    observed: dict[str, JSON] = {}
    problems = []
    wdatp = settings.get(WDATP.lower())
    if wdatp is None:
        problems.append(f"the {WDATP} setting is not reported")
    else:
        on = require_bool(wdatp, "properties.enabled", at=f"settings[name={WDATP}]")
        observed[WDATP] = on
        if not on:
            problems.append("the Defender for Endpoint integration (WDATP) is off")
    linux = settings.get(WDATP_EXCLUDE_LINUX.lower())
    if linux is not None:
        excluded = require_bool(
            linux, "properties.enabled", at=f"settings[name={WDATP_EXCLUDE_LINUX}]"
        )
        observed[WDATP_EXCLUDE_LINUX] = excluded
        if excluded:
            problems.append("Linux machines are excluded from the integration")
    servers = plans.get("virtualmachines")
    if servers is None:
        problems.append("Defender for Servers is not reported")
    else:
        at = "pricings[name=VirtualMachines].properties"
        tier = require_str(servers, "properties.pricingTier", at="pricings[name=VirtualMachines]")
        observed["VirtualMachines.pricingTier"] = _one_of(tier, TIERS, f"{at}.pricingTier")
        if tier.lower() != "standard":
            problems.append(f"Defender for Servers is on the {tier} tier: nothing is deployed")
    if problems:
        yield Outcome(Status.FAIL, SETTINGS, observed, expected, "; ".join(problems))
        return
    yield Outcome(
        Status.PASS,
        SETTINGS,
        observed,
        expected,
        "Defender for Servers deploys Defender for Endpoint to Windows and Linux machines",
    )


# -- assessments (recommendations) ---------------------------------------------------------------

ASSESSMENTS = "providers/Microsoft.Security/assessments"
ASSESSMENT_METADATA = "providers/Microsoft.Security/assessmentMetadata"
ASSESSMENT_MARKER = "/providers/microsoft.security/assessments/"
STATUS_CODES = frozenset({"healthy", "unhealthy", "notapplicable"})
SEVERITIES = frozenset({"low", "medium", "high"})
VM_TYPE = "Microsoft.Compute/virtualMachines"


@dataclass(frozen=True, slots=True)
class Assessment:
    """One assessment: the resource it judges, its type (key) and where it sits in the list."""

    resource_id: str
    key: str
    item: Mapping[str, Any]
    at: str

    def status(self) -> str:
        """The status code, lower-cased (Healthy, Unhealthy, NotApplicable)."""
        code = require_str(self.item, "properties.status.code", at=self.at)
        return _one_of(code, STATUS_CODES, f"{self.at}.properties.status.code")

    def label(self) -> str:
        """The recommendation's display name (its key when the name is missing)."""
        return str(optional_str(self.item, "properties.displayName", self.key, at=self.at))


def _assessments(ctx: EvalContext) -> list[Assessment]:
    """The subscription's assessments, each with the resource it judges.

    The assessment id is `<resource id>/providers/Microsoft.Security/assessments/<key>`
    (Assessments_List example); an id that does not have that form could belong to any
    resource, so it raises for the whole subscription.
    """
    out = []
    items = objects(list_values(ctx.subscription_doc(ASSESSMENTS), ASSESSMENTS), at="assessments")
    for index, item in enumerate(items):
        at = f"assessments[{index}]"
        aid = require_str(item, "id", at=at)
        cut = aid.lower().rfind(ASSESSMENT_MARKER)
        if cut <= 0:
            raise ShapeError(
                f"{at}.id",
                "<resource id>/providers/Microsoft.Security/assessments/<key>",
                repr(aid),
            )
        key = aid[cut + len(ASSESSMENT_MARKER) :].lower()
        out.append(Assessment(aid[:cut], key, item, f"assessments[{aid}]"))
    return out


def _severities(ctx: EvalContext) -> dict[str, str]:
    """Assessment key -> severity (Low, Medium, High) from the assessment types' metadata."""
    items = objects(
        list_values(ctx.subscription_doc(ASSESSMENT_METADATA), ASSESSMENT_METADATA),
        at="assessmentMetadata",
    )
    found = {}
    for index, item in enumerate(items):
        at = f"assessmentMetadata[{index}]"
        name = require_str(item, "name", at=at).lower()
        severity = require_str(item, "properties.severity", at=at)
        found[name] = _one_of(severity, SEVERITIES, f"{at}.properties.severity")
    return found


def _resource_type(resource_id: str) -> str:
    """`Microsoft.Compute/virtualMachines` from a resource id (a subscription for its own id)."""
    if "/providers/" not in resource_id.lower():
        return "Microsoft.Resources/subscriptions"
    cut = resource_id.lower().rfind("/providers/")
    parts = resource_id[cut + len("/providers/") :].split("/")
    return "/".join([parts[0], *parts[1::2]])


def _unhealthy_assessments(ctx: EvalContext, params: Mapping[str, Any]) -> Iterator[Outcome]:
    """FAIL per resource with unhealthy recommendations of the listed severities.

    Each failing resource is one finding that lists its recommendations, so a reviewer sees
    where the risk sits rather than a count. A recommendation whose severity or status cannot be
    read is ERROR for its resource only.
    """
    wanted = {str(s).lower() for s in params.get("severities", ["High"])}
    shown = "/".join(sorted(s.capitalize() for s in wanted))
    expected = f"no unhealthy Defender for Cloud recommendation of {shown} severity"
    severities = _severities(ctx)
    failing: dict[str, tuple[str, list[str]]] = {}
    errors: dict[str, Outcome] = {}
    assessments = _assessments(ctx)
    for entry in assessments:
        rid = entry.resource_id.lower()
        try:
            if entry.status() != "unhealthy":
                continue
            severity = severities.get(entry.key)
            if severity is None:
                raise ShapeError(
                    f"assessmentMetadata[name={entry.key}].properties.severity",
                    "the severity of the assessment type",
                    "absent",
                )
        except ShapeError as error:
            errors.setdefault(
                rid,
                shape_error_outcome(
                    error,
                    resource_id=entry.resource_id,
                    resource_type=_resource_type(entry.resource_id),
                ),
            )
            continue
        if severity in wanted:
            failing.setdefault(rid, (entry.resource_id, []))[1].append(entry.label())
    for _rid, (resource_id, labels) in sorted(failing.items()):
        labels.sort()
        yield Outcome(
            Status.FAIL,
            "properties.status.code",
            labels,
            expected,
            f"{len(labels)} unhealthy {shown}-severity recommendation(s): {'; '.join(labels)}",
            resource_id=resource_id,
            resource_type=_resource_type(resource_id),
        )
    yield from (errors[rid] for rid in sorted(errors) if rid not in failing)
    if not failing and not errors:
        yield Outcome(
            Status.PASS,
            "properties.status.code",
            {"assessments": len(assessments)},
            expected,
            f"none of the subscription's {len(assessments)} assessments is an unhealthy "
            f"{shown}-severity recommendation",
        )


def _machine_problems(
    found: list[Assessment], groups: Mapping[str, list[str]], hints: Mapping[str, str]
) -> list[str]:
    """What a machine's assessments fail of each group (any key of a group may answer it).

    A group that is not assessed Healthy carries its hint, when the check gives one: what the
    reader can do where Defender for Cloud cannot judge the machine (for example a third-party
    EDR whose configuration only its own console shows).
    """
    problems = []
    for label, keys in groups.items():
        wanted = {str(k).lower() for k in keys}
        mine = [a for a in found if a.key in wanted]
        states = [(a, a.status()) for a in mine]
        unhealthy = [a.label() for a, state in states if state == "unhealthy"]
        if unhealthy:
            problems.append(f"{label}: unhealthy ({'; '.join(sorted(unhealthy))})")
        elif not any(state == "healthy" for _, state in states):
            seen = ", ".join(sorted({state for _, state in states})) or "no assessment"
            hint = f" - {hints[label]}" if label in hints else ""
            problems.append(f"{label}: not assessed healthy ({seen}){hint}")
    return problems


def _machine_assessments(ctx: EvalContext, params: Mapping[str, Any]) -> Iterator[Outcome]:
    """One finding per virtual machine: PASS when every group of assessments is Healthy.

    A group (vulnerability assessment, vulnerability findings, system updates) passes when one
    of its assessment keys is Healthy and none is Unhealthy; NotApplicable or no assessment at
    all is no evidence and fails. Assessments are indexed once per subscription.
    """
    groups = {str(k): [str(v) for v in vs] for k, vs in params["groups"].items()}
    hints = {str(k): str(v) for k, v in params.get("hints", {}).items()}
    expected = "Healthy: " + ", ".join(groups)
    by_resource: dict[str, list[Assessment]] = {}
    for entry in _assessments(ctx):
        by_resource.setdefault(entry.resource_id.lower(), []).append(entry)
    machines = ctx.resources_of_type(VM_TYPE, subscription_id=str(ctx.subscription_id))
    for index, vm in enumerate(machines):
        vm_id = require_str(vm, "id", at=f"virtualMachines[{index}]")
        target = {
            "resource_id": vm_id,
            "resource_type": VM_TYPE,
            "resource_name": str(vm.get("name") or vm_id.rsplit("/", 1)[-1]),
        }
        try:
            problems = _machine_problems(by_resource.get(vm_id.lower(), []), groups, hints)
        except ShapeError as error:
            yield shape_error_outcome(error, **target)
            continue
        if problems:
            yield Outcome(
                Status.FAIL, ASSESSMENTS, problems, expected, "; ".join(problems), **target
            )
        else:
            yield Outcome(
                Status.PASS,
                ASSESSMENTS,
                list(groups),
                expected,
                f"Defender for Cloud assesses {', '.join(groups)} as Healthy",
                **target,
            )
    if not machines:
        yield Outcome(
            Status.NOT_APPLICABLE,
            ASSESSMENTS,
            [],
            expected,
            "the subscription has no virtual machines",
        )


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
    EvaluatorSpec(
        "defender_endpoint_integration",
        _endpoint_integration,
        {},
        SUBSCRIPTION_ONLY,
        "PASS when Defender for Servers is on and its Defender for Endpoint integration (WDATP) "
        "covers Windows and Linux machines.",
    ),
    EvaluatorSpec(
        "defender_unhealthy_assessments",
        _unhealthy_assessments,
        {"severities": Param((list,), required=False, doc="severities that fail (default High)")},
        SUBSCRIPTION_ONLY,
        "FAIL per resource with unhealthy Defender recommendations of the listed severities "
        "(listed as evidence); PASS when there are none.",
    ),
    EvaluatorSpec(
        "defender_machine_assessments",
        _machine_assessments,
        {
            "groups": Param((dict,), doc="{label: [assessment keys, any of which answers it]}"),
            "hints": Param(
                (dict,),
                required=False,
                doc="{group label: what to do when the group is not assessed Healthy}",
            ),
        },
        SUBSCRIPTION_ONLY,
        "One finding per virtual machine: PASS when each group of Defender assessments is "
        "Healthy (NotApplicable or missing is no evidence).",
    ),
)
