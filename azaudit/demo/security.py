"""Demo Key Vaults, Defender for Cloud plans and contacts, and Azure Policy assignments.

Shapes follow Microsoft's `Vaults_Get` / `Vaults_ListBySubscription`, `Pricings_List`,
`SecurityContacts_List`, `Settings_List`, `Assessments_List`, `AssessmentsMetadata_List`,
`JitNetworkAccessPolicies_List` and `PolicyAssignments_List` examples.

The story: platform and production vaults use the RBAC model with purge protection and private
access, and log `AuditEvent`. The EHR team's legacy vault still uses access policies, has no purge
protection, is public and sends no logs. Defender is fully on in platform and clinical; the portal
never enabled the open-source database and Cosmos DB plans although it runs both; dev runs on the
free tier; the portal's Defender for Storage is still the classic per-transaction plan, which scans
no uploads for malware. The HITRUST/HIPAA initiative and a US-only "Allowed locations" policy are
assigned on the production management group; the dev subscription's "Allowed locations" lists
European regions for a research collaboration, and the platform subscription has no HIPAA
assignment.
"""

from __future__ import annotations

from dataclasses import dataclass

from azaudit.demo import compute
from azaudit.demo.arm import (
    Doc,
    Estate,
    arg_row,
    arm_list,
    log_category,
    log_group,
    resource_id,
)
from azaudit.demo.network import Network
from azaudit.demo.org import (
    CLINICAL,
    DEV,
    DOMAIN,
    PLATFORM,
    PORTAL,
    PRODUCTION_MANAGEMENT_GROUP,
    SUBSCRIPTIONS,
    TENANT_ID,
    Subscription,
    days_ago,
    guid,
)
from azaudit.demo.vault_objects import vault_keys, vault_secrets

KEY_VAULT = "Microsoft.KeyVault/vaults"

HIPAA_HITRUST_INITIATIVE = (
    "/providers/Microsoft.Authorization/policySetDefinitions/a169a624-5599-4385-a696-c8d643089fab"
)
MCSB_INITIATIVE = (
    "/providers/Microsoft.Authorization/policySetDefinitions/1f3afdf9-d0c9-4c3d-847f-89da613e70a8"
)
ALLOWED_LOCATIONS = (
    "/providers/Microsoft.Authorization/policyDefinitions/e56962a6-4747-49cd-b67b-bf8b01975c4c"
)
US_REGIONS = ["eastus", "eastus2", "centralus", "westus", "westus2", "westus3"]


# -- Key Vault -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class VaultSpec:
    """A Key Vault; defaults are the hardened baseline."""

    sub: Subscription
    rg: str
    name: str
    location: str
    rbac: bool = True
    purge_protection: bool = True
    public_network: str = "Disabled"
    default_action: str | None = "Deny"
    private_endpoint: bool = True
    audit_logs: str | None = "AuditEvent"
    governed_objects: bool = True


VAULTS: tuple[VaultSpec, ...] = (
    VaultSpec(
        PLATFORM,
        "rg-nw-management-eus",
        "kv-nw-platform-eus",
        "eastus",
        private_endpoint=False,
        audit_logs="audit",
    ),
    VaultSpec(CLINICAL, "rg-clinical-security-eus", "kv-nw-clinical-eus", "eastus"),
    VaultSpec(
        CLINICAL,
        "rg-clinical-ehr-eus",
        "kv-nw-ehr-legacy",
        "eastus",
        rbac=False,
        purge_protection=False,
        public_network="Enabled",
        default_action=None,
        private_endpoint=False,
        audit_logs=None,
        governed_objects=False,
    ),
    VaultSpec(
        PORTAL,
        "rg-portal-security-eus2",
        "kv-nw-portal-eus2",
        "eastus2",
        public_network="Enabled",
        private_endpoint=True,
        audit_logs="allLogs",
    ),
    VaultSpec(
        DEV,
        "rg-dev-analytics-eus",
        "kv-nw-dev-eus",
        "eastus",
        rbac=False,
        purge_protection=False,
        public_network="Enabled",
        default_action="Allow",
        private_endpoint=False,
        audit_logs=None,
        governed_objects=False,
    ),
)

_ACCESS_POLICY_PERMISSIONS: Doc = {
    "keys": ["get", "list", "wrapKey", "unwrapKey"],
    "secrets": ["get", "list"],
    "certificates": ["get", "list"],
}


def _vault_row(spec: VaultSpec) -> Doc:
    props: Doc = {
        "sku": {"family": "A", "name": "premium" if spec.sub.phi else "standard"},
        "tenantId": TENANT_ID,
        "accessPolicies": (
            []
            if spec.rbac
            else [
                {
                    "tenantId": TENANT_ID,
                    "objectId": guid(f"msi:{owner}"),
                    "permissions": _ACCESS_POLICY_PERMISSIONS,
                }
                for owner in ("vm-ehr-app-01", "vm-ehr-app-02", "sbns-nw-orders-eus")
            ]
        ),
        "enabledForDeployment": False,
        "enabledForDiskEncryption": spec.name == "kv-nw-clinical-eus",
        "enabledForTemplateDeployment": False,
        "enableSoftDelete": True,
        "softDeleteRetentionInDays": 90,
        "enableRbacAuthorization": spec.rbac,
        "vaultUri": f"https://{spec.name}.vault.azure.net/",
        "provisioningState": "Succeeded",
        "publicNetworkAccess": spec.public_network,
        "privateEndpointConnections": [],
    }
    if spec.purge_protection:
        # ARM omits the property entirely until purge protection is switched on.
        props["enablePurgeProtection"] = True
    if spec.default_action is not None:
        props["networkAcls"] = {
            "bypass": "AzureServices",
            "defaultAction": spec.default_action,
            "ipRules": (
                [{"value": "198.51.100.0/24"}]
                if spec.public_network == "Enabled" and spec.sub.phi
                else []
            ),
            "virtualNetworkRules": [],
        }
    return arg_row(spec.sub, spec.rg, KEY_VAULT, spec.name, spec.location, props)


def _add_vault(estate: Estate, network: Network, spec: VaultSpec) -> None:
    row = _vault_row(spec)
    if spec.private_endpoint:
        network.private_endpoint(row, "vault", KEY_VAULT)
    logs = []
    if spec.audit_logs == "AuditEvent":
        logs = [
            log_category("AuditEvent"),
            log_category("AzurePolicyEvaluationDetails", enabled=False),
        ]
    elif spec.audit_logs is not None:
        logs = [log_group(spec.audit_logs)]
    vault_id = estate.add_logged(row, logs, enabled=bool(logs))
    governed = spec.governed_objects
    estate.doc(vault_id, "keys", vault_keys(vault_id, spec.name, spec.location, governed=governed))
    estate.doc(vault_id, "secrets", vault_secrets(vault_id, spec.location, governed=governed))


# -- Defender for Cloud ----------------------------------------------------------------------------

_PLANS = (
    "VirtualMachines",
    "SqlServers",
    "AppServices",
    "StorageAccounts",
    "SqlServerVirtualMachines",
    "KubernetesService",
    "ContainerRegistry",
    "KeyVaults",
    "Arm",
    "OpenSourceRelationalDatabases",
    "Containers",
    "CloudPosture",
    "CosmosDbs",
    "Api",
)
_DEPRECATED = {"KubernetesService": ["Containers"], "ContainerRegistry": ["Containers"]}
_SUB_PLANS = {"VirtualMachines": "P2", "StorageAccounts": "DefenderForStorageV2", "Api": "P1"}

_FREE_PLANS: dict[str, frozenset[str]] = {
    PLATFORM.key: frozenset({"Api"}),
    CLINICAL.key: frozenset({"Api"}),
    PORTAL.key: frozenset({"Api", "OpenSourceRelationalDatabases", "CosmosDbs"}),
    DEV.key: frozenset(_PLANS),
}
"""Plans left on the Free tier, by subscription (deprecated plans are always Free)."""


def _pricing(sub: Subscription, plan: str) -> Doc:
    free = plan in _FREE_PLANS[sub.key] or plan in _DEPRECATED
    props: Doc = {
        "pricingTier": "Free" if free else "Standard",
        "freeTrialRemainingTime": "PT0S",
        "enforce": "False",
        "resourcesCoverageStatus": "NotCovered" if free else "FullyCovered",
    }
    if not free:
        props["enablementTime"] = days_ago(540, fraction=True)
        if plan in _SUB_PLANS:
            props["subPlan"] = _SUB_PLANS[plan]
        if plan == "StorageAccounts" and sub is PORTAL:
            # Enabled years ago and never moved off the classic per-transaction plan.
            props["subPlan"] = "PerTransaction"
        elif plan == "StorageAccounts":
            props["extensions"] = [
                {
                    "name": "OnUploadMalwareScanning",
                    "isEnabled": "True",
                    "additionalExtensionProperties": {"capGBPerMonthPerStorageAccount": 5000},
                },
                {"name": "SensitiveDataDiscovery", "isEnabled": "True"},
            ]
        if plan == "VirtualMachines":
            props["extensions"] = [{"name": "AgentlessVmScanning", "isEnabled": "True"}]
    if plan in _DEPRECATED:
        props["deprecated"] = True
        props["replacedBy"] = _DEPRECATED[plan]
    return {
        "id": f"{sub.scope}/providers/Microsoft.Security/pricings/{plan}",
        "name": plan,
        "type": "Microsoft.Security/pricings",
        "properties": props,
    }


def _security_contacts(sub: Subscription) -> Doc:
    if sub is DEV:
        props: Doc = {
            "notificationsByRole": {"state": "Off", "roles": []},
            "isEnabled": False,
            "emails": "",
            "phone": "",
            "notificationsSources": [],
        }
    else:
        props = {
            "notificationsByRole": {"state": "On", "roles": ["Owner", "ServiceAdmin"]},
            "isEnabled": True,
            "emails": f"secops@{DOMAIN};ciso-office@{DOMAIN}",
            "phone": "(555) 010-4477",
            "notificationsSources": [
                {"sourceType": "AttackPath", "minimalRiskLevel": "Critical"},
                {"sourceType": "Alert", "minimalSeverity": "Medium" if sub.phi else "High"},
            ],
        }
    return arm_list(
        [
            {
                "id": f"{sub.scope}/providers/Microsoft.Security/securityContacts/default",
                "name": "default",
                "type": "Microsoft.Security/securityContacts",
                "properties": props,
            }
        ]
    )


def _settings(sub: Subscription) -> Doc:
    """Defender settings (Settings_List example): the Defender for Endpoint integration is on
    except in dev; the portal subscription predates Linux support and still excludes Linux."""
    enabled = {
        "MCAS": sub is not DEV,
        "WDATP": sub is not DEV,
        "WDATP_EXCLUDE_LINUX_PUBLIC_PREVIEW": sub is PORTAL,
        "WDATP_UNIFIED_SOLUTION": sub is not DEV,
        "Sentinel": False,
    }
    return arm_list(
        [
            {
                "id": f"{sub.scope}/providers/Microsoft.Security/settings/{name}",
                "name": name,
                "kind": "AlertSyncSettings" if name == "Sentinel" else "DataExportSettings",
                "type": "Microsoft.Security/settings",
                "properties": {"enabled": on},
            }
            for name, on in enabled.items()
        ]
    )


VA_SOLUTION = "ffff0522-1e88-47fc-8382-2a80ba848f5d"
VULNERABILITIES = "1195afff-c881-495e-9bc5-1486211ae03f"
SYSTEM_UPDATES = "e1145ab1-eb4f-43d8-911b-36ddf771d13f"
EDR_INSTALLED = "06e3a6db-6c0c-4ad9-943f-31d9d73ecf6c"
EDR_CONFIGURATION = "dc5357d0-3858-4d17-a1a3-072840bff5be"
_ASSESSMENT_TYPES: dict[str, tuple[str, str]] = {
    VA_SOLUTION: ("Machines should have a vulnerability assessment solution", "Medium"),
    VULNERABILITIES: ("Machines should have vulnerability findings resolved", "High"),
    SYSTEM_UPDATES: (
        "System updates should be installed on your machines (powered by Azure Update Manager)",
        "Medium",
    ),
    EDR_INSTALLED: ("EDR solution should be installed on Virtual Machines", "High"),
    EDR_CONFIGURATION: ("EDR configuration issues should be resolved on virtual machines", "Low"),
}
_UNHEALTHY: dict[str, frozenset[str]] = {
    "vm-pacs-gw-01": frozenset({VULNERABILITIES, SYSTEM_UPDATES}),
    "vm-dev-ds-01": frozenset({SYSTEM_UPDATES, EDR_CONFIGURATION}),
    "vm-dev-jumpbox-01": frozenset({VA_SOLUTION}),
}
"""Recommendations left unhealthy: the vendor-built PACS gateway has unpatched, exploitable
software; the data science VM misses updates and its Defender for Endpoint signatures are out
of date; the jump box has no vulnerability scanner."""
_NOT_APPLICABLE: dict[str, frozenset[str]] = {
    "vm-pacs-gw-01": frozenset({EDR_CONFIGURATION}),
}
"""Recommendations Defender cannot judge: the PACS gateway runs its vendor's own EDR agent, whose
configuration only that vendor's console shows."""


def _status(vm_name: str, key: str) -> Doc:
    """The assessment status of one VM for one recommendation (AssessmentStatus shape)."""
    if key in _NOT_APPLICABLE.get(vm_name, frozenset()):
        return {
            "code": "NotApplicable",
            "description": "The installed EDR solution is not Microsoft Defender for Endpoint",
        }
    if key in _UNHEALTHY.get(vm_name, frozenset()):
        return {
            "code": "Unhealthy",
            "cause": "Unhealthy",
            "description": "The resource does not meet the recommendation",
        }
    return {"code": "Healthy"}


def _assessments(sub: Subscription) -> Doc:
    """Defender assessments of the subscription's VMs (Assessments_List example shape)."""
    items = []
    for vm in compute.VMS:
        if vm.sub is not sub:
            continue
        vm_id = resource_id(sub, vm.rg, compute.VM, vm.name)
        for key, (display, _) in _ASSESSMENT_TYPES.items():
            status = _status(vm.name, key)
            items.append(
                {
                    "id": f"{vm_id}/providers/Microsoft.Security/assessments/{key}",
                    "name": key,
                    "type": "Microsoft.Security/assessments",
                    "properties": {
                        "resourceDetails": {"source": "Azure", "id": vm_id},
                        "displayName": display,
                        "status": status,
                    },
                }
            )
    return arm_list(items)


def _assessment_metadata() -> Doc:
    """Assessment types (AssessmentsMetadata_ListBySubscription example shape)."""
    return arm_list(
        [
            {
                "id": f"/providers/Microsoft.Security/assessmentMetadata/{key}",
                "name": key,
                "type": "Microsoft.Security/assessmentMetadata",
                "properties": {
                    "displayName": display,
                    "severity": severity,
                    "categories": ["Compute"],
                    "userImpact": "Moderate",
                    "implementationEffort": "Moderate",
                    "assessmentType": "BuiltIn",
                },
            }
            for key, (display, severity) in _ASSESSMENT_TYPES.items()
        ]
    )


def _jit_policies(sub: Subscription) -> Doc:
    """Just-in-time policies (JitNetworkAccessPolicies_List example shape): only the dev jump
    box is covered; the PACS gateway's RDP stays exposed."""
    if sub is not DEV:
        return arm_list([])
    rg = "rg-dev-analytics-eus"
    vm_id = resource_id(DEV, rg, compute.VM, "vm-dev-jumpbox-01")
    port = {"protocol": "*", "allowedSourceAddressPrefix": "*", "maxRequestAccessDuration": "PT3H"}
    return arm_list(
        [
            {
                "id": (
                    f"{DEV.scope}/resourceGroups/{rg}/providers/Microsoft.Security/locations/"
                    "eastus/jitNetworkAccessPolicies/default"
                ),
                "name": "default",
                "type": "Microsoft.Security/locations/jitNetworkAccessPolicies",
                "kind": "Basic",
                "location": "eastus",
                "properties": {
                    "virtualMachines": [{"id": vm_id, "ports": [{"number": 22, **port}]}],
                    "requests": [],
                    "provisioningState": "Succeeded",
                },
            }
        ]
    )


# -- Azure Policy ----------------------------------------------------------------------------------


def _assignment(
    scope: str,
    name: str,
    display: str,
    definition: str,
    *,
    parameters: Doc | None = None,
    identity: bool = False,
    category: str = "Security Center",
) -> Doc:
    assignment: Doc = {
        "id": f"{scope}/providers/Microsoft.Authorization/policyAssignments/{name}",
        "type": "Microsoft.Authorization/policyAssignments",
        "name": name,
        "properties": {
            "displayName": display,
            "description": "",
            "metadata": {
                "category": category,
                "assignedBy": "Cloud Platform",
                "createdOn": days_ago(600, fraction=True),
            },
            "policyDefinitionId": definition,
            "definitionVersion": "1.*.*",
            "parameters": parameters or {},
            "scope": scope,
            "notScopes": [],
            "enforcementMode": "Default",
            "assignmentType": "Custom",
        },
    }
    if identity:
        assignment["location"] = "eastus"
        assignment["identity"] = {
            "type": "SystemAssigned",
            "principalId": guid(f"policy-msi:{scope}:{name}"),
            "tenantId": TENANT_ID,
        }
    return assignment


def _policy_assignments(sub: Subscription) -> Doc:
    items = [
        _assignment(
            sub.scope,
            "SecurityCenterBuiltIn",
            "ASC Default (subscription: " + sub.subscription_id + ")",
            MCSB_INITIATIVE,
        )
    ]
    if sub.phi:
        items.append(
            _assignment(
                PRODUCTION_MANAGEMENT_GROUP,
                "nw-hipaa-hitrust",
                "HITRUST/HIPAA - Northwind production",
                HIPAA_HITRUST_INITIATIVE,
                identity=True,
                category="Regulatory Compliance",
            )
        )
        items.append(
            _assignment(
                PRODUCTION_MANAGEMENT_GROUP,
                "nw-allowed-locations",
                "Allowed locations - US only",
                ALLOWED_LOCATIONS,
                parameters={"listOfAllowedLocations": {"value": US_REGIONS}},
                category="General",
            )
        )
    elif sub is PLATFORM:
        items.append(
            _assignment(
                sub.scope,
                "nw-allowed-locations",
                "Allowed locations - US only",
                ALLOWED_LOCATIONS,
                parameters={"listOfAllowedLocations": {"value": ["eastus", "eastus2", "westus2"]}},
                category="General",
            )
        )
    else:
        items.append(
            _assignment(
                sub.scope,
                "dev-allowed-locations",
                "Allowed locations - dev and EU research",
                ALLOWED_LOCATIONS,
                parameters={
                    "listOfAllowedLocations": {
                        "value": ["eastus", "eastus2", "westeurope", "northeurope"]
                    }
                },
                category="General",
            )
        )
    return arm_list(items)


def build(estate: Estate, network: Network) -> None:
    """Add Key Vaults and the per-subscription Defender and Policy documents."""
    compute.associate_node_pools(estate)
    for vault in VAULTS:
        _add_vault(estate, network, vault)
    for sub in SUBSCRIPTIONS:
        estate.doc(
            sub.scope,
            "providers/Microsoft.Security/pricings",
            arm_list([_pricing(sub, plan) for plan in _PLANS]),
        )
        estate.doc(
            sub.scope, "providers/Microsoft.Security/securityContacts", _security_contacts(sub)
        )
        estate.doc(sub.scope, "providers/Microsoft.Security/settings", _settings(sub))
        estate.doc(sub.scope, "providers/Microsoft.Security/assessments", _assessments(sub))
        estate.doc(
            sub.scope, "providers/Microsoft.Security/assessmentMetadata", _assessment_metadata()
        )
        estate.doc(
            sub.scope, "providers/Microsoft.Security/jitNetworkAccessPolicies", _jit_policies(sub)
        )
        estate.doc(
            sub.scope,
            "providers/Microsoft.Authorization/policyAssignments",
            _policy_assignments(sub),
        )


def key_vault_id(sub: Subscription, rg: str, name: str) -> str:
    """Id of a demo Key Vault."""
    return resource_id(sub, rg, KEY_VAULT, name)
