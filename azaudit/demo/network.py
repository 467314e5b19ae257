"""Demo networking: VNets and subnets, NSGs, NICs, public IPs, private endpoints, DNS, watchers.

Shapes follow Microsoft's `NetworkSecurityGroups_CreateOrUpdate_WithRule` / `_ListAll` examples
(custom rules next to the six default rules) and ARM's VNet, NIC and public IP bodies.

The story: the hub (platform) and both production spokes deny management ports from the Internet;
the imaging team opened RDP to "any" for a vendor on the PACS gateway and never closed it; the dev
subscription lets SSH in from anywhere and a legacy NSG exposes database ports. The AKS node subnet
in the portal and three dev subnets have no NSG. Dev has a VNet in westeurope without a Network
Watcher.

Flow logs (`FlowLogs_List` shape): the hub and clinical VNets have VNet flow logs kept a year and
90 days; the portal still runs legacy NSG flow logs, which leave its NSG-less AKS node subnet
unrecorded; dev's VNet flow log was switched off.

Edge: the patient portal is published through Front Door Premium (custom domain on TLS 1.2) and a
WAF_v2 Application Gateway on the 2022 TLS policy; the imaging team's PACS viewer gateway still
uses AppGwSslPolicy20170401, which accepts TLS 1.1.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from azaudit.demo.arm import (
    Doc,
    Estate,
    arg_row,
    log_category,
    private_endpoint_connection,
    resource_id,
)
from azaudit.demo.org import (
    CLINICAL,
    DEV,
    DOMAIN,
    PLATFORM,
    PORTAL,
    SUBSCRIPTIONS,
    Subscription,
    guid,
    hexid,
)

NSG = "Microsoft.Network/networkSecurityGroups"
VNET = "Microsoft.Network/virtualNetworks"


@dataclass(frozen=True, slots=True)
class Rule:
    """One custom NSG rule. `ports` with several entries uses `destinationPortRanges`."""

    name: str
    priority: int
    ports: tuple[str, ...]
    source: str
    access: str = "Allow"
    direction: str = "Inbound"
    protocol: str = "Tcp"
    description: str = ""


@dataclass(frozen=True, slots=True)
class Subnet:
    """One subnet of a VNet; `nsg` names an NSG in the same resource group."""

    name: str
    prefix: str
    nsg: str | None
    delegation: str | None = None


@dataclass(frozen=True, slots=True)
class VNetSpec:
    """A virtual network and its subnets."""

    sub: Subscription
    rg: str
    name: str
    location: str
    prefix: str
    subnets: tuple[Subnet, ...]


_VNET_RULE = Rule("Allow-VNet-HTTPS", 200, ("443",), "VirtualNetwork")
_BASTION_RDP_SSH = Rule(
    "Allow-Bastion-RDP-SSH", 210, ("22", "3389"), "10.0.2.0/26", description="Azure Bastion only"
)
_DENY_INTERNET = Rule(
    "Deny-Internet-Inbound", 4000, ("*",), "Internet", access="Deny", protocol="*"
)

NSGS: tuple[tuple[Subscription, str, str, str, tuple[Rule, ...]], ...] = (
    (
        PLATFORM,
        "rg-nw-hub-network-eus",
        "nsg-nw-identity-eus",
        "eastus",
        (
            Rule("Allow-AD-DS-From-Spokes", 200, ("53", "88", "389", "445", "636"), "10.0.0.0/8"),
            _BASTION_RDP_SSH,
            _DENY_INTERNET,
        ),
    ),
    (
        PLATFORM,
        "rg-nw-hub-network-eus",
        "nsg-nw-bastion-eus",
        "eastus",
        (
            Rule("AllowHttpsInbound", 120, ("443",), "Internet"),
            Rule("AllowGatewayManagerInbound", 130, ("443",), "GatewayManager"),
            Rule("AllowAzureLoadBalancerInbound", 140, ("443",), "AzureLoadBalancer"),
            Rule(
                "AllowBastionHostCommunication",
                150,
                ("8080", "5701"),
                "VirtualNetwork",
                protocol="*",
            ),
        ),
    ),
    (
        CLINICAL,
        "rg-clinical-network-eus",
        "nsg-clinical-app-eus",
        "eastus",
        (_VNET_RULE, _BASTION_RDP_SSH, _DENY_INTERNET),
    ),
    (
        CLINICAL,
        "rg-clinical-network-eus",
        "nsg-clinical-data-eus",
        "eastus",
        (Rule("Allow-App-To-SQL", 200, ("1433",), "10.10.1.0/24"), _DENY_INTERNET),
    ),
    (
        CLINICAL,
        "rg-clinical-network-eus",
        "nsg-clinical-pe-eus",
        "eastus",
        (_VNET_RULE, _DENY_INTERNET),
    ),
    (
        CLINICAL,
        "rg-clinical-network-eus",
        "nsg-pacs-gw-eus",
        "eastus",
        (
            Rule("Allow-DICOM-From-Modalities", 200, ("104", "11112"), "10.64.0.0/16"),
            Rule(
                "Allow-RDP-Vendor-Temp",
                300,
                ("3389",),
                "*",
                description="Temporary vendor access for PACS upgrade (ticket CHG-20417)",
            ),
        ),
    ),
    (
        PORTAL,
        "rg-portal-network-eus2",
        "nsg-portal-appsvc-eus2",
        "eastus2",
        (_VNET_RULE, _DENY_INTERNET),
    ),
    (
        PORTAL,
        "rg-portal-network-eus2",
        "nsg-portal-pe-eus2",
        "eastus2",
        (_VNET_RULE, _DENY_INTERNET),
    ),
    (
        PORTAL,
        "rg-portal-network-eus2",
        "nsg-portal-psql-eus2",
        "eastus2",
        (Rule("Allow-AppSvc-To-PostgreSQL", 200, ("5432",), "10.20.1.0/24"), _DENY_INTERNET),
    ),
    (
        DEV,
        "rg-dev-network-eus",
        "nsg-dev-vms-eus",
        "eastus",
        (Rule("AllowSSH", 300, ("22",), "0.0.0.0/0", description="data science jump box"),),
    ),
    (
        DEV,
        "rg-dev-network-eus",
        "nsg-dev-data-legacy-eus",
        "eastus",
        (
            Rule(
                "Allow-DB-From-Partners",
                310,
                ("1433", "5432"),
                "Internet",
                description="research partners (to be replaced by private link)",
            ),
        ),
    ),
)

VNETS: tuple[VNetSpec, ...] = (
    VNetSpec(
        PLATFORM,
        "rg-nw-hub-network-eus",
        "vnet-nw-hub-eus",
        "eastus",
        "10.0.0.0/16",
        (
            Subnet("GatewaySubnet", "10.0.0.0/27", None),
            Subnet("AzureFirewallSubnet", "10.0.1.0/26", None),
            Subnet("AzureBastionSubnet", "10.0.2.0/26", "nsg-nw-bastion-eus"),
            Subnet("snet-identity", "10.0.3.0/24", "nsg-nw-identity-eus"),
        ),
    ),
    VNetSpec(
        CLINICAL,
        "rg-clinical-network-eus",
        "vnet-nw-clinical-eus",
        "eastus",
        "10.10.0.0/16",
        (
            Subnet("snet-ehr-app", "10.10.1.0/24", "nsg-clinical-app-eus"),
            Subnet("snet-ehr-data", "10.10.2.0/24", "nsg-clinical-data-eus"),
            Subnet("snet-private-endpoints", "10.10.3.0/24", "nsg-clinical-pe-eus"),
            Subnet("snet-pacs-dmz", "10.10.4.0/24", "nsg-pacs-gw-eus"),
            Subnet(
                "snet-appsvc-integration",
                "10.10.5.0/26",
                "nsg-clinical-app-eus",
                "Microsoft.Web/serverFarms",
            ),
        ),
    ),
    VNetSpec(
        PORTAL,
        "rg-portal-network-eus2",
        "vnet-nw-portal-eus2",
        "eastus2",
        "10.20.0.0/16",
        (
            Subnet(
                "snet-appsvc-integration",
                "10.20.1.0/24",
                "nsg-portal-appsvc-eus2",
                "Microsoft.Web/serverFarms",
            ),
            Subnet("snet-aks-nodes", "10.20.16.0/20", None),
            Subnet("snet-private-endpoints", "10.20.2.0/24", "nsg-portal-pe-eus2"),
            Subnet(
                "snet-psql",
                "10.20.3.0/28",
                "nsg-portal-psql-eus2",
                "Microsoft.DBforPostgreSQL/flexibleServers",
            ),
        ),
    ),
    VNetSpec(
        DEV,
        "rg-dev-network-eus",
        "vnet-nw-dev-eus",
        "eastus",
        "10.30.0.0/16",
        (
            Subnet("snet-dev-vms", "10.30.1.0/24", "nsg-dev-vms-eus"),
            Subnet("snet-dev-data", "10.30.2.0/24", None),
            Subnet("snet-private-endpoints", "10.30.3.0/24", None),
        ),
    ),
    VNetSpec(
        DEV,
        "rg-dev-research-weu",
        "vnet-nw-research-weu",
        "westeurope",
        "10.40.0.0/16",
        (Subnet("snet-research", "10.40.1.0/24", None),),
    ),
)

WATCHERS: tuple[tuple[Subscription, str], ...] = (
    (PLATFORM, "eastus"),
    (CLINICAL, "eastus"),
    (CLINICAL, "westus2"),
    (PORTAL, "eastus2"),
    (DEV, "eastus"),
)
"""Network Watchers by subscription and region (dev has none in westeurope)."""

FLOW_LOGS: tuple[tuple[Subscription, str, str, str, str, bool, int], ...] = (
    (PLATFORM, "eastus", "rg-nw-hub-network-eus", VNET, "vnet-nw-hub-eus", True, 365),
    (CLINICAL, "eastus", "rg-clinical-network-eus", VNET, "vnet-nw-clinical-eus", True, 90),
    (PORTAL, "eastus2", "rg-portal-network-eus2", NSG, "nsg-portal-appsvc-eus2", True, 90),
    (PORTAL, "eastus2", "rg-portal-network-eus2", NSG, "nsg-portal-pe-eus2", True, 90),
    (PORTAL, "eastus2", "rg-portal-network-eus2", NSG, "nsg-portal-psql-eus2", True, 90),
    (DEV, "eastus", "rg-dev-network-eus", VNET, "vnet-nw-dev-eus", False, 30),
)
"""Flow logs: subscription, watcher region, target resource group, type and name, on, days."""


def _flow_logs(
    sub: Subscription, region: str
) -> list[tuple[Subscription, str, str, str, str, bool, int]]:
    return [f for f in FLOW_LOGS if f[0] is sub and f[1] == region]


APPLICATION_GATEWAYS: tuple[tuple[Subscription, str, str, str, str, str], ...] = (
    (PORTAL, "rg-portal-edge", "agw-nw-portal-eus2", "eastus2", "WAF_v2", "AppGwSslPolicy20220101"),
    (
        CLINICAL,
        "rg-clinical-imaging-eus",
        "agw-nw-pacs-viewer-eus",
        "eastus",
        "Standard_v2",
        "AppGwSslPolicy20170401",
    ),
)
"""Application Gateways: subscription, resource group, name, region, SKU, predefined policy."""

PRIVATE_DNS_ZONES = (
    "privatelink.blob.core.windows.net",
    "privatelink.vaultcore.azure.net",
    "privatelink.database.windows.net",
    "privatelink.documents.azure.com",
    "privatelink.azurecr.io",
    "privatelink.redis.cache.windows.net",
    "privatelink.servicebus.windows.net",
    "privatelink.cognitiveservices.azure.com",
    "privatelink.postgres.database.azure.com",
)

PE_SUBNETS: dict[str, tuple[str, str, str]] = {
    CLINICAL.key: ("rg-clinical-network-eus", "vnet-nw-clinical-eus", "snet-private-endpoints"),
    PORTAL.key: ("rg-portal-network-eus2", "vnet-nw-portal-eus2", "snet-private-endpoints"),
    PLATFORM.key: ("rg-nw-hub-network-eus", "vnet-nw-hub-eus", "snet-identity"),
    DEV.key: ("rg-dev-network-eus", "vnet-nw-dev-eus", "snet-private-endpoints"),
}

_PE_DNS_SUFFIX = {
    "blob": "blob.core.windows.net",
    "vault": "vault.azure.net",
    "sqlServer": "database.windows.net",
    "Sql": "documents.azure.com",
    "registry": "azurecr.io",
    "redisCache": "redis.cache.windows.net",
    "namespace": "servicebus.windows.net",
    "account": "cognitiveservices.azure.com",
    "postgresqlServer": "postgres.database.azure.com",
}


def _provisioned(**props: Any) -> Doc:
    return {"provisioningState": "Succeeded", **props}


def _rule_doc(nsg_id: str, rule: Rule, *, default: bool = False) -> Doc:
    kind = "defaultSecurityRules" if default else "securityRules"
    many_ports = len(rule.ports) > 1
    props = _provisioned(
        protocol=rule.protocol,
        sourcePortRange="*",
        sourceAddressPrefix=rule.source,
        destinationAddressPrefix="*" if rule.source != "VirtualNetwork" else "VirtualNetwork",
        access=rule.access,
        priority=rule.priority,
        direction=rule.direction,
        sourcePortRanges=[],
        destinationPortRanges=list(rule.ports) if many_ports else [],
        sourceAddressPrefixes=[],
        destinationAddressPrefixes=[],
    )
    if not many_ports:
        props["destinationPortRange"] = rule.ports[0]
    if rule.description:
        props["description"] = rule.description
    return {
        "name": rule.name,
        "id": f"{nsg_id}/{kind}/{rule.name}",
        "type": f"{NSG}/{kind}",
        "properties": props,
    }


_DEFAULT_RULES = (
    Rule(
        "AllowVnetInBound",
        65000,
        ("*",),
        "VirtualNetwork",
        protocol="*",
        description="Allow inbound traffic from all VMs in VNET",
    ),
    Rule(
        "AllowAzureLoadBalancerInBound",
        65001,
        ("*",),
        "AzureLoadBalancer",
        protocol="*",
        description="Allow inbound traffic from azure load balancer",
    ),
    Rule(
        "DenyAllInBound",
        65500,
        ("*",),
        "*",
        access="Deny",
        protocol="*",
        description="Deny all inbound traffic",
    ),
    Rule(
        "AllowVnetOutBound",
        65000,
        ("*",),
        "VirtualNetwork",
        direction="Outbound",
        protocol="*",
        description="Allow outbound traffic from all VMs to all VMs in VNET",
    ),
    Rule(
        "AllowInternetOutBound",
        65001,
        ("*",),
        "*",
        direction="Outbound",
        protocol="*",
        description="Allow outbound traffic from all VMs to Internet",
    ),
    Rule(
        "DenyAllOutBound",
        65500,
        ("*",),
        "*",
        access="Deny",
        direction="Outbound",
        protocol="*",
        description="Deny all outbound traffic",
    ),
)


class Network:
    """Builds the network resources and hands out ids to the other areas."""

    def __init__(self, estate: Estate) -> None:
        self.estate = estate
        self._nsgs: dict[str, Doc] = {}
        self._next_ip: dict[str, int] = {}

    # -- lookups ----------------------------------------------------------------------------------

    def nsg_id(self, sub: Subscription, rg: str, name: str) -> str:
        """Id of a demo NSG (it must exist)."""
        rid = resource_id(sub, rg, NSG, name)
        if rid not in self._nsgs:
            raise KeyError(rid)
        return rid

    def subnet_id(self, sub: Subscription, rg: str, vnet: str, subnet: str) -> str:
        """Id of a subnet."""
        return f"{resource_id(sub, rg, VNET, vnet)}/subnets/{subnet}"

    def private_ip(self, subnet_id: str) -> str:
        """The next free private address of a subnet (demo addressing, deterministic)."""
        spec = next(
            s
            for v in VNETS
            for s in v.subnets
            if subnet_id.endswith(f"/virtualNetworks/{v.name}/subnets/{s.name}")
        )
        host = self._next_ip.get(subnet_id, 4)
        self._next_ip[subnet_id] = host + 1
        octets = spec.prefix.split("/")[0].split(".")
        return f"{octets[0]}.{octets[1]}.{octets[2]}.{int(octets[3]) + host}"

    # -- building ---------------------------------------------------------------------------------

    def build(self) -> None:
        """Add NSGs, VNets, watchers, DNS zones and the hub's Bastion host."""
        for sub, rg, name, location, rules in NSGS:
            self._add_nsg(sub, rg, name, location, rules)
        for spec in VNETS:
            self._add_vnet(spec)
        for sub, location in WATCHERS:
            row = arg_row(
                sub,
                "NetworkWatcherRG",
                "Microsoft.Network/networkWatchers",
                f"NetworkWatcher_{location}",
                location,
                _provisioned(runningOperationIds=[]),
                tags={},
            )
            self.estate.add(row)
            self.estate.doc(
                str(row["id"]),
                "flowLogs",
                {
                    "value": [
                        self._flow_log(str(row["id"]), sub, *f[2:])
                        for f in _flow_logs(sub, location)
                    ]
                },
            )
        for zone in PRIVATE_DNS_ZONES:
            self._add_private_dns_zone(zone)
        self._add_public_dns_zone(PLATFORM, "rg-nw-dns", DOMAIN, 14)
        self._add_public_dns_zone(PORTAL, "rg-portal-dns", f"patients.{DOMAIN}", 9)
        self._add_bastion()
        self._add_front_door()
        for sub, rg, name, location, sku, policy in APPLICATION_GATEWAYS:
            self._add_app_gateway(sub, rg, name, location, sku, policy)

    def _flow_log(
        self,
        watcher: str,
        sub: Subscription,
        rg: str,
        rtype: str,
        name: str,
        enabled: bool,
        days: int,
    ) -> Doc:
        """A flow log of `FlowLogs_List` (2024-05-01) on a VNet or (legacy) an NSG."""
        target = resource_id(sub, rg, rtype, name)
        log_name = f"{name}-flowlog"
        return {
            "name": log_name,
            "id": f"{watcher}/flowLogs/{log_name}",
            "etag": f'W/"{guid(target + "etag")}"',
            "location": watcher.rsplit("_", 1)[-1],
            "properties": {
                "provisioningState": "Succeeded",
                "targetResourceId": target,
                "targetResourceGuid": guid(f"{'vnet' if rtype == VNET else 'nsg'}:{target}"),
                "storageId": resource_id(
                    sub, "NetworkWatcherRG", "Microsoft.Storage/storageAccounts", "stnwflowlogs"
                ),
                "enabled": enabled,
                "flowAnalyticsConfiguration": {
                    "networkWatcherFlowAnalyticsConfiguration": {
                        "enabled": enabled and rtype == VNET,
                        "trafficAnalyticsInterval": 60,
                    }
                },
                "retentionPolicy": {"days": days, "enabled": True},
                "format": {"type": "JSON", "version": 2},
            },
        }

    def _add_nsg(
        self, sub: Subscription, rg: str, name: str, location: str, rules: tuple[Rule, ...]
    ) -> None:
        rid = resource_id(sub, rg, NSG, name)
        row = arg_row(
            sub,
            rg,
            NSG,
            name,
            location,
            _provisioned(
                resourceGuid=guid(f"nsg:{rid}"),
                securityRules=[_rule_doc(rid, r) for r in rules],
                defaultSecurityRules=[_rule_doc(rid, r, default=True) for r in _DEFAULT_RULES],
                subnets=[],
                networkInterfaces=[],
            ),
        )
        self._nsgs[rid] = row
        self.estate.add(row)

    def _add_vnet(self, spec: VNetSpec) -> None:
        vnet_id = resource_id(spec.sub, spec.rg, VNET, spec.name)
        subnets = []
        for s in spec.subnets:
            sid = f"{vnet_id}/subnets/{s.name}"
            props = _provisioned(
                addressPrefix=s.prefix,
                serviceEndpoints=[],
                delegations=[],
                privateEndpointNetworkPolicies="Disabled",
                privateLinkServiceNetworkPolicies="Enabled",
            )
            if s.nsg is not None:
                nsg = self.nsg_id(spec.sub, spec.rg, s.nsg)
                props["networkSecurityGroup"] = {"id": nsg}
                self._nsgs[nsg]["properties"]["subnets"].append({"id": sid})
            if s.delegation is not None:
                props["delegations"] = [
                    {
                        "name": "delegation",
                        "id": f"{sid}/delegations/delegation",
                        "type": f"{VNET}/subnets/delegations",
                        "properties": {
                            "provisioningState": "Succeeded",
                            "serviceName": s.delegation,
                            "actions": ["Microsoft.Network/virtualNetworks/subnets/action"],
                        },
                    }
                ]
            subnets.append(
                {"name": s.name, "id": sid, "type": f"{VNET}/subnets", "properties": props}
            )
        row = arg_row(
            spec.sub,
            spec.rg,
            VNET,
            spec.name,
            spec.location,
            _provisioned(
                resourceGuid=guid(f"vnet:{vnet_id}"),
                addressSpace={"addressPrefixes": [spec.prefix]},
                dhcpOptions={"dnsServers": ["10.0.3.4", "10.0.3.5"]},
                subnets=subnets,
                virtualNetworkPeerings=[],
                enableDdosProtection=False,
                privateEndpointVNetPolicies="Disabled",
            ),
        )
        self.estate.add(row)

    def _add_private_dns_zone(self, zone: str) -> None:
        row = arg_row(
            PLATFORM,
            "rg-nw-dns",
            "Microsoft.Network/privateDnsZones",
            zone,
            "global",
            _provisioned(
                maxNumberOfRecordSets=25000,
                maxNumberOfVirtualNetworkLinks=1000,
                maxNumberOfVirtualNetworkLinksWithRegistration=100,
                numberOfRecordSets=6,
                numberOfVirtualNetworkLinks=len(SUBSCRIPTIONS),
                numberOfVirtualNetworkLinksWithRegistration=0,
                internalId=f"SubscriptionId;{PLATFORM.subscription_id};ZoneName;{zone}",
            ),
        )
        self.estate.add(row)

    def _add_public_dns_zone(self, sub: Subscription, rg: str, zone: str, records: int) -> None:
        row = arg_row(
            sub,
            rg,
            "Microsoft.Network/dnszones",
            zone,
            "global",
            {
                "maxNumberOfRecordSets": 10000,
                "maxNumberOfRecordsPerRecordSet": None,
                "nameServers": [
                    "ns1-01.azure-dns.com.",
                    "ns2-01.azure-dns.net.",
                    "ns3-01.azure-dns.org.",
                    "ns4-01.azure-dns.info.",
                ],
                "numberOfRecordSets": records,
                "zoneType": "Public",
            },
        )
        self.estate.add(row)

    def _add_front_door(self) -> None:
        """Front Door Premium for the patient portal, with its custom domains document."""
        sub, rg, name = PORTAL, "rg-portal-edge", "afd-nw-portal"
        row = arg_row(
            sub,
            rg,
            "Microsoft.Cdn/profiles",
            name,
            "Global",
            {
                "provisioningState": "Succeeded",
                "resourceState": "Active",
                "frontDoorId": guid(f"afd:{name}"),
                "originResponseTimeoutSeconds": 60,
                "extendedProperties": {},
            },
            kind="frontdoor",
            sku={"name": "Premium_AzureFrontDoor"},
        )
        profile_id = self.estate.add_logged(row, [log_category("FrontDoorAccessLog")])
        host = f"patients.{DOMAIN}"
        domain = host.replace(".", "-")
        self.estate.doc(
            profile_id,
            "customDomains",
            {
                "value": [
                    {
                        "name": domain,
                        "type": "Microsoft.Cdn/profiles/customdomains",
                        "id": f"{profile_id}/customdomains/{domain}",
                        "properties": {
                            "profileName": name,
                            "tlsSettings": {
                                "certificateType": "ManagedCertificate",
                                "minimumTlsVersion": "TLS12",
                                "secret": {"id": f"{profile_id}/secrets/{domain}"},
                            },
                            "azureDnsZone": None,
                            "preValidatedCustomDomainResourceId": None,
                            "provisioningState": "Succeeded",
                            "deploymentStatus": "Succeeded",
                            "domainValidationState": "Approved",
                            "hostName": host,
                        },
                    }
                ]
            },
        )

    def _add_app_gateway(
        self, sub: Subscription, rg: str, name: str, location: str, sku: str, policy: str
    ) -> None:
        """An Application Gateway with one HTTPS listener and a predefined TLS policy."""
        gateway_id = resource_id(sub, rg, "Microsoft.Network/applicationGateways", name)
        row = arg_row(
            sub,
            rg,
            "Microsoft.Network/applicationGateways",
            name,
            location,
            _provisioned(
                resourceGuid=guid(f"agw:{gateway_id}"),
                sku={"name": sku, "tier": sku, "family": "Generation_1"},
                operationalState="Running",
                sslPolicy={"policyType": "Predefined", "policyName": policy},
                sslCertificates=[
                    {"name": "listener-cert", "id": f"{gateway_id}/sslCertificates/listener-cert"}
                ],
                httpListeners=[
                    {
                        "name": "https-listener",
                        "id": f"{gateway_id}/httpListeners/https-listener",
                        "properties": {
                            "protocol": "Https",
                            "requireServerNameIndication": False,
                        },
                    }
                ],
                enableHttp2=True,
            ),
        )
        self.estate.add_logged(row, [log_category("ApplicationGatewayAccessLog")])

    def _add_bastion(self) -> None:
        rg = "rg-nw-hub-network-eus"
        pip = self.public_ip(PLATFORM, rg, "pip-nw-bastion-eus", "eastus", "203.0.113.10")
        subnet = self.subnet_id(PLATFORM, rg, "vnet-nw-hub-eus", "AzureBastionSubnet")
        bastion = resource_id(PLATFORM, rg, "Microsoft.Network/bastionHosts", "bas-nw-hub-eus")
        row = arg_row(
            PLATFORM,
            rg,
            "Microsoft.Network/bastionHosts",
            "bas-nw-hub-eus",
            "eastus",
            _provisioned(
                dnsName=f"bst-{hexid(bastion, 8)}-{hexid(bastion + 'x', 4)}.bastion.azure.com",
                scaleUnits=2,
                disableCopyPaste=False,
                enableTunneling=True,
                enableIpConnect=False,
                enableShareableLink=False,
                enableKerberos=False,
                ipConfigurations=[
                    {
                        "name": "IpConf",
                        "id": f"{bastion}/bastionHostIpConfigurations/IpConf",
                        "properties": {
                            "provisioningState": "Succeeded",
                            "privateIPAllocationMethod": "Dynamic",
                            "publicIPAddress": {"id": pip},
                            "subnet": {"id": subnet},
                        },
                    }
                ],
            ),
            sku={"name": "Standard"},
        )
        self._link_public_ip(pip, f"{bastion}/bastionHostIpConfigurations/IpConf")
        self.estate.add(row)

    # -- helpers other areas use ------------------------------------------------------------------

    def public_ip(self, sub: Subscription, rg: str, name: str, location: str, address: str) -> str:
        """Add a Standard static public IP (documentation-range address); return its id."""
        row = arg_row(
            sub,
            rg,
            "Microsoft.Network/publicIPAddresses",
            name,
            location,
            _provisioned(
                resourceGuid=guid(f"pip:{sub.key}:{name}"),
                ipAddress=address,
                publicIPAddressVersion="IPv4",
                publicIPAllocationMethod="Static",
                idleTimeoutInMinutes=4,
                ipTags=[],
                ddosSettings={"protectionMode": "VirtualNetworkInherited"},
            ),
            sku={"name": "Standard", "tier": "Regional"},
            zones=["1", "2", "3"],
        )
        return self.estate.add(row)

    def _link_public_ip(self, pip_id: str, ip_configuration_id: str) -> None:
        for row in self.estate.resources:
            if row["id"] == pip_id:
                row["properties"]["ipConfiguration"] = {"id": ip_configuration_id}
                return
        raise KeyError(pip_id)

    def nic(
        self,
        sub: Subscription,
        rg: str,
        name: str,
        location: str,
        subnet_id: str,
        *,
        vm_id: str | None = None,
        public_ip: str | None = None,
        nsg_id: str | None = None,
        private_endpoint: str | None = None,
        accelerated: bool = True,
    ) -> str:
        """Add a network interface; return its id."""
        nic_id = resource_id(sub, rg, "Microsoft.Network/networkInterfaces", name)
        ipconfig_name = "privateEndpointIpConfig" if private_endpoint else "ipconfig1"
        ipconfig_id = f"{nic_id}/ipConfigurations/{ipconfig_name}"
        ip_props = _provisioned(
            privateIPAddress=self.private_ip(subnet_id),
            privateIPAllocationMethod="Dynamic" if private_endpoint else "Static",
            subnet={"id": subnet_id},
            primary=True,
            privateIPAddressVersion="IPv4",
        )
        if public_ip is not None:
            ip_props["publicIPAddress"] = {"id": public_ip}
            self._link_public_ip(public_ip, ipconfig_id)
        mac = hexid(nic_id, 12).upper()
        props = _provisioned(
            resourceGuid=guid(f"nic:{nic_id}"),
            ipConfigurations=[
                {
                    "name": ipconfig_name,
                    "id": ipconfig_id,
                    "type": "Microsoft.Network/networkInterfaces/ipConfigurations",
                    "properties": ip_props,
                }
            ],
            dnsSettings={"dnsServers": [], "appliedDnsServers": []},
            macAddress="-".join(mac[i : i + 2] for i in range(0, 12, 2)),
            vnetEncryptionSupported=False,
            enableIPForwarding=False,
            enableAcceleratedNetworking=accelerated,
            disableTcpStateTracking=False,
            primary=True,
            hostedWorkloads=[],
            tapConfigurations=[],
            nicType="Standard",
            auxiliaryMode="None",
            auxiliarySku="None",
        )
        if vm_id is not None:
            props["virtualMachine"] = {"id": vm_id}
        if private_endpoint is not None:
            props["privateEndpoint"] = {"id": private_endpoint}
        if nsg_id is not None:
            props["networkSecurityGroup"] = {"id": nsg_id}
            self._nsgs[nsg_id]["properties"]["networkInterfaces"].append({"id": nic_id})
        return self.estate.add(
            arg_row(sub, rg, "Microsoft.Network/networkInterfaces", name, location, props)
        )

    def private_endpoint(self, target: Doc, group: str, target_type: str) -> None:
        """Give `target` (a resource row in a PHI spoke) an approved private endpoint.

        Adds the endpoint and its NIC to the inventory and the approved connection to the
        target's `privateEndpointConnections`, as ARM reports both sides.
        """
        sub = next(s for s in SUBSCRIPTIONS if s.subscription_id == target["subscriptionId"])
        rg_net, vnet, subnet = PE_SUBNETS[sub.key]
        location = str(target["location"])
        subnet_id = self.subnet_id(sub, rg_net, vnet, subnet)
        name = f"pe-{target['name']}-{group.lower()}"
        pe_id = resource_id(
            sub, target["resourceGroup"], "Microsoft.Network/privateEndpoints", name
        )
        nic_id = self.nic(
            sub,
            str(target["resourceGroup"]),
            f"{name}.nic.{guid(pe_id)}",
            location,
            subnet_id,
            private_endpoint=pe_id,
            accelerated=False,
        )
        suffix = _PE_DNS_SUFFIX.get(group, "privatelink.azure.net")
        row = arg_row(
            sub,
            str(target["resourceGroup"]),
            "Microsoft.Network/privateEndpoints",
            name,
            location,
            _provisioned(
                resourceGuid=guid(f"pe:{pe_id}"),
                privateLinkServiceConnections=[
                    {
                        "name": name,
                        "id": f"{pe_id}/privateLinkServiceConnections/{name}",
                        "properties": _provisioned(
                            privateLinkServiceId=target["id"],
                            groupIds=[group],
                            privateLinkServiceConnectionState={
                                "status": "Approved",
                                "description": "Auto-Approved",
                                "actionsRequired": "None",
                            },
                        ),
                    }
                ],
                manualPrivateLinkServiceConnections=[],
                subnet={"id": subnet_id},
                ipConfigurations=[],
                networkInterfaces=[{"id": nic_id}],
                customDnsConfigs=[{"fqdn": f"{target['name']}.{suffix}", "ipAddresses": []}],
                customNetworkInterfaceName="",
            ),
        )
        self.estate.add(row)
        props = target["properties"]
        props.setdefault("privateEndpointConnections", []).append(
            private_endpoint_connection(str(target["id"]), target_type, pe_id, group)
        )
