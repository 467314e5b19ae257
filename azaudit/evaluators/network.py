"""Network evaluators: NSG rules open to the internet, SQL firewall rules, subnets, public access.

Rules about sub-objects (one NSG rule, one firewall rule, one subnet) yield one finding per
sub-object, identified by its own ARM id, so that a report names exactly what to change.
"""

from __future__ import annotations

import functools
import ipaddress
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from azaudit.evaluators.access import (
    ShapeError,
    optional_list,
    optional_str,
    require_int,
    require_list,
    require_obj,
    require_str,
)
from azaudit.evaluators.base import EvalContext, EvaluatorSpec, Outcome, Param, list_values
from azaudit.evaluators.common import RESOURCE_ONLY, as_object, resource_properties
from azaudit.models import JSON, Status

INTERNET_SOURCES = ("*", "Internet", "Any", "0.0.0.0/0", "0.0.0.0", "::/0")  # noqa: S104
"""Source prefixes that mean "anyone on the internet" in an NSG rule (besides the `AzureCloud` tags
and CIDRs as wide as `/1`, which always count: see `is_internet_source`)."""

PORTLESS_PROTOCOLS = frozenset({"icmp", "esp", "ah"})
"""Protocols without ports: a rule for them cannot open a TCP/UDP port."""

EXEMPT_SUBNETS = (
    "GatewaySubnet",
    "AzureFirewallSubnet",
    "AzureFirewallManagementSubnet",
    "AzureBastionSubnet",
    "RouteServerSubnet",
)
"""Subnets where Azure forbids or does not support an NSG (the platform service protects them)."""

RULE_TYPE = "Microsoft.Network/networkSecurityGroups/securityRules"
SUBNET_TYPE = "Microsoft.Network/virtualNetworks/subnets"
FIREWALL_RULE_TYPE = "Microsoft.Sql/servers/firewallRules"
MAX_PORT = 65535
ALL_IPV4 = 2**32


def _strings(single: JSON, many: JSON, what: str) -> list[str]:
    """The union of a `xxxPrefix`/`xxxRange` string and its plural list form."""
    values: list[str] = []
    if single not in (None, ""):
        values.append(str(single))
    if many is not None:
        if not isinstance(many, list):
            raise ValueError(f"{what}: expected a list")
        values.extend(str(v) for v in many)
    return values


# -- NSG rules ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Rule:
    """The parts of an NSG security rule that decide internet exposure."""

    id: str
    name: str
    priority: int
    access: str
    direction: str
    protocol: str
    protocol_text: str
    sources: tuple[str, ...]
    destinations: tuple[str, ...]
    ports: tuple[tuple[int, int], ...]
    port_text: tuple[str, ...]


def parse_port_range(text: str) -> tuple[int, int]:
    """`"*"`, `"22"` or `"1000-2000"` as an inclusive `(low, high)` range.

    Raises:
        ValueError: for anything else (an unknown shape must not read as "closed").
    """
    value = text.strip()
    if value in ("*", "Any", "any"):
        return 0, MAX_PORT
    low_text, sep, high_text = value.partition("-")
    low = int(low_text)
    high = int(high_text) if sep else low
    if not 0 <= low <= high <= MAX_PORT:
        raise ValueError(f"port range {text!r} is out of order or out of bounds")
    return low, high


def _port_range(text: str, rule: str) -> tuple[int, int]:
    try:
        return parse_port_range(text)
    except ValueError:
        raise ValueError(f"securityRules[{rule}]: unreadable port range {text!r}") from None


def _destinations(props: Mapping[str, Any], at: str) -> tuple[str, ...]:
    """Destination prefixes and application security group ids (`asg:<id>`) of a rule.

    ARM returns `destinationAddressPrefix`, `destinationAddressPrefixes` or
    `destinationApplicationSecurityGroups` (each optional on its own):
    https://learn.microsoft.com/rest/api/virtualnetwork/security-rules/get
    An empty result is only read when a Deny must be compared with an Allow.
    """
    values = _strings(
        optional_str(props, "destinationAddressPrefix", at=at),
        optional_list(props, "destinationAddressPrefixes", at=at),
        f"{at}.destinationAddressPrefixes",
    )
    for index, group in enumerate(
        optional_list(props, "destinationApplicationSecurityGroups", at=at)
    ):
        values.append(
            "asg:"
            + require_str(
                group, "id", at=f"{at}.destinationApplicationSecurityGroups[{index}]"
            ).lower()
        )
    return tuple(values)


def _parse_rule(raw: JSON, nsg_id: str, index: int) -> _Rule:
    rule = require_obj(raw, at=f"properties.securityRules[{index}]")
    name = require_str(rule, "name", at=f"properties.securityRules[{index}]")
    at = f"properties.securityRules[name={name}].properties"
    props = require_obj(rule, "properties", at=f"properties.securityRules[name={name}]")
    # ARM returns the singular or the plural form of ports and sources, one of the two:
    # https://learn.microsoft.com/rest/api/virtualnetwork/security-rules/get
    ports_text = _strings(
        optional_str(props, "destinationPortRange", at=at),
        optional_list(props, "destinationPortRanges", at=at),
        f"{at}.destinationPortRanges",
    )
    if not ports_text:
        raise ShapeError(f"{at}.destinationPortRange", "a port range (or ranges)", "absent")
    sources = _strings(
        optional_str(props, "sourceAddressPrefix", at=at),
        optional_list(props, "sourceAddressPrefixes", at=at),
        f"{at}.sourceAddressPrefixes",
    )
    if not sources:
        # ARM always returns one of the two; a rule with neither could admit anyone.
        raise ShapeError(f"{at}.sourceAddressPrefix", "a source prefix (or prefixes)", "absent")
    priority = require_int(props, "priority", at=at)
    access = require_str(props, "access", at=at)
    direction = require_str(props, "direction", at=at)
    protocol = require_str(props, "protocol", at=at)
    if access.lower() not in ("allow", "deny"):
        raise ShapeError(f"{at}.access", "Allow or Deny", repr(access))
    if direction.lower() not in ("inbound", "outbound"):
        raise ShapeError(f"{at}.direction", "Inbound or Outbound", repr(direction))
    return _Rule(
        id=str(rule.get("id") or f"{nsg_id}/securityRules/{name}"),
        name=name,
        priority=priority,
        access=access.lower(),
        direction=direction.lower(),
        protocol=protocol.lower(),
        protocol_text=protocol,
        sources=tuple(sources),
        destinations=_destinations(props, at),
        ports=tuple(_port_range(p, name) for p in ports_text),
        port_text=tuple(ports_text),
    )


# -- address maths ------------------------------------------------------------------------------

EVERYTHING = frozenset({"*", "any"})
"""Prefixes that match every address, internal and external."""

INTERNET_TAG = "internet"
AZURE_CLOUD_TAG = "azurecloud"
WIDEST_INTERNET_PREFIX = 1
"""A CIDR this wide (`0.0.0.0/1`, `128.0.0.0/1`, `8000::/1`) is half the internet or more."""

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@functools.lru_cache(maxsize=4096)
def _network(prefix: str) -> Network | None:
    """`prefix` as an IP network, or None for a service tag (`VirtualNetwork`, `Internet`).

    Cached: a tenant's rules repeat a few prefixes thousands of times, and parsing one is most
    of the cost of judging a rule (networks are immutable, so sharing them is safe).
    """
    try:
        return ipaddress.ip_network(prefix.strip(), strict=False)
    except ValueError:
        return None


def is_internet_source(prefix: str, configured: set[str]) -> bool:
    """Whether an NSG source prefix admits the internet.

    The configured names (`*`, `Any`, `Internet`, `0.0.0.0/0`, `::/0` by default), the
    `AzureCloud` service tag and its regional forms (every Azure customer's public addresses:
    https://learn.microsoft.com/azure/virtual-network/service-tags-overview), and any CIDR as wide
    as `0.0.0.0/1` (two of them split the whole internet) count.
    """
    value = prefix.strip().lower()
    if value in configured or value == AZURE_CLOUD_TAG or value.startswith(AZURE_CLOUD_TAG + "."):
        return True
    network = _network(value)
    return network is not None and network.prefixlen <= WIDEST_INTERNET_PREFIX


def _cidr_union_covers(target: Network, prefixes: Sequence[str]) -> bool:
    """Whether the CIDRs among `prefixes` together contain every address of `target`."""
    same_family = [
        n for n in (_network(p) for p in prefixes) if n is not None and n.version == target.version
    ]
    remaining: list[Network] = [target]
    for network in same_family:
        left: list[Network] = []
        for piece in remaining:
            if piece.subnet_of(network):  # type: ignore[arg-type]
                continue
            if network.subnet_of(piece):  # type: ignore[arg-type]
                left.extend(piece.address_exclude(network))  # type: ignore[arg-type]
            else:
                left.append(piece)
        remaining = left
    return not remaining


def _deny_covers_source(allowed: str, denied: Sequence[str]) -> bool:
    """Whether a Deny's sources block every internet address the Allow's source `allowed` admits.

    Only the internet part of the Allow matters here, so a Deny from `Internet` covers an Allow
    from `*`. A Deny from `AzureCloud` covers only Azure's addresses, never the whole internet; a
    Deny from CIDRs covers what their union contains (for `*`, `Any` and `Internet`: both
    `0.0.0.0/0` and `::/0`).
    """
    value = allowed.strip().lower()
    denied_lower = {d.strip().lower() for d in denied}
    if denied_lower & EVERYTHING or value in denied_lower:
        return True
    if INTERNET_TAG in denied_lower:
        return True  # the internet part of any source is the Internet tag's address space
    if value.startswith(AZURE_CLOUD_TAG + ".") and AZURE_CLOUD_TAG in denied_lower:
        return True
    network = _network(value)
    if network is not None:
        return _cidr_union_covers(network, denied)
    if value in EVERYTHING or value == INTERNET_TAG:
        return all(
            _cidr_union_covers(ipaddress.ip_network(whole), denied)
            for whole in ("0.0.0.0/0", "::/0")
        )
    return False


def _deny_covers_destination(allow: _Rule, deny: _Rule) -> bool:
    """Whether the Deny's destinations contain every destination of the Allow.

    Both rules' destinations are read here: a rule without any cannot be compared, so the pair
    raises instead of guessing (a wrong guess either way hides or invents an exposure).
    """
    for rule in (allow, deny):
        if not rule.destinations:
            raise ShapeError(
                f"properties.securityRules[name={rule.name}].properties.destinationAddressPrefix",
                "a destination prefix, prefixes or application security groups",
                "absent",
            )
    denied = {d.strip().lower() for d in deny.destinations}
    if denied & EVERYTHING:
        return True
    for destination in allow.destinations:
        value = destination.strip().lower()
        if value in denied:
            continue
        network = _network(value)
        if network is not None and _cidr_union_covers(network, deny.destinations):
            continue
        return False
    return True


def _ports_union_covers(ranges: Sequence[tuple[int, int]], low: int, high: int) -> bool:
    """Whether the ranges together contain every port of `low..high`."""
    wanted = low
    for lo, hi in sorted(ranges):
        if lo > wanted:
            break
        wanted = max(wanted, hi + 1)
        if wanted > high:
            return True
    return wanted > high


def _covers(ranges: Sequence[tuple[int, int]], low: int, high: int) -> bool:
    return any(lo <= low and high <= hi for lo, hi in ranges)


def _denied_earlier(
    rule: _Rule, rules: Sequence[_Rule], low: int, high: int, open_: set[str]
) -> bool:
    """Whether one earlier inbound Deny blocks the Allow's internet traffic to `low..high`.

    NSG rules apply in priority order (lower number first) and the first match wins, so a Deny
    makes a later Allow ineffective only for traffic the Deny matches: it must cover the Allow's
    protocol (`*`, or the same one), every internet source of the Allow, every destination of the
    Allow and every port of `low..high`. A Deny that is narrower on any of these leaves the rest
    of the Allow open.
    """
    internet = [s for s in rule.sources if is_internet_source(s, open_)]
    for other in rules:
        if other.priority >= rule.priority or other.access != "deny":
            continue
        if other.direction != "inbound" or other.protocol not in ("*", rule.protocol):
            continue
        if not _ports_union_covers(other.ports, low, high):
            continue
        if not all(_deny_covers_source(s, other.sources) for s in internet):
            continue
        if _deny_covers_destination(rule, other):
            return True
    return False


def _parse_rules(ctx: EvalContext) -> tuple[_Rule, ...]:
    """The target NSG's custom rules, parsed (once per scan: several checks judge them)."""
    raw_rules = require_list(ctx.resource, "properties.securityRules")
    return tuple(_parse_rule(r, ctx.scope_id, i) for i, r in enumerate(raw_rules))


def _nsg_inbound_open(ctx: EvalContext, params: Mapping[str, Any]) -> Iterator[Outcome]:
    """FAIL per inbound Allow rule that exposes a listed port (or a wide range) to the internet.

    Reads `properties.securityRules` (custom rules). `defaultSecurityRules` are not read: Azure's
    defaults only allow traffic from the virtual network and the load balancer and deny the rest.
    A listed port is not counted when a higher-precedence inbound Deny from the internet covers it.
    """
    ports = [int(p) for p in params["ports"]]
    open_ = {str(s).lower() for s in params.get("sources", INTERNET_SOURCES)}
    max_ports = params.get("max_ports")
    rules = ctx.snapshot.derived(("nsg-rules", ctx.scope_id), lambda: _parse_rules(ctx))
    described = ", ".join(str(p) for p in ports)
    if max_ports is not None:
        described += f" or any range wider than {max_ports} ports"
    expected = f"no inbound Allow from the internet to {described}"
    offending = 0
    for rule in sorted(rules, key=lambda r: r.priority):
        if rule.access != "allow" or rule.direction != "inbound":
            continue
        if rule.protocol in PORTLESS_PROTOCOLS:
            continue
        open_sources = [s for s in rule.sources if is_internet_source(s, open_)]
        if not open_sources:
            continue
        exposed = [
            p
            for p in ports
            if _covers(rule.ports, p, p) and not _denied_earlier(rule, rules, p, p, open_)
        ]
        wide = [
            text
            for text, (lo, hi) in zip(rule.port_text, rule.ports, strict=True)
            if max_ports is not None
            and hi - lo + 1 > int(max_ports)
            and not _denied_earlier(rule, rules, lo, hi, open_)
        ]
        if not exposed and not wide:
            continue
        offending += 1
        reasons = []
        if exposed:
            reasons.append(f"port(s) {', '.join(str(p) for p in exposed)}")
        if wide:
            reasons.append(f"wide range(s) {', '.join(wide)}")
        yield Outcome(
            Status.FAIL,
            f"properties.securityRules[name={rule.name}]",
            {
                "priority": rule.priority,
                "protocol": rule.protocol_text,
                "sourceAddressPrefixes": list(rule.sources),
                "destinationPortRanges": list(rule.port_text),
            },
            expected,
            f"rule {rule.name!r} (priority {rule.priority}) allows {rule.protocol_text} from "
            f"{', '.join(open_sources)} to {' and '.join(reasons)}",
            resource_id=rule.id,
            resource_type=RULE_TYPE,
        )
    if offending == 0:
        yield Outcome(
            Status.PASS,
            "properties.securityRules",
            len(rules),
            expected,
            f"none of the {len(rules)} custom rule(s) allows the internet to {described}",
        )


# -- SQL firewall rules -------------------------------------------------------------------------


def _sql_firewall_open(ctx: EvalContext, params: Mapping[str, Any]) -> Iterator[Outcome]:
    """FAIL once per firewall rule that admits the internet or every Azure tenant.

    - `0.0.0.0 - 255.255.255.255` (or any range wider than `max_addresses`) admits the internet.
    - `0.0.0.0 - 0.0.0.0` is "Allow Azure services and resources to access this server": it admits
      connections from any Azure subscription, including other customers' resources, so only the
      login stands between them and the data. It FAILs with its own message (lower risk than an
      open internet rule) unless `allow_azure_services` is true.
    An empty rule list PASSes: the server is reachable only through private endpoints or virtual
    network rules.
    """
    source = str(params.get("source", "firewallRules"))
    max_addresses = int(params.get("max_addresses", ALL_IPV4))
    allow_azure = params.get("allow_azure_services", False) is True
    rules = list_values(ctx.own(source), source)
    expected = "no firewall rule open to the internet or to all Azure services"
    offending = 0
    for index, raw in enumerate(rules):
        rule = as_object(raw, f"{source}[{index}]")
        name = str(rule.get("name") or f"#{index}")
        props = as_object(rule.get("properties"), f"{source}[{name}].properties")
        at = f"{source}[name={name}].properties"
        start = ipaddress.IPv4Address(require_str(props, "startIpAddress", at=at))
        end = ipaddress.IPv4Address(require_str(props, "endIpAddress", at=at))
        if end < start:
            raise ValueError(f"{source}[{name}]: end address {end} is before start {start}")
        size = int(end) - int(start) + 1
        observed = {"startIpAddress": str(start), "endIpAddress": str(end)}
        if int(start) == 0 and int(end) == 0:
            if allow_azure:
                continue
            message = (
                f"rule {name!r} (0.0.0.0 - 0.0.0.0) allows every Azure service and resource, "
                "including other customers' subscriptions, to connect; use private endpoints "
                "or virtual network rules instead"
            )
        elif size >= ALL_IPV4:
            message = f"rule {name!r} ({start} - {end}) opens the server to the entire internet"
        elif size > max_addresses:
            message = (
                f"rule {name!r} ({start} - {end}) admits {size:,} addresses, more than the "
                f"{max_addresses:,} allowed for one rule"
            )
        else:
            continue
        offending += 1
        yield Outcome(
            Status.FAIL,
            f"{source}[name={name}].properties",
            observed,
            expected,
            message,
            resource_id=str(rule.get("id") or f"{ctx.scope_id}/firewallRules/{name}"),
            resource_type=FIREWALL_RULE_TYPE,
        )
    if offending == 0:
        yield Outcome(
            Status.PASS,
            source,
            len(rules),
            expected,
            f"none of the {len(rules)} firewall rule(s) is open to the internet or to all Azure "
            "services",
        )


# -- subnets ------------------------------------------------------------------------------------


def _subnet_nsg(ctx: EvalContext, params: Mapping[str, Any]) -> Iterator[Outcome]:
    """One finding per subnet of a virtual network: PASS when it has a network security group.

    Subnets that Azure reserves for gateways, firewalls, Bastion and Route Server (`exempt`) are
    NOT_APPLICABLE: Azure forbids or does not support an NSG on them.
    """
    exempt = {str(n).lower() for n in params.get("exempt", EXEMPT_SUBNETS)}
    props = resource_properties(ctx)
    subnets = props.get("subnets")
    if not isinstance(subnets, list):
        raise ValueError("properties.subnets: expected a list of subnets")
    expected = "a network security group associated with the subnet"
    for index, raw in enumerate(subnets):
        subnet = as_object(raw, f"properties.subnets[{index}]")
        name = str(subnet.get("name") or f"#{index}")
        sub_props = as_object(subnet.get("properties"), f"properties.subnets[{name}].properties")
        subnet_id = str(subnet.get("id") or f"{ctx.scope_id}/subnets/{name}")
        path = f"properties.subnets[name={name}].properties.networkSecurityGroup"
        nsg = sub_props.get("networkSecurityGroup")
        nsg_id = nsg.get("id") if isinstance(nsg, Mapping) else None
        if name.lower() in exempt:
            status, message = Status.NOT_APPLICABLE, f"{name} is a platform subnet (no NSG)"
        elif nsg_id:
            status, message = (
                Status.PASS,
                f"subnet {name!r} uses NSG {str(nsg_id).rsplit('/', 1)[-1]}",
            )
        else:
            status = Status.FAIL
            message = f"subnet {name!r} has no network security group: nothing filters its traffic"
        yield Outcome(
            status,
            path,
            nsg_id,
            expected,
            message,
            resource_id=subnet_id,
            resource_type=SUBNET_TYPE,
        )


# -- public network access ----------------------------------------------------------------------

PUBLIC_ACCESS_PATHS = ("publicNetworkAccess", "network.publicNetworkAccess")
"""Where services keep the switch (flexible database servers nest it under `network`)."""


def _approved_private_endpoints(props: Mapping[str, Any]) -> int:
    """How many private endpoint connections are approved (evidence for the message only)."""
    connections = props.get("privateEndpointConnections")
    if not isinstance(connections, list):
        return 0
    count = 0
    for conn in connections:
        conn_props = conn.get("properties") if isinstance(conn, Mapping) else None
        state = (
            conn_props.get("privateLinkServiceConnectionState")
            if isinstance(conn_props, Mapping)
            else None
        )
        if isinstance(state, Mapping) and str(state.get("status", "")).lower() == "approved":
            count += 1
    return count


def _paas_public_access(ctx: EvalContext, params: Mapping[str, Any]) -> Iterator[Outcome]:
    """PASS only when the service's public endpoint is disabled.

    A private endpoint adds a private path but does not close the public one: with public access
    enabled the service still answers on the internet (filtered at most by its firewall). The
    message counts approved private endpoints so the fix is clear: clients already have a
    private path, so disabling public access is safe. Values compare case-insensitively (Search
    services write `disabled`).
    """
    props = resource_properties(ctx)
    value: JSON = None
    path = "properties.publicNetworkAccess"
    for candidate in PUBLIC_ACCESS_PATHS:
        node: JSON = props
        for part in candidate.split("."):
            node = node.get(part) if isinstance(node, Mapping) else None
        if node is not None:
            value, path = node, f"properties.{candidate}"
            break
    expected = "Disabled"
    endpoints = _approved_private_endpoints(props)
    if isinstance(value, str) and value.lower() == "disabled":
        extra = f" ({endpoints} approved private endpoint(s))" if endpoints else ""
        yield Outcome(
            Status.PASS, path, value, expected, f"public network access is disabled{extra}"
        )
        return
    shown = "not set (the service default is Enabled)" if value is None else repr(value)
    hint = (
        f"; {endpoints} approved private endpoint(s) exist, so public access can be disabled"
        if endpoints
        else "; connect clients through a private endpoint and disable public access"
    )
    yield Outcome(Status.FAIL, path, value, expected, f"public network access is {shown}{hint}")


def _firewall_default_deny(ctx: EvalContext, params: Mapping[str, Any]) -> Iterator[Outcome]:
    """PASS when public access is disabled or the service firewall denies by default.

    Used for storage accounts and key vaults, whose `networkAcls.defaultAction` decides what a
    client not matched by an IP or virtual network rule gets.
    """
    props = resource_properties(ctx)
    public = props.get("publicNetworkAccess")
    acls = props.get("networkAcls") or {}
    acls = as_object(acls, "properties.networkAcls")
    action = acls.get("defaultAction")
    observed = {"publicNetworkAccess": public, "networkAcls.defaultAction": action}
    expected = "publicNetworkAccess Disabled, or networkAcls.defaultAction Deny"
    if isinstance(public, str) and public.lower() == "disabled":
        yield Outcome(
            Status.PASS,
            "properties.publicNetworkAccess",
            observed,
            expected,
            "public network access is disabled",
        )
        return
    path = "properties.networkAcls.defaultAction"
    if isinstance(action, str) and action.lower() == "deny":
        ip_rules = acls.get("ipRules") or []
        vnet_rules = acls.get("virtualNetworkRules") or []
        yield Outcome(
            Status.PASS,
            path,
            observed,
            expected,
            f"firewall denies by default ({len(ip_rules)} IP rule(s), {len(vnet_rules)} virtual "
            "network rule(s) allowed)",
        )
        return
    shown_action = "not set (Allow)" if action is None else repr(action)
    shown_public = "not set (Enabled)" if public is None else repr(public)
    yield Outcome(
        Status.FAIL,
        path,
        observed,
        expected,
        f"public network access is {shown_public} and the firewall default action is "
        f"{shown_action}: any internet host can reach the data endpoint",
    )


SPECS: tuple[EvaluatorSpec, ...] = (
    EvaluatorSpec(
        "nsg_inbound_open",
        _nsg_inbound_open,
        {
            "ports": Param((list,), doc="destination ports that must not be open to the internet"),
            "sources": Param(
                (list,), required=False, doc="source prefixes meaning 'the internet' (any case)"
            ),
            "max_ports": Param(
                (int,), required=False, doc="also flag internet-open ranges wider than this"
            ),
        },
        RESOURCE_ONLY,
        "FAIL per inbound Allow rule from the internet covering a listed port (or a range wider "
        "than max_ports), unless an earlier Deny covers its protocol, sources, destinations "
        "and ports.",
    ),
    EvaluatorSpec(
        "sql_firewall_open",
        _sql_firewall_open,
        {
            "source": Param((str,), required=False, doc="firewall rule list (firewallRules)"),
            "max_addresses": Param(
                (int,), required=False, doc="widest range one rule may admit (default: all)"
            ),
            "allow_azure_services": Param(
                (bool,), required=False, doc="accept the 0.0.0.0 'Azure services' rule"
            ),
        },
        RESOURCE_ONLY,
        "FAIL per SQL firewall rule open to the internet (or too wide) or to all Azure services.",
    ),
    EvaluatorSpec(
        "subnet_nsg",
        _subnet_nsg,
        {"exempt": Param((list,), required=False, doc="subnet names that cannot take an NSG")},
        RESOURCE_ONLY,
        "One finding per subnet of a virtual network: PASS when an NSG is associated.",
    ),
    EvaluatorSpec(
        "paas_public_access",
        _paas_public_access,
        {},
        RESOURCE_ONLY,
        "PASS when publicNetworkAccess (or network.publicNetworkAccess) is Disabled.",
    ),
    EvaluatorSpec(
        "firewall_default_deny",
        _firewall_default_deny,
        {},
        RESOURCE_ONLY,
        "PASS when publicNetworkAccess is Disabled or networkAcls.defaultAction is Deny.",
    ),
)
