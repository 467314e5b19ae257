"""Identity evaluators: MFA enforcement, privileged-role hygiene and RBAC least privilege.

They join three kinds of data: Entra ID (Microsoft Graph) documents of the tenant, Azure RBAC
role assignments/definitions of each subscription, and the user objects that role assignments
point at (a role assignment's `principalId` is the Graph object id). Group-held roles are never
assumed safe: group membership is not collected, so such a holder is reported MANUAL.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from azaudit.evaluators.access import (
    ShapeError,
    kind_of,
    optional_list,
    optional_obj,
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
    MissingData,
    Outcome,
    Param,
    list_values,
    passed,
    shape_error_outcome,
)
from azaudit.evaluators.common import SUBSCRIPTION_ONLY, TENANT_ONLY
from azaudit.evaluators.eligibility import (
    ELIGIBILITY_TYPE,
    azure_eligibilities,
    directory_eligibilities,
    eligibility_unknown,
    principal_kind,
)
from azaudit.models import JSON, Status
from azaudit.snapshot import subscription_scope

CA_POLICIES = "graph:identity/conditionalAccess/policies"
SECURITY_DEFAULTS = "graph:policies/identitySecurityDefaultsEnforcementPolicy"
REGISTRATION = "graph:reports/authenticationMethods/userRegistrationDetails"
DIRECTORY_ROLES = "graph:directoryRoles"
USERS = "graph:users"
ROLE_ASSIGNMENTS = "providers/Microsoft.Authorization/roleAssignments"
ROLE_DEFINITIONS = "providers/Microsoft.Authorization/roleDefinitions"

ASSIGNMENT_TYPE = "Microsoft.Authorization/roleAssignments"
DEFINITION_TYPE = "Microsoft.Authorization/roleDefinitions"
USER_TYPE = "Microsoft.Entra/users"
GROUP_TYPE = "Microsoft.Entra/groups"
SUBSCRIPTION_TYPE = "Microsoft.Resources/subscriptions"

SCOPE_CHOICES = ("subscription_or_above", "any")

# -- what "privileged" means in Azure RBAC (one definition for every check) ----------------------

OWNER = "8e3af657-a8ff-443c-a75c-2fe8c4bcb635"
CONTRIBUTOR = "b24988ac-6180-42a0-ab88-20f7382dd24c"
USER_ACCESS_ADMINISTRATOR = "18d7d88d-d35e-4fb5-a5c3-7773c20a72d9"
RBAC_ADMINISTRATOR = "f58310d9-a9f6-439a-9e8d-f62e7b41a168"

ACCESS_ADMINISTRATOR_ROLES: Mapping[str, str] = {
    USER_ACCESS_ADMINISTRATOR: "User Access Administrator",
    RBAC_ADMINISTRATOR: "Role Based Access Control Administrator",
}
"""Built-in roles (besides Owner) whose holders can grant anyone any role, themselves included."""

PRIVILEGED_ROLES: Mapping[str, str] = {
    OWNER: "Owner",
    CONTRIBUTOR: "Contributor",
    **ACCESS_ADMINISTRATOR_ROLES,
}
"""Built-in roles that can change every resource or grant access to it."""

ROLE_SETS = {"privileged": PRIVILEGED_ROLES, "access_administrators": ACCESS_ADMINISTRATOR_ROLES}
"""What a check's `roles`/`azure_roles` may name instead of a role map: the built-in roles of the
set, plus every custom role of the subscription that manages access (`manages_access`)."""

ACCESS_ACTIONS = (
    "Microsoft.Authorization/roleAssignments/write",
    "Microsoft.Authorization/roleDefinitions/write",
)
"""Holding either is holding every role: assign yourself Owner, or rewrite your own role."""


def _action_pattern(pattern: str) -> re.Pattern[str]:
    """An RBAC action with wildcards (`*` matches any run of characters), case-insensitive:
    https://learn.microsoft.com/azure/role-based-access-control/role-definitions#actions"""
    return re.compile(".*".join(re.escape(part) for part in pattern.split("*")), re.IGNORECASE)


def manages_access(permissions: list[Any], *, at: str) -> list[str]:
    """The access-management actions (`ACCESS_ACTIONS`) a role definition grants (empty: none).

    An action counts when some `actions` entry of a permission block matches it (`*`,
    `Microsoft.Authorization/*`, `*/write`, ...) and no `notActions` entry of the same block
    removes it. `notActions` is optional (absent: nothing removed):
    https://learn.microsoft.com/rest/api/authorization/role-definitions/get#permission
    """
    granted: list[str] = []
    for i, block in enumerate(permissions):
        where = f"{at}[{i}]"
        actions = strings(require_list(block, "actions", at=where), at=f"{where}.actions")
        removed = strings(optional_list(block, "notActions", at=where), at=f"{where}.notActions")
        for wanted in ACCESS_ACTIONS:
            if wanted in granted:
                continue
            if any(_action_pattern(a).fullmatch(wanted) for a in actions) and not any(
                _action_pattern(n).fullmatch(wanted) for n in removed
            ):
                granted.append(wanted)
    return granted


def _custom_definition(definition: Any, index: int) -> tuple[str, Mapping[str, Any]] | None:
    """`(id, properties)` of a custom role definition; None for a built-in role.

    `type` is always sent (BuiltInRole or CustomRole). A definition of any other type that grants
    `*` or manages access raises, because it could be a custom role; one that grants neither
    cannot change a verdict (Microsoft's own examples use the placeholder `roletype`).
    """
    at = f"roleDefinitions[{index}]"
    rid = require_str(definition, "id", at=at)
    props = require_obj(definition, "properties", at=at)
    role_type = require_str(props, "type", at=f"{at}.properties")
    if role_type.lower() == "builtinrole":
        return None
    if role_type.lower() != "customrole":
        permissions = require_list(props, "permissions", at=f"{at}.properties")
        wildcard = any(
            "*" in strings(require_list(p, "actions", at=f"{at}.permissions[{i}]"), at=at)
            for i, p in enumerate(permissions)
        )
        if wildcard or manages_access(permissions, at=f"{at}.properties.permissions"):
            raise ShapeError(f"{at}.properties.type", "BuiltInRole or CustomRole", repr(role_type))
        return None
    return rid, props


def privileged_custom_roles(definitions: list[Any]) -> dict[str, str]:
    """`{guid: name}` of the custom roles that manage access (see `manages_access`)."""
    found: dict[str, str] = {}
    for index, definition in enumerate(definitions):
        custom = _custom_definition(definition, index)
        if custom is None:
            continue
        rid, props = custom
        at = f"roleDefinitions[{index}].properties"
        if manages_access(require_list(props, "permissions", at=at), at=f"{at}.permissions"):
            name = optional_str(props, "roleName", None, at=at) or rid
            found[role_guid(rid)] = f"{name} (custom role that manages access)"
    return found


def judged_roles(
    params: Mapping[str, Any], key: str, definitions: Callable[[], JSON]
) -> tuple[dict[str, str], MissingData | None]:
    """The `{guid: name}` roles a check judges, from its `key` parameter.

    A map names the roles exactly. A set name (`ROLE_SETS`) means its built-in roles plus the
    subscription's custom roles that manage access, read from `definitions` (a
    `roleDefinitions` list document; called only for set names). When that document is missing,
    the built-in roles are still judged (what they prove stands) and the `MissingData` is
    returned, so that the caller reports the unknown custom roles as ERROR instead of passing.
    """
    value = params.get(key, {})
    if not isinstance(value, str):
        return _role_names(params, key), None
    if value not in ROLE_SETS:
        raise ValueError(f"{key} must be a role map or one of {', '.join(ROLE_SETS)}")
    try:
        custom = privileged_custom_roles(list_values(definitions(), ROLE_DEFINITIONS))
    except MissingData as missing:
        return dict(ROLE_SETS[value]), missing
    return {**ROLE_SETS[value], **custom}, None


def _custom_roles_unknown(missing: MissingData, resource_id: str | None = None) -> Outcome:
    """ERROR for the custom roles that could not be identified (definitions not collected)."""
    return Outcome(
        Status.ERROR,
        ROLE_DEFINITIONS,
        None,
        "role definitions collected, to find custom roles that manage access",
        f"cannot tell which custom roles manage access in {missing.scope}: {missing.reason}; "
        "holders of custom roles are not judged",
        resource_id=resource_id,
        resource_type=SUBSCRIPTION_TYPE if resource_id else None,
    )


# -- shared helpers ------------------------------------------------------------------------------


def role_guid(role_definition_id: str) -> str:
    """The role definition GUID at the end of a `roleDefinitionId` (lower case)."""
    return role_definition_id.rstrip("/").rsplit("/", 1)[-1].lower()


def at_or_above_subscription(scope: str, subscription_id: str) -> bool:
    """Whether an RBAC scope is the subscription itself, a management group or the root `/`.

    Listing role assignments for a subscription also returns those on its resource groups and
    resources; those do not grant subscription-wide rights.
    """
    norm = scope.strip().rstrip("/").lower()
    if norm == "":
        return True
    if norm.startswith("/providers/microsoft.management/managementgroups/"):
        return True
    return norm == subscription_scope(subscription_id).lower()


def _lower_set(values: Any) -> set[str]:
    if values is None:
        return set()
    if not isinstance(values, list):
        raise ValueError(f"expected a list, got {type(values).__name__}")
    return {str(v).lower() for v in values}


def _role_names(params: Mapping[str, Any], key: str) -> dict[str, str]:
    """A `{guid: display name}` parameter with lower-case keys."""
    return {str(k).lower(): str(v) for k, v in params.get(key, {}).items()}


def _scope_filter(params: Mapping[str, Any]) -> str:
    choice = str(params.get("scopes", "subscription_or_above"))
    if choice not in SCOPE_CHOICES:
        raise ValueError(f"scopes must be one of {', '.join(SCOPE_CHOICES)}, not {choice!r}")
    return choice


def _assignment_label(assignment: Any, index: int) -> str:
    rid = assignment.get("id") if isinstance(assignment, Mapping) else None
    return f"roleAssignments[{rid if isinstance(rid, str) else index}]"


def _matching_assignments(
    assignments: list[Any], roles: Mapping[str, str], subscription_id: str, scopes: str
) -> Iterator[tuple[Mapping[str, Any], Mapping[str, Any], str]]:
    """`(assignment, properties, role name)` for assignments of the given roles.

    Every assignment is read strictly (id, roleDefinitionId, scope, principalId and
    principalType are always returned by ARM): one that cannot be read could grant the role, so
    it raises `ShapeError` rather than being skipped.
    """
    for index, assignment in enumerate(assignments):
        at = _assignment_label(assignment, index)
        require_str(assignment, "id", at=at)
        props = require_obj(assignment, "properties", at=at)
        at += ".properties"
        guid = role_guid(require_str(props, "roleDefinitionId", at=at))
        scope = require_str(props, "scope", at=at)
        require_str(props, "principalId", at=at)
        _principal_kind(props, "principalType", at=at)
        if guid not in roles:
            continue
        if scopes == "subscription_or_above" and not at_or_above_subscription(
            scope, subscription_id
        ):
            continue
        yield assignment, props, roles[guid]


def _by_id(items: list[Any], what: str) -> dict[str, Mapping[str, Any]]:
    """Graph objects keyed by lower-case `id` (every Graph object has one)."""
    found: dict[str, Mapping[str, Any]] = {}
    for index, item in enumerate(items):
        obj = require_obj(item, at=f"{what}[{index}]")
        found[require_str(obj, "id", at=f"{what}[{index}]").lower()] = obj
    return found


def _tenant_object_id(ctx: EvalContext, kind: str, object_id: str) -> str:
    return f"/tenants/{ctx.snapshot.tenant_id or 'unknown'}/{kind}/{object_id}"


def _user_label(user: Mapping[str, Any] | None, object_id: str) -> str:
    if user is None:
        return object_id
    return str(user.get("userPrincipalName") or user.get("displayName") or object_id)


def _users(count: int) -> str:
    return f"{count} user" + ("" if count == 1 else "s")


def _principal_kind(obj: Mapping[str, Any], key: str, *, at: str) -> str:
    """`user`, `group` or `servicePrincipal` for an RBAC `principalType` or a Graph
    `@odata.type`. Azure always sends it; absent or unknown raises `ShapeError`, because a holder
    of unknown kind could be a user and must never be left out of a count."""
    return principal_kind(require_str(obj, key, at=at), f"{at}.{key}")


def _holder_count_verdict(
    users: int,
    groups: int,
    minimum: int,
    maximum: int,
    *,
    held: str,
    groups_message: str,
    too_few_note: str = "",
) -> tuple[Status, str]:
    """Status and message for "between `minimum` and `maximum` users hold a privileged role".

    Too many users fails even when groups also hold the role (their members only add to the
    count). Otherwise any group holder makes the total unknown, because group membership is not
    collected: MANUAL with `groups_message`, never a PASS or a "too few" FAIL on a partial count.

    Args:
        users: users holding the role directly.
        groups: groups holding the role.
        minimum: fewest holders allowed (redundancy).
        maximum: most holders allowed (least privilege).
        held: the "who holds what" sentence; the verdict's reason is appended to it.
        groups_message: the MANUAL message.
        too_few_note: extra words for the "fewer than" reason.
    """
    if users > maximum:
        return Status.FAIL, f"{held} (more than {maximum})"
    if groups:
        return Status.MANUAL, groups_message
    if users < minimum:
        return Status.FAIL, f"{held} (fewer than {minimum}{too_few_note})"
    return Status.PASS, held


# -- Conditional Access --------------------------------------------------------------------------

_GRANTS = ("mfa", "block")


def _ca_conditions_problems(conditions: Mapping[str, Any]) -> list[str]:
    """Conditions that narrow a policy so that it no longer applies to every sign-in."""
    problems = []
    # Newer condition sets may omit these (absent means no risk condition):
    # https://learn.microsoft.com/graph/api/resources/conditionalaccessconditionset
    # insiderRiskLevels is a flags string ("minor,moderate"), the others are lists. Lists of the
    # wrong type raise: a narrowing condition must never read as "none".
    for key in ("signInRiskLevels", "userRiskLevels", "servicePrincipalRiskLevels"):
        if optional_list(conditions, key, at="conditions"):
            problems.append(f"applies only at {key} {conditions[key]}")
    if optional_str(conditions, "insiderRiskLevels", at="conditions"):
        problems.append(f"applies only at insiderRiskLevels {conditions['insiderRiskLevels']}")
    flows = conditions.get("authenticationFlows")
    if isinstance(flows, Mapping) and flows.get("transferMethods"):
        problems.append(
            f"applies only to authentication flows {flows['transferMethods']} "
            "(authenticationFlows.transferMethods)"
        )
    platforms = conditions.get("platforms")
    if isinstance(platforms, Mapping):
        included = _lower_set(platforms.get("includePlatforms"))
        if included and "all" not in included:
            problems.append(f"applies only to platforms {sorted(included)}")
    locations = conditions.get("locations")
    if isinstance(locations, Mapping):
        included = _lower_set(locations.get("includeLocations"))
        if included and "all" not in included:
            problems.append(f"applies only to locations {sorted(included)}")
    devices = conditions.get("devices")
    if isinstance(devices, Mapping):
        device_filter = devices.get("deviceFilter")
        if (
            isinstance(device_filter, Mapping)
            and str(device_filter.get("mode")).lower() == "include"
        ):
            problems.append("applies only to devices matching a filter")
    return problems


def _ca_exclusions(conditions: Mapping[str, Any], at: str) -> dict[str, list[str]]:
    """Everything a policy's conditions exclude, by kind (an empty dict: nothing).

    Graph always sends the exclusion lists of `users` and `applications`, and of `locations` and
    `platforms` when those conditions are set (empty when nothing is excluded), so an absent list
    raises: an exclusion that was not read could be the one that exempts everybody.
    https://learn.microsoft.com/graph/api/resources/conditionalaccessusers
    https://learn.microsoft.com/graph/api/resources/conditionalaccessconditionset
    """
    found: dict[str, list[str]] = {}
    sources: list[tuple[str, str]] = [
        ("users", "users.excludeUsers"),
        ("groups", "users.excludeGroups"),
        ("roles", "users.excludeRoles"),
        ("applications", "applications.excludeApplications"),
    ]
    # locations and platforms are null when the condition is not configured
    if optional_obj(conditions, "locations", at=at) is not None:
        sources.append(("locations", "locations.excludeLocations"))
    if optional_obj(conditions, "platforms", at=at) is not None:
        sources.append(("platforms", "platforms.excludePlatforms"))
    for label, path in sources:
        values = strings(require_list(conditions, path, at=at), at=f"{at}.{path}")
        if values:
            found[label] = values
    guests = optional_obj(conditions, "users.excludeGuestsOrExternalUsers", at=at)
    if guests is not None:
        kinds = optional_str(guests, "guestOrExternalUserTypes", "", at=at)
        found["guests or external users"] = [kinds or "(configured)"]
    device_filter = optional_obj(conditions, "devices.deviceFilter", at=at)
    if device_filter is not None:
        mode = require_str(device_filter, "mode", at=f"{at}.devices.deviceFilter")
        if mode.lower() not in ("include", "exclude"):
            raise ShapeError(f"{at}.devices.deviceFilter.mode", "include or exclude", repr(mode))
        if mode.lower() == "exclude":
            rule = optional_str(device_filter, "rule", "", at=f"{at}.devices.deviceFilter")
            found["devices matching a filter"] = [rule or "(filter)"]
    return found


def _unaccepted_exclusions(
    exclusions: Mapping[str, list[str]], break_glass: set[str], wants_all_apps: bool
) -> dict[str, list[str]]:
    """The exclusions that make a policy partial.

    Only users named as break-glass accounts (the check's `break_glass_accounts`, object ids)
    are an accepted exclusion: anyone else excluded, a group or role (whose members can change
    at any time), a location, a platform or a device filter is a way around the control.
    Application exclusions matter when the check wants All resources; for a check about one
    application, excluding that application is already "does not target it".
    """
    gaps: dict[str, list[str]] = {}
    for kind, values in exclusions.items():
        if kind == "applications" and not wants_all_apps:
            continue
        if kind == "users":
            values = [v for v in values if v.lower() not in break_glass]
        if values:
            gaps[kind] = values
    return gaps


def _ca_grant_problems(grant: Mapping[str, Any] | None, wanted: str) -> list[str]:
    if grant is None:
        return ["has no grant controls"]
    grant = require_obj(grant, at="grantControls")
    builtin = _lower_set(require_list(grant, "builtInControls", at="grantControls"))
    names = [str(c) for c in grant.get("builtInControls") or []]
    if wanted == "block":
        return [] if "block" in builtin else ["does not block access"]
    strength = grant.get("authenticationStrength")
    mfa_controls = (1 if "mfa" in builtin else 0) + (1 if strength else 0)
    if mfa_controls == 0:
        return ["does not require MFA or an authentication strength"]
    others = (
        len(builtin - {"mfa"})
        + len(grant.get("termsOfUse") or [])
        + len(grant.get("customAuthenticationFactors") or [])
    )
    # An absent operator is read as OR, the reading under which alternatives can replace MFA:
    # https://learn.microsoft.com/graph/api/resources/conditionalaccessgrantcontrols
    if others and str(optional_str(grant, "operator", "OR", at="grantControls")).upper() != "AND":
        alternatives = sorted(n for n in names if n.lower() != "mfa") or ["another control"]
        return [f"lets {', '.join(alternatives)} satisfy the policy instead of MFA (operator OR)"]
    return []


def _ca_policy_problems(
    policy: Mapping[str, Any], params: Mapping[str, Any], break_glass: set[str]
) -> list[str]:
    """Why a Conditional Access policy does not enforce what the check wants (empty: it does)."""
    problems = []
    at = f"conditionalAccess/policies[{policy.get('displayName') or policy.get('id')!r}]"
    state = require_str(policy, "state", at=at).lower()
    if state != "enabled":
        problems.append(
            "is report-only (not enforced)"
            if state == "enabledforreportingbutnotenforced"
            else f"is {policy.get('state')!r}, not enabled"
        )
    conditions = require_obj(policy, "conditions", at=at)
    users = require_obj(conditions, "users", at=f"{at}.conditions")
    if "all" not in _lower_set(require_list(users, "includeUsers", at=f"{at}.conditions.users")):
        problems.append("does not include All users")
    apps = require_obj(conditions, "applications", at=f"{at}.conditions")
    included = _lower_set(
        require_list(apps, "includeApplications", at=f"{at}.conditions.applications")
    )
    excluded = _lower_set(
        require_list(apps, "excludeApplications", at=f"{at}.conditions.applications")
    )
    wanted_apps = [str(a).lower() for a in params.get("applications", ["All"])]
    covered = [a for a in wanted_apps if ("all" in included or a in included) and a not in excluded]
    if not covered:
        problems.append(f"does not target {' or '.join(params.get('applications', ['All']))}")
    required_types = [str(t).lower() for t in params.get("client_app_types", [])]
    types = _lower_set(require_list(conditions, "clientAppTypes", at=f"{at}.conditions"))
    if required_types and "all" not in types and not set(required_types) <= types:
        missing = sorted(set(required_types) - types)
        problems.append(f"does not cover client app types {missing}")
    problems.extend(_ca_conditions_problems(conditions))
    gaps = _unaccepted_exclusions(
        _ca_exclusions(conditions, f"{at}.conditions"),
        break_glass,
        "all" in wanted_apps,
    )
    problems.extend(
        f"excludes {kind} {', '.join(values)} (only declared break-glass accounts may be excluded)"
        for kind, values in sorted(gaps.items())
    )
    problems.extend(_ca_grant_problems(policy.get("grantControls"), str(params["grant"])))
    return problems


def break_glass_ids(ctx: EvalContext, params: Mapping[str, Any]) -> set[str]:
    """The declared break-glass accounts' object ids (lower case).

    Entries are object ids or user principal names (`name@domain`, from the scan setting
    `scan.break_glass_accounts` or the check's own `break_glass_accounts`). A name is resolved
    through the collected users; one that cannot be resolved (users not collected, or no such
    user) matches nobody, so the exclusion or assignment it was meant to allow is reported
    rather than accepted.
    """
    declared = [str(v) for v in params.get("break_glass_accounts", [])]
    ids = {v.lower() for v in declared if "@" not in v}
    names = {v.lower() for v in declared if "@" in v}
    if names:
        try:
            users = ctx.graph_values(USERS)
        except MissingData:
            users = []
        for user in users:
            if not isinstance(user, Mapping):
                continue
            upn, object_id = user.get("userPrincipalName"), user.get("id")
            if isinstance(upn, str) and isinstance(object_id, str) and upn.lower() in names:
                ids.add(object_id.lower())
    return ids


def _conditional_access(ctx: EvalContext, params: Mapping[str, Any]) -> Iterator[Outcome]:
    grant = str(params["grant"])
    if grant not in _GRANTS:
        raise ValueError(f"grant must be one of {', '.join(_GRANTS)}, not {grant!r}")
    what = str(params.get("describe", f"{grant} for all users"))
    expected = (
        f"security defaults enabled, or an enabled Conditional Access policy that enforces {what}"
    )
    defaults = ctx.graph(SECURITY_DEFAULTS)
    if not isinstance(defaults, Mapping) or not isinstance(defaults.get("isEnabled"), bool):
        raise ValueError("identitySecurityDefaultsEnforcementPolicy: expected a boolean isEnabled")
    # Security defaults are positive evidence on their own: a tenant without Entra ID P1 may not
    # be able to list Conditional Access policies, and must not get ERROR for that. They are
    # weaker evidence than a policy, and the finding says why:
    # https://learn.microsoft.com/entra/fundamentals/security-defaults
    if defaults["isEnabled"] and params.get("security_defaults_satisfy", True):
        yield Outcome(
            Status.PASS,
            "identitySecurityDefaultsEnforcementPolicy.isEnabled",
            True,
            expected,
            f"security defaults are enabled, which enforce {what}; this is weaker evidence than "
            "a Conditional Access policy: security defaults challenge users other than "
            "administrators only when Entra ID judges a sign-in risky, cannot require an "
            "authentication strength, and their per-user behaviour cannot be audited",
        )
        return
    observed = []
    break_glass = break_glass_ids(ctx, params)
    for policy in ctx.graph_values(CA_POLICIES):
        problems = _ca_policy_problems(policy, params, break_glass)
        name = str(policy.get("displayName") or policy.get("id"))
        if not problems:
            exclusions = _ca_exclusions(policy["conditions"], "conditions")
            note = (
                "; exclusions: "
                + "; ".join(
                    f"{'declared break-glass ' if k == 'users' else ''}{k} {', '.join(v)}"
                    for k, v in sorted(exclusions.items())
                )
                if exclusions
                else "; no exclusions"
            )
            yield Outcome(
                Status.PASS,
                f"conditionalAccess/policies[{name!r}]",
                {"policy": name, "state": policy.get("state"), "exclusions": exclusions},
                expected,
                f"Conditional Access policy {name!r} enforces {what}{note}",
            )
            return
        observed.append({"policy": name, "state": policy.get("state"), "gaps": problems})
    detail = "; ".join(f"{o['policy']!r} {', '.join(o['gaps'])}" for o in observed)
    yield Outcome(
        Status.FAIL,
        "conditionalAccess/policies",
        {"securityDefaults": False, "policies": observed},
        expected,
        f"security defaults are disabled and no enabled Conditional Access policy enforces {what}"
        + (f": {detail}" if detail else " (no policies exist)"),
    )


# -- privileged users across Entra roles and Azure RBAC -----------------------------------------


@dataclass(slots=True)
class _Holder:
    """A principal that holds at least one privileged role, and what it holds."""

    object_id: str
    kind: str
    label: str
    roles: list[str] = field(default_factory=list)


def _privileged_holders(
    ctx: EvalContext, params: Mapping[str, Any]
) -> tuple[dict[str, _Holder], list[Outcome]]:
    """Every active or eligible holder of the configured directory and Azure roles, plus
    ERRORs for what could not be read.

    Each source is read on its own: active directory roles, eligible directory roles, and per
    subscription active and eligible Azure roles. A source that was not collected becomes one
    ERROR outcome naming what it hides, and the holders the other sources prove are still
    judged (an Owner without MFA fails even when the directory roles could not be listed).
    """
    holders: dict[str, _Holder] = {}
    errors: list[Outcome] = []
    directory_roles = _role_names(params, "directory_roles")

    def add(object_id: str, kind: str, label: str, role: str) -> None:
        holder = holders.setdefault(object_id.lower(), _Holder(object_id, kind, label))
        if holder.label == holder.object_id and label != object_id:
            holder.label = label
        if role not in holder.roles:
            holder.roles.append(role)

    try:
        for role in ctx.graph_values(DIRECTORY_ROLES):
            # Every activated directory role names its template; one without could be any role.
            template = require_str(role, "roleTemplateId", at="directoryRoles[]").lower()
            if template not in directory_roles:
                continue
            members = role.get("members")
            if not isinstance(members, list):
                raise ValueError(
                    f"directory role {role.get('displayName')!r}: members not expanded"
                )
            for index, member in enumerate(members):
                at = f"directoryRoles[{role.get('displayName')!r}].members[{index}]"
                kind = _principal_kind(require_obj(member, at=at), "@odata.type", at=at)
                object_id = require_str(member, "id", at=at)
                add(object_id, kind, _user_label(member, object_id), directory_roles[template])
    except MissingData as missing:
        errors.append(_source_unknown(missing, "active directory role holders"))

    try:
        for eligible in directory_eligibilities(ctx):
            if eligible.role in directory_roles:
                scope = "" if eligible.scope == "/" else f" over {eligible.scope}"
                add(
                    eligible.principal_id,
                    eligible.kind,
                    eligible.label,
                    f"{directory_roles[eligible.role]}{scope} (eligible {eligible.until})",
                )
    except MissingData as missing:
        errors.append(eligibility_unknown(missing, "directory role holders"))
    except ShapeError as error:
        errors.append(shape_error_outcome(error))

    for sub_id in ctx.snapshot.subscription_ids():
        scope = subscription_scope(sub_id)
        azure_roles, unknown = judged_roles(
            params, "azure_roles", partial(ctx.detail, scope, ROLE_DEFINITIONS)
        )
        if unknown is not None:
            errors.append(_custom_roles_unknown(unknown, scope))
        try:
            assignments = list_values(ctx.detail(scope, ROLE_ASSIGNMENTS), ROLE_ASSIGNMENTS)
        except MissingData as missing:
            errors.append(
                Outcome(
                    Status.ERROR,
                    ROLE_ASSIGNMENTS,
                    None,
                    "role assignments collected",
                    f"cannot list Azure role holders of {scope}: {missing.reason}",
                    resource_id=scope,
                    resource_type=SUBSCRIPTION_TYPE,
                )
            )
            assignments = []
        for _, props, role_name in _matching_assignments(
            assignments, azure_roles, sub_id, "subscription_or_above"
        ):
            principal = str(props["principalId"])
            add(
                principal,
                _principal_kind(props, "principalType", at="roleAssignments"),
                principal,
                f"{role_name} on {props.get('scope')}",
            )
        try:
            for eligible in azure_eligibilities(ctx, scope):
                if eligible.role in azure_roles and at_or_above_subscription(
                    eligible.scope, sub_id
                ):
                    add(
                        eligible.principal_id,
                        eligible.kind,
                        eligible.label,
                        f"{azure_roles[eligible.role]} on {eligible.scope} "
                        f"(eligible {eligible.until})",
                    )
        except MissingData as missing:
            errors.append(eligibility_unknown(missing, "Azure role holders", resource_id=scope))
        except ShapeError as error:
            errors.append(
                shape_error_outcome(error, resource_id=scope, resource_type=SUBSCRIPTION_TYPE)
            )
    return holders, errors


def _source_unknown(missing: MissingData, what: str) -> Outcome:
    """ERROR for the part of a check's evidence that was not collected (the rest is judged)."""
    return Outcome(
        Status.ERROR,
        missing.source,
        None,
        f"{missing.source} collected",
        f"cannot list {what}: {missing.source} at {missing.scope}: {missing.reason}; the "
        "holders other sources prove are judged, these are not",
        sub_item=missing.source,
    )


def _holder_outcome(
    ctx: EvalContext,
    holder: _Holder,
    status: Status,
    path: str,
    observed: JSON,
    expected: str,
    message: str,
) -> Outcome:
    kind = "groups" if holder.kind == "group" else "users"
    return Outcome(
        status,
        path,
        observed,
        expected,
        message,
        resource_id=_tenant_object_id(ctx, kind, holder.object_id),
        resource_type=GROUP_TYPE if holder.kind == "group" else USER_TYPE,
        resource_name=holder.label,
    )


def _group_manual(ctx: EvalContext, holder: _Holder, expected: str, what: str) -> Outcome:
    return _holder_outcome(
        ctx,
        holder,
        Status.MANUAL,
        "members",
        {"roles": holder.roles},
        expected,
        f"group {holder.label} holds {', '.join(holder.roles)}; group members are not collected: "
        f"confirm that every member {what}",
    )


def _privileged_mfa(ctx: EvalContext, params: Mapping[str, Any]) -> Iterator[Outcome]:
    holders, errors = _privileged_holders(ctx, params)
    yield from errors
    registrations = _by_id(ctx.graph_values(REGISTRATION), "userRegistrationDetails")
    expected = "isMfaRegistered true"
    for key, holder in sorted(holders.items()):
        if holder.kind == "servicePrincipal":
            continue
        if holder.kind == "group":
            yield _group_manual(ctx, holder, expected, "is registered for MFA")
            continue
        record = registrations.get(key)
        roles = ", ".join(holder.roles)
        if record is None:
            yield _holder_outcome(
                ctx,
                holder,
                Status.ERROR,
                "isMfaRegistered",
                None,
                expected,
                f"{holder.label} holds {roles} but has no MFA registration record",
            )
            continue
        registered = record.get("isMfaRegistered")
        label = str(record.get("userPrincipalName") or holder.label)
        if not isinstance(registered, bool):
            yield _holder_outcome(
                ctx,
                holder,
                Status.ERROR,
                "isMfaRegistered",
                registered,
                expected,
                f"{label}: isMfaRegistered is {registered!r}, not a boolean",
            )
            continue
        message = (
            f"{label} ({roles}) is registered for MFA"
            if registered
            else f"{label} holds {roles} but has not registered an MFA method"
        )
        yield _holder_outcome(
            ctx, holder, passed(registered), "isMfaRegistered", registered, expected, message
        )


def _parse_time(value: Any, path: str, now: datetime) -> datetime | None:
    """A sign-in time, or None when never signed in (Graph sends null).

    A time after the collection is not evidence of a recent sign-in (a clock or data error):
    it raises `ShapeError` rather than counting as recent.
    """
    if value is None:
        return None
    if not isinstance(value, str):
        raise ShapeError(path, "an ISO 8601 time or null", kind_of(value))
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise ShapeError(path, "an ISO 8601 time or null", repr(value)) from None
    if parsed.tzinfo is None:
        raise ShapeError(path, "a time with a time zone", repr(value))
    if parsed > now:
        raise ShapeError(path, f"a time not after the collection ({now.isoformat()})", value)
    return parsed


def _last_successful_sign_in(
    activity: Mapping[str, Any], at: str, now: datetime
) -> datetime | None:
    """The last successful sign-in, or None when none is recorded.

    Only `lastSuccessfulSignInDateTime` is evidence of use: `lastSignInDateTime` and
    `lastNonInteractiveSignInDateTime` also record failed attempts (a password spray against a
    forgotten admin account would make it look active). Microsoft records the successful time
    only since 1 December 2023 and does not backfill it, so null or absent means no successful
    sign-in since then, which is never "recent":
    https://learn.microsoft.com/graph/api/resources/signinactivity
    """
    times = {
        key: _parse_time(activity.get(key), f"{at}.{key}", now)
        for key in (
            "lastSignInDateTime",
            "lastNonInteractiveSignInDateTime",
            "lastSuccessfulSignInDateTime",
        )
    }  # every time is read, so that a malformed or future one is an ERROR, never ignored
    return times["lastSuccessfulSignInDateTime"]


def _privileged_recent_sign_in(ctx: EvalContext, params: Mapping[str, Any]) -> Iterator[Outcome]:
    holders, errors = _privileged_holders(ctx, params)
    yield from errors
    users = _by_id(ctx.graph_values(USERS), "users")
    max_days = int(params.get("max_days", 90))
    cutoff = ctx.now - timedelta(days=max_days)
    expected = f"a successful sign-in within the last {max_days} days"
    for key, holder in sorted(holders.items()):
        if holder.kind == "servicePrincipal":
            continue
        if holder.kind == "group":
            yield _group_manual(ctx, holder, expected, f"signed in within {max_days} days")
            continue
        user = users.get(key)
        roles = ", ".join(holder.roles)
        label = _user_label(user, holder.label)
        if user is None:
            yield _holder_outcome(
                ctx,
                holder,
                Status.ERROR,
                "signInActivity",
                None,
                expected,
                f"{label} holds {roles} but is not in the collected Entra users",
            )
            continue
        if "signInActivity" not in user:
            yield _holder_outcome(
                ctx,
                holder,
                Status.ERROR,
                "signInActivity",
                None,
                expected,
                f"{label}: signInActivity was not collected (needs AuditLog.Read.All and an "
                "Entra ID P1 licence)",
            )
            continue
        try:
            # null when the user never signed in (then every time inside is null as well):
            # https://learn.microsoft.com/graph/api/resources/signinactivity
            activity = optional_obj(user, "signInActivity", at=f"users[{label}]") or {}
            last = _last_successful_sign_in(activity, f"users[{label}].signInActivity", ctx.now)
        except ShapeError as error:
            yield _holder_outcome(
                ctx,
                holder,
                Status.ERROR,
                error.path,
                error.observed,
                expected,
                f"cannot evaluate: unexpected data shape at {error.path}: expected "
                f"{error.expected}, got {error.observed}",
            )
            continue
        shown = last.isoformat() if last else None
        if last is None:
            message = (
                f"{label} holds {roles} and has no recorded successful sign-in "
                "(lastSuccessfulSignInDateTime is empty: none since December 2023, when Entra ID "
                "started recording it; failed attempts do not count)"
            )
        elif last < cutoff:
            message = (
                f"{label} holds {roles}; last successful sign-in {shown} is over {max_days} "
                "days ago"
            )
        else:
            message = f"{label} ({roles}) last signed in successfully {shown}"
        ok = last is not None and last >= cutoff
        yield _holder_outcome(
            ctx,
            holder,
            passed(ok),
            "signInActivity.lastSuccessfulSignInDateTime",
            shown,
            expected,
            message,
        )


def _directory_role_member_count(ctx: EvalContext, params: Mapping[str, Any]) -> Iterator[Outcome]:
    """Active members plus eligible holders (PIM) of one directory role, counted once each.

    An eligible Global Administrator is one activation away from the role, so counts as one.
    When the eligibility list was not collected, a count above the maximum is still a FAIL
    (more holders can only add to it); anything else is ERROR, never a PASS on half a count.
    """
    template = str(params["role_template_id"]).lower()
    minimum, maximum = int(params["min"]), int(params["max"])
    expected = f"between {minimum} and {maximum} members, active or eligible"
    roles = [
        r
        for r in ctx.graph_values(DIRECTORY_ROLES)
        if require_str(r, "roleTemplateId", at="directoryRoles[]").lower() == template
    ]
    if not roles:
        raise ValueError(f"directory role with template {template} not found in directoryRoles")
    role = roles[0]
    name = str(role.get("displayName") or template)
    members = role.get("members")
    if not isinstance(members, list):
        raise ValueError(f"directory role {name!r}: members not expanded")
    at = f"directoryRoles[{name!r}].members"
    kinds = [
        _principal_kind(require_obj(m, at=f"{at}[{i}]"), "@odata.type", at=f"{at}[{i}]")
        for i, m in enumerate(members)
    ]
    users: dict[str, str] = {}
    groups: dict[str, str] = {}
    for i, (member, kind) in enumerate(zip(members, kinds, strict=True)):
        object_id = require_str(member, "id", at=f"{at}[{i}]").lower()
        label = str(member.get("userPrincipalName") or member.get("displayName") or member["id"])
        if kind == "user":
            users[object_id] = label
        elif kind == "group":
            groups[object_id] = str(member.get("displayName") or member["id"])
    eligible: dict[str, str] = {}
    unknown: MissingData | None = None
    try:
        for item in directory_eligibilities(ctx):
            if item.role != template or item.kind == "servicePrincipal":
                continue
            key = item.principal_id.lower()
            if item.kind == "group":
                groups.setdefault(key, item.label)
            elif key not in users:
                eligible[key] = f"{item.label} (eligible {item.until})"
    except MissingData as missing:
        unknown = missing
    except ShapeError as error:
        # Unreadable eligibility is unknown eligibility: a count already too high still fails.
        if len(users) <= maximum:
            raise
        unknown = MissingData(
            "/", error.path, f"unreadable: expected {error.expected}, got {error.observed}"
        )
    observed: JSON = {
        "users": sorted(users.values()),
        "eligibleUsers": sorted(eligible.values()),
        "groups": sorted(groups.values()),
    }
    count = len(users) + len(eligible)
    held = f"{name} has {_users(count)}" + (
        f" ({len(users)} active, {len(eligible)} eligible through PIM)" if eligible else ""
    )
    path = f"directoryRoles[{name!r}].members"
    if unknown is not None and count <= maximum:
        outcome = eligibility_unknown(unknown, f"{name} holders")
        yield Outcome(
            Status.ERROR,
            outcome.path,
            observed,
            expected,
            f"{held} active; {outcome.message}",
        )
        return
    status, message = _holder_count_verdict(
        count,
        len(groups),
        minimum,
        maximum,
        held=held,
        groups_message=f"{held} plus {len(groups)} group(s) whose members are not collected: "
        "count the group members and confirm the total",
        too_few_note=", no redundancy",
    )
    if unknown is not None:
        message += "; eligible holders could not be listed and can only add to this"
    yield Outcome(status, path, observed, expected, message)


# -- Azure RBAC (per subscription) ---------------------------------------------------------------

_PRINCIPAL_CONDITIONS = ("guest", "disabled")
_USER_TYPES = ("member", "guest")


def _user_type(user: Mapping[str, Any], at: str) -> str:
    """A user's `userType`: Member or Guest (Graph's only values); anything else raises."""
    value = require_str(user, "userType", at=at)
    if value.lower() not in _USER_TYPES:
        raise ShapeError(f"{at}.userType", "Member or Guest", repr(value))
    return value


def _role_assignments_principal_state(
    ctx: EvalContext, params: Mapping[str, Any]
) -> Iterator[Outcome]:
    """One finding per active or eligible privileged assignment: is its holder a guest, or
    disabled? Eligible assignments (PIM) count: a guest eligible for Owner activates it at will.
    When eligibility was not collected, the active assignments are still judged and one ERROR
    says what is unknown."""
    condition = str(params["condition"])
    if condition not in _PRINCIPAL_CONDITIONS:
        raise ValueError(f"condition must be one of {', '.join(_PRINCIPAL_CONDITIONS)}")
    roles, unknown = judged_roles(params, "roles", lambda: ctx.subscription_doc(ROLE_DEFINITIONS))
    sub_id = str(ctx.subscription_id)
    scopes = _scope_filter(params)
    users = _by_id(ctx.graph_values(USERS), "users")
    judge = partial(_principal_state_outcome, condition, users)
    try:
        assignments = list_values(ctx.subscription_doc(ROLE_ASSIGNMENTS), ROLE_ASSIGNMENTS)
    except MissingData as missing:
        # The eligible holders are still judged; the active ones are one ERROR.
        yield _source_unknown(missing, "active role holders")
        assignments = []
    for assignment, props, role_name in _matching_assignments(assignments, roles, sub_id, scopes):
        yield from judge(
            str(props["principalId"]),
            _principal_kind(props, "principalType", at="roleAssignments"),
            f"{role_name} on {props.get('scope')}",
            str(assignment["id"]),
            ASSIGNMENT_TYPE,
        )
    try:
        eligibilities = azure_eligibilities(ctx, subscription_scope(sub_id))
    except MissingData as missing:
        yield eligibility_unknown(missing, "role holders")
        eligibilities = []
    for eligible in eligibilities:
        if eligible.role not in roles:
            continue
        if scopes == "subscription_or_above" and not at_or_above_subscription(
            eligible.scope, sub_id
        ):
            continue
        yield from judge(
            eligible.principal_id,
            eligible.kind,
            f"{roles[eligible.role]} on {eligible.scope} (eligible {eligible.until})",
            eligible.instance_id,
            ELIGIBILITY_TYPE,
        )
    if unknown is not None:
        yield _custom_roles_unknown(unknown)


def _principal_state_outcome(
    condition: str,
    users: Mapping[str, Mapping[str, Any]],
    principal: str,
    kind: str,
    where: str,
    rid: str,
    rtype: str,
) -> Iterator[Outcome]:
    """The verdict on one holder of a privileged role (guest or disabled `condition`)."""
    path, expected = (
        ("userType", "a member account (userType Member)")
        if condition == "guest"
        else ("accountEnabled", "an enabled account (accountEnabled true)")
    )
    if kind == "servicePrincipal":
        return
    if kind == "group":
        yield Outcome(
            Status.MANUAL,
            "principalId",
            principal,
            expected,
            f"group {principal} holds {where}; group members are not collected: confirm it "
            f"has no {'guest' if condition == 'guest' else 'disabled'} members",
            resource_id=rid,
            resource_type=rtype,
        )
        return
    user = users.get(principal.lower())
    if user is None:
        yield Outcome(
            Status.ERROR,
            "principalId",
            principal,
            expected,
            f"principal {principal} ({kind}) holds {where} but is not in the collected Entra "
            "users (deleted, or not a user)",
            resource_id=rid,
            resource_type=rtype,
        )
        return
    label = _user_label(user, principal)
    value: str | bool
    try:
        if condition == "guest":
            value = _user_type(user, f"users[{principal}]")
            ok = value.lower() != "guest"
            message = f"{label} is a {value} account holding {where}"
        else:
            value = require_bool(user, "accountEnabled", at=f"users[{principal}]")
            ok = value
            message = f"{label} ({'enabled' if value else 'disabled'}) holds {where}"
    except ShapeError as error:
        yield shape_error_outcome(error, resource_id=rid, resource_type=rtype)
        return
    yield Outcome(
        passed(ok),
        path,
        value,
        expected,
        message,
        resource_id=rid,
        resource_type=rtype,
        resource_name=f"{label} ({rid.rstrip('/').rsplit('/', 1)[-1]})",
    )


def _role_holder_count(ctx: EvalContext, params: Mapping[str, Any]) -> Iterator[Outcome]:
    """Users holding the roles at subscription scope or above, active or eligible (PIM).

    Without the eligibility list, a count above the maximum still FAILs (eligible holders can
    only add to it); any other count is ERROR, because it might be too high.
    """
    roles = _role_names(params, "roles")
    minimum, maximum = int(params["min"]), int(params["max"])
    sub_id = str(ctx.subscription_id)
    assignments = list_values(ctx.subscription_doc(ROLE_ASSIGNMENTS), ROLE_ASSIGNMENTS)
    users: set[str] = set()
    groups: set[str] = set()
    others: set[str] = set()
    eligible: set[str] = set()

    def add(principal: str, kind: str) -> None:
        (users if kind == "user" else groups if kind == "group" else others).add(principal)

    for _, props, _ in _matching_assignments(assignments, roles, sub_id, "subscription_or_above"):
        add(
            str(props["principalId"]).lower(),
            _principal_kind(props, "principalType", at="roleAssignments"),
        )
    unknown: MissingData | None = None
    try:
        for item in azure_eligibilities(ctx, subscription_scope(sub_id)):
            if item.role in roles and at_or_above_subscription(item.scope, sub_id):
                add(item.principal_id.lower(), item.kind)
                if item.kind == "user":
                    eligible.add(item.principal_id.lower())
    except MissingData as missing:
        unknown = missing
    role_label = " or ".join(sorted(set(roles.values())))
    expected = (
        f"between {minimum} and {maximum} user principals with {role_label}, active or eligible"
    )
    observed: JSON = {
        "users": sorted(users),
        "eligibleUsers": sorted(eligible),
        "groups": sorted(groups),
        "servicePrincipals": sorted(others),
    }
    count = len(users)
    scope_text = "at subscription scope or above"
    held = f"{role_label} is held by {_users(count)} {scope_text}" + (
        f" ({len(eligible)} of them eligible through PIM)" if eligible else ""
    )
    path = "roleAssignments[roleDefinitionId]"
    if unknown is not None and count <= maximum:
        outcome = eligibility_unknown(unknown, f"{role_label} holders")
        yield Outcome(Status.ERROR, outcome.path, observed, expected, f"{held}; {outcome.message}")
        return
    status, message = _holder_count_verdict(
        count,
        len(groups),
        minimum,
        maximum,
        held=held,
        groups_message=f"{held} plus {len(groups)} group(s) {scope_text}; group members are not "
        "collected: count them and confirm the total",
    )
    if unknown is not None:
        message += "; eligible holders could not be listed and can only add to this"
    yield Outcome(status, path, observed, expected, message)


def _role_assignments_absent(ctx: EvalContext, params: Mapping[str, Any]) -> Iterator[Outcome]:
    roles, unknown = judged_roles(params, "roles", lambda: ctx.subscription_doc(ROLE_DEFINITIONS))
    allowed = {str(p).lower() for p in params.get("allowed_principals", [])}
    allowed |= break_glass_ids(ctx, params)
    sub_id = str(ctx.subscription_id)
    assignments = list_values(ctx.subscription_doc(ROLE_ASSIGNMENTS), ROLE_ASSIGNMENTS)
    role_label = " or ".join(sorted(set(roles.values())))
    expected = f"no {role_label} assignment except the allowed break-glass principals"
    found = False
    for assignment, props, role_name in _matching_assignments(
        assignments, roles, sub_id, _scope_filter(params)
    ):
        found = True
        principal = str(props["principalId"])
        where = (
            f"{role_name} on {props.get('scope')} held by {props.get('principalType')} {principal}"
        )
        ok = principal.lower() in allowed
        yield Outcome(
            passed(ok),
            "principalId",
            principal,
            expected,
            f"{where} ({'allowed break-glass principal' if ok else 'not an allowed principal'})",
            resource_id=str(assignment["id"]),
            resource_type=ASSIGNMENT_TYPE,
        )
    if unknown is not None:
        yield _custom_roles_unknown(unknown)
    elif not found:
        yield Outcome(
            Status.PASS,
            "roleAssignments",
            [],
            expected,
            f"no {role_label} assignment at subscription scope or above",
        )


def _custom_roles_wildcard(ctx: EvalContext, params: Mapping[str, Any]) -> Iterator[Outcome]:
    sub_id = str(ctx.subscription_id)
    definitions = list_values(ctx.subscription_doc(ROLE_DEFINITIONS), ROLE_DEFINITIONS)
    wildcard = str(params.get("action", "*"))
    expected = (
        f"no custom role with action {wildcard!r} or the right to manage access "
        f"({', '.join(ACCESS_ACTIONS)}) assignable at subscription scope or above"
    )
    custom: list[str] = []
    offenders = 0
    for index, definition in enumerate(definitions):
        found = _custom_definition(definition, index)
        if found is None:
            continue
        rid, props = found
        at = f"roleDefinitions[{index}].properties"
        permissions = require_list(props, "permissions", at=at)
        actions = {
            action
            for i, permission in enumerate(permissions)
            for action in strings(
                require_list(permission, "actions", at=f"{at}.permissions[{i}]"),
                at=f"{at}.permissions[{i}].actions",
            )
        }
        access = manages_access(permissions, at=f"{at}.permissions")
        name = str(optional_str(props, "roleName", None, at=at) or definition.get("name"))
        custom.append(name)
        scopes = strings(
            require_list(props, "assignableScopes", at=at), at=f"{at}.assignableScopes"
        )
        broad = [s for s in scopes if at_or_above_subscription(s, sub_id)]
        if not broad or (wildcard not in actions and not access):
            continue
        offenders += 1
        grants = (
            f"grants {wildcard!r} (owner-equivalent)"
            if wildcard in actions
            else f"grants {', '.join(access)} (it can give anyone, itself included, any role)"
        )
        yield Outcome(
            Status.FAIL,
            "permissions[].actions",
            sorted(actions),
            expected,
            f"custom role {name!r} {grants} and is assignable at {', '.join(broad)}",
            resource_id=rid,
            resource_type=DEFINITION_TYPE,
        )
    if offenders == 0:
        yield Outcome(
            Status.PASS,
            "permissions[].actions",
            sorted(custom),
            expected,
            f"{len(custom)} custom role(s); none grants {wildcard!r} or the right to manage access "
            "at subscription scope or above",
        )


_ROLE_MAP = Param((dict,), doc="{role definition GUID: display name}")
_ROLE_SET = Param(
    (dict, str),
    doc="{role definition GUID: display name}, or privileged / access_administrators: the shared "
    "definition (built-in roles plus the subscription's custom roles that manage access)",
)
_DIRECTORY_MAP = Param((dict,), doc="{directory role template id: display name}")

SPECS: tuple[EvaluatorSpec, ...] = (
    EvaluatorSpec(
        "conditional_access_enforced",
        _conditional_access,
        {
            "grant": Param((str,), doc="mfa or block"),
            "applications": Param(
                (list,), required=False, doc="app ids the policy must cover; 'All' always counts"
            ),
            "client_app_types": Param(
                (list,), required=False, doc="client app types the policy must cover"
            ),
            "security_defaults_satisfy": Param(
                (bool,), required=False, doc="whether security defaults pass"
            ),
            "describe": Param((str,), required=False, doc="what is enforced, for messages"),
            "break_glass_accounts": Param(
                (list,),
                required=False,
                doc="emergency-access users (object ids or user principal names) a policy may "
                "exclude; the scan setting scan.break_glass_accounts adds to it; empty "
                "(default): any exclusion makes a policy partial",
            ),
        },
        TENANT_ONLY,
        "PASS when security defaults are on (noted as weaker evidence) or an enabled CA policy for "
        "All users enforces it with no exclusion other than the declared break-glass accounts.",
    ),
    EvaluatorSpec(
        "privileged_users_mfa_registered",
        _privileged_mfa,
        {"directory_roles": _DIRECTORY_MAP, "azure_roles": _ROLE_SET},
        TENANT_ONLY,
        "One finding per privileged user: PASS when registered for MFA; groups are MANUAL.",
    ),
    EvaluatorSpec(
        "privileged_users_recent_sign_in",
        _privileged_recent_sign_in,
        {
            "directory_roles": _DIRECTORY_MAP,
            "azure_roles": _ROLE_SET,
            "max_days": Param((int,), required=False),
        },
        TENANT_ONLY,
        "One finding per privileged user: PASS when the last sign-in is within max_days.",
    ),
    EvaluatorSpec(
        "directory_role_member_count",
        _directory_role_member_count,
        {"role_template_id": Param((str,)), "min": Param((int,)), "max": Param((int,))},
        TENANT_ONLY,
        "PASS when the directory role has between min and max user members.",
    ),
    EvaluatorSpec(
        "role_assignments_principal_state",
        _role_assignments_principal_state,
        {
            "roles": _ROLE_SET,
            "condition": Param(
                (str,), doc="guest or disabled: the state that must not hold a role"
            ),
            "scopes": Param((str,), required=False, doc="subscription_or_above (default) or any"),
        },
        SUBSCRIPTION_ONLY,
        "One finding per privileged assignment: FAIL when held by a guest/disabled user.",
    ),
    EvaluatorSpec(
        "role_holder_count",
        _role_holder_count,
        {"roles": _ROLE_MAP, "min": Param((int,)), "max": Param((int,))},
        SUBSCRIPTION_ONLY,
        "PASS when between min and max users hold the roles at subscription scope or above.",
    ),
    EvaluatorSpec(
        "role_assignments_absent",
        _role_assignments_absent,
        {
            "roles": _ROLE_SET,
            "allowed_principals": Param((list,), required=False, doc="break-glass principal ids"),
            "break_glass_accounts": Param(
                (list,),
                required=False,
                doc="emergency-access users (object ids or user principal names) allowed to "
                "hold the roles; the scan setting scan.break_glass_accounts adds to it",
            ),
            "scopes": Param((str,), required=False),
        },
        SUBSCRIPTION_ONLY,
        "FAIL for every assignment of the roles, except to the allowed principals.",
    ),
    EvaluatorSpec(
        "custom_roles_wildcard",
        _custom_roles_wildcard,
        {
            "action": Param(
                (str,), required=False, doc="the action that must not be granted; default *"
            )
        },
        SUBSCRIPTION_ONLY,
        "FAIL for every custom role granting the action and assignable at subscription or above.",
    ),
)
