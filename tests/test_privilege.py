"""Privilege across PIM eligibility, partial evidence, standing access and the authorization policy.

Eligible holders (Privileged Identity Management) are judged like active ones; a source that was
not collected is ERROR for exactly what it hides, next to the FAIL/PASS the other sources prove.
"""

from __future__ import annotations

from typing import Any

import pytest

from azaudit.casebook import CASE_SUBSCRIPTION
from azaudit.catalogue import Catalogue
from azaudit.check_params import BREAK_GLASS, with_scan_params
from azaudit.emulator import FaultKind, FaultPlan, FaultRule
from azaudit.models import Finding, Status
from azaudit.snapshot import subscription_scope
from tests.catalogue_support import builtin_catalogue
from tests.collect_support import SUB_A, collect, running, tenant_snapshot
from tests.evaluator_support import CATALOGUE, builtin_check, run_check, statuses

SUB = subscription_scope(CASE_SUBSCRIPTION)
OWNER = "8e3af657-a8ff-443c-a75c-2fe8c4bcb635"
CONTRIBUTOR = "b24988ac-6180-42a0-ab88-20f7382dd24c"
UAA = "18d7d88d-d35e-4fb5-a5c3-7773c20a72d9"
GLOBAL_ADMIN = "62e90394-69f5-4237-9190-012177145e10"
REG = "graph:reports/authenticationMethods/userRegistrationDetails"
ROLES = "graph:directoryRoles"
USERS = "graph:users"
ASSIGNMENTS = "providers/Microsoft.Authorization/roleAssignments"
DEFINITIONS = "providers/Microsoft.Authorization/roleDefinitions"
ELIGIBLE_DIRECTORY = "graph:roleManagement/directory/roleEligibilityScheduleInstances"
ELIGIBLE_AZURE = "providers/Microsoft.Authorization/roleEligibilityScheduleInstances"
INSTANCES = "providers/Microsoft.Authorization/roleAssignmentScheduleInstances"
POLICY = "graph:policies/authorizationPolicy"
P2_REFUSED = "400 AadPremiumLicenseRequired: The tenant needs to have Microsoft Entra ID P2"


def _assignment(name: str, role: str, principal: str, kind: str = "User") -> dict[str, Any]:
    return {
        "id": f"{SUB}/providers/Microsoft.Authorization/roleAssignments/{name}",
        "properties": {
            "roleDefinitionId": f"/providers/Microsoft.Authorization/roleDefinitions/{role}",
            "principalId": principal,
            "principalType": kind,
            "scope": SUB,
        },
    }


def _azure_eligible(
    name: str, role: str, principal: str, end: str | None = None, scope: str = SUB
) -> dict[str, Any]:
    return {
        "id": f"{SUB}/providers/Microsoft.Authorization/RoleEligibilityScheduleInstances/{name}",
        "properties": {
            "scope": scope,
            "roleDefinitionId": f"{SUB}/providers/Microsoft.Authorization/roleDefinitions/{role}",
            "principalId": principal,
            "principalType": "User",
            "status": "Provisioned",
            "startDateTime": "2025-09-10T00:32:36.86Z",
            "endDateTime": end,
            "memberType": "Direct",
        },
    }


def _directory_eligible(principal: str, template: str = GLOBAL_ADMIN) -> dict[str, Any]:
    return {
        "id": f"elig-{principal}",
        "principalId": principal,
        "roleDefinitionId": template,
        "directoryScopeId": "/",
        "startDateTime": "2025-05-19T15:15:46.9Z",
        "endDateTime": None,
        "memberType": "Direct",
        "principal": {
            "@odata.type": "#microsoft.graph.user",
            "id": principal,
            "displayName": principal,
        },
    }


def _ga(*members: str) -> dict[str, Any]:
    return {
        "displayName": "Global Administrator",
        "roleTemplateId": GLOBAL_ADMIN,
        "members": [{"@odata.type": "#microsoft.graph.user", "id": m} for m in members],
    }


def _tenant(
    *,
    roles: list[dict[str, Any]] | None = None,
    directory_eligible: list[dict[str, Any]] | None = None,
    assignments: list[dict[str, Any]] | None = None,
    azure_eligible: list[dict[str, Any]] | None = None,
    registrations: list[dict[str, Any]] | None = None,
    users: list[dict[str, Any]] | None = None,
    gaps: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """A case world; a source left None is absent (a gap names why, if given)."""
    graph: dict[str, Any] = {}
    for key, value in (
        (ROLES, roles),
        (ELIGIBLE_DIRECTORY, directory_eligible),
        (REG, registrations),
        (USERS, users),
    ):
        if value is not None:
            graph[key] = {"value": value}
    docs: dict[str, Any] = {DEFINITIONS: {"value": []}}
    if assignments is not None:
        docs[ASSIGNMENTS] = {"value": assignments}
    if azure_eligible is not None:
        docs[ELIGIBLE_AZURE] = {"value": azure_eligible}
    return {"graph": graph, "scopes": {SUB: docs}, "details": docs, "gaps": gaps or []}


def _gap(source: str, scope: str = "/", reason: str = "403 Forbidden") -> dict[str, Any]:
    return {"scope": scope, "source": source, "reason": reason, "status_code": 403}


def _by_status(findings: list[Finding]) -> dict[Status, list[Finding]]:
    out: dict[Status, list[Finding]] = {}
    for finding in findings:
        out.setdefault(finding.status, []).append(finding)
    return out


# -- partial evidence ----------------------------------------------------------------------------


def test_missing_directory_roles_still_fail_a_provable_owner_without_mfa() -> None:
    """The owner's missing MFA is proven by RBAC and the registration report alone."""
    body = _tenant(
        directory_eligible=[],
        assignments=[_assignment("ra1", OWNER, "u-1")],
        azure_eligible=[],
        registrations=[
            {"id": "u-1", "userPrincipalName": "o@contoso.com", "isMfaRegistered": False}
        ],
        gaps=[_gap(ROLES)],
    )
    found = _by_status(run_check(builtin_check("idn_mfa_privileged"), body))
    assert set(found) == {Status.FAIL, Status.ERROR}
    (fail,) = found[Status.FAIL]
    assert fail.resource_id.endswith("/users/u-1") and "Owner" in fail.message
    (error,) = found[Status.ERROR]
    assert error.property_path == ROLES and "active directory role holders" in error.message


def test_missing_directory_roles_never_let_the_rest_pass_alone() -> None:
    body = _tenant(
        directory_eligible=[],
        assignments=[_assignment("ra1", OWNER, "u-1")],
        azure_eligible=[],
        registrations=[{"id": "u-1", "isMfaRegistered": True}],
        gaps=[_gap(ROLES)],
    )
    findings = run_check(builtin_check("idn_mfa_privileged"), body)
    assert sorted(s.value for s in statuses(findings)) == ["ERROR", "PASS"]


def test_missing_directory_roles_still_fail_a_stale_owner() -> None:
    body = _tenant(
        directory_eligible=[],
        assignments=[_assignment("ra1", OWNER, "u-1")],
        azure_eligible=[],
        users=[{"id": "u-1", "signInActivity": {"lastSuccessfulSignInDateTime": None}}],
        gaps=[_gap(ROLES)],
    )
    found = _by_status(run_check(builtin_check("idn_stale_privileged"), body))
    assert set(found) == {Status.FAIL, Status.ERROR}


@pytest.mark.parametrize("check_id", ["idn_guest_privileged", "idn_disabled_privileged"])
def test_missing_role_assignments_still_judge_eligible_holders(check_id: str) -> None:
    user = {"id": "u-1", "userType": "Guest", "accountEnabled": False}
    body = _tenant(
        azure_eligible=[_azure_eligible("e1", OWNER, "u-1")],
        users=[user],
        gaps=[_gap(ASSIGNMENTS, SUB)],
    )
    found = _by_status(run_check(builtin_check(check_id), body))
    assert set(found) == {Status.FAIL, Status.ERROR}
    assert (
        found[Status.FAIL][0].resource_type
        == "Microsoft.Authorization/roleEligibilityScheduleInstances"
    )


@pytest.mark.parametrize("check_id", ["idn_guest_privileged", "idn_disabled_privileged"])
def test_missing_eligibility_still_fails_an_active_guest_or_disabled_owner(check_id: str) -> None:
    body = _tenant(
        assignments=[_assignment("ra1", OWNER, "u-1")],
        users=[{"id": "u-1", "userType": "Guest", "accountEnabled": False}],
        gaps=[_gap(ELIGIBLE_AZURE, SUB, P2_REFUSED)],
    )
    found = _by_status(run_check(builtin_check(check_id), body))
    assert set(found) == {Status.FAIL, Status.ERROR}
    assert "Entra ID P2" in found[Status.ERROR][0].message


def test_licence_refusal_is_reported_honestly_not_as_no_eligibility() -> None:
    body = _tenant(
        roles=[_ga("u-1")],
        assignments=[],
        azure_eligible=[],
        registrations=[{"id": "u-1", "isMfaRegistered": True}],
        gaps=[_gap(ELIGIBLE_DIRECTORY, reason=P2_REFUSED)],
    )
    found = _by_status(run_check(builtin_check("idn_mfa_privileged"), body))
    assert set(found) == {Status.PASS, Status.ERROR}
    (error,) = found[Status.ERROR]
    assert "licence" in error.message and "not proven absent" in error.message


def test_owner_count_without_eligibility_fails_only_what_is_already_too_many() -> None:
    check = builtin_check("idn_owner_count")
    gap = [_gap(ELIGIBLE_AZURE, SUB, P2_REFUSED)]
    many = [_assignment(f"o{i}", OWNER, f"u-{i}") for i in range(4)]
    (over,) = run_check(check, _tenant(assignments=many, gaps=gap))
    assert over.status is Status.FAIL and "can only add" in over.message
    (within,) = run_check(check, _tenant(assignments=many[:2], gaps=gap))
    assert within.status is Status.ERROR


# -- eligibility counts --------------------------------------------------------------------------


def test_eligible_global_admins_count_and_a_holder_is_counted_once() -> None:
    body = _tenant(
        roles=[_ga("u-1", "u-2", "u-3")],
        directory_eligible=[_directory_eligible("U-1"), _directory_eligible("u-4")],
    )
    (finding,) = run_check(builtin_check("idn_global_admin_count"), body)
    assert finding.status is Status.PASS  # 4 holders: u-1 active and eligible counts once
    assert "1 eligible" in finding.message
    body["graph"][ELIGIBLE_DIRECTORY]["value"].append(_directory_eligible("u-5"))
    (finding,) = run_check(builtin_check("idn_global_admin_count"), body)
    assert finding.status is Status.FAIL


def test_eligibility_of_another_role_or_expired_does_not_count() -> None:
    expired = {**_directory_eligible("u-5"), "endDateTime": "2026-01-01T00:00:00Z"}
    reader = _directory_eligible("u-6", "88d8e3e3-8f55-4a1e-953a-9b9898b8876b")
    body = _tenant(roles=[_ga("u-1", "u-2")], directory_eligible=[expired, reader])
    (finding,) = run_check(builtin_check("idn_global_admin_count"), body)
    assert finding.status is Status.PASS and finding.observed["eligibleUsers"] == []


def test_eligible_owner_without_mfa_fails_and_says_eligible() -> None:
    body = _tenant(
        roles=[],
        directory_eligible=[],
        assignments=[],
        azure_eligible=[_azure_eligible("e1", OWNER, "u-1", end="2026-09-10T00:31:41.477Z")],
        registrations=[{"id": "u-1", "isMfaRegistered": False}],
    )
    (finding,) = run_check(builtin_check("idn_mfa_privileged"), body)
    assert finding.status is Status.FAIL
    assert "eligible until 2026-09-10" in finding.message


def test_eligibility_on_a_resource_group_is_not_subscription_privilege() -> None:
    body = _tenant(
        roles=[],
        directory_eligible=[],
        assignments=[],
        azure_eligible=[_azure_eligible("e1", OWNER, "u-1", scope=f"{SUB}/resourceGroups/rg")],
        registrations=[{"id": "u-1", "isMfaRegistered": False}],
    )
    (finding,) = run_check(builtin_check("idn_mfa_privileged"), body)
    assert finding.status is Status.NOT_APPLICABLE


def test_eligibility_with_an_unknown_principal_type_is_an_error() -> None:
    odd = _azure_eligible("e1", OWNER, "u-1")
    odd["properties"]["principalType"] = "Robot"
    body = _tenant(assignments=[], azure_eligible=[odd], users=[])
    findings = run_check(builtin_check("idn_guest_privileged"), body)
    assert statuses(findings) == [Status.ERROR]


# -- standing privilege --------------------------------------------------------------------------


def _instance(assignment: str, kind: str) -> dict[str, Any]:
    return {
        "id": f"{SUB}/providers/Microsoft.Authorization/RoleAssignmentScheduleInstances/"
        f"{assignment}",
        "properties": {
            "originRoleAssignmentId": f"{SUB}/providers/Microsoft.Authorization/roleAssignments/"
            f"{assignment}".upper(),
            "assignmentType": kind,
            "endDateTime": "2026-01-15T17:00:00Z" if kind == "Activated" else None,
        },
    }


def _standing_body(*instances: dict[str, Any]) -> dict[str, Any]:
    details = {
        DEFINITIONS: {"value": []},
        ASSIGNMENTS: {
            "value": [
                _assignment("ra1", OWNER, "u-1"),
                _assignment("ra2", CONTRIBUTOR, "9f4b2c1e-6d3a-4e8b-a7c5-2b1d0e9f8a76"),
                _assignment("ra3", OWNER, "sp-1", "ServicePrincipal"),
            ]
        },
        INSTANCES: {"value": list(instances)},
    }
    return {"details": details, "graph": {USERS: {"value": []}}}


def test_activated_passes_standing_fails_service_principals_are_left_out() -> None:
    body = _standing_body(_instance("ra1", "Activated"), _instance("ra2", "Assigned"))
    found = _by_status(run_check(builtin_check("idn_standing_privilege"), body))
    assert [f.resource_name for f in found[Status.PASS]] == ["ra1"]
    (fail,) = found[Status.FAIL]
    assert fail.resource_name == "ra2" and "permanent" in fail.message
    assert len(found) == 2


def test_break_glass_accounts_from_the_scan_may_stand() -> None:
    catalogue = with_scan_params(
        CATALOGUE, {BREAK_GLASS: ("9F4B2C1E-6D3A-4E8B-A7C5-2B1D0E9F8A76",)}
    )
    check = catalogue.get("idn_standing_privilege")
    assert check is not None
    findings = run_check(check, _standing_body(_instance("ra1", "Activated")))
    assert statuses(findings) == [Status.PASS, Status.PASS]
    assert "break-glass" in findings[1].message


def test_break_glass_user_principal_names_resolve_through_the_users() -> None:
    catalogue = with_scan_params(CATALOGUE, {BREAK_GLASS: ("bg@contoso.com",)})
    check = catalogue.get("idn_standing_privilege")
    assert check is not None
    body = _standing_body(_instance("ra1", "Activated"))
    body["graph"][USERS]["value"] = [
        {"id": "9f4b2c1e-6d3a-4e8b-a7c5-2b1d0e9f8a76", "userPrincipalName": "BG@contoso.com"}
    ]
    assert statuses(run_check(check, body)) == [Status.PASS, Status.PASS]
    body["graph"] = {}  # users not collected: the name resolves to nobody, nothing is allowed
    assert Status.FAIL in statuses(run_check(check, body))


# -- per-scan parameters -------------------------------------------------------------------------


def test_scan_break_glass_reaches_every_check_that_accepts_it_and_keeps_their_own() -> None:
    base = builtin_check("idn_uaa_restricted")
    own = base.rule.params.get(BREAK_GLASS, [])
    catalogue = with_scan_params(CATALOGUE, {BREAK_GLASS: ("a@contoso.com",)})
    changed = {
        c.id
        for c, before in zip(catalogue.checks, CATALOGUE.checks, strict=True)
        if c.rule.params != before.rule.params
    }
    assert changed == {
        "idn_mfa_all_users",
        "idn_mfa_azure_management",
        "idn_legacy_auth_blocked",
        "idn_uaa_restricted",
        "idn_standing_privilege",
    }
    uaa = catalogue.get("idn_uaa_restricted")
    assert uaa is not None and uaa.rule.params[BREAK_GLASS] == [*own, "a@contoso.com"]
    assert with_scan_params(CATALOGUE, {BREAK_GLASS: ()}) is CATALOGUE
    assert isinstance(catalogue, Catalogue)


def test_scan_break_glass_lets_a_conditional_access_policy_exclude_them() -> None:
    policy = {
        "displayName": "Require MFA",
        "state": "enabled",
        "conditions": {
            "clientAppTypes": ["all"],
            "applications": {"includeApplications": ["All"], "excludeApplications": []},
            "users": {
                "includeUsers": ["All"],
                "excludeUsers": ["9f4b2c1e-6d3a-4e8b-a7c5-2b1d0e9f8a76"],
                "excludeGroups": [],
                "excludeRoles": [],
            },
        },
        "grantControls": {"operator": "OR", "builtInControls": ["mfa"]},
    }
    body = {
        "graph": {
            "graph:policies/identitySecurityDefaultsEnforcementPolicy": {"isEnabled": False},
            "graph:identity/conditionalAccess/policies": {"value": [policy]},
        }
    }
    (before,) = run_check(builtin_check("idn_mfa_all_users"), body)
    assert before.status is Status.FAIL
    catalogue = with_scan_params(
        CATALOGUE, {BREAK_GLASS: ("9f4b2c1e-6d3a-4e8b-a7c5-2b1d0e9f8a76",)}
    )
    check = catalogue.get("idn_mfa_all_users")
    assert check is not None
    (after,) = run_check(check, body)
    assert after.status is Status.PASS and "declared break-glass" in after.message


def test_scan_break_glass_may_hold_user_access_administrator() -> None:
    body = {
        "details": {
            DEFINITIONS: {"value": []},
            ASSIGNMENTS: {"value": [_assignment("ra1", UAA, "u-bg")]},
        }
    }
    (before,) = run_check(builtin_check("idn_uaa_restricted"), body)
    assert before.status is Status.FAIL
    check = with_scan_params(CATALOGUE, {BREAK_GLASS: ("U-BG",)}).get("idn_uaa_restricted")
    assert check is not None
    (after,) = run_check(check, body)
    assert after.status is Status.PASS


# -- legacy authentication scoped to Office 365 --------------------------------------------------


def _legacy_block(include: list[str], exclude: list[str]) -> dict[str, Any]:
    policy = {
        "displayName": "Block legacy authentication",
        "state": "enabled",
        "conditions": {
            "clientAppTypes": ["exchangeActiveSync", "other"],
            "applications": {"includeApplications": include, "excludeApplications": exclude},
            "users": {
                "includeUsers": ["All"],
                "excludeUsers": [],
                "excludeGroups": [],
                "excludeRoles": [],
            },
        },
        "grantControls": {"operator": "OR", "builtInControls": ["block"]},
    }
    return {
        "graph": {
            "graph:policies/identitySecurityDefaultsEnforcementPolicy": {"isEnabled": False},
            "graph:identity/conditionalAccess/policies": {"value": [policy]},
        }
    }


@pytest.mark.parametrize(
    ("include", "exclude", "status"),
    [
        (["Office365"], [], Status.PASS),
        (["All"], [], Status.PASS),
        (["00000002-0000-0ff1-ce00-000000000000"], [], Status.FAIL),  # Exchange Online only
        (["All"], ["Office365"], Status.FAIL),
        (["Office365"], ["00000003-0000-0ff1-ce00-000000000000"], Status.FAIL),  # minus SharePoint
    ],
)
def test_a_legacy_block_on_office_365_covers_where_legacy_protocols_terminate(
    include: list[str], exclude: list[str], status: Status
) -> None:
    (finding,) = run_check(
        builtin_check("idn_legacy_auth_blocked"), _legacy_block(include, exclude)
    )
    assert finding.status is status, finding.message


# -- authorization policy ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("assigned", "status"),
    [
        ([], Status.PASS),
        (["ManagePermissionGrantsForSelf.microsoft-user-default-low"], Status.PASS),
        (["ManagePermissionGrantsForSelf.microsoft-user-default-recommended"], Status.PASS),
        (["managepermissiongrantsforself.MICROSOFT-USER-DEFAULT-LEGACY"], Status.FAIL),
        (["ManagePermissionGrantsForSelf.custom-1"], Status.MANUAL),
        (
            [
                "ManagePermissionGrantsForSelf.custom-1",
                "ManagePermissionGrantsForSelf.microsoft-user-default-legacy",
            ],
            Status.FAIL,
        ),
        ([42], Status.ERROR),
    ],
)
def test_user_consent_policies(assigned: list[Any], status: Status) -> None:
    body = {
        "graph": {
            POLICY: {"defaultUserRolePermissions": {"permissionGrantPoliciesAssigned": assigned}}
        }
    }
    (finding,) = run_check(builtin_check("idn_user_consent_restricted"), body)
    assert finding.status is status


def test_guest_invites_null_is_an_error_not_a_default() -> None:
    body = {"graph": {POLICY: {"allowInvitesFrom": None}}}
    (finding,) = run_check(builtin_check("idn_guest_invite_restricted"), body)
    assert finding.status is Status.ERROR


# -- through the collector ------------------------------------------------------------------------


def test_a_tenant_without_p2_is_a_licence_gap_reported_as_such() -> None:
    """Graph refuses the eligibility list for want of a licence: the collector records a gap
    (never an empty list), and the checks say why the eligible holders are unknown."""
    catalogue = builtin_catalogue()
    refused = FaultRule(
        FaultKind.FORBIDDEN,
        route="graph:rolemanagement/directory/roleeligibilityscheduleinstances",
        error_code="AadPremiumLicenseRequired",
        message="The tenant needs to have Microsoft Entra ID P2 or Microsoft Entra ID "
        "Governance license.",
    )
    with running(tenant_snapshot(catalogue, storage=1), FaultPlan(rules=(refused,))) as emulator:
        snapshot = collect(emulator, catalogue, subscriptions=(SUB_A,))
    (gap,) = snapshot.gaps
    assert (gap.source, gap.error_code) == (ELIGIBLE_DIRECTORY, "AadPremiumLicenseRequired")
    assert ELIGIBLE_DIRECTORY not in snapshot.graph
    body = _tenant(
        roles=[_ga("u-1", "u-2")],
        gaps=[{"scope": gap.scope, "source": gap.source, "reason": gap.reason}],
    )
    (finding,) = run_check(builtin_check("idn_global_admin_count"), body)
    assert finding.status is Status.ERROR
    assert "P2" in finding.message and "not proven absent" in finding.message
