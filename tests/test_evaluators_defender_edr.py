"""Per-machine EDR health (mdc_vm_edr_health): Defender for Cloud's agentless EDR assessments."""

from __future__ import annotations

from typing import Any

from azaudit.casebook import CASE_SUBSCRIPTION
from azaudit.models import Finding, Status
from azaudit.snapshot import subscription_scope
from tests.evaluator_support import builtin_check, run_check

SUB = subscription_scope(CASE_SUBSCRIPTION)
ASSESSMENTS = "providers/Microsoft.Security/assessments"
RG = f"{SUB}/resourceGroups/rg-case/providers"
VM1 = f"{RG}/Microsoft.Compute/virtualMachines/vm1"
VM2 = f"{RG}/Microsoft.Compute/virtualMachines/vm2"
INSTALLED = "06e3a6db-6c0c-4ad9-943f-31d9d73ecf6c"
CONFIGURATION = "dc5357d0-3858-4d17-a1a3-072840bff5be"
RETIRED_INSTALLED = "4fb67663-9ab9-475d-b026-8c544cced439"
RETIRED_HEALTH = "37a3689a-818e-4a0e-82ac-b1392b9bb000"


def _assessment(resource: str, key: str, code: str) -> dict[str, Any]:
    """One item of Microsoft's Assessments_List example (2021-06-01)."""
    return {
        "id": f"{resource}/providers/Microsoft.Security/assessments/{key}",
        "name": key,
        "type": "Microsoft.Security/assessments",
        "properties": {
            "resourceDetails": {"source": "Azure", "id": resource},
            "displayName": key,
            "status": {"code": code},
        },
    }


def _vm_row(vm_id: str) -> dict[str, Any]:
    return {
        "id": vm_id,
        "name": vm_id.rsplit("/", 1)[-1],
        "type": "microsoft.compute/virtualmachines",
        "location": "eastus",
        "properties": {},
    }


def _machines(*items: dict[str, Any]) -> dict[str, Finding]:
    body = {
        "resources": [_vm_row(VM1), _vm_row(VM2)],
        "details": {ASSESSMENTS: {"value": list(items)}},
    }
    findings = run_check(builtin_check("mdc_vm_edr_health"), body)
    return {f.resource_id: f for f in findings}


def test_each_vm_is_judged_on_both_edr_assessments() -> None:
    found = _machines(
        _assessment(VM1, INSTALLED, "Healthy"),
        _assessment(VM1, CONFIGURATION, "Healthy"),
        _assessment(VM2, INSTALLED, "Healthy"),
    )
    assert found[VM1].status is Status.PASS
    assert found[VM2].status is Status.FAIL
    assert "EDR configuration issues resolved: not assessed healthy (no assessment)" in (
        found[VM2].message
    )
    assert "EDR solution installed" not in found[VM2].message


def test_third_party_edr_is_never_a_pass_and_the_finding_says_to_waive_it() -> None:
    found = _machines(
        _assessment(VM1, INSTALLED, "Healthy"),
        _assessment(VM1, CONFIGURATION, "NotApplicable"),
    )
    finding = found[VM1]
    assert finding.status is Status.FAIL
    assert "not assessed healthy (notapplicable)" in finding.message
    assert "third-party EDR" in finding.message
    assert "waiver" in finding.message


def test_unhealthy_configuration_fails_without_the_third_party_hint() -> None:
    found = _machines(
        _assessment(VM1, INSTALLED, "Healthy"),
        _assessment(VM1, CONFIGURATION, "Unhealthy"),
    )
    assert found[VM1].status is Status.FAIL
    assert "EDR configuration issues resolved: unhealthy" in found[VM1].message
    assert "waiver" not in found[VM1].message


def test_missing_edr_fails() -> None:
    found = _machines(
        _assessment(VM1, INSTALLED, "Unhealthy"),
        _assessment(VM1, CONFIGURATION, "NotApplicable"),
    )
    assert found[VM1].status is Status.FAIL
    assert "EDR solution installed: unhealthy" in found[VM1].message


def test_retired_agent_based_recommendations_are_no_evidence_either_way() -> None:
    found = _machines(
        _assessment(VM1, RETIRED_INSTALLED, "Healthy"),
        _assessment(VM1, RETIRED_HEALTH, "Healthy"),
        _assessment(VM2, INSTALLED, "Healthy"),
        _assessment(VM2, CONFIGURATION, "Healthy"),
        _assessment(VM2, RETIRED_HEALTH, "Unhealthy"),
    )
    assert found[VM1].status is Status.FAIL
    assert found[VM2].status is Status.PASS


def test_odd_status_is_an_error_for_that_vm_only() -> None:
    found = _machines(
        _assessment(VM1, INSTALLED, "Healthy"),
        _assessment(VM1, CONFIGURATION, "Healthy"),
        _assessment(VM2, INSTALLED, "Healthy"),
        _assessment(VM2, CONFIGURATION, "Pending"),
    )
    assert found[VM1].status is Status.PASS
    assert found[VM2].status is Status.ERROR
