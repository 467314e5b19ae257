"""Privileged Identity Management eligibility: who can activate a role without holding it now.

An eligible assignment is privilege one click (and an MFA prompt) away: the holder activates it
for a few hours whenever they like. Every check that reasons about privileged users therefore
judges eligible holders as well as active ones. This module reads the two eligibility lists:

- Entra directory roles: Microsoft Graph `roleManagement/directory/roleEligibilityScheduleInstances`
  (the instances, not the `roleEligibilitySchedules`: an instance is an eligibility in force,
  a schedule also describes requests that are not; `roleDefinitionId` is the role's template id
  for built-in roles):
  https://learn.microsoft.com/graph/api/rbacapplication-list-roleeligibilityscheduleinstances
- Azure roles: ARM `providers/Microsoft.Authorization/roleEligibilityScheduleInstances`, listed
  at a subscription (at, above and below it, like role assignments):
  https://learn.microsoft.com/rest/api/authorization/role-eligibility-schedule-instances/list-for-scope

A tenant without Microsoft Entra ID P2 (or ID Governance) gets an error from these APIs (Graph
answers `AadPremiumLicenseRequired`) instead of an empty list. That answer is a collection gap,
reported as ERROR for the eligible holders only, never read as "nobody is eligible": PIM needs
the licence to create eligibility, but an error response lists nothing, and a tenant whose
licence lapsed or a request refused for another reason must not look clean:
https://learn.microsoft.com/entra/id-governance/privileged-identity-management/subscription-requirements
What the active assignments prove is still reported (FAIL or PASS) next to that ERROR.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from azaudit.evaluators.access import (
    ShapeError,
    optional_obj,
    optional_str,
    require_obj,
    require_str,
)
from azaudit.evaluators.base import EvalContext, MissingData, Outcome, list_values
from azaudit.models import Status

ELIGIBLE_DIRECTORY_ROLES = "graph:roleManagement/directory/roleEligibilityScheduleInstances"
ELIGIBLE_AZURE_ROLES = "providers/Microsoft.Authorization/roleEligibilityScheduleInstances"
ELIGIBILITY_TYPE = "Microsoft.Authorization/roleEligibilityScheduleInstances"

_LICENCE_MARKERS = ("aadpremiumlicenserequired", "pimlicenserequired", "premium license")

_KINDS = {
    "user": "user",
    "group": "group",
    "foreigngroup": "group",
    "serviceprincipal": "servicePrincipal",
    "msi": "servicePrincipal",
    "application": "servicePrincipal",
}


@dataclass(frozen=True, slots=True)
class Eligibility:
    """One eligible role assignment in force.

    Attributes:
        instance_id: the eligibility instance's id (used as the finding's resource).
        principal_id: the eligible principal's object id.
        kind: `user`, `group` or `servicePrincipal`.
        label: the principal's display name when the document carries it, else its id.
        role: the role definition GUID (Azure) or template id (Entra), lower case.
        scope: the ARM scope or the directory scope (`/` is the whole tenant).
        end: when the eligibility ends (None: permanently eligible).
    """

    instance_id: str
    principal_id: str
    kind: str
    label: str
    role: str
    scope: str
    end: datetime | None

    @property
    def until(self) -> str:
        """`permanently` or `until <time>`, for messages."""
        return "permanently" if self.end is None else f"until {self.end.isoformat()}"


def principal_kind(value: str, path: str) -> str:
    """`user`, `group` or `servicePrincipal` for an RBAC `principalType` or a Graph
    `@odata.type` value; anything else raises `ShapeError` (an unknown kind could be a user)."""
    kind = _KINDS.get(value.lower().removeprefix("#microsoft.graph."))
    if kind is None:
        raise ShapeError(path, "User, Group or ServicePrincipal", repr(value) if value else "empty")
    return kind


def _end(obj: Mapping[str, Any], at: str) -> datetime | None:
    """`endDateTime`, or None for a permanent eligibility (Graph and ARM send null)."""
    value = optional_str(obj, "endDateTime", None, at=at)
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise ShapeError(f"{at}.endDateTime", "an ISO 8601 time or null", repr(value)) from None
    if parsed.tzinfo is None:
        raise ShapeError(f"{at}.endDateTime", "a time with a time zone", repr(value))
    return parsed


def _in_force(end: datetime | None, now: datetime) -> bool:
    # An instance that ended before the collection no longer grants anything; one that starts
    # later is counted already (it is privilege the holder is about to get).
    return end is None or end > now


def directory_eligibilities(ctx: EvalContext) -> list[Eligibility]:
    """Eligible Entra directory role assignments in force (raises `MissingData` on a gap).

    `principal` is expanded by the collector (`$expand=principal`) so that its `@odata.type`
    says whether the holder is a user, a group or a service principal; an instance without it
    raises `ShapeError` rather than guessing.
    """
    found: list[Eligibility] = []
    for index, item in enumerate(ctx.graph_values(ELIGIBLE_DIRECTORY_ROLES)):
        at = f"roleEligibilityScheduleInstances[{index}]"
        instance = require_obj(item, at=at)
        principal_id = require_str(instance, "principalId", at=at)
        principal = require_obj(instance, "principal", at=at)
        kind = principal_kind(
            require_str(principal, "@odata.type", at=f"{at}.principal"), f"{at}.principal"
        )
        end = _end(instance, at)
        if not _in_force(end, ctx.now):
            continue
        label = optional_str(principal, "displayName", None, at=f"{at}.principal")
        found.append(
            Eligibility(
                instance_id=require_str(instance, "id", at=at),
                principal_id=principal_id,
                kind=kind,
                label=str(label or principal_id),
                role=require_str(instance, "roleDefinitionId", at=at).lower(),
                scope=require_str(instance, "directoryScopeId", at=at),
                end=end,
            )
        )
    return found


def azure_eligibilities(ctx: EvalContext, scope: str) -> list[Eligibility]:
    """Eligible Azure role assignments in force listed at `scope` (raises `MissingData`).

    ARM always sends `scope`, `roleDefinitionId`, `principalId` and `principalType` (the
    REST spec's example `GetRoleEligibilityScheduleInstancesByScope`); one that lacks them could
    be the Owner eligibility that matters, so it raises `ShapeError`.
    """
    found: list[Eligibility] = []
    for index, item in enumerate(list_values(ctx.detail(scope, ELIGIBLE_AZURE_ROLES), scope)):
        at = f"roleEligibilityScheduleInstances[{index}]"
        instance_id = require_str(item, "id", at=at)
        props = require_obj(item, "properties", at=at)
        at = f"roleEligibilityScheduleInstances[{instance_id}].properties"
        end = _end(props, at)
        principal_id = require_str(props, "principalId", at=at)
        kind = principal_kind(require_str(props, "principalType", at=at), f"{at}.principalType")
        role_id = require_str(props, "roleDefinitionId", at=at)
        eligible_scope = require_str(props, "scope", at=at)
        if not _in_force(end, ctx.now):
            continue
        expanded = optional_obj(props, "expandedProperties.principal", at=at) or {}
        label = expanded.get("displayName") if isinstance(expanded, Mapping) else None
        found.append(
            Eligibility(
                instance_id=instance_id,
                principal_id=principal_id,
                kind=kind,
                label=str(label) if isinstance(label, str) and label else principal_id,
                role=role_id.rstrip("/").rsplit("/", 1)[-1].lower(),
                scope=eligible_scope,
                end=end,
            )
        )
    return found


def licence_refused(missing: MissingData) -> bool:
    """Whether a gap is Graph/ARM refusing PIM for want of an Entra ID P2 licence."""
    reason = missing.reason.lower()
    return any(marker in reason for marker in _LICENCE_MARKERS)


def eligibility_unknown(
    missing: MissingData, what: str, *, resource_id: str | None = None
) -> Outcome:
    """ERROR for the eligible holders that could not be listed (what the gap hides)."""
    why = (
        "the tenant answered that Privileged Identity Management needs a Microsoft Entra ID P2 "
        "or ID Governance licence; that answer lists no eligibility, so eligible holders "
        "(for example from a licence that lapsed) are not proven absent"
        if licence_refused(missing)
        else "eligible holders are not judged"
    )
    return Outcome(
        Status.ERROR,
        missing.source,
        None,
        "eligible role assignments (Privileged Identity Management) collected",
        f"cannot list eligible {what} at {missing.scope}: {missing.reason}; {why}",
        resource_id=resource_id,
        resource_type="Microsoft.Resources/subscriptions" if resource_id else None,
        sub_item=missing.source,
    )
