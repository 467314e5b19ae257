"""Demo platform services: messaging, containers, AI, managed identities and non-BAA services.

Cognitive Services rows follow Microsoft's `Accounts_List` example; the others follow the ARM
bodies of their providers, with the properties the checks read.

The story: the HL7 feed runs through an Event Hub namespace with Entra-only auth, but the orders
Service Bus namespace still issues SAS keys to the legacy interface engine. The portal runs on a
private AKS cluster pulling from a private registry. Dev runs a quick-start AKS cluster (public
API server open to any address, no Entra ID integration, local accounts on) and has a public
registry with the admin user on and an Azure OpenAI account open to the internet, plus a Datadog
monitor and a Marketplace SaaS DICOM viewer trial: services that Microsoft's HIPAA BAA does not
cover.
"""

from __future__ import annotations

from dataclasses import dataclass

from azaudit.demo.arm import (
    Doc,
    Estate,
    arg_row,
    log_group,
    resource_id,
    system_identity,
)
from azaudit.demo.network import Network
from azaudit.demo.org import (
    CLINICAL,
    DEV,
    DOMAIN,
    PORTAL,
    SECURITY_WORKSPACE_ID,
    TENANT_ID,
    Subscription,
    days_ago,
    guid,
    hexid,
)

# -- Event Hubs and Service Bus -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class NamespaceSpec:
    """An Event Hubs or Service Bus namespace."""

    sub: Subscription
    rg: str
    name: str
    location: str
    rtype: str
    sku: str
    tls: str = "1.2"
    local_auth_disabled: bool = True
    public_network: str = "Disabled"
    diagnostics: bool = True


EVENT_HUB = "Microsoft.EventHub/namespaces"
SERVICE_BUS = "Microsoft.ServiceBus/namespaces"

NAMESPACES: tuple[NamespaceSpec, ...] = (
    NamespaceSpec(
        CLINICAL, "rg-clinical-integration-eus", "evhns-nw-hl7-eus", "eastus", EVENT_HUB, "Standard"
    ),
    NamespaceSpec(
        CLINICAL,
        "rg-clinical-integration-eus",
        "sbns-nw-orders-eus",
        "eastus",
        SERVICE_BUS,
        "Premium",
        local_auth_disabled=False,
        diagnostics=False,
    ),
    NamespaceSpec(
        PORTAL, "rg-portal-app-eus2", "sbns-nw-portal-notify", "eastus2", SERVICE_BUS, "Premium"
    ),
    NamespaceSpec(
        DEV,
        "rg-dev-analytics-eus",
        "evhns-nw-dev-telemetry",
        "eastus",
        EVENT_HUB,
        "Basic",
        tls="1.0",
        local_auth_disabled=False,
        public_network="Enabled",
        diagnostics=False,
    ),
)


def _add_namespace(estate: Estate, network: Network, spec: NamespaceSpec) -> None:
    props: Doc = {
        "minimumTlsVersion": spec.tls,
        "publicNetworkAccess": spec.public_network,
        "disableLocalAuth": spec.local_auth_disabled,
        "zoneRedundant": spec.sku != "Basic",
        "privateEndpointConnections": [],
        "provisioningState": "Succeeded",
        "status": "Active",
        "createdAt": days_ago(800, fraction=True),
        "updatedAt": days_ago(30, fraction=True),
        "serviceBusEndpoint": f"https://{spec.name}.servicebus.windows.net:443/",
        "metricId": f"{spec.sub.subscription_id}:{spec.name}",
    }
    if spec.rtype == EVENT_HUB:
        props.update(
            isAutoInflateEnabled=False, maximumThroughputUnits=0, kafkaEnabled=spec.sku != "Basic"
        )
    else:
        props["premiumMessagingPartitions"] = 1
    row = arg_row(
        spec.sub,
        spec.rg,
        spec.rtype,
        spec.name,
        spec.location,
        props,
        sku={"name": spec.sku, "tier": spec.sku, "capacity": 1},
        identity=system_identity(spec.name),
    )
    if spec.public_network == "Disabled":
        network.private_endpoint(row, "namespace", spec.rtype)
    estate.add_logged(row, [log_group("allLogs")], enabled=spec.diagnostics)


# -- containers ------------------------------------------------------------------------------------

AKS = "Microsoft.ContainerService/managedClusters"
ACR = "Microsoft.ContainerRegistry/registries"


def _add_registry(
    estate: Estate,
    network: Network,
    sub: Subscription,
    rg: str,
    name: str,
    location: str,
    *,
    hardened: bool,
) -> None:
    row = arg_row(
        sub,
        rg,
        ACR,
        name,
        location,
        {
            "loginServer": f"{name}.azurecr.io",
            "creationDate": days_ago(500, fraction=True),
            "provisioningState": "Succeeded",
            "adminUserEnabled": not hardened,
            "networkRuleSet": {"defaultAction": "Deny" if hardened else "Allow", "ipRules": []},
            "policies": {
                "quarantinePolicy": {"status": "disabled"},
                "trustPolicy": {"type": "Notary", "status": "disabled"},
                "retentionPolicy": {
                    "days": 7,
                    "lastUpdatedTime": days_ago(500, fraction=True),
                    "status": "disabled",
                },
                "exportPolicy": {"status": "disabled" if hardened else "enabled"},
                "azureADAuthenticationAsArmPolicy": {"status": "enabled"},
                "softDeletePolicy": {
                    "retentionDays": 7,
                    "lastUpdatedTime": days_ago(500, fraction=True),
                    "status": "disabled",
                },
            },
            "encryption": {"status": "disabled"},
            "dataEndpointEnabled": False,
            "dataEndpointHostNames": [],
            "privateEndpointConnections": [],
            "publicNetworkAccess": "Disabled" if hardened else "Enabled",
            "networkRuleBypassOptions": "AzureServices",
            "zoneRedundancy": "Enabled" if hardened else "Disabled",
            "anonymousPullEnabled": False,
        },
        sku={
            "name": "Premium" if hardened else "Basic",
            "tier": "Premium" if hardened else "Basic",
        },
    )
    if hardened:
        network.private_endpoint(row, "registry", ACR)
    estate.add_logged(row, [log_group("audit")], enabled=hardened)


def _add_aks(estate: Estate, network: Network) -> None:
    sub, rg, name, location = PORTAL, "rg-portal-aks-eus2", "aks-nw-portal-eus2", "eastus2"
    node_rg = f"MC_{rg}_{name}_{location}"
    aks_id = resource_id(sub, rg, AKS, name)
    subnet = network.subnet_id(
        sub, "rg-portal-network-eus2", "vnet-nw-portal-eus2", "snet-aks-nodes"
    )
    kubelet = resource_id(
        sub, node_rg, "Microsoft.ManagedIdentity/userAssignedIdentities", f"{name}-agentpool"
    )
    pools: list[Doc] = []
    for pool, mode, count, size in (
        ("system", "System", 3, "Standard_D4ds_v5"),
        ("user", "User", 4, "Standard_D8ds_v5"),
    ):
        pools.append(
            {
                "name": pool,
                "count": count,
                "vmSize": size,
                "osDiskSizeGB": 128,
                "osDiskType": "Ephemeral",
                "kubeletDiskType": "OS",
                "vnetSubnetID": subnet,
                "maxPods": 50,
                "type": "VirtualMachineScaleSets",
                "availabilityZones": ["1", "2", "3"],
                "enableAutoScaling": True,
                "minCount": count,
                "maxCount": count * 3,
                "provisioningState": "Succeeded",
                "powerState": {"code": "Running"},
                "orchestratorVersion": "1.30.5",
                "currentOrchestratorVersion": "1.30.5",
                "enableNodePublicIP": False,
                "mode": mode,
                "enableEncryptionAtHost": True,
                "osType": "Linux",
                "osSKU": "AzureLinux",
                "enableFIPS": False,
            }
        )
    props: Doc = {
        "provisioningState": "Succeeded",
        "powerState": {"code": "Running"},
        "kubernetesVersion": "1.30.5",
        "currentKubernetesVersion": "1.30.5",
        "dnsPrefix": name,
        "fqdnSubdomain": None,
        "privateFQDN": f"{name}-{hexid(aks_id, 8)}.{guid(aks_id)}.privatelink.{location}.azmk8s.io",
        "azurePortalFQDN": f"{name}-{hexid(aks_id, 8)}.portal.hcp.{location}.azmk8s.io",
        "agentPoolProfiles": pools,
        "servicePrincipalProfile": {"clientId": "msi"},
        "addonProfiles": {
            "azurepolicy": {"enabled": True, "config": None},
            "omsagent": {
                "enabled": True,
                "config": {
                    "logAnalyticsWorkspaceResourceID": SECURITY_WORKSPACE_ID,
                    "useAADAuth": "true",
                },
            },
            "azureKeyvaultSecretsProvider": {
                "enabled": True,
                "config": {"enableSecretRotation": "true"},
            },
        },
        "nodeResourceGroup": node_rg,
        "enableRBAC": True,
        "supportPlan": "KubernetesOfficial",
        "networkProfile": {
            "networkPlugin": "azure",
            "networkPluginMode": "overlay",
            "networkPolicy": "cilium",
            "networkDataplane": "cilium",
            "loadBalancerSku": "standard",
            "podCidr": "192.168.0.0/16",
            "serviceCidr": "172.16.0.0/16",
            "dnsServiceIP": "172.16.0.10",
            "outboundType": "loadBalancer",
        },
        "aadProfile": {
            "managed": True,
            "enableAzureRBAC": True,
            "tenantID": TENANT_ID,
            "adminGroupObjectIDs": [guid("group:sg-nw-aks-admins")],
        },
        "apiServerAccessProfile": {
            "enablePrivateCluster": True,
            "enablePrivateClusterPublicFQDN": False,
        },
        "identityProfile": {
            "kubeletidentity": {
                "resourceId": kubelet,
                "clientId": guid(f"client:{kubelet}"),
                "objectId": guid(f"object:{kubelet}"),
            }
        },
        "disableLocalAccounts": True,
        "securityProfile": {
            "defender": {
                "logAnalyticsWorkspaceResourceId": SECURITY_WORKSPACE_ID,
                "securityMonitoring": {"enabled": True},
            },
            "workloadIdentity": {"enabled": True},
            "imageCleaner": {"enabled": True, "intervalHours": 168},
        },
        "oidcIssuerProfile": {
            "enabled": True,
            "issuerURL": (
                f"https://{location}.oic.prod-aks.azure.com/{TENANT_ID}/{guid(aks_id + 'oidc')}/"
            ),
        },
        "storageProfile": {"diskCSIDriver": {"enabled": True}, "fileCSIDriver": {"enabled": True}},
        "autoUpgradeProfile": {"upgradeChannel": "patch", "nodeOSUpgradeChannel": "NodeImage"},
        "maxAgentPools": 100,
    }
    row = arg_row(
        sub,
        rg,
        AKS,
        name,
        location,
        props,
        sku={"name": "Base", "tier": "Standard"},
        identity=system_identity(name),
    )
    estate.add_logged(row, [log_group("audit")])

    # The node resource group AKS manages (what Resource Graph lists next to the cluster).
    node_tags = {"aks-managed-cluster-name": name, "aks-managed-cluster-rg": rg}
    estate.add(
        arg_row(
            sub,
            node_rg,
            "Microsoft.ManagedIdentity/userAssignedIdentities",
            f"{name}-agentpool",
            location,
            {
                "tenantId": TENANT_ID,
                "principalId": guid(f"object:{kubelet}"),
                "clientId": guid(f"client:{kubelet}"),
            },
            tags=node_tags,
        )
    )
    nsg_rules = (("k8s-azure-lb_allow_IPv4_443", 500, "443", "Internet"),)
    nsg_id = resource_id(
        sub,
        node_rg,
        "Microsoft.Network/networkSecurityGroups",
        f"aks-agentpool-{hexid(aks_id, 8)}-nsg",
    )
    estate.add(
        arg_row(
            sub,
            node_rg,
            "Microsoft.Network/networkSecurityGroups",
            nsg_id.rsplit("/", 1)[1],
            location,
            {
                "provisioningState": "Succeeded",
                "resourceGuid": guid(f"nsg:{nsg_id}"),
                "securityRules": [
                    {
                        "name": rule,
                        "id": f"{nsg_id}/securityRules/{rule}",
                        "type": "Microsoft.Network/networkSecurityGroups/securityRules",
                        "properties": {
                            "provisioningState": "Succeeded",
                            "protocol": "Tcp",
                            "sourcePortRange": "*",
                            "destinationPortRange": port,
                            "sourceAddressPrefix": source,
                            "destinationAddressPrefix": "203.0.113.90",
                            "access": "Allow",
                            "priority": priority,
                            "direction": "Inbound",
                            "sourcePortRanges": [],
                            "destinationPortRanges": [],
                            "sourceAddressPrefixes": [],
                            "destinationAddressPrefixes": [],
                        },
                    }
                    for rule, priority, port, source in nsg_rules
                ],
                "defaultSecurityRules": [],
                "subnets": [],
                "networkInterfaces": [],
            },
            tags=node_tags,
        )
    )
    pip = network.public_ip(
        sub, node_rg, f"kubernetes-{hexid(aks_id + 'lb', 32)}", location, "203.0.113.90"
    )
    lb_id = resource_id(sub, node_rg, "Microsoft.Network/loadBalancers", "kubernetes")
    estate.add(
        arg_row(
            sub,
            node_rg,
            "Microsoft.Network/loadBalancers",
            "kubernetes",
            location,
            {
                "provisioningState": "Succeeded",
                "resourceGuid": guid(f"lb:{lb_id}"),
                "frontendIPConfigurations": [
                    {
                        "name": hexid(aks_id + "lb", 32),
                        "id": f"{lb_id}/frontendIPConfigurations/{hexid(aks_id + 'lb', 32)}",
                        "properties": {
                            "provisioningState": "Succeeded",
                            "privateIPAllocationMethod": "Dynamic",
                            "publicIPAddress": {"id": pip},
                        },
                    }
                ],
                "backendAddressPools": [
                    {"name": "kubernetes", "id": f"{lb_id}/backendAddressPools/kubernetes"}
                ],
                "loadBalancingRules": [],
                "probes": [],
                "inboundNatRules": [],
                "outboundRules": [],
            },
            sku={"name": "Standard", "tier": "Regional"},
            tags=node_tags,
        )
    )
    for profile in pools:
        suffix = int(hexid(aks_id + str(profile["name"]), 8), 16) % 10**8
        vmss = f"aks-{profile['name']}-{suffix:08d}-vmss"
        estate.add(
            arg_row(
                sub,
                node_rg,
                "Microsoft.Compute/virtualMachineScaleSets",
                vmss,
                location,
                {
                    "singlePlacementGroup": False,
                    "orchestrationMode": "Uniform",
                    "upgradePolicy": {"mode": "Manual"},
                    "virtualMachineProfile": {
                        "storageProfile": {
                            "osDisk": {
                                "osType": "Linux",
                                "createOption": "FromImage",
                                "caching": "ReadOnly",
                                "diffDiskSettings": {"option": "Local", "placement": "CacheDisk"},
                                "managedDisk": {"storageAccountType": "Standard_LRS"},
                                "diskSizeGB": 128,
                            },
                        },
                        "securityProfile": {"encryptionAtHost": True},
                    },
                    "provisioningState": "Succeeded",
                    "overprovision": False,
                    "uniqueId": guid(f"vmss:{vmss}"),
                    "platformFaultDomainCount": 1,
                    "timeCreated": days_ago(120, fraction=True),
                },
                sku={"name": profile["vmSize"], "tier": "Standard", "capacity": profile["count"]},
                tags={**node_tags, "aks-managed-poolName": str(profile["name"])},
                zones=["1", "2", "3"],
                identity={
                    "type": "UserAssigned",
                    "userAssignedIdentities": {
                        kubelet: {
                            "principalId": guid(f"object:{kubelet}"),
                            "clientId": guid(f"client:{kubelet}"),
                        }
                    },
                },
            )
        )


def _add_dev_aks(estate: Estate) -> None:
    """A cluster created with `az aks create` defaults and no hardening (Microsoft's
    `ManagedClustersGet` example shape): Kubernetes RBAC on, nothing else."""
    sub, rg, name, location = DEV, "rg-dev-analytics-eus", "aks-nw-dev-sandbox", "eastus"
    aks_id = resource_id(sub, rg, AKS, name)
    props: Doc = {
        "provisioningState": "Succeeded",
        "powerState": {"code": "Running"},
        "kubernetesVersion": "1.30.5",
        "currentKubernetesVersion": "1.30.5",
        "dnsPrefix": name,
        "fqdn": f"{name}-{hexid(aks_id, 8)}.hcp.{location}.azmk8s.io",
        "azurePortalFQDN": f"{name}-{hexid(aks_id, 8)}.portal.hcp.{location}.azmk8s.io",
        "agentPoolProfiles": [
            {
                "name": "nodepool1",
                "count": 2,
                "vmSize": "Standard_D2s_v5",
                "osDiskSizeGB": 128,
                "osDiskType": "Managed",
                "maxPods": 110,
                "type": "VirtualMachineScaleSets",
                "provisioningState": "Succeeded",
                "powerState": {"code": "Running"},
                "orchestratorVersion": "1.30.5",
                "enableNodePublicIP": False,
                "mode": "System",
                "osType": "Linux",
                "osSKU": "Ubuntu",
            }
        ],
        "servicePrincipalProfile": {"clientId": "msi"},
        "addonProfiles": {},
        "nodeResourceGroup": f"MC_{rg}_{name}_{location}",
        "enableRBAC": True,
        "supportPlan": "KubernetesOfficial",
        "networkProfile": {
            "networkPlugin": "kubenet",
            "loadBalancerSku": "standard",
            "podCidr": "10.244.0.0/16",
            "serviceCidr": "10.0.0.0/16",
            "dnsServiceIP": "10.0.0.10",
            "outboundType": "loadBalancer",
        },
        "disableLocalAccounts": False,
        "maxAgentPools": 100,
    }
    row = arg_row(
        sub,
        rg,
        AKS,
        name,
        location,
        props,
        sku={"name": "Base", "tier": "Free"},
        identity=system_identity(name),
    )
    estate.add_logged(row, [], enabled=False)


# -- AI and analytics ------------------------------------------------------------------------------

COGNITIVE = "Microsoft.CognitiveServices/accounts"


def _add_cognitive(
    estate: Estate,
    network: Network,
    sub: Subscription,
    rg: str,
    name: str,
    location: str,
    kind: str,
    *,
    hardened: bool,
) -> None:
    row = arg_row(
        sub,
        rg,
        COGNITIVE,
        name,
        location,
        {
            "endpoint": f"https://{name}.cognitiveservices.azure.com/",
            "provisioningState": "Succeeded",
            "customSubDomainName": name,
            "publicNetworkAccess": "Disabled" if hardened else "Enabled",
            "disableLocalAuth": hardened,
            "networkAcls": {
                "defaultAction": "Deny" if hardened else "Allow",
                "ipRules": [],
                "virtualNetworkRules": [],
            },
            "privateEndpointConnections": [],
            "restrictOutboundNetworkAccess": hardened,
            "dateCreated": days_ago(300, fraction=True),
        },
        kind=kind,
        sku={"name": "S" if kind == "TextAnalytics" else "S0"},
        identity=system_identity(name),
    )
    if hardened:
        network.private_endpoint(row, "account", COGNITIVE)
    estate.add_logged(row, [log_group("audit")], enabled=hardened)


def _add_ml_workspace(estate: Estate) -> None:
    sub, rg, name = DEV, "rg-dev-analytics-eus", "mlw-nw-dev-research"
    estate.add(
        arg_row(
            sub,
            rg,
            "Microsoft.MachineLearningServices/workspaces",
            name,
            "eastus",
            {
                "friendlyName": name,
                "storageAccount": resource_id(
                    sub, rg, "Microsoft.Storage/storageAccounts", "stnwdevmlws"
                ),
                "keyVault": resource_id(
                    sub, "rg-dev-analytics-eus", "Microsoft.KeyVault/vaults", "kv-nw-dev-eus"
                ),
                "applicationInsights": None,
                "hbiWorkspace": False,
                "publicNetworkAccess": "Enabled",
                "v1LegacyMode": False,
                "provisioningState": "Succeeded",
                "workspaceId": guid(f"mlw:{name}"),
                "discoveryUrl": "https://eastus.api.azureml.ms/discovery",
            },
            kind="Default",
            sku={"name": "Basic", "tier": "Basic"},
            identity=system_identity(name),
        )
    )


# -- services outside the BAA ----------------------------------------------------------------------


def _add_non_baa(estate: Estate) -> None:
    estate.add(
        arg_row(
            DEV,
            "rg-dev-observability",
            "Microsoft.Datadog/monitors",
            "dd-nw-dev-observability",
            "eastus2",
            {
                "provisioningState": "Succeeded",
                "monitoringStatus": "Enabled",
                "marketplaceSubscriptionStatus": "Active",
                "datadogOrganizationProperties": {
                    "name": "northwind-dev-analytics",
                    "id": hexid("datadog-org", 16),
                },
                "liftrResourceCategory": "MonitorLogs",
                "liftrResourcePreference": 1,
            },
            sku={"name": "payg_v2_Monthly"},
            identity=system_identity("dd-nw-dev-observability"),
        )
    )
    estate.add(
        arg_row(
            DEV,
            "rg-dev-imaging-trial",
            "Microsoft.SaaS/resources",
            "nw-dicom-viewer-trial",
            "global",
            {
                "saasResourceName": "nw-dicom-viewer-trial",
                "publisherId": "contoso-imaging",
                "offerId": "dicom-viewer-cloud",
                "skuId": "trial-30d",
                "saasSubscriptionStatus": "Subscribed",
                "created": days_ago(25, fraction=True),
                "isFreeTrial": True,
                "autoRenew": False,
                "paymentChannelType": "SubscriptionDelegated",
                "fulfillmentId": guid("saas:nw-dicom-viewer-trial"),
                "storeFront": "AzurePortal",
                "saaSResourceUri": f"https://viewer.contoso-imaging.example/landing?tenant={DOMAIN}",
            },
            plan={
                "name": "trial-30d",
                "publisher": "contoso-imaging",
                "product": "dicom-viewer-cloud",
                "promotionCode": None,
                "version": None,
            },
        )
    )


def build(estate: Estate, network: Network) -> None:
    """Add messaging, containers, AI, ML and the non-BAA services."""
    for ns in NAMESPACES:
        _add_namespace(estate, network, ns)
    _add_registry(
        estate, network, PORTAL, "rg-portal-aks-eus2", "acrnwportal", "eastus2", hardened=True
    )
    _add_registry(
        estate, network, DEV, "rg-dev-analytics-eus", "acrnwdev", "eastus", hardened=False
    )
    _add_aks(estate, network)
    _add_dev_aks(estate)
    _add_cognitive(
        estate,
        network,
        CLINICAL,
        "rg-clinical-ai-eus",
        "cog-nw-clinical-language",
        "eastus",
        "TextAnalytics",
        hardened=True,
    )
    _add_cognitive(
        estate,
        network,
        DEV,
        "rg-dev-analytics-eus",
        "oai-nw-dev-research",
        "eastus",
        "OpenAI",
        hardened=False,
    )
    _add_ml_workspace(estate)
    _add_non_baa(estate)
