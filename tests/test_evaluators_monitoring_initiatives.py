"""The "Allowed locations" policy assigned through an initiative: the parameter mapping decides."""

from __future__ import annotations

from typing import Any

from azaudit.casebook import CASE_SUBSCRIPTION
from azaudit.models import Status
from azaudit.snapshot import subscription_scope
from tests.evaluator_support import builtin_check, run_check

CHECK = builtin_check("residency_allowed_locations_assigned")
SUB = subscription_scope(CASE_SUBSCRIPTION)
ASSIGNMENTS = "providers/Microsoft.Authorization/policyAssignments"
SET_DEFINITIONS = "providers/Microsoft.Authorization/policySetDefinitions"
MG = "/providers/Microsoft.Management/managementGroups/prod"
INITIATIVE = f"{MG}/providers/Microsoft.Authorization/policySetDefinitions/residency"
ALLOWED = (
    "/providers/Microsoft.Authorization/policyDefinitions/e56962a6-4747-49cd-b67b-bf8b01975c4c"
)
RG_ONLY = (
    "/providers/Microsoft.Authorization/policyDefinitions/e765b5de-1225-4ba3-bd56-1ac6695af988"
)
REFERENCE = "[parameters('regions')]"


def _body(
    assignment_params: dict[str, Any],
    member_value: Any = REFERENCE,
    *,
    member: str = ALLOWED,
    initiative_params: dict[str, Any] | None = None,
    initiative_id: str = INITIATIVE,
    **assignment_props: Any,
) -> dict[str, Any]:
    return {
        "details": {
            ASSIGNMENTS: {
                "value": [
                    {
                        "id": f"{MG}/providers/Microsoft.Authorization/policyAssignments/res",
                        "name": "res",
                        "properties": {
                            "displayName": "Residency",
                            "policyDefinitionId": INITIATIVE,
                            "scope": MG,
                            "parameters": assignment_params,
                            **assignment_props,
                        },
                    }
                ]
            },
            SET_DEFINITIONS: {
                "value": [
                    {
                        "id": initiative_id,
                        "name": "residency",
                        "properties": {
                            "policyType": "Custom",
                            "parameters": initiative_params or {"regions": {"type": "Array"}},
                            "policyDefinitions": [
                                {
                                    "policyDefinitionId": member,
                                    "parameters": {
                                        "listOfAllowedLocations": {"value": member_value}
                                    },
                                }
                            ],
                        },
                    }
                ]
            },
        }
    }


def test_us_regions_passed_through_the_initiative_parameter_pass() -> None:
    (finding,) = run_check(CHECK, _body({"regions": {"value": ["eastus", "westus2"]}}))
    assert finding.status is Status.PASS
    assert finding.observed == {
        "assignment": "Residency",
        "initiative": INITIATIVE,
        "locations": ["eastus", "westus2"],
    }


def test_non_us_region_passed_through_the_initiative_fails() -> None:
    (finding,) = run_check(CHECK, _body({"regions": {"value": ["eastus", "uksouth"]}}))
    assert finding.status is Status.FAIL
    assert "uksouth" in finding.message


def test_initiative_default_is_used_when_the_assignment_passes_nothing() -> None:
    params = {"regions": {"type": "Array", "defaultValue": ["centralus"]}}
    (finding,) = run_check(CHECK, _body({}, initiative_params=params))
    assert finding.status is Status.PASS
    bad = {"regions": {"type": "Array", "defaultValue": ["francecentral"]}}
    (finding,) = run_check(CHECK, _body({}, initiative_params=bad))
    assert finding.status is Status.FAIL


def test_unresolvable_mapping_is_an_error_never_a_pass() -> None:
    expression = "[concat(parameters('a'), parameters('b'))]"
    (finding,) = run_check(CHECK, _body({}, expression))
    assert finding.status is Status.ERROR
    assert "expression" in finding.message
    (finding,) = run_check(CHECK, _body({}))
    assert finding.status is Status.ERROR
    assert "neither a value nor a default" in finding.message


def test_initiative_missing_from_the_readable_definitions_is_an_error() -> None:
    body = _body({"regions": {"value": ["eastus"]}}, initiative_id=f"{INITIATIVE}-other")
    (finding,) = run_check(CHECK, body)
    assert finding.status is Status.ERROR
    assert "not readable" in finding.message


def test_resource_group_variant_in_an_initiative_does_not_count() -> None:
    body = _body({"regions": {"value": ["eastus"]}}, member=RG_ONLY)
    (finding,) = run_check(CHECK, body)
    assert finding.status is Status.FAIL


def test_initiative_not_enforced_or_with_overrides_does_not_count() -> None:
    regions = {"regions": {"value": ["eastus"]}}
    (finding,) = run_check(CHECK, _body(regions, enforcementMode="DoNotEnforce"))
    assert finding.status is Status.FAIL
    overrides = [{"kind": "policyEffect", "value": "Audit"}]
    (finding,) = run_check(CHECK, _body(regions, overrides=overrides))
    assert finding.status is Status.FAIL


def test_parameter_value_of_the_wrong_type_is_an_error() -> None:
    (finding,) = run_check(CHECK, _body({"regions": {"value": "eastus"}}))
    assert finding.status is Status.ERROR


def test_direct_assignment_does_not_need_the_initiatives() -> None:
    body = _body({"regions": {"value": ["eastus"]}})
    direct = {
        "id": f"{SUB}/providers/Microsoft.Authorization/policyAssignments/loc",
        "name": "loc",
        "properties": {
            "policyDefinitionId": ALLOWED,
            "scope": SUB,
            "parameters": {"listOfAllowedLocations": {"value": ["eastus2"]}},
        },
    }
    body["details"][ASSIGNMENTS]["value"].insert(0, direct)
    del body["details"][SET_DEFINITIONS]
    (finding,) = run_check(CHECK, body)
    assert finding.status is Status.PASS
