"""Network evaluators through the engine: NSG port maths, SQL firewall ranges, subnets, access."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from azaudit.casebook import CASE_SUBSCRIPTION
from azaudit.catalogue import Rule
from azaudit.evaluators.network import parse_port_range
from azaudit.models import Status
from tests.evaluator_support import builtin_check, run_check

RG = f"/subscriptions/{CASE_SUBSCRIPTION}/resourceGroups/rg-case/providers"
NSG_ID = f"{RG}/Microsoft.Network/networkSecurityGroups/nsg1"
ZERO = "0.0.0.0"  # noqa: S104 - an address in a firewall rule, not a bind address


PLURALS = (
    ("sourceAddressPrefixes", "sourceAddressPrefix"),
    ("destinationAddressPrefixes", "destinationAddressPrefix"),
    ("destinationApplicationSecurityGroups", "destinationAddressPrefix"),
    ("destinationPortRanges", "destinationPortRange"),
)


def _rule(name: str, **props: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "protocol": "Tcp",
        "sourcePortRange": "*",
        "destinationAddressPrefix": "*",
        "access": "Allow",
        "direction": "Inbound",
        "priority": 100,
    }
    base.update(props)
    # ARM sends either the singular or the plural form of a field, as the rule was written.
    for plural, singular in PLURALS:
        if plural in props and singular not in props:
            base.pop(singular, None)
    return {"name": name, "id": f"{NSG_ID}/securityRules/{name}", "properties": base}


def _nsg(*rules: dict[str, Any]) -> dict[str, Any]:
    return {
        "resource": {"id": NSG_ID, "name": "nsg1", "properties": {"securityRules": list(rules)}}
    }


MGMT = builtin_check("net_nsg_mgmt_ports_open")
BROAD = builtin_check("net_nsg_broad_inbound")


# -- port ranges --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [("*", (0, 65535)), ("22", (22, 22)), ("1000-2000", (1000, 2000)), (" 3389 ", (3389, 3389))],
)
def test_port_ranges_parse(text: str, expected: tuple[int, int]) -> None:
    assert parse_port_range(text) == expected


@pytest.mark.parametrize("text", ["2000-1000", "70000", "ssh", "", "1-2-3"])
def test_unreadable_port_ranges_raise(text: str) -> None:
    with pytest.raises(ValueError):
        parse_port_range(text)


# -- NSG rules ----------------------------------------------------------------------------------


def test_port_inside_a_range_in_a_list_is_open() -> None:
    body = _nsg(_rule("mixed", destinationPortRanges=["80", "3000-4000"], sourceAddressPrefix="*"))
    (finding,) = run_check(MGMT, body)
    assert finding.status is Status.FAIL
    assert "3389" in finding.message and "22" not in finding.message.split("to port(s)")[1]


def test_range_edges_are_inclusive() -> None:
    inside = _nsg(_rule("edge", destinationPortRange="3389-3390", sourceAddressPrefix="Internet"))
    outside = _nsg(_rule("next", destinationPortRange="3390-3400", sourceAddressPrefix="Internet"))
    assert [f.status for f in run_check(MGMT, inside)] == [Status.FAIL]
    assert [f.status for f in run_check(MGMT, outside)] == [Status.PASS]


@pytest.mark.parametrize("source", ["internet", "ANY", "0.0.0.0/0", "::/0", "*"])
def test_internet_sources_match_in_any_case_and_in_lists(source: str) -> None:
    body = _nsg(
        _rule("ssh", destinationPortRange="22", sourceAddressPrefixes=["10.1.0.0/16", source])
    )
    (finding,) = run_check(MGMT, body)
    assert finding.status is Status.FAIL


@pytest.mark.parametrize("source", ["VirtualNetwork", "AzureLoadBalancer", "198.51.100.7/32"])
def test_named_sources_are_not_the_internet(source: str) -> None:
    (finding,) = run_check(
        MGMT, _nsg(_rule("ssh", destinationPortRange="22", sourceAddressPrefix=source))
    )
    assert finding.status is Status.PASS


@pytest.mark.parametrize(
    "props",
    [
        {"protocol": "Icmp"},
        {"access": "Deny"},
        {"direction": "Outbound"},
    ],
)
def test_portless_deny_and_outbound_rules_do_not_open_ports(props: dict[str, Any]) -> None:
    rule = _rule("r", destinationPortRange="*", sourceAddressPrefix="*", **props)
    (finding,) = run_check(MGMT, _nsg(rule))
    assert finding.status is Status.PASS


def test_higher_precedence_deny_closes_a_later_allow() -> None:
    deny = _rule(
        "deny-ssh",
        destinationPortRange="22",
        sourceAddressPrefix="Internet",
        access="Deny",
        priority=100,
        protocol="*",
    )
    allow = _rule("allow-ssh", destinationPortRange="22", sourceAddressPrefix="*", priority=200)
    (finding,) = run_check(MGMT, _nsg(allow, deny))
    assert finding.status is Status.PASS


def test_deny_after_the_allow_or_for_another_protocol_does_not_close_it() -> None:
    late_deny = _rule(
        "deny", destinationPortRange="22", sourceAddressPrefix="*", access="Deny", priority=300
    )
    udp_deny = _rule(
        "deny-udp",
        destinationPortRange="22",
        sourceAddressPrefix="*",
        access="Deny",
        priority=50,
        protocol="Udp",
    )
    allow = _rule("allow-ssh", destinationPortRange="22", sourceAddressPrefix="*", priority=200)
    findings = run_check(MGMT, _nsg(allow, late_deny, udp_deny))
    assert [(f.status, f.resource_id) for f in findings] == [
        (Status.FAIL, f"{NSG_ID}/securityRules/allow-ssh")
    ]


def _deny(name: str = "deny", **props: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "destinationPortRange": "22",
        "sourceAddressPrefix": "*",
        "access": "Deny",
        "priority": 100,
        "protocol": "*",
    }
    for plural, singular in PLURALS:
        if plural in props:
            base.pop(singular, None)
    base.update(props)
    return _rule(name, **base)


ALLOW_SSH = _rule("allow-ssh", destinationPortRange="22", sourceAddressPrefix="*", priority=200)


@pytest.mark.parametrize(
    "deny",
    [
        {"destinationAddressPrefix": "10.0.1.4"},
        {"destinationAddressPrefixes": ["10.0.1.0/24", "10.0.2.0/24"]},
        {"destinationAddressPrefix": "VirtualNetwork"},
        {"sourceAddressPrefix": "AzureCloud"},
        {"sourceAddressPrefix": "203.0.113.0/24"},
        {"sourceAddressPrefix": "0.0.0.0/0"},  # IPv4 only; `*` also admits IPv6
        {"sourceAddressPrefixes": ["0.0.0.0/1"]},
        {"destinationPortRange": "21-23", "protocol": "Udp"},
        {"destinationPortRanges": ["20", "23-25"]},
        {"direction": "Outbound"},
        {"priority": 200},
    ],
)
def test_a_narrower_deny_does_not_hide_the_allow(deny: dict[str, Any]) -> None:
    findings = run_check(MGMT, _nsg(ALLOW_SSH, _deny(**deny)))
    assert [(f.status, f.resource_name) for f in findings] == [(Status.FAIL, "allow-ssh")]


@pytest.mark.parametrize(
    "deny",
    [
        {},
        {"sourceAddressPrefix": "Internet"},  # the internet part of `*` is the Internet tag
        {"sourceAddressPrefix": "Any", "destinationAddressPrefix": "Any"},
        {"sourceAddressPrefixes": ["0.0.0.0/1", "128.0.0.0/1", "::/0"]},
        {"destinationPortRanges": ["1-21", "22-100"]},  # together they cover the port
        {"destinationPortRange": "*", "protocol": "*"},
    ],
)
def test_a_covering_deny_hides_the_allow(deny: dict[str, Any]) -> None:
    (finding,) = run_check(MGMT, _nsg(ALLOW_SSH, _deny(**deny)))
    assert finding.status is Status.PASS


@pytest.mark.parametrize(
    ("allow", "deny"),
    [
        ({"destinationAddressPrefix": "10.0.1.4/32"}, {"destinationAddressPrefix": "10.0.0.0/16"}),
        (
            {"destinationAddressPrefixes": ["10.0.1.0/25", "10.0.1.128/25"]},
            {"destinationAddressPrefix": "10.0.1.0/24"},
        ),
        (
            {"destinationApplicationSecurityGroups": [{"id": f"{RG}/asg/web"}]},
            {"destinationApplicationSecurityGroups": [{"id": f"{RG}/ASG/WEB"}]},
        ),
        ({"sourceAddressPrefix": "AzureCloud.WestEurope"}, {"sourceAddressPrefix": "AzureCloud"}),
        (
            {"sourceAddressPrefix": "0.0.0.0/0"},
            {"sourceAddressPrefixes": ["0.0.0.0/1", "128.0.0.0/1"]},
        ),
    ],
)
def test_deny_covers_destination_and_source_by_containment(
    allow: dict[str, Any], deny: dict[str, Any]
) -> None:
    base = {"destinationPortRange": "22", "sourceAddressPrefix": "*", "priority": 200}
    allowed = _rule("allow-ssh", **{**base, **allow})
    (finding,) = run_check(MGMT, _nsg(allowed, _deny(**deny)))
    assert finding.status is Status.PASS


def test_deny_for_another_application_security_group_does_not_hide_the_allow() -> None:
    allowed = _rule("allow-ssh", destinationPortRange="22", sourceAddressPrefix="*", priority=200)
    del allowed["properties"]["destinationAddressPrefix"]
    allowed["properties"]["destinationApplicationSecurityGroups"] = [{"id": f"{RG}/asg/web"}]
    (finding,) = run_check(MGMT, _nsg(allowed, _deny(destinationAddressPrefix="10.0.0.0/8")))
    assert finding.status is Status.FAIL


@pytest.mark.parametrize(
    "sources",
    [
        ["0.0.0.0/1", "128.0.0.0/1"],
        ["128.0.0.0/1"],
        ["AzureCloud"],
        ["azurecloud.eastus2"],
        ["8000::/1"],
    ],
)
def test_split_internet_and_azure_cloud_are_internet(sources: list[str]) -> None:
    body = _nsg(_rule("ssh", destinationPortRange="22", sourceAddressPrefixes=sources))
    (finding,) = run_check(MGMT, body)
    assert finding.status is Status.FAIL
    assert sources[0] in finding.message


@pytest.mark.parametrize("source", ["10.0.0.0/8", "0.0.0.0/2", "AzureLoadBalancer", "Storage"])
def test_narrower_prefixes_and_other_tags_are_not_internet(source: str) -> None:
    body = _nsg(_rule("ssh", destinationPortRange="22", sourceAddressPrefix=source))
    assert statuses_of(run_check(MGMT, body)) == [Status.PASS]


def test_deny_without_destination_is_an_error_only_when_it_matters() -> None:
    deny = _deny()
    del deny["properties"]["destinationAddressPrefix"]
    (finding,) = run_check(MGMT, _nsg(ALLOW_SSH, deny))
    assert finding.status is Status.ERROR
    assert "destinationAddressPrefix" in finding.message
    web = _rule("web", destinationPortRange="443", sourceAddressPrefix="*", priority=200)
    (unrelated,) = run_check(MGMT, _nsg(web, deny))
    assert unrelated.status is Status.PASS


def test_wide_range_needs_a_deny_covering_the_whole_range() -> None:
    wide = _rule("wide", destinationPortRange="1000-5000", sourceAddressPrefix="*", priority=200)
    half = _deny(destinationPortRange="1000-3000")
    halves = _deny(destinationPortRanges=["1000-3000", "3001-5000"])
    assert statuses_of(run_check(BROAD, _nsg(wide, half))) == [Status.FAIL]
    assert statuses_of(run_check(BROAD, _nsg(wide, halves))) == [Status.PASS]


def statuses_of(findings: list[Any]) -> list[Status]:
    return [f.status for f in findings]


def test_one_finding_per_offending_rule_with_its_own_id_and_type() -> None:
    body = _nsg(
        _rule("rdp", destinationPortRange="3389", sourceAddressPrefix="*", priority=300),
        _rule("ssh", destinationPortRange="22", sourceAddressPrefix="Internet", priority=200),
        _rule("web", destinationPortRange="443", sourceAddressPrefix="Internet", priority=100),
    )
    findings = run_check(MGMT, body)
    assert [f.resource_name for f in findings] == ["ssh", "rdp"]  # in priority order
    assert {f.resource_type for f in findings} == {
        "Microsoft.Network/networkSecurityGroups/securityRules"
    }
    assert findings[0].property_path == "properties.securityRules[name=ssh]"
    assert findings[0].observed["destinationPortRanges"] == ["22"]


def test_rule_without_an_id_gets_one_under_the_nsg() -> None:
    rule = _rule("noid", destinationPortRange="22", sourceAddressPrefix="*")
    del rule["id"]
    (finding,) = run_check(MGMT, _nsg(rule))
    assert finding.resource_id == f"{NSG_ID}/securityRules/noid"


def test_max_ports_boundary() -> None:
    exactly = _nsg(_rule("k", destinationPortRange="30000-30999", sourceAddressPrefix="*"))
    wider = _nsg(_rule("k1", destinationPortRange="30000-31000", sourceAddressPrefix="*"))
    assert [f.status for f in run_check(BROAD, exactly)] == [Status.PASS]
    (finding,) = run_check(BROAD, wider)
    assert finding.status is Status.FAIL
    assert "wide range(s) 30000-31000" in finding.message


def test_custom_internet_sources_parameter() -> None:
    body = _nsg(_rule("partner", destinationPortRange="22", sourceAddressPrefix="203.0.113.0/24"))
    (finding,) = run_check(MGMT, body, sources=["203.0.113.0/24"])
    assert finding.status is Status.FAIL


@pytest.mark.parametrize(
    "rule",
    [
        {"name": "flat", "destinationPortRange": "22"},
        _rule("nopriority", destinationPortRange="22", sourceAddressPrefix="*", priority=None),
        _rule("noports", sourceAddressPrefix="*"),
        _rule("badlist", destinationPortRange="22", sourceAddressPrefixes="Internet"),
        "not-a-rule",
    ],
)
def test_malformed_rules_are_errors(rule: Any) -> None:
    (finding,) = run_check(MGMT, _nsg(rule))
    assert finding.status is Status.ERROR
    assert "unexpected data shape" in finding.message


# -- SQL firewall -------------------------------------------------------------------------------

SQL = builtin_check("net_sql_firewall_open")


def _fw(*ranges: tuple[str, str, str]) -> dict[str, Any]:
    rules = [
        {"name": n, "properties": {"startIpAddress": s, "endIpAddress": e}} for n, s, e in ranges
    ]
    return {"details": {"firewallRules": {"value": rules}}}


def test_allow_azure_services_has_its_own_message_and_can_be_accepted() -> None:
    body = _fw(("AllowAllWindowsAzureIps", ZERO, ZERO))
    (finding,) = run_check(SQL, body)
    assert finding.status is Status.FAIL
    assert "every Azure service" in finding.message
    assert finding.resource_type == "Microsoft.Sql/servers/firewallRules"
    assert finding.resource_id.endswith("/firewallRules/AllowAllWindowsAzureIps")
    (accepted,) = run_check(SQL, body, allow_azure_services=True)
    assert accepted.status is Status.PASS


def test_max_addresses_boundary() -> None:
    slash16 = _fw(("b", "198.18.0.0", "198.18.255.255"))
    wider = _fw(("c", "198.18.0.0", "198.19.0.0"))
    assert [f.status for f in run_check(SQL, slash16)] == [Status.PASS]
    (finding,) = run_check(SQL, wider)
    assert finding.status is Status.FAIL
    assert "65,537 addresses" in finding.message


def test_without_max_addresses_only_the_whole_internet_fails() -> None:
    check = replace(SQL, rule=Rule("sql_firewall_open", {"source": "firewallRules"}))
    findings = run_check(
        check, _fw(("wide", "1.0.0.0", "1.255.255.255"), ("all", ZERO, "255.255.255.255"))
    )
    assert [(f.resource_name, f.status) for f in findings] == [("all", Status.FAIL)]
    assert "entire internet" in findings[0].message


def test_each_offending_firewall_rule_is_its_own_finding() -> None:
    findings = run_check(
        SQL,
        _fw(
            ("ok", "203.0.113.1", "203.0.113.1"),
            ("all", ZERO, "255.255.255.255"),
            ("azure", ZERO, ZERO),
        ),
    )
    assert [(f.resource_name, f.status) for f in findings] == [
        ("all", Status.FAIL),
        ("azure", Status.FAIL),
    ]


@pytest.mark.parametrize(
    "ranges",
    [(("backwards", "10.0.0.9", "10.0.0.1"),), (("v6", "::1", "::1"),), (("empty", "", ""),)],
)
def test_unreadable_firewall_rules_are_errors(ranges: tuple[tuple[str, str, str], ...]) -> None:
    (finding,) = run_check(SQL, _fw(*ranges))
    assert finding.status is Status.ERROR


# -- subnets ------------------------------------------------------------------------------------

SUBNETS = builtin_check("net_subnet_nsg")
VNET_ID = f"{RG}/Microsoft.Network/virtualNetworks/vnet1"


def _vnet(*subnets: dict[str, Any]) -> dict[str, Any]:
    return {"resource": {"id": VNET_ID, "name": "vnet1", "properties": {"subnets": list(subnets)}}}


def test_one_finding_per_subnet() -> None:
    nsg = {"id": f"{RG}/Microsoft.Network/networkSecurityGroups/nsg-app"}
    findings = run_check(
        SUBNETS,
        _vnet(
            {"name": "app", "properties": {"networkSecurityGroup": nsg}},
            {"name": "data", "properties": {"networkSecurityGroup": {}}},
            {"name": "gatewaysubnet", "properties": {}},
        ),
    )
    assert [(f.resource_name, f.status) for f in findings] == [
        ("app", Status.PASS),
        ("data", Status.FAIL),
        ("gatewaysubnet", Status.NOT_APPLICABLE),
    ]
    assert findings[1].resource_id == f"{VNET_ID}/subnets/data"
    assert findings[1].resource_type == "Microsoft.Network/virtualNetworks/subnets"


def test_exempt_names_can_be_overridden() -> None:
    body = _vnet({"name": "AzureBastionSubnet", "properties": {}})
    (finding,) = run_check(SUBNETS, body, exempt=[])
    assert finding.status is Status.FAIL


@pytest.mark.parametrize("subnet", [{"name": "odd"}, {"name": "odd", "properties": []}, "odd"])
def test_malformed_subnets_are_errors(subnet: Any) -> None:
    (finding,) = run_check(SUBNETS, _vnet(subnet))
    assert finding.status is Status.ERROR


# -- public access and default-deny firewalls ---------------------------------------------------

PAAS = builtin_check("net_paas_public_access")
STORAGE = builtin_check("net_storage_default_deny")


@pytest.mark.parametrize(
    ("props", "status"),
    [
        ({"publicNetworkAccess": "DISABLED"}, Status.PASS),
        ({"publicNetworkAccess": "SecuredByPerimeter"}, Status.FAIL),
        (
            {"publicNetworkAccess": "Enabled", "network": {"publicNetworkAccess": "Disabled"}},
            Status.FAIL,
        ),
        ({"network": {}}, Status.FAIL),
        ({"publicNetworkAccess": "Disabled", "privateEndpointConnections": "garbled"}, Status.PASS),
    ],
)
def test_public_access_values(props: dict[str, Any], status: Status) -> None:
    (finding,) = run_check(PAAS, {"resource": {"properties": props}})
    assert finding.status is status


def test_pending_private_endpoints_are_not_counted_as_approved() -> None:
    conns = [
        {"properties": {"privateLinkServiceConnectionState": {"status": "Pending"}}},
        {"properties": {"privateLinkServiceConnectionState": {"status": "approved"}}},
    ]
    body = {
        "resource": {
            "properties": {"publicNetworkAccess": "Enabled", "privateEndpointConnections": conns}
        }
    }
    (finding,) = run_check(PAAS, body)
    assert finding.status is Status.FAIL
    assert "1 approved private endpoint(s)" in finding.message


@pytest.mark.parametrize(
    ("props", "status"),
    [
        ({"publicNetworkAccess": "disabled"}, Status.PASS),
        ({"networkAcls": {"defaultAction": "deny"}}, Status.PASS),
        (
            {"publicNetworkAccess": "Enabled", "networkAcls": {"defaultAction": "Allow"}},
            Status.FAIL,
        ),
        ({"networkAcls": None}, Status.FAIL),
    ],
)
def test_default_deny_is_case_insensitive(props: dict[str, Any], status: Status) -> None:
    (finding,) = run_check(STORAGE, {"resource": {"properties": props}})
    assert finding.status is status
    assert set(finding.observed) == {"publicNetworkAccess", "networkAcls.defaultAction"}
