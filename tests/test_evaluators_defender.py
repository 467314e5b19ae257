"""Defender for Cloud evaluators through the engine: plans (pricings) and security contacts."""

from __future__ import annotations

from typing import Any

import pytest

from azaudit.casebook import CASE_SUBSCRIPTION
from azaudit.models import Status
from azaudit.snapshot import subscription_scope
from tests.evaluator_support import builtin_check, run_check, statuses

SUB = subscription_scope(CASE_SUBSCRIPTION)
PRICINGS = "providers/Microsoft.Security/pricings"
CONTACTS = "providers/Microsoft.Security/securityContacts"


# -- plans ---------------------------------------------------------------------------------------


def test_plan_names_and_tiers_compare_case_insensitively_and_each_plan_is_a_finding() -> None:
    body = {
        "details": {
            PRICINGS: {
                "value": [
                    {
                        "name": "virtualmachines",
                        "properties": {"pricingTier": "standard", "subPlan": "p2"},
                    },
                    {"name": "KeyVaults", "properties": {"pricingTier": "Free"}},
                ]
            }
        }
    }
    findings = run_check(
        builtin_check("mdc_plans_enabled"),
        body,
        plans={"VirtualMachines": "Servers", "KeyVaults": "Key Vault"},
    )
    assert statuses(findings) == [Status.PASS, Status.FAIL]
    assert findings[1].resource_id == f"{SUB}/providers/Microsoft.Security/pricings/KeyVaults"


def test_pricing_without_properties_is_an_error_for_that_plan_only() -> None:
    body = {"details": {PRICINGS: {"value": [{"name": "VirtualMachines"}]}}}
    findings = run_check(builtin_check("mdc_plans_enabled"), body)
    servers = _by_plan(findings)["VirtualMachines"]
    assert servers.status is Status.ERROR
    assert servers.property_path == "pricings[name=VirtualMachines].properties"
    assert {f.status for f in findings if f is not servers} == {Status.FAIL}


def _pricing(name: str, tier: str = "Standard", **props: Any) -> dict[str, Any]:
    """One item of Microsoft's Pricings_List example (2024-01-01)."""
    return {
        "id": f"{SUB}/providers/Microsoft.Security/pricings/{name}",
        "name": name,
        "type": "Microsoft.Security/pricings",
        "properties": {
            "pricingTier": tier,
            "freeTrialRemainingTime": "PT0S",
            "enforce": "False",
            "resourcesCoverageStatus": "FullyCovered" if tier == "Standard" else "NotCovered",
            **props,
        },
    }


def _by_plan(findings: list[Any]) -> dict[str, Any]:
    return {f.resource_id.rsplit("/", 1)[-1]: f for f in findings}


def _plans(*items: dict[str, Any], **params: Any) -> dict[str, Any]:
    return _by_plan(run_check(builtin_check("mdc_plans_enabled"), _body(*items), **params))


def _body(*items: dict[str, Any]) -> dict[str, Any]:
    return {"details": {PRICINGS: {"value": list(items)}}}


MALWARE_ON = {"name": "OnUploadMalwareScanning", "isEnabled": "True"}


def test_classic_storage_plan_is_not_defender_for_storage() -> None:
    found = _plans(_pricing("StorageAccounts", subPlan="PerTransaction"))
    assert found["StorageAccounts"].status is Status.FAIL
    assert "sub-plan PerTransaction" in found["StorageAccounts"].message
    current = _plans(_pricing("StorageAccounts", subPlan="DefenderForStorageV2"))
    assert current["StorageAccounts"].status is Status.PASS


def test_plan_switched_off_on_some_resources_fails() -> None:
    partial = _pricing("VirtualMachines", subPlan="P2", resourcesCoverageStatus="PartiallyCovered")
    found = _plans(partial)
    assert found["VirtualMachines"].status is Status.FAIL
    assert "PartiallyCovered" in found["VirtualMachines"].message


def test_unknown_coverage_state_is_an_error() -> None:
    odd = _pricing("VirtualMachines", subPlan="P2", resourcesCoverageStatus="Mostly")
    assert _plans(odd)["VirtualMachines"].status is Status.ERROR


@pytest.mark.parametrize(
    ("sub_plans", "sub_plan", "status"),
    [
        (None, "P1", Status.PASS),
        (None, "P2", Status.PASS),
        ({"VirtualMachines": ["P2"]}, "P1", Status.FAIL),
        ({"VirtualMachines": ["P2"]}, "p2", Status.PASS),
    ],
)
def test_servers_sub_plan_is_a_parameter(
    sub_plans: dict[str, list[str]] | None, sub_plan: str, status: Status
) -> None:
    params = {} if sub_plans is None else {"sub_plans": sub_plans}
    found = _plans(_pricing("VirtualMachines", subPlan=sub_plan), **params)
    assert found["VirtualMachines"].status is status


def test_servers_on_standard_without_a_sub_plan_is_an_error() -> None:
    assert _plans(_pricing("VirtualMachines"))["VirtualMachines"].status is Status.ERROR


def test_a_plan_that_is_off_needs_no_sub_plan() -> None:
    found = _plans(_pricing("VirtualMachines", "Free"))
    assert found["VirtualMachines"].status is Status.FAIL
    assert found["VirtualMachines"].message.endswith("is on the Free tier, not Standard")


def test_unknown_tier_is_an_error() -> None:
    assert _plans(_pricing("KeyVaults", "Premium"))["KeyVaults"].status is Status.ERROR


def test_deprecated_plan_is_not_required_and_its_replacement_is_judged() -> None:
    kubernetes = _pricing("KubernetesService", "Free", deprecated=True, replacedBy=["Containers"])
    registry = _pricing("ContainerRegistry", "Free", deprecated=True, replacedBy=["Containers"])
    plans = {"KubernetesService": "Defender for Kubernetes", "ContainerRegistry": "Registries"}
    found = _plans(kubernetes, registry, _pricing("Containers", "Free"), plans=plans)
    assert found["KubernetesService"].status is Status.NOT_APPLICABLE
    assert found["ContainerRegistry"].status is Status.NOT_APPLICABLE
    assert "judged as Containers" in found["KubernetesService"].message
    assert found["Containers"].status is Status.FAIL
    assert len(found) == 3


def test_malware_scanning_needs_the_enabled_extension() -> None:
    check = builtin_check("mdc_storage_malware_scan")
    on = _pricing("StorageAccounts", subPlan="DefenderForStorageV2", extensions=[MALWARE_ON])
    off = _pricing(
        "StorageAccounts",
        subPlan="DefenderForStorageV2",
        extensions=[{"name": "OnUploadMalwareScanning", "isEnabled": "False"}],
    )
    legacy = _pricing("StorageAccounts", subPlan="PerTransaction", extensions=[MALWARE_ON])
    assert statuses(run_check(check, _body(on))) == [Status.PASS]
    assert statuses(run_check(check, _body(off))) == [Status.FAIL]
    assert statuses(run_check(check, _body(legacy))) == [Status.FAIL]


def test_extension_enabled_as_boolean_is_an_error() -> None:
    odd = _pricing(
        "StorageAccounts",
        subPlan="DefenderForStorageV2",
        extensions=[{"name": "OnUploadMalwareScanning", "isEnabled": True}],
    )
    (finding,) = run_check(builtin_check("mdc_storage_malware_scan"), _body(odd))
    assert finding.status is Status.ERROR
    assert "isEnabled" in finding.property_path


def _contact(**props: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "isEnabled": True,
        "emails": "secops@contoso.com",
        "notificationsByRole": {"state": "On", "roles": ["Owner"]},
        "notificationsSources": [{"sourceType": "Alert", "minimalSeverity": "Low"}],
    }
    base.update(props)
    return {"name": "default", "properties": base}


@pytest.mark.parametrize(
    ("props", "status"),
    [
        ({}, Status.PASS),
        ({"isEnabled": False}, Status.FAIL),
        (
            {"notificationsSources": [{"sourceType": "Alert", "minimalSeverity": "Critical"}]},
            Status.FAIL,
        ),
        ({"notificationsByRole": {"state": "On", "roles": ["AccountAdmin"]}}, Status.FAIL),
        ({"emails": "   "}, Status.FAIL),
    ],
)
def test_security_contact_requirements(props: dict[str, Any], status: Status) -> None:
    (finding,) = run_check(
        builtin_check("mdc_security_contacts"),
        {"details": {CONTACTS: {"value": [_contact(**props)]}}},
    )
    assert finding.status is status


def test_one_good_contact_among_several_passes() -> None:
    contacts = [_contact(emails=""), _contact()]
    (finding,) = run_check(
        builtin_check("mdc_security_contacts"), {"details": {CONTACTS: {"value": contacts}}}
    )
    assert finding.status is Status.PASS


def test_unknown_severity_threshold_is_an_error() -> None:
    body = {"details": {CONTACTS: {"value": [_contact()]}}}
    (finding,) = run_check(
        builtin_check("mdc_security_contacts"), body, min_alert_severity="Severe"
    )
    assert finding.status is Status.ERROR


# -- Defender for Endpoint integration ---------------------------------------------------------

SETTINGS = "providers/Microsoft.Security/settings"
ENDPOINT = builtin_check("mdc_endpoint_protection")


def _setting(name: str, enabled: Any) -> dict[str, Any]:
    """One item of Microsoft's Settings_List example (2022-05-01)."""
    return {
        "id": f"{SUB}/providers/Microsoft.Security/settings/{name}",
        "name": name,
        "kind": "DataExportSettings",
        "type": "Microsoft.Security/settings",
        "properties": {"enabled": enabled},
    }


def _endpoint(*settings: dict[str, Any], tier: str = "Standard") -> Any:
    body = {
        "details": {
            SETTINGS: {"value": list(settings)},
            PRICINGS: {"value": [_pricing("VirtualMachines", tier, subPlan="P1")]},
        }
    }
    (finding,) = run_check(ENDPOINT, body)
    return finding


def test_endpoint_integration_needs_wdatp_and_the_servers_plan() -> None:
    assert _endpoint(_setting("WDATP", True)).status is Status.PASS
    assert _endpoint(_setting("WDATP", False)).status is Status.FAIL
    free = _endpoint(_setting("WDATP", True), tier="Free")
    assert free.status is Status.FAIL
    assert "Free tier" in free.message


def test_linux_exclusion_fails_and_its_absence_does_not() -> None:
    excluded = _endpoint(
        _setting("WDATP", True), _setting("WDATP_EXCLUDE_LINUX_PUBLIC_PREVIEW", True)
    )
    assert excluded.status is Status.FAIL
    assert "Linux" in excluded.message
    included = _endpoint(
        _setting("WDATP", True), _setting("WDATP_EXCLUDE_LINUX_PUBLIC_PREVIEW", False)
    )
    assert included.status is Status.PASS


def test_missing_wdatp_setting_is_no_evidence() -> None:
    finding = _endpoint(_setting("MCAS", True))
    assert finding.status is Status.FAIL
    assert "not reported" in finding.message


def test_wdatp_flag_of_wrong_type_is_an_error() -> None:
    assert _endpoint(_setting("WDATP", "True")).status is Status.ERROR


# -- assessments ----------------------------------------------------------------------------------

ASSESSMENTS = "providers/Microsoft.Security/assessments"
METADATA = "providers/Microsoft.Security/assessmentMetadata"
RG = f"{SUB}/resourceGroups/rg-case/providers"
VM1 = f"{RG}/Microsoft.Compute/virtualMachines/vm1"
VM2 = f"{RG}/Microsoft.Compute/virtualMachines/vm2"
VA = "ffff0522-1e88-47fc-8382-2a80ba848f5d"
VULN = "1195afff-c881-495e-9bc5-1486211ae03f"
UPDATES = "e1145ab1-eb4f-43d8-911b-36ddf771d13f"
OLD_UPDATES = "4ab6e3c5-74dd-8b35-9ab9-f61b30875b27"
PORTS = "bc303248-3d14-44c2-96a0-55f5c326b5fe"


def _assessment(resource: str, key: str, code: Any, name: str = "") -> dict[str, Any]:
    """One item of Microsoft's Assessments_List example (2021-06-01)."""
    return {
        "id": f"{resource}/providers/Microsoft.Security/assessments/{key}",
        "name": key,
        "type": "Microsoft.Security/assessments",
        "properties": {
            "resourceDetails": {"source": "Azure", "id": resource},
            "displayName": name or key,
            "status": {"code": code},
        },
    }


def _metadata(key: str, severity: str) -> dict[str, Any]:
    return {
        "id": f"/providers/Microsoft.Security/assessmentMetadata/{key}",
        "name": key,
        "type": "Microsoft.Security/assessmentMetadata",
        "properties": {"displayName": key, "severity": severity, "assessmentType": "BuiltIn"},
    }


SEVERITY = [_metadata(VULN, "High"), _metadata(PORTS, "High"), _metadata(VA, "Medium")]


def _high(*items: dict[str, Any], metadata: list[dict[str, Any]] | None = None) -> list[Any]:
    body = {
        "details": {
            ASSESSMENTS: {"value": list(items)},
            METADATA: {"value": SEVERITY if metadata is None else metadata},
        }
    }
    return run_check(builtin_check("mdc_high_sev_recommendations"), body)


def test_high_severity_recommendations_are_grouped_per_resource() -> None:
    findings = _high(
        _assessment(VM1, VULN, "Unhealthy", "Vulnerabilities"),
        _assessment(VM1, PORTS, "Unhealthy", "Close management ports"),
        _assessment(VM1, VA, "Unhealthy", "Vulnerability assessment"),
        _assessment(VM2, VULN, "Healthy"),
    )
    (finding,) = findings
    assert finding.status is Status.FAIL
    assert finding.resource_id == VM1
    assert finding.resource_type == "Microsoft.Compute/virtualMachines"
    assert finding.observed == ["Close management ports", "Vulnerabilities"]


def test_unknown_severity_is_an_error_for_its_resource_only() -> None:
    findings = _high(
        _assessment(VM1, "custom-key", "Unhealthy"), _assessment(VM2, VULN, "Unhealthy")
    )
    by_resource = {f.resource_id: f.status for f in findings}
    assert by_resource == {VM1: Status.ERROR, VM2: Status.FAIL}


def test_no_pass_while_one_resource_cannot_be_judged() -> None:
    findings = _high(_assessment(VM1, VULN, "Broken"), _assessment(VM2, VA, "Unhealthy"))
    assert statuses(findings) == [Status.ERROR]


def test_assessment_id_without_a_resource_is_an_error_for_the_subscription() -> None:
    odd = _assessment(VM1, VULN, "Healthy")
    odd["id"] = f"/providers/Microsoft.Security/assessments/{VULN}"
    (finding,) = _high(odd)
    assert finding.status is Status.ERROR
    assert finding.resource_id == SUB


def _vm_row(vm_id: str) -> dict[str, Any]:
    return {
        "id": vm_id,
        "name": vm_id.rsplit("/", 1)[-1],
        "type": "microsoft.compute/virtualmachines",
        "location": "eastus",
        "properties": {},
    }


def _machines(*items: dict[str, Any], check: str = "mdc_vm_vuln_and_updates") -> dict[str, Any]:
    """The findings of a per-machine assessment check on VM1 and VM2, by resource id."""
    body = {
        "resources": [_vm_row(VM1), _vm_row(VM2)],
        "details": {ASSESSMENTS: {"value": list(items)}},
    }
    findings = run_check(builtin_check(check), body)
    return {f.resource_id: f for f in findings}


def test_each_vm_is_its_own_finding_and_any_update_assessment_answers() -> None:
    found = _machines(
        _assessment(VM1, VA, "Healthy"),
        _assessment(VM1, VULN, "Healthy"),
        _assessment(VM1, OLD_UPDATES, "Healthy"),
        _assessment(VM2, VA, "Healthy"),
        _assessment(VM2, VULN, "Healthy"),
        _assessment(VM2, UPDATES, "NotApplicable"),
    )
    assert found[VM1].status is Status.PASS
    assert found[VM2].status is Status.FAIL
    assert "system updates installed: not assessed healthy (notapplicable)" in found[VM2].message


def test_one_unhealthy_key_of_a_group_fails_it() -> None:
    found = _machines(
        _assessment(VM1, VA, "Healthy"),
        _assessment(VM1, VULN, "Healthy"),
        _assessment(VM1, UPDATES, "Healthy"),
        _assessment(VM1, OLD_UPDATES, "Unhealthy"),
    )
    assert found[VM1].status is Status.FAIL
    assert found[VM2].status is Status.FAIL
    assert "no assessment" in found[VM2].message


def test_odd_status_is_an_error_for_that_vm_only() -> None:
    found = _machines(
        _assessment(VM1, VA, "Healthy"),
        _assessment(VM1, VULN, "Healthy"),
        _assessment(VM1, UPDATES, "Healthy"),
        _assessment(VM2, VA, "Healthy"),
        _assessment(VM2, VULN, 1),
    )
    assert found[VM1].status is Status.PASS
    assert found[VM2].status is Status.ERROR


# -- mdc_vm_edr_health: Defender for Cloud's agentless EDR assessments ----------------------------

INSTALLED = "06e3a6db-6c0c-4ad9-943f-31d9d73ecf6c"
CONFIGURATION = "dc5357d0-3858-4d17-a1a3-072840bff5be"
RETIRED_INSTALLED = "4fb67663-9ab9-475d-b026-8c544cced439"
RETIRED_HEALTH = "37a3689a-818e-4a0e-82ac-b1392b9bb000"


def _edr(*items: dict[str, Any]) -> dict[str, Any]:
    return _machines(*items, check="mdc_vm_edr_health")


def test_each_vm_is_judged_on_both_edr_assessments() -> None:
    found = _edr(
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
    found = _edr(
        _assessment(VM1, INSTALLED, "Healthy"),
        _assessment(VM1, CONFIGURATION, "NotApplicable"),
    )
    finding = found[VM1]
    assert finding.status is Status.FAIL
    assert "not assessed healthy (notapplicable)" in finding.message
    assert "third-party EDR" in finding.message
    assert "waiver" in finding.message


def test_unhealthy_configuration_fails_without_the_third_party_hint() -> None:
    found = _edr(
        _assessment(VM1, INSTALLED, "Healthy"),
        _assessment(VM1, CONFIGURATION, "Unhealthy"),
    )
    assert found[VM1].status is Status.FAIL
    assert "EDR configuration issues resolved: unhealthy" in found[VM1].message
    assert "waiver" not in found[VM1].message


def test_missing_edr_fails() -> None:
    found = _edr(
        _assessment(VM1, INSTALLED, "Unhealthy"),
        _assessment(VM1, CONFIGURATION, "NotApplicable"),
    )
    assert found[VM1].status is Status.FAIL
    assert "EDR solution installed: unhealthy" in found[VM1].message


def test_retired_agent_based_recommendations_are_no_evidence_either_way() -> None:
    found = _edr(
        _assessment(VM1, RETIRED_INSTALLED, "Healthy"),
        _assessment(VM1, RETIRED_HEALTH, "Healthy"),
        _assessment(VM2, INSTALLED, "Healthy"),
        _assessment(VM2, CONFIGURATION, "Healthy"),
        _assessment(VM2, RETIRED_HEALTH, "Unhealthy"),
    )
    assert found[VM1].status is Status.FAIL
    assert found[VM2].status is Status.PASS


def test_odd_edr_status_is_an_error_for_that_vm_only() -> None:
    found = _edr(
        _assessment(VM1, INSTALLED, "Healthy"),
        _assessment(VM1, CONFIGURATION, "Healthy"),
        _assessment(VM2, INSTALLED, "Healthy"),
        _assessment(VM2, CONFIGURATION, "Pending"),
    )
    assert found[VM1].status is Status.PASS
    assert found[VM2].status is Status.ERROR
