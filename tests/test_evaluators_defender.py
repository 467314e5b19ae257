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
