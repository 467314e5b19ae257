"""Minimum TLS at the edge: Front Door custom domains and Application Gateway SSL policies."""

from __future__ import annotations

from typing import Any

import pytest

from azaudit.models import Status
from tests.evaluator_support import builtin_check, run_check, statuses

CHECK = builtin_check("eit_edge_tls12")
GATEWAY = "Microsoft.Network/applicationGateways"


def _gateway(**props: Any) -> dict[str, Any]:
    return {"resource": {"type": GATEWAY, "properties": props}}


def _front_door(*versions: str, sku: str = "Premium_AzureFrontDoor") -> dict[str, Any]:
    domains = [
        {
            "name": f"d{i}",
            "properties": {
                "hostName": f"d{i}.example.org",
                "tlsSettings": {"certificateType": "ManagedCertificate", "minimumTlsVersion": v},
            },
        }
        for i, v in enumerate(versions)
    ]
    return {
        "resource": {"type": "Microsoft.Cdn/profiles", "sku": {"name": sku}},
        "details": {"customDomains": {"value": domains}},
    }


@pytest.mark.parametrize(
    ("policy", "status"),
    [
        ("AppGwSslPolicy20150501", Status.FAIL),
        ("AppGwSslPolicy20170401", Status.FAIL),
        ("AppGwSslPolicy20170401S", Status.PASS),
        ("AppGwSslPolicy20220101", Status.PASS),
        ("appgwsslpolicy20220101s", Status.PASS),
    ],
)
def test_predefined_policies_map_to_their_documented_minimum(policy: str, status: Status) -> None:
    body = _gateway(sslPolicy={"policyType": "Predefined", "policyName": policy})
    (finding,) = run_check(CHECK, body)
    assert finding.status is status


def test_policy_name_without_type_is_read_as_predefined() -> None:
    (finding,) = run_check(CHECK, _gateway(sslPolicy={"policyName": "AppGwSslPolicy20150501"}))
    assert finding.status is Status.FAIL


def test_each_weak_ssl_profile_is_its_own_finding() -> None:
    weak = {"policyType": "Custom", "minProtocolVersion": "TLSv1_0"}
    body = _gateway(
        sslPolicy={"policyType": "CustomV2", "minProtocolVersion": "TLSv1_3"},
        sslProfiles=[
            {"name": "a", "properties": {"sslPolicy": weak}},
            {"name": "b", "properties": {"sslPolicy": weak}},
            {"name": "inherits", "properties": {}},
        ],
    )
    findings = run_check(CHECK, body)
    assert statuses(findings) == [Status.FAIL, Status.FAIL]
    assert [f.sub_item for f in findings] == ["sslProfiles/a", "sslProfiles/b"]


def test_disabling_only_tls_1_0_leaves_tls_1_1() -> None:
    (finding,) = run_check(CHECK, _gateway(sslPolicy={"disabledSslProtocols": ["TLSv1_0"]}))
    assert finding.status is Status.FAIL


def test_gateway_without_policy_is_an_error_not_a_pass() -> None:
    (finding,) = run_check(CHECK, _gateway(sku={"name": "WAF_v2"}))
    assert finding.status is Status.ERROR


def test_unknown_policy_type_is_an_error() -> None:
    (finding,) = run_check(CHECK, _gateway(sslPolicy={"policyType": "Legacy"}))
    assert finding.status is Status.ERROR


def test_one_weak_front_door_domain_fails_by_host_name() -> None:
    findings = run_check(CHECK, _front_door("TLS12", "TLS10", "TLS13"))
    assert statuses(findings) == [Status.FAIL]
    assert findings[0].sub_item == "d1.example.org"


def test_unknown_front_door_tls_value_is_an_error() -> None:
    (finding,) = run_check(CHECK, _front_door("TLS11"))
    assert finding.status is Status.ERROR


def test_front_door_without_custom_domains_is_not_applicable() -> None:
    (finding,) = run_check(CHECK, _front_door())
    assert finding.status is Status.NOT_APPLICABLE


def test_classic_cdn_profile_needs_no_custom_domain_document() -> None:
    body = {"resource": {"type": "Microsoft.Cdn/profiles", "sku": {"name": "Standard_Verizon"}}}
    (finding,) = run_check(CHECK, body)
    assert finding.status is Status.NOT_APPLICABLE
