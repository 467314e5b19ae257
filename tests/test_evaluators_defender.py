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
                    {"name": "virtualmachines", "properties": {"pricingTier": "standard"}},
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


def test_pricing_without_properties_is_an_error() -> None:
    body = {"details": {PRICINGS: {"value": [{"name": "VirtualMachines"}]}}}
    (finding,) = run_check(builtin_check("mdc_plans_enabled"), body)
    assert finding.status is Status.ERROR


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
