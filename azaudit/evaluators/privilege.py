"""Privilege evaluators: standing (permanent) privileged access and the tenant's authorization
policy (who may invite guests, what users may consent to).

Standing access is judged on Azure's own record of how each active assignment came to be:
`roleAssignmentScheduleInstances` says whether it was `Assigned` (standing, permanent or
time-bound) or `Activated` from a PIM eligibility (just-in-time, it ends by itself):
https://learn.microsoft.com/rest/api/authorization/role-assignment-schedule-instances/list-for-scope
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from azaudit.evaluators.access import (
    ShapeError,
    optional_str,
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
)
from azaudit.evaluators.common import SUBSCRIPTION_ONLY, TENANT_ONLY
from azaudit.evaluators.identity import (
    ASSIGNMENT_TYPE,
    ROLE_ASSIGNMENTS,
    ROLE_DEFINITIONS,
    _custom_roles_unknown,
    _matching_assignments,
    _principal_kind,
    break_glass_ids,
    judged_roles,
)
from azaudit.models import Status

ASSIGNMENT_INSTANCES = "providers/Microsoft.Authorization/roleAssignmentScheduleInstances"
AUTHORIZATION_POLICY = "graph:policies/authorizationPolicy"

_ASSIGNMENT_TYPES = ("activated", "assigned")


def _activation_index(ctx: EvalContext) -> dict[str, tuple[str, str | None]]:
    """`{role assignment id (lower case): (assignmentType, endDateTime)}` from the schedule
    instances; `originRoleAssignmentId` links an instance to the role assignment it created.
    `assignmentType` is Activated or Assigned (REST spec `RoleAssignmentScheduleInstance`);
    any other value raises, because it could be either."""
    found: dict[str, tuple[str, str | None]] = {}
    body = ctx.subscription_doc(ASSIGNMENT_INSTANCES)
    for index, item in enumerate(list_values(body, ASSIGNMENT_INSTANCES)):
        at = f"roleAssignmentScheduleInstances[{index}].properties"
        props = require_obj(item, "properties", at=f"roleAssignmentScheduleInstances[{index}]")
        kind = require_str(props, "assignmentType", at=at)
        if kind.lower() not in _ASSIGNMENT_TYPES:
            raise ShapeError(f"{at}.assignmentType", "Activated or Assigned", repr(kind))
        origin = optional_str(props, "originRoleAssignmentId", None, at=at)
        if origin:
            found[origin.lower()] = (kind, optional_str(props, "endDateTime", None, at=at))
    return found


def _standing_privilege(ctx: EvalContext, params: Mapping[str, Any]) -> Iterator[Outcome]:
    """One finding per active privileged assignment of a user or group at subscription scope or
    above: PASS when it was activated from a PIM eligibility (or is a declared break-glass
    account), FAIL when it is standing. Service principals cannot activate eligibility and are
    left to the other checks."""
    roles, unknown = judged_roles(params, "roles", lambda: ctx.subscription_doc(ROLE_DEFINITIONS))
    sub_id = str(ctx.subscription_id)
    assignments = list_values(ctx.subscription_doc(ROLE_ASSIGNMENTS), ROLE_ASSIGNMENTS)
    allowed = break_glass_ids(ctx, params)
    expected = (
        "privileged roles held through PIM eligibility and activated when needed, not as "
        "standing assignments (declared break-glass accounts excepted)"
    )
    try:
        activations: dict[str, tuple[str, str | None]] | None = _activation_index(ctx)
        gap: MissingData | None = None
    except MissingData as missing:
        activations, gap = None, missing
    found = 0
    for assignment, props, role_name in _matching_assignments(
        assignments, roles, sub_id, "subscription_or_above"
    ):
        kind = _principal_kind(props, "principalType", at="roleAssignments")
        if kind == "servicePrincipal":
            continue
        found += 1
        rid = str(assignment["id"])
        principal = str(props["principalId"])
        where = f"{role_name} on {props.get('scope')} held by {kind} {principal}"
        if principal.lower() in allowed:
            yield Outcome(
                Status.PASS,
                "principalId",
                principal,
                expected,
                f"{where}: a declared break-glass account",
                resource_id=rid,
                resource_type=ASSIGNMENT_TYPE,
            )
            continue
        if activations is None:
            reason = gap.reason if gap is not None else "not collected"
            yield Outcome(
                Status.ERROR,
                ASSIGNMENT_INSTANCES,
                None,
                expected,
                f"{where}: cannot tell whether it is standing or activated from a PIM "
                f"eligibility ({ASSIGNMENT_INSTANCES}: {reason})",
                resource_id=rid,
                resource_type=ASSIGNMENT_TYPE,
            )
            continue
        kind_end = activations.get(rid.lower())
        if kind_end is not None and kind_end[0].lower() == "activated":
            yield Outcome(
                Status.PASS,
                "assignmentType",
                kind_end[0],
                expected,
                f"{where}: activated from a PIM eligibility"
                + (f", ends {kind_end[1]}" if kind_end[1] else ""),
                resource_id=rid,
                resource_type=ASSIGNMENT_TYPE,
            )
            continue
        how = (
            "a standing assignment with no PIM schedule instance (assigned outside PIM)"
            if kind_end is None
            else "a standing assignment (assignmentType Assigned"
            + (f", until {kind_end[1]})" if kind_end[1] else ", permanent)")
        )
        yield Outcome(
            Status.FAIL,
            "assignmentType",
            kind_end[0] if kind_end else None,
            expected,
            f"{where}: {how}; make it eligible through PIM instead",
            resource_id=rid,
            resource_type=ASSIGNMENT_TYPE,
        )
    if unknown is not None:
        yield _custom_roles_unknown(unknown)
    elif found == 0:
        role_label = " or ".join(sorted(set(roles.values())))
        yield Outcome(
            Status.PASS,
            "roleAssignments",
            [],
            expected,
            f"no user or group holds {role_label} actively at subscription scope or above",
        )


# -- Entra authorization policy ----------------------------------------------------------------

_INVITERS = {
    "none": True,
    "adminsandguestinviters": True,
    "adminsguestinvitersandallmembers": False,
    "everyone": False,
}
"""`allowInvitesFrom` values and whether they restrict invitations to administrators and the
Guest Inviter role: https://learn.microsoft.com/graph/api/resources/authorizationpolicy"""


def _guest_invites(ctx: EvalContext, params: Mapping[str, Any]) -> Iterator[Outcome]:
    policy = require_obj(ctx.graph(AUTHORIZATION_POLICY), at="authorizationPolicy")
    value = require_str(policy, "allowInvitesFrom", at="authorizationPolicy")
    restricted = _INVITERS.get(value.lower())
    if restricted is None:
        raise ShapeError(
            "authorizationPolicy.allowInvitesFrom",
            "none, adminsAndGuestInviters, adminsGuestInvitersAndAllMembers or everyone",
            repr(value),
        )
    expected = "none or adminsAndGuestInviters"
    who = {
        "none": "nobody, administrators included, may invite guests",
        "adminsandguestinviters": "only administrators and the Guest Inviter role may invite "
        "guests",
        "adminsguestinvitersandallmembers": "every member user may invite guests",
        "everyone": "every user, guests included, may invite guests",
    }[value.lower()]
    yield Outcome(
        Status.PASS if restricted else Status.FAIL,
        "allowInvitesFrom",
        value,
        expected,
        f"allowInvitesFrom is {value}: {who}",
    )


_SELF = "managepermissiongrantsforself."
_CONSENT_POLICIES = {
    "microsoft-user-default-low": (
        True,
        "users may consent only to apps from verified publishers or this organisation, for "
        "permissions classified low impact",
    ),
    "microsoft-user-default-recommended": (
        True,
        "users may consent only under Microsoft's managed recommendation (verified publishers, "
        "low-impact permissions)",
    ),
    "microsoft-user-default-legacy": (
        False,
        "users may consent to any app, unverified publishers included, for every permission "
        "that does not need admin consent",
    ),
}
"""Built-in permission grant policies a user may be assigned, and what they let users consent
to: https://learn.microsoft.com/entra/identity/enterprise-apps/configure-user-consent"""


def _user_consent(ctx: EvalContext, params: Mapping[str, Any]) -> Iterator[Outcome]:
    policy = require_obj(ctx.graph(AUTHORIZATION_POLICY), at="authorizationPolicy")
    at = "authorizationPolicy.defaultUserRolePermissions"
    defaults = require_obj(policy, "defaultUserRolePermissions", at="authorizationPolicy")
    assigned = strings(
        require_list(defaults, "permissionGrantPoliciesAssigned", at=at),
        at=f"{at}.permissionGrantPoliciesAssigned",
    )
    path = "defaultUserRolePermissions.permissionGrantPoliciesAssigned"
    expected = (
        "user consent disabled, or limited to verified publishers and low-impact permissions "
        "(microsoft-user-default-low or -recommended)"
    )
    own = [p for p in assigned if p.lower().startswith(_SELF)]
    if not own:
        yield Outcome(
            Status.PASS,
            path,
            assigned,
            expected,
            "users may not consent to applications (no ManagePermissionGrantsForSelf policy is "
            "assigned): an administrator reviews every grant",
        )
        return
    verdicts: list[str] = []
    open_policy: list[str] = []
    custom: list[str] = []
    for name in own:
        known = _CONSENT_POLICIES.get(name[len(_SELF) :].lower())
        if known is None:
            custom.append(name)
        elif not known[0]:
            open_policy.append(name)
            verdicts.append(f"{name}: {known[1]}")
        else:
            verdicts.append(f"{name}: {known[1]}")
    if open_policy:
        yield Outcome(Status.FAIL, path, assigned, expected, "; ".join(verdicts))
    elif custom:
        yield Outcome(
            Status.MANUAL,
            path,
            assigned,
            expected,
            f"custom permission grant policy {', '.join(custom)} decides what users may consent "
            "to; its conditions are not collected: confirm it admits only verified publishers "
            "and low-impact permissions",
        )
    else:
        yield Outcome(Status.PASS, path, assigned, expected, "; ".join(verdicts))


SPECS: tuple[EvaluatorSpec, ...] = (
    EvaluatorSpec(
        "standing_privileged_assignments",
        _standing_privilege,
        {
            "roles": Param(
                (dict, str),
                doc="{role definition GUID: display name}, or privileged / "
                "access_administrators (built-in roles plus custom roles that manage access)",
            ),
            "break_glass_accounts": Param(
                (list,),
                required=False,
                doc="emergency-access users (object ids or user principal names) allowed to "
                "hold the roles permanently; the scan setting scan.break_glass_accounts adds "
                "to it",
            ),
        },
        SUBSCRIPTION_ONLY,
        "One finding per active privileged assignment of a user or group: PASS when activated "
        "from PIM eligibility or held by a declared break-glass account, FAIL when standing.",
    ),
    EvaluatorSpec(
        "guest_invites_restricted",
        _guest_invites,
        {},
        TENANT_ONLY,
        "PASS when only administrators and Guest Inviters (or nobody) may invite guests.",
    ),
    EvaluatorSpec(
        "user_consent_restricted",
        _user_consent,
        {},
        TENANT_ONLY,
        "PASS when users cannot consent to apps, or only to verified publishers' low-impact "
        "permissions; FAIL for the legacy policy; MANUAL for a custom policy.",
    ),
)
