"""Identity evaluators through the engine: Conditional Access, privileged users and Azure RBAC."""

from __future__ import annotations

from typing import Any

import pytest

from azaudit.casebook import CASE_SUBSCRIPTION, CASE_TENANT, case_config, run_case
from azaudit.catalogue import Case
from azaudit.engine import evaluate_check
from azaudit.evaluators import get_evaluator
from azaudit.evaluators.access import ShapeError
from azaudit.evaluators.identity import (
    ACCESS_ADMINISTRATOR_ROLES,
    PRIVILEGED_ROLES,
    at_or_above_subscription,
    manages_access,
    role_guid,
)
from azaudit.models import CollectionGap, Finding, Status, TargetKind
from azaudit.snapshot import Snapshot, subscription_scope
from tests.evaluator_support import CATALOGUE, builtin_check, run_check, statuses

SUB = subscription_scope(CASE_SUBSCRIPTION)
OWNER = "8e3af657-a8ff-443c-a75c-2fe8c4bcb635"
CONTRIBUTOR = "b24988ac-6180-42a0-ab88-20f7382dd24c"
UAA = "18d7d88d-d35e-4fb5-a5c3-7773c20a72d9"
GLOBAL_ADMIN = "62e90394-69f5-4237-9190-012177145e10"
DEFAULTS = "graph:policies/identitySecurityDefaultsEnforcementPolicy"
CA = "graph:identity/conditionalAccess/policies"
REG = "graph:reports/authenticationMethods/userRegistrationDetails"
ROLES = "graph:directoryRoles"
USERS = "graph:users"
ASSIGNMENTS = "providers/Microsoft.Authorization/roleAssignments"
MG = "/providers/Microsoft.Management/managementGroups/mg"
DEFINITIONS = "providers/Microsoft.Authorization/roleDefinitions"
ELIGIBLE_DIRECTORY = "graph:roleManagement/directory/roleEligibilityScheduleInstances"
ELIGIBLE_AZURE = "providers/Microsoft.Authorization/roleEligibilityScheduleInstances"
NO_ELIGIBILITY: dict[str, Any] = {"value": []}


def _assignment(
    name: str, role: str, principal: str, principal_type: str = "User", scope: str = SUB
) -> dict[str, Any]:
    return {
        "id": f"{scope.rstrip('/')}/providers/Microsoft.Authorization/roleAssignments/{name}",
        "properties": {
            "roleDefinitionId": f"/providers/Microsoft.Authorization/roleDefinitions/{role}",
            "principalId": principal,
            "principalType": principal_type,
            "scope": scope,
        },
    }


def _policy(**overrides: Any) -> dict[str, Any]:
    policy: dict[str, Any] = {
        "id": "p1",
        "displayName": "Require MFA",
        "state": "enabled",
        "conditions": {
            "clientAppTypes": ["all"],
            "applications": {"includeApplications": ["All"], "excludeApplications": []},
            "users": {
                "includeUsers": ["All"],
                "excludeUsers": [],
                "excludeGroups": [],
                "excludeRoles": [],
            },
        },
        "grantControls": {"operator": "OR", "builtInControls": ["mfa"]},
    }
    policy.update(overrides)
    return policy


def _ca(*policies: dict[str, Any], defaults: bool = False) -> dict[str, Any]:
    return {"graph": {DEFAULTS: {"isEnabled": defaults}, CA: {"value": list(policies)}}}


def _ga_role(*members: dict[str, Any], template: str = GLOBAL_ADMIN) -> dict[str, Any]:
    return {
        "displayName": "Global Administrator",
        "roleTemplateId": template,
        "members": list(members),
    }


def _user(object_id: str) -> dict[str, Any]:
    return {"@odata.type": "#microsoft.graph.user", "id": object_id}


# -- fail closed on Graph -----------------------------------------------------------------------


def _graph_checks() -> list[tuple[str, str]]:
    pairs = []
    for check in CATALOGUE.checks:
        for source in check.requires:
            if source.startswith("graph:"):
                pairs.append((check.id, source))
    return pairs


@pytest.mark.parametrize(("check_id", "source"), _graph_checks())
def test_forbidden_graph_source_never_passes(check_id: str, source: str) -> None:
    """Every PASS case of every Graph-reading check turns ERROR when one Graph source is a 403."""
    check = builtin_check(check_id)
    for case in (c for c in check.cases if c.expect is Status.PASS):
        body = dict(case.body)
        gap = {"scope": "/", "source": source, "reason": "403 Forbidden", "status_code": 403}
        body["gaps"] = [*body.get("gaps", []), gap]
        findings = list(run_case(check, Case(case.name, Status.ERROR, body)).findings)
        assert findings, case.name
        assert Status.PASS not in statuses(findings), (case.name, findings)
        assert Status.ERROR in statuses(findings)


def test_graph_source_missing_from_snapshot_is_error() -> None:
    body = _ca(_policy())
    del body["graph"][CA]
    (finding,) = run_check(builtin_check("idn_mfa_all_users"), body)
    assert finding.status is Status.ERROR
    assert "not collected" in finding.message


# -- Conditional Access -------------------------------------------------------------------------


def test_report_only_policy_does_not_count_even_next_to_a_disabled_one() -> None:
    body = _ca(_policy(state="enabledForReportingButNotEnforced"), _policy(state="disabled"))
    (finding,) = run_check(builtin_check("idn_mfa_all_users"), body)
    assert finding.status is Status.FAIL
    assert "report-only" in finding.message


def test_a_policy_with_exclusions_is_partial_and_names_them() -> None:
    partial = _policy(displayName="Partial")
    partial["conditions"]["users"]["excludeUsers"] = ["breakglass-1"]
    partial["conditions"]["users"]["excludeGroups"] = ["grp-vendors"]
    partial["conditions"]["locations"] = {
        "includeLocations": ["All"],
        "excludeLocations": ["trusted"],
    }
    (finding,) = run_check(builtin_check("idn_mfa_all_users"), _ca(partial))
    assert finding.status is Status.FAIL
    for text in ("Partial", "users breakglass-1", "groups grp-vendors", "locations trusted"):
        assert text in finding.message


def test_declared_break_glass_accounts_are_the_only_accepted_exclusion() -> None:
    good = _policy(displayName="Good")
    good["conditions"]["users"]["excludeUsers"] = ["BreakGlass-1", "breakglass-2"]
    declared = ["breakglass-1", "breakglass-2"]
    check = builtin_check("idn_mfa_all_users")
    (finding,) = run_check(
        check, _ca(_policy(state="disabled"), good), break_glass_accounts=declared
    )
    assert finding.status is Status.PASS
    assert "declared break-glass users BreakGlass-1, breakglass-2" in finding.message
    good["conditions"]["users"]["excludeUsers"].append("svc-sync")
    (finding,) = run_check(check, _ca(good), break_glass_accounts=declared)
    assert finding.status is Status.FAIL
    assert "users svc-sync" in finding.message and "breakglass-2" not in finding.message


@pytest.mark.parametrize(
    ("place", "key", "value", "reason"),
    [
        ("users", "excludeRoles", ["62e90394-69f5-4237-9190-012177145e10"], "roles"),
        ("applications", "excludeApplications", ["00000003-0000-0ff1-ce00-000000000000"], "appl"),
        ("users", "excludeGuestsOrExternalUsers", {"guestOrExternalUserTypes": "b2b"}, "guests"),
    ],
)
def test_every_kind_of_exclusion_makes_a_policy_partial(
    place: str, key: str, value: Any, reason: str
) -> None:
    policy = _policy()
    policy["conditions"][place][key] = value
    (finding,) = run_check(builtin_check("idn_mfa_all_users"), _ca(policy))
    assert finding.status is Status.FAIL
    assert f"excludes {reason}" in finding.message


def test_a_device_filter_in_exclude_mode_is_partial_and_an_unknown_mode_is_an_error() -> None:
    policy = _policy()
    policy["conditions"]["devices"] = {"deviceFilter": {"mode": "exclude", "rule": "r"}}
    (finding,) = run_check(builtin_check("idn_mfa_all_users"), _ca(policy))
    assert finding.status is Status.FAIL
    assert "devices matching a filter" in finding.message
    policy["conditions"]["devices"] = {"deviceFilter": {"mode": "sometimes", "rule": "r"}}
    (finding,) = run_check(builtin_check("idn_mfa_all_users"), _ca(policy))
    assert finding.status is Status.ERROR


@pytest.mark.parametrize(
    ("place", "key", "value"),
    [
        ("users", "excludeGroups", "grp-vendors"),
        ("users", "excludeUsers", None),
        ("applications", "excludeApplications", None),
    ],
)
def test_an_unreadable_exclusion_list_is_an_error_not_nothing_excluded(
    place: str, key: str, value: Any
) -> None:
    policy = _policy()
    if value is None:
        del policy["conditions"][place][
            key
        ]  # Graph always sends it, empty when nothing is excluded
    else:
        policy["conditions"][place][key] = value
    (finding,) = run_check(builtin_check("idn_mfa_all_users"), _ca(policy))
    assert finding.status is Status.ERROR


@pytest.mark.parametrize(
    ("grant", "status"),
    [
        ({"operator": "OR", "builtInControls": [], "authenticationStrength": {"id": "s"}}, "PASS"),
        (
            {
                "operator": "OR",
                "builtInControls": ["compliantDevice"],
                "authenticationStrength": {"id": "s"},
            },
            "FAIL",
        ),
        ({"operator": "OR", "builtInControls": ["mfa", "domainJoinedDevice"]}, "FAIL"),
        ({"operator": "AND", "builtInControls": ["mfa", "domainJoinedDevice"]}, "PASS"),
    ],
)
def test_authentication_strength_counts_and_an_or_with_a_device_does_not(
    grant: dict[str, Any], status: str
) -> None:
    (finding,) = run_check(builtin_check("idn_mfa_all_users"), _ca(_policy(grantControls=grant)))
    assert finding.status is Status(status)


def test_security_defaults_pass_but_say_they_are_weaker_evidence() -> None:
    (finding,) = run_check(builtin_check("idn_mfa_all_users"), _ca(defaults=True))
    assert finding.status is Status.PASS
    assert "weaker evidence than a Conditional Access policy" in finding.message


@pytest.mark.parametrize(
    ("conditions", "reason"),
    [
        ({"platforms": {"includePlatforms": ["android"], "excludePlatforms": []}}, "platforms"),
        ({"locations": {"includeLocations": ["office-ip"], "excludeLocations": []}}, "locations"),
        ({"signInRiskLevels": ["high"]}, "signInRiskLevels"),
        ({"clientAppTypes": ["browser"]}, "client app types"),
        ({"devices": {"deviceFilter": {"mode": "include", "rule": "x"}}}, "devices"),
        ({"insiderRiskLevels": "elevated"}, "insiderRiskLevels"),
        ({"authenticationFlows": {"transferMethods": "deviceCodeFlow"}}, "authentication flows"),
    ],
)
def test_policies_narrowed_by_a_condition_do_not_count(
    conditions: dict[str, Any], reason: str
) -> None:
    policy = _policy()
    policy["conditions"].update(conditions)
    (finding,) = run_check(builtin_check("idn_mfa_all_users"), _ca(policy))
    assert finding.status is Status.FAIL
    assert reason in finding.message


def test_mfa_and_compliant_device_with_operator_and_counts() -> None:
    policy = _policy(
        grantControls={"operator": "AND", "builtInControls": ["mfa", "compliantDevice"]}
    )
    (finding,) = run_check(builtin_check("idn_mfa_all_users"), _ca(policy))
    assert finding.status is Status.PASS


def test_terms_of_use_as_an_alternative_to_mfa_does_not_count() -> None:
    grant = {"operator": "OR", "builtInControls": ["mfa"], "termsOfUse": ["tou-1"]}
    (finding,) = run_check(builtin_check("idn_mfa_all_users"), _ca(_policy(grantControls=grant)))
    assert finding.status is Status.FAIL


def test_security_defaults_can_be_refused_by_parameter() -> None:
    check = builtin_check("idn_mfa_all_users")
    (finding,) = run_check(check, _ca(defaults=True), security_defaults_satisfy=False)
    assert finding.status is Status.FAIL


def test_security_defaults_with_a_non_boolean_flag_is_an_error() -> None:
    body = _ca(_policy())
    body["graph"][DEFAULTS] = {"isEnabled": "true"}
    (finding,) = run_check(builtin_check("idn_mfa_all_users"), body)
    assert finding.status is Status.ERROR


def test_policy_without_conditions_is_an_error_not_a_pass() -> None:
    policy = _policy()
    del policy["conditions"]
    (finding,) = run_check(builtin_check("idn_mfa_all_users"), _ca(policy))
    assert finding.status is Status.ERROR


def test_unknown_grant_parameter_is_an_error() -> None:
    (finding,) = run_check(builtin_check("idn_mfa_all_users"), _ca(_policy()), grant="allow")
    assert finding.status is Status.ERROR


def test_catalogue_validation_rejects_unknown_parameters() -> None:
    spec = get_evaluator("conditional_access_enforced")
    assert spec is not None
    problems = list(spec.validate({"grant": "mfa", "users": ["All"]}))
    assert problems and "users" in problems[0]


# -- privileged users (tenant checks) ------------------------------------------------------------


def _tenant_body(
    roles: list[dict[str, Any]],
    assignments: list[dict[str, Any]],
    registrations: list[dict[str, Any]] | None = None,
    users: list[dict[str, Any]] | None = None,
    definitions: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    graph: dict[str, Any] = {ROLES: {"value": roles}, ELIGIBLE_DIRECTORY: NO_ELIGIBILITY}
    if registrations is not None:
        graph[REG] = {"value": registrations}
    if users is not None:
        graph[USERS] = {"value": users}
    docs = {
        ASSIGNMENTS: {"value": assignments},
        DEFINITIONS: {"value": definitions or []},
        ELIGIBLE_AZURE: NO_ELIGIBILITY,
    }
    return {"graph": graph, "scopes": {SUB: docs}}


def test_ids_compare_case_insensitively_across_rbac_graph_and_reports() -> None:
    body = _tenant_body(
        [_ga_role(_user("AAA-1"), template=GLOBAL_ADMIN.upper())],
        [_assignment("ra1", OWNER.upper(), "aaa-1")],
        registrations=[
            {"id": "aAa-1", "userPrincipalName": "a@contoso.com", "isMfaRegistered": True}
        ],
    )
    (finding,) = run_check(builtin_check("idn_mfa_privileged"), body)
    assert finding.status is Status.PASS
    assert "Global Administrator" in finding.message and "Owner" in finding.message
    assert finding.resource_id == f"/tenants/{CASE_TENANT}/users/AAA-1"


def test_user_findings_are_named_by_user_principal_name() -> None:
    member = {**_user("u-7"), "userPrincipalName": "dana@contoso.example"}
    body = _tenant_body(
        [_ga_role(member)],
        [],
        registrations=[{"id": "u-7", "isMfaRegistered": False}],
    )
    (finding,) = run_check(builtin_check("idn_mfa_privileged"), body)
    assert finding.status is Status.FAIL
    assert finding.resource_name == "dana@contoso.example"
    assert finding.resource_id.endswith("/users/u-7")


def test_group_assigned_azure_role_is_manual_and_service_principals_are_skipped() -> None:
    body = _tenant_body(
        [],
        [
            _assignment("ra1", CONTRIBUTOR, "grp-1", "Group"),
            _assignment("ra2", OWNER, "sp-1", "ServicePrincipal"),
        ],
        registrations=[],
    )
    (finding,) = run_check(builtin_check("idn_mfa_privileged"), body)
    assert finding.status is Status.MANUAL
    assert finding.resource_id.endswith("/groups/grp-1")


def test_reader_and_resource_group_owner_are_not_privileged_for_tenant_checks() -> None:
    reader = "acdd72a7-3385-48ef-bd42-f606fba81ae7"
    body = _tenant_body(
        [],
        [
            _assignment("ra1", reader, "u-1"),
            _assignment("ra2", OWNER, "u-2", scope=f"{SUB}/resourceGroups/rg"),
        ],
        registrations=[
            {"id": "u-1", "isMfaRegistered": False},
            {"id": "u-2", "isMfaRegistered": False},
        ],
    )
    (finding,) = run_check(builtin_check("idn_mfa_privileged"), body)
    assert finding.status is Status.NOT_APPLICABLE


def test_privileged_user_without_registration_record_is_error() -> None:
    body = _tenant_body([_ga_role(_user("u-9"))], [], registrations=[])
    (finding,) = run_check(builtin_check("idn_mfa_privileged"), body)
    assert finding.status is Status.ERROR
    assert "no MFA registration record" in finding.message


def test_non_boolean_registration_flag_is_error() -> None:
    body = _tenant_body(
        [_ga_role(_user("u-1"))], [], registrations=[{"id": "u-1", "isMfaRegistered": "yes"}]
    )
    (finding,) = run_check(builtin_check("idn_mfa_privileged"), body)
    assert finding.status is Status.ERROR


def test_directory_roles_without_expanded_members_are_an_error() -> None:
    role = _ga_role()
    del role["members"]
    body = _tenant_body([role], [], registrations=[])
    (finding,) = run_check(builtin_check("idn_mfa_privileged"), body)
    assert finding.status is Status.ERROR
    assert "members not expanded" in finding.message


def _two_subscription_snapshot(extra_gap: bool) -> Snapshot:
    other = "00000000-0000-0000-0000-0000000000c2"
    gaps = (
        (CollectionGap(subscription_scope(other), ASSIGNMENTS, "403 AuthorizationFailed", 403),)
        if extra_gap
        else ()
    )
    return Snapshot(
        collected_at="2026-01-15T12:00:00Z",
        tool_version="test",
        cloud={"name": "AzureCloud"},
        tenant={"tenantId": CASE_TENANT, "displayName": "t"},
        subscriptions=(
            {"subscriptionId": CASE_SUBSCRIPTION, "displayName": "one"},
            {"subscriptionId": other, "displayName": "two"},
        ),
        resources=(),
        details={
            SUB: {
                ASSIGNMENTS: {"value": [_assignment("ra1", OWNER, "u-1")]},
                DEFINITIONS: {"value": []},
                ELIGIBLE_AZURE: NO_ELIGIBILITY,
            },
            subscription_scope(other): {
                ASSIGNMENTS: {"value": []},
                DEFINITIONS: {"value": []},
                ELIGIBLE_AZURE: NO_ELIGIBILITY,
            },
        },
        graph={
            ROLES: {"value": []},
            ELIGIBLE_DIRECTORY: NO_ELIGIBILITY,
            REG: {"value": [{"id": "u-1", "isMfaRegistered": False}]},
        },
        gaps=gaps,
    )


def test_one_unreadable_subscription_is_an_error_for_that_subscription_only() -> None:
    check = builtin_check("idn_mfa_privileged")
    findings = list(evaluate_check(_two_subscription_snapshot(True), check, case_config()))
    by_status = {f.status: f for f in findings}
    assert set(by_status) == {Status.ERROR, Status.FAIL}
    assert by_status[Status.ERROR].resource_id.endswith("0000000000c2")
    assert by_status[Status.FAIL].resource_id.endswith("/users/u-1")
    clean = list(evaluate_check(_two_subscription_snapshot(False), check, case_config()))
    assert statuses(clean) == [Status.FAIL]


@pytest.mark.parametrize(
    ("activity", "status"),
    [
        ({"lastSuccessfulSignInDateTime": "2025-10-17T12:00:01Z"}, Status.PASS),  # 89.99 days
        ({"lastSuccessfulSignInDateTime": "2025-10-17T11:59:59Z"}, Status.FAIL),
        # failed attempts are not activity: a recent attempt with an old success is stale
        (
            {
                "lastSignInDateTime": "2026-01-10T00:00:00Z",
                "lastNonInteractiveSignInDateTime": "2026-01-12T00:00:00Z",
                "lastSuccessfulSignInDateTime": "2025-06-01T00:00:00Z",
            },
            Status.FAIL,
        ),
        # not recorded before December 2023 and never backfilled: absent is no evidence of use
        ({"lastSignInDateTime": "2026-01-10T00:00:00Z"}, Status.FAIL),
        (
            {"lastSignInDateTime": "2026-01-10T00:00:00Z", "lastSuccessfulSignInDateTime": None},
            Status.FAIL,
        ),
        ({"lastSuccessfulSignInDateTime": "2026-01-01T00:00:00.1234567Z"}, Status.PASS),
        ({"lastSignInDateTime": None, "lastNonInteractiveSignInDateTime": None}, Status.FAIL),
        ({"lastSignInDateTime": "2025-13-45"}, Status.ERROR),
    ],
)
def test_stale_privileged_sign_in_boundaries(activity: dict[str, Any], status: Status) -> None:
    body = _tenant_body(
        [_ga_role(_user("u-1"))],
        [],
        users=[{"id": "u-1", "userPrincipalName": "a@contoso.com", "signInActivity": activity}],
    )
    (finding,) = run_check(builtin_check("idn_stale_privileged"), body)
    assert finding.status is status


def test_stale_threshold_is_a_parameter() -> None:
    body = _tenant_body(
        [_ga_role(_user("u-1"))],
        [],
        users=[
            {
                "id": "u-1",
                "signInActivity": {"lastSuccessfulSignInDateTime": "2025-12-01T00:00:00Z"},
            }
        ],
    )
    (finding,) = run_check(builtin_check("idn_stale_privileged"), body, max_days=30)
    assert finding.status is Status.FAIL


def test_global_admin_count_flags_groups_for_manual_review_only_within_bounds() -> None:
    group = {"@odata.type": "#microsoft.graph.group", "id": "g-1", "displayName": "Tier0"}
    check = builtin_check("idn_global_admin_count")
    body = {
        "graph": {
            ROLES: {"value": [_ga_role(_user("a"), _user("b"), group)]},
            ELIGIBLE_DIRECTORY: NO_ELIGIBILITY,
        }
    }
    (within,) = run_check(check, body)
    assert within.status is Status.MANUAL
    many = [_user(str(i)) for i in range(5)]
    roles = {ROLES: {"value": [_ga_role(*many, group)]}, ELIGIBLE_DIRECTORY: NO_ELIGIBILITY}
    (over,) = run_check(check, {"graph": roles})
    assert over.status is Status.FAIL


def test_global_admin_role_absent_from_directory_roles_is_error() -> None:
    other = _ga_role(_user("a"), template="88d8e3e3-8f55-4a1e-953a-9b9898b8876b")
    (finding,) = run_check(
        builtin_check("idn_global_admin_count"), {"graph": {ROLES: {"value": [other]}}}
    )
    assert finding.status is Status.ERROR


# -- Azure RBAC per subscription ----------------------------------------------------------------


def _rbac_body(
    assignments: list[dict[str, Any]],
    users: list[dict[str, Any]] | None = None,
    definitions: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    details = {
        ASSIGNMENTS: {"value": assignments},
        DEFINITIONS: {"value": definitions or []},
        ELIGIBLE_AZURE: NO_ELIGIBILITY,
    }
    body: dict[str, Any] = {"details": details}
    if users is not None:
        body["graph"] = {USERS: {"value": users}}
    return body


def test_guest_owner_inherited_from_a_management_group_fails() -> None:
    mg = "/providers/Microsoft.Management/managementGroups/corp"
    body = _rbac_body(
        [_assignment("ra1", OWNER, "g-uest", scope=mg)],
        [{"id": "G-UEST", "userType": "Guest", "accountEnabled": True}],
    )
    (finding,) = run_check(builtin_check("idn_guest_privileged"), body)
    assert finding.status is Status.FAIL
    assert finding.resource_id == f"{mg}/providers/Microsoft.Authorization/roleAssignments/ra1"


def test_guest_on_a_resource_group_is_ignored_when_scope_is_subscription_or_above() -> None:
    body = _rbac_body(
        [_assignment("ra1", OWNER, "g", scope=f"{SUB}/resourceGroups/rg")],
        [{"id": "g", "userType": "Guest", "accountEnabled": True}],
    )
    check = builtin_check("idn_guest_privileged")
    assert statuses(run_check(check, body)) == [Status.FAIL]
    assert statuses(run_check(check, body, scopes="subscription_or_above")) == [
        Status.NOT_APPLICABLE
    ]


def test_user_without_user_type_is_an_error_not_a_member() -> None:
    body = _rbac_body([_assignment("ra1", OWNER, "u")], [{"id": "u", "accountEnabled": True}])
    (finding,) = run_check(builtin_check("idn_guest_privileged"), body)
    assert finding.status is Status.ERROR


def test_invalid_scope_parameter_is_an_error() -> None:
    body = _rbac_body([_assignment("ra1", OWNER, "u")], [{"id": "u", "userType": "Member"}])
    (finding,) = run_check(builtin_check("idn_guest_privileged"), body, scopes="everything")
    assert finding.status is Status.ERROR


def test_assignment_without_properties_is_an_error() -> None:
    body = _rbac_body([{"id": "x"}], [])
    (finding,) = run_check(builtin_check("idn_disabled_privileged"), body)
    assert finding.status is Status.ERROR


def test_owner_count_counts_a_principal_once_across_scopes() -> None:
    body = _rbac_body(
        [
            _assignment("a1", OWNER, "u-1"),
            _assignment("a2", OWNER, "U-1", scope="/"),
            _assignment("a3", OWNER, "u-2"),
        ]
    )
    (finding,) = run_check(builtin_check("idn_owner_count"), body)
    assert finding.status is Status.PASS
    assert finding.observed == {
        "users": ["u-1", "u-2"],
        "eligibleUsers": [],
        "groups": [],
        "servicePrincipals": [],
    }


def test_break_glass_principal_may_hold_user_access_administrator() -> None:
    body = _rbac_body([_assignment("a1", UAA, "BREAK-GLASS", scope="/")])
    check = builtin_check("idn_uaa_restricted")
    assert statuses(run_check(check, body)) == [Status.FAIL]
    assert statuses(run_check(check, body, allowed_principals=["break-glass"])) == [Status.PASS]


def _wildcard_role_finding(scope: str, name: str, **props: Any) -> Finding:
    """The one finding of idn_custom_owner_role on a single definition granting `*` at `scope`."""
    definition = {
        "id": f"{scope}/providers/Microsoft.Authorization/roleDefinitions/{name}",
        "properties": {"assignableScopes": [scope], "permissions": [{"actions": ["*"]}], **props},
    }
    body = {"details": {DEFINITIONS: {"value": [definition]}}}
    (finding,) = run_check(builtin_check("idn_custom_owner_role"), body)
    return finding


def test_custom_role_with_unknown_type_and_wildcard_is_an_error() -> None:
    finding = _wildcard_role_finding(SUB, "x", roleName="x")
    assert finding.status is Status.ERROR


def test_custom_role_assignable_at_a_management_group_fails() -> None:
    finding = _wildcard_role_finding(MG, "y", roleName="MG admin", type="CustomRole")
    assert finding.status is Status.FAIL
    assert finding.resource_type == "Microsoft.Authorization/roleDefinitions"


# -- helpers --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("scope", "expected"),
    [
        ("/", True),
        (SUB, True),
        (SUB.upper() + "/", True),
        ("/providers/Microsoft.Management/managementGroups/mg1", True),
        (f"{SUB}/resourceGroups/rg", False),
        ("/subscriptions/00000000-0000-0000-0000-000000000099", False),
    ],
)
def test_scope_at_or_above_subscription(scope: str, expected: bool) -> None:
    assert at_or_above_subscription(scope, CASE_SUBSCRIPTION) is expected


def test_role_guid_is_the_lower_case_last_segment() -> None:
    assert (
        role_guid(f"{SUB}/providers/Microsoft.Authorization/roleDefinitions/{OWNER.upper()}")
        == OWNER
    )


def test_identity_checks_target_the_scope_their_data_lives_at() -> None:
    kinds = {c.id: c.meta.target for c in CATALOGUE.checks if c.meta.family == "identity"}
    assert kinds["idn_mfa_privileged"] is TargetKind.TENANT
    assert kinds["idn_owner_count"] is TargetKind.SUBSCRIPTION
    assert kinds["idn_storage_shared_key_off"] is TargetKind.RESOURCE


# -- one definition of a privileged Azure role -------------------------------------------------

RBAC_ADMIN = "f58310d9-a9f6-439a-9e8d-f62e7b41a168"


def _custom_role(
    name: str,
    actions: list[str],
    not_actions: list[str] | None = None,
    scopes: list[str] | None = None,
) -> dict[str, Any]:
    """A custom role definition as ARM lists it (2022-04-01)."""
    return {
        "id": f"{SUB}/providers/Microsoft.Authorization/roleDefinitions/{name}",
        "name": name,
        "type": "Microsoft.Authorization/roleDefinitions",
        "properties": {
            "roleName": f"Contoso {name}",
            "type": "CustomRole",
            "description": "",
            "assignableScopes": scopes or [SUB],
            "permissions": [
                {
                    "actions": actions,
                    "notActions": not_actions or [],
                    "dataActions": [],
                    "notDataActions": [],
                }
            ],
        },
    }


@pytest.mark.parametrize(
    ("actions", "not_actions", "grants"),
    [
        (["*"], [], True),
        (["Microsoft.Authorization/*"], [], True),
        (["*/write"], [], True),
        (["Microsoft.Authorization/*/write"], [], True),
        (["microsoft.authorization/roleassignments/WRITE"], [], True),
        (["Microsoft.Authorization/roleDefinitions/write"], [], True),
        (["*"], ["Microsoft.Authorization/*/Write", "Microsoft.Authorization/*/Delete"], False),
        (["Microsoft.Authorization/*"], ["Microsoft.Authorization/role*/write"], False),
        (["*/read", "Microsoft.Authorization/*/read"], [], False),
        (["Microsoft.Authorization/roleAssignments/delete"], [], False),
        (["Microsoft.Compute/*"], [], False),
    ],
)
def test_a_role_manages_access_when_it_can_write_role_assignments_or_definitions(
    actions: list[str], not_actions: list[str], grants: bool
) -> None:
    permissions = [{"actions": actions, "notActions": not_actions}]
    assert bool(manages_access(permissions, at="p")) is grants


def test_an_unreadable_not_actions_list_is_an_error_not_nothing_removed() -> None:
    with pytest.raises(ShapeError):
        manages_access([{"actions": ["*"], "notActions": "Microsoft.Authorization/*"}], at="p")


def test_rbac_administrator_held_by_a_guest_fails() -> None:
    body = _rbac_body(
        [_assignment("ra1", RBAC_ADMIN, "g-1")],
        [{"id": "g-1", "userType": "Guest", "accountEnabled": True}],
    )
    (finding,) = run_check(builtin_check("idn_guest_privileged"), body)
    assert finding.status is Status.FAIL
    assert "Role Based Access Control Administrator" in finding.message


def test_custom_role_that_manages_access_held_by_a_disabled_user_fails() -> None:
    role = _custom_role("access-helpers", ["Microsoft.Authorization/*"])
    body = _rbac_body(
        [_assignment("ra1", "access-helpers", "u-1")],
        [{"id": "u-1", "userType": "Member", "accountEnabled": False}],
        definitions=[role],
    )
    (finding,) = run_check(builtin_check("idn_disabled_privileged"), body)
    assert finding.status is Status.FAIL
    assert "Contoso access-helpers" in finding.message


def test_contributor_like_custom_role_is_not_an_access_administrator() -> None:
    role = _custom_role("builder", ["*"], ["Microsoft.Authorization/*/Write"])
    body = _rbac_body([_assignment("ra1", "builder", "u-1")], definitions=[role])
    (finding,) = run_check(builtin_check("idn_uaa_restricted"), body)
    assert finding.status is Status.PASS


@pytest.mark.parametrize(
    ("role", "definitions"),
    [
        (RBAC_ADMIN, []),
        ("delegates", [_custom_role("delegates", ["Microsoft.Authorization/roleAssignments/*"])]),
    ],
)
def test_access_administrators_are_standing_access_assignments(
    role: str, definitions: list[dict[str, Any]]
) -> None:
    body = _rbac_body([_assignment("ra1", role, "u-1")], definitions=definitions)
    (finding,) = run_check(builtin_check("idn_uaa_restricted"), body)
    assert finding.status is Status.FAIL


def test_privileged_user_checks_count_custom_access_roles() -> None:
    role = _custom_role("delegates", ["Microsoft.Authorization/roleAssignments/write"])
    body = _tenant_body(
        [],
        [_assignment("ra1", "delegates", "u-1")],
        registrations=[{"id": "u-1", "isMfaRegistered": False}],
        definitions=[role],
    )
    (finding,) = run_check(builtin_check("idn_mfa_privileged"), body)
    assert finding.status is Status.FAIL
    assert "Contoso delegates" in finding.message


def test_missing_role_definitions_still_fail_built_in_holders_and_error_the_rest() -> None:
    body = _tenant_body(
        [],
        [_assignment("ra1", RBAC_ADMIN, "u-1")],
        registrations=[{"id": "u-1", "isMfaRegistered": False}],
    )
    del body["scopes"][SUB][DEFINITIONS]
    findings = run_check(builtin_check("idn_mfa_privileged"), body)
    assert sorted(f.status.value for f in findings) == ["ERROR", "FAIL"]
    rbac = _rbac_body([])
    del rbac["details"][DEFINITIONS]
    (finding,) = run_check(builtin_check("idn_uaa_restricted"), rbac)
    assert finding.status is Status.ERROR  # no "no access administrator" PASS on half the roles


def test_custom_role_that_manages_access_is_owner_like() -> None:
    body = {
        "details": {
            DEFINITIONS: {
                "value": [
                    _custom_role("delegates", ["Microsoft.Authorization/roleAssignments/write"]),
                    _custom_role("auditors", ["Microsoft.Authorization/*/read"]),
                ]
            }
        }
    }
    (finding,) = run_check(builtin_check("idn_custom_owner_role"), body)
    assert finding.status is Status.FAIL
    assert "Contoso delegates" in finding.message and "roleAssignments/write" in finding.message


def test_one_shared_privileged_role_set_serves_every_check() -> None:
    checks = [c for c in CATALOGUE.checks if c.id.startswith("idn_")]
    named = {
        c.id: c.rule.params.get("roles", c.rule.params.get("azure_roles"))
        for c in checks
        if c.id
        in {
            "idn_mfa_privileged",
            "idn_stale_privileged",
            "idn_guest_privileged",
            "idn_disabled_privileged",
        }
    }
    assert set(named.values()) == {"privileged"}
    assert RBAC_ADMIN in PRIVILEGED_ROLES and RBAC_ADMIN in ACCESS_ADMINISTRATOR_ROLES
