"""Evidence of an odd shape is ERROR naming the path, never a PASS.

Each case below is data Azure could return with HTTP 200 (a field missing, null or of another
type) that a verdict depends on. Read with defaults, every one of them used to PASS.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest

from azaudit.models import Finding, Status
from tests.evaluator_support import builtin_check, run_check

SUB = "/subscriptions/00000000-0000-0000-0000-0000000000c1"
ASSIGNMENTS = "providers/Microsoft.Authorization/roleAssignments"
DEFINITIONS = "providers/Microsoft.Authorization/roleDefinitions"
POLICY_ASSIGNMENTS = "providers/Microsoft.Authorization/policyAssignments"
OWNER = "8e3af657-a8ff-443c-a75c-2fe8c4bcb635"
UAA = "18d7d88d-d35e-4fb5-a5c3-7773c20a72d9"
GLOBAL_ADMIN = "62e90394-69f5-4237-9190-012177145e10"


def _error_naming(findings: list[Finding], path_part: str) -> None:
    """Exactly the verdict is ERROR, and its evidence names where the odd shape is."""
    assert findings, "no finding at all"
    assert Status.PASS not in {f.status for f in findings}, [f.message for f in findings]
    errors = [f for f in findings if f.status is Status.ERROR]
    assert errors, [f.message for f in findings]
    assert any(path_part in f.property_path and path_part in f.message for f in errors), [
        (f.property_path, f.message) for f in errors
    ]


def _assignment(n: int, role: str, principal_type: Any = "User", **props: Any) -> dict[str, Any]:
    body = {
        "roleDefinitionId": f"{SUB}/providers/Microsoft.Authorization/roleDefinitions/{role}",
        "principalId": f"u-{n}",
        "principalType": principal_type,
        "scope": SUB,
    }
    body.update(props)
    return {
        "id": f"{SUB}/providers/Microsoft.Authorization/roleAssignments/ra-{n}",
        "properties": {k: v for k, v in body.items() if v is not _ABSENT},
    }


_ABSENT = object()


def _users(*ids: str, **fields: Any) -> dict[str, Any]:
    base = {"userType": "Member", "accountEnabled": True}
    base.update(fields)
    return {"value": [{"id": i, "userPrincipalName": f"{i}@contoso.com", **base} for i in ids]}


# -- Entra ID -----------------------------------------------------------------------------------


def test_global_admin_member_without_odata_type_is_counted_or_error() -> None:
    members = [{"@odata.type": "#microsoft.graph.user", "id": f"u-{i}"} for i in range(4)]
    members.append({"id": "u-5", "userPrincipalName": "fifth@contoso.com"})
    role = {"displayName": "Global Administrator", "roleTemplateId": GLOBAL_ADMIN}
    body = {"graph": {"graph:directoryRoles": {"value": [{**role, "members": members}]}}}
    _error_naming(run_check(builtin_check("idn_global_admin_count"), body), "@odata.type")


def test_sign_in_after_the_collection_is_not_a_recent_sign_in() -> None:
    member = {"@odata.type": "#microsoft.graph.user", "id": "u-1"}
    role = {"displayName": "Global Administrator", "roleTemplateId": GLOBAL_ADMIN}
    activity = {
        "lastSignInDateTime": "2024-01-01T00:00:00Z",
        "lastNonInteractiveSignInDateTime": "2031-06-01T00:00:00Z",  # after collected_at
    }
    user = {"id": "u-1", "userPrincipalName": "a@contoso.com", "signInActivity": activity}
    body = {
        "graph": {
            "graph:directoryRoles": {"value": [{**role, "members": [member]}]},
            "graph:users": {"value": [user]},
        },
        "scopes": {SUB: {ASSIGNMENTS: {"value": []}}},
    }
    _error_naming(
        run_check(builtin_check("idn_stale_privileged"), body), "lastNonInteractiveSignInDateTime"
    )


def test_user_type_that_is_neither_member_nor_guest_is_an_error() -> None:
    body = {
        "details": {ASSIGNMENTS: {"value": [_assignment(1, OWNER)]}},
        "graph": {"graph:users": _users("u-1", userType=7)},
    }
    _error_naming(run_check(builtin_check("idn_guest_privileged"), body), "userType")


# -- Azure RBAC ---------------------------------------------------------------------------------


@pytest.mark.parametrize("principal_type", [_ABSENT, None, ""])
def test_owner_without_principal_type_is_not_dropped_from_the_count(principal_type: Any) -> None:
    # Four Owners (more than the maximum of three) if the fourth one is counted.
    assignments = [_assignment(i, OWNER) for i in range(3)]
    assignments.append(_assignment(3, OWNER, principal_type=principal_type))
    body = {"details": {ASSIGNMENTS: {"value": assignments}}}
    _error_naming(run_check(builtin_check("idn_owner_count"), body), "principalType")


@pytest.mark.parametrize("field", ["roleDefinitionId", "scope", "principalId"])
def test_uaa_assignment_with_null_field_is_not_dropped(field: str) -> None:
    assignment = _assignment(1, UAA)
    assignment["properties"][field] = None
    body = {"details": {ASSIGNMENTS: {"value": [assignment]}}}
    _error_naming(run_check(builtin_check("idn_uaa_restricted"), body), field)


def test_disabled_privileged_holder_without_principal_type_is_an_error() -> None:
    body = {
        "details": {ASSIGNMENTS: {"value": [_assignment(1, OWNER, principal_type=_ABSENT)]}},
        "graph": {"graph:users": _users("u-1", accountEnabled=False)},
    }
    _error_naming(run_check(builtin_check("idn_disabled_privileged"), body), "principalType")


def _custom_role(**props: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "roleName": "Everything",
        "type": "CustomRole",
        "permissions": [{"actions": ["*"], "notActions": []}],
        "assignableScopes": [SUB],
    }
    body.update(props)
    return {
        "id": f"{SUB}/providers/Microsoft.Authorization/roleDefinitions/custom-1",
        "properties": {k: v for k, v in body.items() if v is not _ABSENT},
    }


@pytest.mark.parametrize(
    ("role", "path"),
    [
        (_custom_role(permissions=_ABSENT), "permissions"),
        (_custom_role(permissions=[{"notActions": []}]), "actions"),
        (_custom_role(permissions=[{"actions": "*"}]), "actions"),
        (_custom_role(assignableScopes=_ABSENT), "assignableScopes"),
        (_custom_role(assignableScopes=None), "assignableScopes"),
        (_custom_role(type=_ABSENT), "type"),
    ],
)
def test_custom_role_of_odd_shape_is_an_error(role: dict[str, Any], path: str) -> None:
    body = {"details": {DEFINITIONS: {"value": [role]}}}
    _error_naming(run_check(builtin_check("idn_custom_owner_role"), body), path)


def test_the_well_formed_custom_role_fails() -> None:
    body = {"details": {DEFINITIONS: {"value": [_custom_role()]}}}
    findings = run_check(builtin_check("idn_custom_owner_role"), body)
    assert [f.status for f in findings] == [Status.FAIL]


# -- network -----------------------------------------------------------------------------------


def _nsg(**rule_props: Any) -> dict[str, Any]:
    props: dict[str, Any] = {
        "priority": 100,
        "access": "Allow",
        "direction": "Inbound",
        "protocol": "Tcp",
        "sourceAddressPrefix": "*",
        "destinationPortRange": "22",
    }
    props.update(rule_props)
    rule = {"name": "ssh", "properties": {k: v for k, v in props.items() if v is not _ABSENT}}
    return {"resource": {"properties": {"securityRules": [rule]}}}


@pytest.mark.parametrize(
    ("rule", "path"),
    [
        ({"direction": _ABSENT}, "direction"),
        ({"access": _ABSENT}, "access"),
        ({"access": None}, "access"),
        ({"direction": "Sideways"}, "direction"),
        ({"sourceAddressPrefix": _ABSENT}, "sourceAddressPrefix"),
        ({"sourceAddressPrefix": 0}, "sourceAddressPrefix"),
        ({"protocol": _ABSENT}, "protocol"),
    ],
)
def test_nsg_rule_of_odd_shape_is_an_error(rule: dict[str, Any], path: str) -> None:
    _error_naming(run_check(builtin_check("net_nsg_mgmt_ports_open"), _nsg(**rule)), path)


def test_the_well_formed_open_ssh_rule_fails() -> None:
    findings = run_check(builtin_check("net_nsg_mgmt_ports_open"), _nsg())
    assert [f.status for f in findings] == [Status.FAIL]


# -- residency and policy -----------------------------------------------------------------------


def test_cosmos_replica_without_location_name_is_an_error() -> None:
    locations = [{"locationName": "East US"}, {"id": "acct-westeurope", "failoverPriority": 1}]
    body = {"resource": {"properties": {"locations": locations}}}
    _error_naming(run_check(builtin_check("residency_cosmos_regions_us"), body), "locationName")


def test_policy_assignment_without_scope_is_not_the_root() -> None:
    assignment: dict[str, Any] = {
        "id": f"{SUB}/providers/Microsoft.Authorization/policyAssignments/loc",
        "name": "loc",
        "properties": {
            "displayName": "Allowed locations",
            "policyDefinitionId": "/providers/Microsoft.Authorization/policyDefinitions/"
            "e56962a6-4747-49cd-b67b-bf8b01975c4c",
            "enforcementMode": "Default",
            "parameters": {"listOfAllowedLocations": {"value": ["eastus"]}},
        },
    }
    body = {"details": {POLICY_ASSIGNMENTS: {"value": [assignment]}}}
    check = builtin_check("residency_allowed_locations_assigned")
    _error_naming(run_check(check, body), "scope")
    assignment["properties"]["scope"] = SUB
    assert [f.status for f in run_check(check, body)] == [Status.PASS]


# -- App Service configuration ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("config", "path"),
    [
        ({"properties": "cors=*"}, "properties"),
        ({"properties": ["*"]}, "properties"),
        ({"properties": {"cors": "*"}}, "cors"),
        ({"properties": {"cors": ["*"]}}, "cors"),
    ],
)
def test_web_config_of_odd_shape_is_an_error(config: dict[str, Any], path: str) -> None:
    body = {"details": {"config/web": config}}
    _error_naming(run_check(builtin_check("net_app_cors_wildcard"), body), path)


@pytest.mark.parametrize("check_id", ["net_app_remote_debug_off", "eit_app_tls12", "eit_app_ftps"])
def test_web_config_properties_not_an_object_is_an_error(check_id: str) -> None:
    body = {"details": {"config/web": {"properties": "remoteDebuggingEnabled=false"}}}
    _error_naming(run_check(builtin_check(check_id), body), "properties")


# -- applies_if ---------------------------------------------------------------------------------


def test_applies_if_type_error_is_an_error_for_that_resource_only() -> None:
    check = builtin_check("residency_storage_secondary_us")  # contains(sku.name || '', 'GRS')
    body: dict[str, Any] = {
        "resource": {"sku": {"name": 7}, "properties": {"secondaryLocation": "westus"}}
    }
    (finding,) = run_check(check, body)
    assert finding.status is Status.ERROR
    assert "contains" in finding.message or "JMESPath" in finding.message
    good = copy.deepcopy(body)
    good["resource"]["sku"]["name"] = "Standard_GRS"
    assert [f.status for f in run_check(check, good)] == [Status.PASS]


def test_applies_if_reading_a_field_of_a_string_is_an_error() -> None:
    check = builtin_check("residency_storage_secondary_us")
    body = {"resource": {"sku": "Standard_GRS", "properties": {"secondaryLocation": "westus"}}}
    (finding,) = run_check(check, body)
    assert finding.status is Status.ERROR
    assert "sku.name" in finding.message
