"""A synthetic tenant of any size for benchmarks: S subscriptions x R resources, deterministic.

Resources come in the bundles real estates are made of (a VM with its disks and NIC, a SQL
server with databases, an App Service plan with sites, ...) drawn with fixed weights from a
seeded generator, so the same arguments always give the same snapshot. Every detail document a
live collection reads (`azaudit/sources.py`) is present: diagnostic settings for every resource,
the per-type documents, the subscription documents and the Microsoft Graph documents, with
a realistic mix of compliant and non-compliant settings.

    python -m benchmarks.synthetic --subscriptions 20 --resources 500 --out tenant.json.gz
"""

from __future__ import annotations

import argparse
import random
import sys
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from azaudit.snapshot import Snapshot, write_snapshot
from azaudit.sources import DIAGNOSTIC_SETTINGS

Doc = dict[str, Any]

COLLECTED_AT = "2026-11-01T06:00:00Z"
ANY_IPV4 = "0.0.0.0"  # noqa: S104 - a SQL firewall rule value (Azure services), not a bind address
LOCATIONS = ("eastus", "eastus2", "centralus", "westus2", "southcentralus", "westeurope")
_BUILTIN_ROLES = {
    "Owner": "8e3af657-a8ff-443c-a75c-2fe8c4bcb635",
    "Contributor": "b24988ac-6180-42a0-ab88-20f7382dd24c",
    "Reader": "acdd72a7-3385-48ef-bd42-f6fb9462c12b",
    "User Access Administrator": "18d7d88d-d35e-4fb5-a5c3-7773c20a72d9",
}
_DEFENDER_PLANS = (
    "VirtualMachines",
    "SqlServers",
    "AppServices",
    "StorageAccounts",
    "SqlServerVirtualMachines",
    "KeyVaults",
    "Arm",
    "OpenSourceRelationalDatabases",
    "CosmosDbs",
    "Containers",
    "CloudPosture",
    "Api",
)
_HIPAA_INITIATIVE = (
    "/providers/Microsoft.Authorization/policySetDefinitions/a169a624-5599-4385-a696-c8d643089fab"
)


class _Ids:
    """Deterministic GUIDs and names from one seeded generator."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng

    def guid(self) -> str:
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    def suffix(self, length: int = 6) -> str:
        return "".join(
            self.rng.choice("abcdefghijklmnopqrstuvwxyz0123456789") for _ in range(length)
        )

    def chance(self, probability: float) -> bool:
        return self.rng.random() < probability

    def choice(self, items: Sequence[Any]) -> Any:
        return self.rng.choice(list(items))


@dataclass
class _Subscription:
    """What the generator accumulates for one subscription."""

    subscription_id: str
    display_name: str
    tenant_id: str
    rows: list[Doc] = field(default_factory=list)
    details: dict[str, dict[str, Any]] = field(default_factory=dict)
    vm_ids: list[str] = field(default_factory=list)
    vault_ids: list[str] = field(default_factory=list)

    @property
    def scope(self) -> str:
        return f"/subscriptions/{self.subscription_id}"


class _Builder:
    """Adds bundles of related resources (and their documents) to a subscription."""

    def __init__(self, ids: _Ids, sub: _Subscription) -> None:
        self.ids = ids
        self.sub = sub
        self.location = ids.rng.choice(LOCATIONS[:5])
        self.group = f"rg-{ids.suffix(5)}"
        self.count = 0

    # -- primitives -------------------------------------------------------------------------

    def new_group(self) -> None:
        self.group = f"rg-{self.ids.suffix(5)}"
        # Most estates keep to a home region; a few resources stray (residency findings).
        self.location = self.ids.rng.choice(LOCATIONS if self.ids.chance(0.05) else LOCATIONS[:5])

    def resource_id(self, rtype: str, *names: str) -> str:
        namespace, *kinds = rtype.split("/")
        path = "/".join(f"{k}/{n}" for k, n in zip(kinds, names, strict=True))
        return f"{self.sub.scope}/resourceGroups/{self.group}/providers/{namespace}/{path}"

    def add(
        self,
        rtype: str,
        names: str | tuple[str, ...],
        properties: Doc,
        *,
        kind: str = "",
        sku: Doc | None = None,
        identity: Doc | None = None,
        managed_by: str = "",
        diagnostics: bool = True,
    ) -> str:
        parts = (names,) if isinstance(names, str) else names
        rid = self.resource_id(rtype, *parts)
        self.sub.rows.append(
            {
                "id": rid,
                "name": parts[-1],
                "type": rtype.lower(),
                "tenantId": self.sub.tenant_id,
                "kind": kind,
                "location": self.location,
                "resourceGroup": self.group.lower(),
                "subscriptionId": self.sub.subscription_id,
                "managedBy": managed_by,
                "sku": sku,
                "plan": None,
                "properties": properties,
                "tags": {"environment": "prod", "data-classification": "phi"},
                "identity": identity,
                "zones": None,
                "extendedLocation": None,
            }
        )
        self.count += 1
        if diagnostics:
            self.doc(rid, DIAGNOSTIC_SETTINGS, {"value": self._diagnostic_settings(rid)})
        return rid

    def doc(self, scope: str, source: str, body: Any) -> None:
        self.sub.details.setdefault(scope, {})[source] = body

    def _diagnostic_settings(self, rid: str) -> list[Doc]:
        # Azure answers 200 {"value": []} for a resource without settings.
        if not self.ids.chance(0.6):
            return []
        return [
            {
                "id": f"{rid}/providers/microsoft.insights/diagnosticSettings/to-law",
                "type": "Microsoft.Insights/diagnosticSettings",
                "name": "to-law",
                "properties": {
                    "storageAccountId": None,
                    "workspaceId": f"{self.sub.scope}/resourceGroups/rg-monitor/providers/"
                    "Microsoft.OperationalInsights/workspaces/law-security",
                    "eventHubAuthorizationRuleId": None,
                    "metrics": [{"category": "AllMetrics", "enabled": True}],
                    "logs": [
                        {
                            "category": None,
                            "categoryGroup": "allLogs" if self.ids.chance(0.8) else "audit",
                            "enabled": True,
                            "retentionPolicy": {"enabled": False, "days": 0},
                        }
                    ],
                },
            }
        ]

    # -- bundles ---------------------------------------------------------------------------

    def storage(self) -> None:
        name = f"st{self.ids.suffix(10)}"
        secure = self.ids.chance(0.7)
        rid = self.add(
            "Microsoft.Storage/storageAccounts",
            name,
            {
                "provisioningState": "Succeeded",
                "supportsHttpsTrafficOnly": secure or self.ids.chance(0.5),
                "minimumTlsVersion": "TLS1_2" if secure else self.ids.choice(("TLS1_0", "TLS1_1")),
                "allowBlobPublicAccess": not secure and self.ids.chance(0.5),
                "allowSharedKeyAccess": not secure,
                "publicNetworkAccess": "Disabled" if secure else "Enabled",
                "networkAcls": {
                    "bypass": "AzureServices",
                    "virtualNetworkRules": [],
                    "ipRules": [],
                    "defaultAction": "Deny" if secure else "Allow",
                },
                "encryption": {
                    "services": {
                        "blob": {"enabled": True, "keyType": "Account"},
                        "file": {"enabled": True, "keyType": "Account"},
                    },
                    "keySource": "Microsoft.Keyvault"
                    if self.ids.chance(0.2)
                    else "Microsoft.Storage",
                    "requireInfrastructureEncryption": self.ids.chance(0.3),
                },
                "primaryLocation": self.location,
                "secondaryLocation": "westus" if self.ids.chance(0.5) else None,
                "privateEndpointConnections": [],
            },
            kind="StorageV2",
            sku={"name": "Standard_GRS", "tier": "Standard"},
        )
        self.doc(
            rid,
            "blobServices/default",
            {
                "id": f"{rid}/blobServices/default",
                "name": "default",
                "type": "Microsoft.Storage/storageAccounts/blobServices",
                "properties": {
                    "deleteRetentionPolicy": {"enabled": secure, "days": 7},
                    "containerDeleteRetentionPolicy": {"enabled": secure, "days": 7},
                    "isVersioningEnabled": self.ids.chance(0.4),
                },
            },
        )

    def virtual_machine(self) -> None:
        name = f"vm-{self.ids.suffix(6)}"
        vm_id = self.resource_id("Microsoft.Compute/virtualMachines", name)
        os_disk = self.add(
            "Microsoft.Compute/disks",
            f"{name}_OsDisk_1_{self.ids.suffix(32)}",
            self._disk_properties("Attached", 128),
            managed_by=vm_id,
            sku={"name": "Premium_LRS", "tier": "Premium"},
            diagnostics=False,
        )
        nic = self.add(
            "Microsoft.Network/networkInterfaces",
            f"{name}-nic",
            {
                "provisioningState": "Succeeded",
                "ipConfigurations": [
                    {
                        "name": "ipconfig1",
                        "properties": {
                            "privateIPAddress": f"10.{self.ids.rng.randint(0, 255)}.0.4",
                            "privateIPAllocationMethod": "Dynamic",
                        },
                    }
                ],
                "virtualMachine": {"id": vm_id},
                "enableAcceleratedNetworking": True,
            },
        )
        self.add(
            "Microsoft.Compute/virtualMachines",
            name,
            {
                "provisioningState": "Succeeded",
                "hardwareProfile": {"vmSize": "Standard_D4s_v5"},
                "securityProfile": {"encryptionAtHost": self.ids.chance(0.3)},
                "storageProfile": {
                    "osDisk": {
                        "osType": "Linux",
                        "name": os_disk.rsplit("/", 1)[-1],
                        "managedDisk": {"id": os_disk, "storageAccountType": "Premium_LRS"},
                    },
                    "dataDisks": [],
                },
                "networkProfile": {"networkInterfaces": [{"id": nic}]},
            },
            identity={"type": "SystemAssigned", "principalId": self.ids.guid()},
        )
        self.sub.vm_ids.append(vm_id)
        if self.ids.chance(0.4):
            self.add(
                "Microsoft.Compute/disks",
                f"{name}-data-{self.ids.suffix(4)}",
                self._disk_properties("Attached", 512),
                managed_by=vm_id,
                sku={"name": "Premium_LRS", "tier": "Premium"},
                diagnostics=False,
            )

    def _disk_properties(self, state: str, size: int) -> Doc:
        cmk = self.ids.chance(0.2)
        return {
            "provisioningState": "Succeeded",
            "diskState": state,
            "diskSizeGB": size,
            "encryption": {
                "type": "EncryptionAtRestWithCustomerKey"
                if cmk
                else "EncryptionAtRestWithPlatformKey"
            },
            "networkAccessPolicy": "DenyAll" if self.ids.chance(0.7) else "AllowAll",
            "publicNetworkAccess": "Disabled" if self.ids.chance(0.7) else "Enabled",
        }

    def unattached_disk(self) -> None:
        self.add(
            "Microsoft.Compute/disks",
            f"disk-orphan-{self.ids.suffix(6)}",
            self._disk_properties("Unattached", 256),
            sku={"name": "StandardSSD_LRS", "tier": "Standard"},
            diagnostics=False,
        )

    def network_security_group(self) -> None:
        rules: list[Doc] = []
        if self.ids.chance(0.25):
            port = self.ids.choice(("22", "3389"))
            rules.append(
                {
                    "name": f"allow-{port}",
                    "properties": {
                        "protocol": "Tcp",
                        "sourcePortRange": "*",
                        "destinationPortRange": port,
                        "sourceAddressPrefix": "*",
                        "destinationAddressPrefix": "*",
                        "access": "Allow",
                        "priority": 100,
                        "direction": "Inbound",
                    },
                }
            )
        rules.append(
            {
                "name": "allow-https",
                "properties": {
                    "protocol": "Tcp",
                    "sourcePortRange": "*",
                    "destinationPortRange": "443",
                    "sourceAddressPrefix": "VirtualNetwork",
                    "destinationAddressPrefix": "*",
                    "access": "Allow",
                    "priority": 200,
                    "direction": "Inbound",
                },
            }
        )
        self.add(
            "Microsoft.Network/networkSecurityGroups",
            f"nsg-{self.ids.suffix(6)}",
            {"provisioningState": "Succeeded", "securityRules": rules, "defaultSecurityRules": []},
        )

    def virtual_network(self) -> None:
        self.add(
            "Microsoft.Network/virtualNetworks",
            f"vnet-{self.ids.suffix(6)}",
            {
                "provisioningState": "Succeeded",
                "addressSpace": {"addressPrefixes": ["10.0.0.0/16"]},
                "subnets": [
                    {
                        "name": "default",
                        "properties": {
                            "addressPrefix": "10.0.0.0/24",
                            "networkSecurityGroup": (
                                {
                                    "id": self.resource_id(
                                        "Microsoft.Network/networkSecurityGroups",
                                        f"nsg-{self.ids.suffix(6)}",
                                    )
                                }
                                if self.ids.chance(0.7)
                                else None
                            ),
                        },
                    }
                ],
            },
        )

    def public_ip(self) -> None:
        self.add(
            "Microsoft.Network/publicIPAddresses",
            f"pip-{self.ids.suffix(6)}",
            {
                "provisioningState": "Succeeded",
                "publicIPAllocationMethod": "Static",
                "ipAddress": f"203.0.113.{self.ids.rng.randint(1, 254)}",
            },
            sku={"name": "Standard", "tier": "Regional"},
        )

    def sql(self) -> None:
        server = f"sql-{self.ids.suffix(8)}"
        secure = self.ids.chance(0.6)
        sid = self.add(
            "Microsoft.Sql/servers",
            server,
            {
                "administratorLogin": "sqladmin",
                "version": "12.0",
                "state": "Ready",
                "fullyQualifiedDomainName": f"{server}.database.windows.net",
                "minimalTlsVersion": "1.2" if secure else "1.0",
                "publicNetworkAccess": "Disabled" if secure else "Enabled",
                "privateEndpointConnections": [],
            },
            kind="v12.0",
        )
        self.doc(
            sid,
            "auditingSettings/default",
            {
                "id": f"{sid}/auditingSettings/default",
                "name": "Default",
                "type": "Microsoft.Sql/servers/auditingSettings",
                "properties": {
                    "state": "Enabled" if secure else "Disabled",
                    "retentionDays": self.ids.choice((0, 30, 90, 365)),
                    "isAzureMonitorTargetEnabled": secure,
                    "auditActionsAndGroups": ["SUCCESSFUL_DATABASE_AUTHENTICATION_GROUP"],
                },
            },
        )
        rules = [
            {
                "id": f"{sid}/firewallRules/AllowAllWindowsAzureIps",
                "name": "AllowAllWindowsAzureIps",
                "type": "Microsoft.Sql/servers/firewallRules",
                "properties": {"startIpAddress": ANY_IPV4, "endIpAddress": ANY_IPV4},
            }
        ]
        if not secure and self.ids.chance(0.3):
            rules.append(
                {
                    "id": f"{sid}/firewallRules/open",
                    "name": "open",
                    "type": "Microsoft.Sql/servers/firewallRules",
                    "properties": {"startIpAddress": ANY_IPV4, "endIpAddress": "255.255.255.255"},
                }
            )
        self.doc(sid, "firewallRules", {"value": rules})
        for _ in range(self.ids.rng.randint(1, 3)):
            database = f"db-{self.ids.suffix(6)}"
            did = self.add(
                "Microsoft.Sql/servers/databases",
                (server, database),
                {"status": "Online", "collation": "SQL_Latin1_General_CP1_CI_AS"},
                kind="v12.0,user",
                sku={"name": "GP_Gen5", "tier": "GeneralPurpose", "capacity": 2},
            )
            self.doc(
                did,
                "transparentDataEncryption/current",
                {
                    "id": f"{did}/transparentDataEncryption/Current",
                    "name": "Current",
                    "type": "Microsoft.Sql/servers/databases/transparentDataEncryption",
                    "properties": {"state": "Enabled" if self.ids.chance(0.9) else "Disabled"},
                },
            )

    def web(self) -> None:
        plan = f"asp-{self.ids.suffix(6)}"
        plan_id = self.add(
            "Microsoft.Web/serverFarms",
            plan,
            {"status": "Ready", "numberOfSites": 1},
            kind="linux",
            sku={"name": "P1v3", "tier": "PremiumV3"},
        )
        for _ in range(self.ids.rng.randint(1, 3)):
            site = f"app-{self.ids.suffix(8)}"
            secure = self.ids.chance(0.6)
            sid = self.add(
                "Microsoft.Web/sites",
                site,
                {
                    "state": "Running",
                    "httpsOnly": secure,
                    "serverFarmId": plan_id,
                    "defaultHostName": f"{site}.azurewebsites.net",
                    "publicNetworkAccess": "Disabled" if secure else "Enabled",
                },
                kind="app,linux",
            )
            self.doc(
                sid,
                "config/web",
                {
                    "id": f"{sid}/config/web",
                    "name": site,
                    "type": "Microsoft.Web/sites/config",
                    "properties": {
                        "minTlsVersion": "1.2" if secure else "1.0",
                        "ftpsState": "Disabled" if secure else "AllAllowed",
                        "remoteDebuggingEnabled": not secure and self.ids.chance(0.2),
                        "http20Enabled": True,
                        "cors": {"allowedOrigins": ["*"] if not secure else []},
                    },
                },
            )

    def key_vault(self) -> None:
        secure = self.ids.chance(0.6)
        self.add(
            "Microsoft.KeyVault/vaults",
            f"kv-{self.ids.suffix(10)}",
            {
                "tenantId": self.sub.tenant_id,
                "sku": {"family": "A", "name": "standard"},
                "enableSoftDelete": True,
                "enablePurgeProtection": secure or None,
                "enableRbacAuthorization": secure,
                "publicNetworkAccess": "Disabled" if secure else "Enabled",
                "networkAcls": {
                    "defaultAction": "Deny" if secure else "Allow",
                    "bypass": "AzureServices",
                },
                "accessPolicies": [],
                "privateEndpointConnections": [],
            },
        )

    def postgres(self) -> None:
        secure = self.ids.chance(0.6)
        pid = self.add(
            "Microsoft.DBforPostgreSQL/flexibleServers",
            f"psql-{self.ids.suffix(8)}",
            {
                "state": "Ready",
                "version": "16",
                "storage": {"storageSizeGB": 128},
                "backup": {
                    "backupRetentionDays": 7,
                    "geoRedundantBackup": "Enabled" if secure else "Disabled",
                },
                "network": {"publicNetworkAccess": "Disabled" if secure else "Enabled"},
            },
            sku={"name": "Standard_D2ds_v4", "tier": "GeneralPurpose"},
        )
        self.doc(
            pid,
            "configurations",
            {
                "value": [
                    _pg_setting(pid, "require_secure_transport", "on" if secure else "off"),
                    _pg_setting(pid, "log_connections", "on"),
                    _pg_setting(pid, "log_disconnections", "on" if secure else "off"),
                    _pg_setting(pid, "log_checkpoints", "on"),
                    _pg_setting(pid, "connection_throttle.enable", "on"),
                ]
            },
        )

    def recovery_vault(self) -> None:
        vid = self.add(
            "Microsoft.RecoveryServices/vaults",
            f"rsv-{self.ids.suffix(6)}",
            {
                "provisioningState": "Succeeded",
                "securitySettings": {
                    "softDeleteSettings": {"softDeleteState": "Enabled"},
                    "immutabilitySettings": {
                        "state": "Locked" if self.ids.chance(0.3) else "Disabled"
                    },
                },
            },
            sku={"name": "RS0", "tier": "Standard"},
        )
        self.sub.vault_ids.append(vid)

    def cosmos(self) -> None:
        self.add(
            "Microsoft.DocumentDB/databaseAccounts",
            f"cosmos-{self.ids.suffix(8)}",
            {
                "provisioningState": "Succeeded",
                "databaseAccountOfferType": "Standard",
                "publicNetworkAccess": "Disabled" if self.ids.chance(0.6) else "Enabled",
                "disableLocalAuth": self.ids.chance(0.5),
                "minimalTlsVersion": "Tls12",
                "locations": [{"locationName": "East US", "failoverPriority": 0}],
            },
            kind="GlobalDocumentDB",
        )

    def workspace(self) -> None:
        self.add(
            "Microsoft.OperationalInsights/workspaces",
            f"law-{self.ids.suffix(6)}",
            {"provisioningState": "Succeeded", "retentionInDays": self.ids.choice((30, 90, 365))},
        )

    def redis(self) -> None:
        self.add(
            "Microsoft.Cache/Redis",
            f"redis-{self.ids.suffix(6)}",
            {
                "provisioningState": "Succeeded",
                "enableNonSslPort": self.ids.chance(0.2),
                "minimumTlsVersion": "1.2",
                "publicNetworkAccess": "Disabled",
            },
        )


def _pg_setting(server_id: str, name: str, value: str) -> Doc:
    return {
        "id": f"{server_id}/configurations/{name}",
        "name": name,
        "type": "Microsoft.DBforPostgreSQL/flexibleServers/configurations",
        "properties": {"value": value, "source": "user-override", "dataType": "Enumeration"},
    }


# Bundle, relative weight. A VM bundle adds 3-4 resources, SQL 2-4, web 2-4.
_BUNDLES: tuple[tuple[Callable[[_Builder], None], int], ...] = (
    (_Builder.virtual_machine, 20),
    (_Builder.storage, 18),
    (_Builder.network_security_group, 8),
    (_Builder.virtual_network, 5),
    (_Builder.public_ip, 5),
    (_Builder.unattached_disk, 4),
    (_Builder.sql, 6),
    (_Builder.web, 8),
    (_Builder.key_vault, 7),
    (_Builder.postgres, 3),
    (_Builder.cosmos, 2),
    (_Builder.workspace, 2),
    (_Builder.redis, 2),
)


def generate(subscriptions: int, resources: int, seed: int = 1) -> Snapshot:
    """A tenant of `subscriptions` subscriptions holding `resources` resources each.

    Raises:
        ValueError: when a count is not positive.
    """
    if subscriptions < 1 or resources < 1:
        raise ValueError("subscriptions and resources must be positive")
    ids = _Ids(random.Random(seed))
    tenant_id = ids.guid()
    subs: list[_Subscription] = []
    for index in range(subscriptions):
        sub = _Subscription(ids.guid(), f"synthetic-{index:03d}", tenant_id)
        _fill(ids, sub, resources)
        subs.append(sub)
    details: dict[str, dict[str, Any]] = {}
    for sub in subs:
        details.update(sub.details)
        details[sub.scope] = _subscription_documents(ids, sub)
    details["/"] = _tenant_documents(subs[0])
    return Snapshot(
        collected_at=COLLECTED_AT,
        tool_version="0.1.0",
        cloud={"name": "AzureCloud"},
        tenant={"tenantId": tenant_id, "displayName": "Synthetic Health System"},
        subscriptions=tuple(_subscription_doc(s) for s in subs),
        resources=tuple(row for s in subs for row in s.rows),
        details=details,
        graph=_graph_documents(ids, max(20, subscriptions * resources // 20)),
        gaps=(),
    )


def _tenant_documents(first: _Subscription) -> dict[str, Any]:
    """Tenant-level ARM documents (stored under `/`): Entra logs exported to a workspace."""
    workspace = (
        f"{first.scope}/resourceGroups/rg-monitoring/providers/"
        "Microsoft.OperationalInsights/workspaces/law-entra"
    )
    categories = ("AuditLogs", "SignInLogs", "NonInteractiveUserSignInLogs")
    return {
        "providers/microsoft.aadiam/diagnosticSettings": {
            "value": [
                {
                    "id": "providers/Microsoft.Aadiam/diagnosticSettings/entra-logs",
                    "type": "",
                    "name": "entra-logs",
                    "properties": {
                        "workspaceId": workspace,
                        "logs": [{"category": c, "enabled": True} for c in categories],
                    },
                }
            ]
        }
    }


def _fill(ids: _Ids, sub: _Subscription, target: int) -> None:
    builder = _Builder(ids, sub)
    bundles = [b for b, _ in _BUNDLES]
    weights = [w for _, w in _BUNDLES]
    # A vault for backups first, so backupProtectedItems exists in every subscription.
    builder.recovery_vault()
    while builder.count < target:
        if ids.chance(0.15):
            builder.new_group()
        ids.rng.choices(bundles, weights)[0](builder)
    # A bundle may overshoot: drop the surplus rows (and their documents) from the end.
    for row in sub.rows[target:]:
        sub.details.pop(str(row["id"]), None)
    del sub.rows[target:]
    kept = {str(r["id"]) for r in sub.rows}
    sub.vm_ids = [v for v in sub.vm_ids if v in kept]
    for vault in sub.vault_ids:
        protected = [v for v in sub.vm_ids if ids.chance(0.6)]
        sub.details.setdefault(vault, {})["backupProtectedItems"] = {
            "value": [
                {
                    "id": f"{vault}/backupFabrics/Azure/protectionContainers/iaasvmcontainerv2;"
                    f"{vm.rsplit('/', 1)[-1]}/protectedItems/vm;{vm.rsplit('/', 1)[-1]}",
                    "name": f"vm;{vm.rsplit('/', 1)[-1]}",
                    "type": "Microsoft.RecoveryServices/vaults/backupFabrics/"
                    "protectionContainers/protectedItems",
                    "properties": {
                        "protectedItemType": "Microsoft.Compute/virtualMachines",
                        "sourceResourceId": vm,
                        "protectionState": "Protected",
                        "lastBackupStatus": "Completed",
                    },
                }
                for vm in protected
            ]
        }


def _subscription_doc(sub: _Subscription) -> Doc:
    return {
        "id": sub.scope,
        "subscriptionId": sub.subscription_id,
        "tenantId": sub.tenant_id,
        "displayName": sub.display_name,
        "state": "Enabled",
        "subscriptionPolicies": {
            "locationPlacementId": "Public_2014-09-01",
            "quotaId": "EnterpriseAgreement_2014-09-01",
            "spendingLimit": "Off",
        },
        "authorizationSource": "RoleBased",
        "managedByTenants": [],
        "tags": {},
    }


def _subscription_documents(ids: _Ids, sub: _Subscription) -> dict[str, Any]:
    scope = sub.scope
    assignments = []
    for i in range(12 + len(sub.rows) // 25):
        role = ids.rng.choices(list(_BUILTIN_ROLES), [1, 4, 8, 1])[0]
        assignment = ids.guid()
        assignments.append(
            {
                "id": f"{scope}/providers/Microsoft.Authorization/roleAssignments/{assignment}",
                "name": assignment,
                "type": "Microsoft.Authorization/roleAssignments",
                "properties": {
                    "roleDefinitionId": f"{scope}/providers/Microsoft.Authorization/"
                    f"roleDefinitions/{_BUILTIN_ROLES[role]}",
                    "principalId": ids.guid(),
                    "principalType": "User" if i % 3 else "ServicePrincipal",
                    "scope": scope,
                },
            }
        )
    definitions = [
        {
            "id": f"{scope}/providers/Microsoft.Authorization/roleDefinitions/{guid}",
            "name": guid,
            "type": "Microsoft.Authorization/roleDefinitions",
            "properties": {
                "roleName": role,
                "type": "BuiltInRole",
                "assignableScopes": ["/"],
                "permissions": [{"actions": ["*"] if role == "Owner" else ["*/read"]}],
            },
        }
        for role, guid in _BUILTIN_ROLES.items()
    ]
    policies = []
    if ids.chance(0.5):
        policies.append(
            {
                "id": f"{scope}/providers/Microsoft.Authorization/policyAssignments/hipaa",
                "name": "hipaa",
                "type": "Microsoft.Authorization/policyAssignments",
                "properties": {
                    "displayName": "HIPAA HITRUST",
                    "policyDefinitionId": _HIPAA_INITIATIVE,
                    "enforcementMode": "Default",
                    "scope": scope,
                },
            }
        )
    pricings = [
        {
            "id": f"{scope}/providers/Microsoft.Security/pricings/{plan}",
            "name": plan,
            "type": "Microsoft.Security/pricings",
            "properties": {"pricingTier": "Standard" if ids.chance(0.6) else "Free"},
        }
        for plan in _DEFENDER_PLANS
    ]
    contacts = [
        {
            "id": f"{scope}/providers/Microsoft.Security/securityContacts/default",
            "name": "default",
            "type": "Microsoft.Security/securityContacts",
            "properties": {
                "emails": "secops@synthetic.example",
                "isEnabled": True,
                "notificationsByRole": {"state": "On", "roles": ["Owner"]},
                "notificationsSources": [{"sourceType": "Alert", "minimalSeverity": "High"}],
            },
        }
    ]
    activity = (
        [
            {
                "id": f"{scope}/providers/microsoft.insights/diagnosticSettings/activity-to-law",
                "type": "Microsoft.Insights/diagnosticSettings",
                "name": "activity-to-law",
                "properties": {
                    "workspaceId": f"{scope}/resourceGroups/rg-monitor/providers/"
                    "Microsoft.OperationalInsights/workspaces/law-security",
                    "logs": [
                        {"category": c, "enabled": True}
                        for c in ("Administrative", "Security", "Policy", "Alert")
                    ],
                },
            }
        ]
        if ids.chance(0.7)
        else []
    )
    return {
        DIAGNOSTIC_SETTINGS: {"value": activity},
        "providers/Microsoft.Security/pricings": {"value": pricings},
        "providers/Microsoft.Security/securityContacts": {"value": contacts},
        "providers/Microsoft.Authorization/roleAssignments": {"value": assignments},
        "providers/Microsoft.Authorization/roleDefinitions": {"value": definitions},
        "providers/Microsoft.Authorization/policyAssignments": {"value": policies},
    }


def _graph_documents(ids: _Ids, users: int) -> dict[str, Any]:
    people = []
    registrations = []
    for i in range(users):
        uid = ids.guid()
        guest = ids.chance(0.05)
        upn = (
            f"user{i:05d}@synthetic.example"
            if not guest
            else f"g{i}_x.example#EXT#@synthetic.example"
        )
        people.append(
            {
                "id": uid,
                "displayName": f"User {i:05d}",
                "userPrincipalName": upn,
                "userType": "Guest" if guest else "Member",
                "accountEnabled": ids.chance(0.95),
                "signInActivity": {"lastSignInDateTime": "2026-10-20T08:00:00Z"},
            }
        )
        mfa = ids.chance(0.85)
        registrations.append(
            {
                "id": uid,
                "userPrincipalName": upn,
                "userDisplayName": f"User {i:05d}",
                "userType": "guest" if guest else "member",
                "isAdmin": i < 5,
                "isMfaCapable": mfa,
                "isMfaRegistered": mfa,
                "methodsRegistered": ["microsoftAuthenticatorPush"] if mfa else [],
            }
        )
    admins = [{"@odata.type": "#microsoft.graph.user", "id": p["id"]} for p in people[:5]]
    return {
        "graph:users": {"value": people},
        "graph:reports/authenticationMethods/userRegistrationDetails": {"value": registrations},
        "graph:directoryRoles": {
            "value": [
                {
                    "id": ids.guid(),
                    "displayName": "Global Administrator",
                    "roleTemplateId": "62e90394-69f5-4237-9190-012177145e10",
                    "members": admins[:3],
                },
                {
                    "id": ids.guid(),
                    "displayName": "Privileged Role Administrator",
                    "roleTemplateId": "e8611ab8-c189-46e8-94e1-60213ab1f814",
                    "members": admins[3:],
                },
            ]
        },
        "graph:identity/conditionalAccess/policies": {
            "value": [
                {
                    "id": ids.guid(),
                    "displayName": "Require MFA for all users",
                    "state": "enabled",
                    "conditions": {
                        "users": {"includeUsers": ["All"], "excludeUsers": []},
                        "applications": {"includeApplications": ["All"]},
                        "clientAppTypes": ["all"],
                    },
                    "grantControls": {"operator": "OR", "builtInControls": ["mfa"]},
                }
            ]
        },
        "graph:policies/identitySecurityDefaultsEnforcementPolicy": {
            "id": "00000000-0000-0000-0000-000000000005",
            "displayName": "Security Defaults",
            "isEnabled": False,
        },
    }


def main(argv: Sequence[str] | None = None) -> int:
    """Write a synthetic snapshot file."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.synthetic", description=__doc__)
    parser.add_argument("--subscriptions", type=int, default=4)
    parser.add_argument("--resources", type=int, default=250, help="resources per subscription")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--out", type=Path, required=True, help=".json or .json.gz")
    args = parser.parse_args(argv)
    try:
        snapshot = generate(args.subscriptions, args.resources, args.seed)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    write_snapshot(snapshot, args.out)
    print(
        f"{args.out}: {len(snapshot.subscriptions)} subscriptions, "
        f"{len(snapshot.resources)} resources"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
