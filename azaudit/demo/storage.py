"""Demo storage accounts and their blob-service properties.

Properties follow Microsoft's `StorageAccounts_Create_DisallowPublicNetworkAccess` (200 body) and
`StorageAccounts_GetProperties` examples; one template, varied per account.

The story: the clinical PHI store and the portal's document store are fully hardened (private
endpoint, customer-managed key, infrastructure encryption, soft delete, versioning, GZRS). The
imaging archive is private but keeps Microsoft-managed keys. An "EHR exports" account created for a
vendor hand-off allows anonymous blob access from any network. In dev, a scratch account still
accepts HTTP and TLS 1.0, and a research account lives in westeurope with its replica in
northeurope.

The imaging archive and the research account have a hierarchical namespace (ADLS Gen2), where
blob versioning is not available. Accounts that still allow shared-key access have keys as old as
the account, except the platform boot-diagnostics account, whose keys were rotated last month.
Every account logs its blob, file, queue and table requests except the vendor, dev and research
ones; the vendor hand-off and the scratch account have share soft delete off.
"""

from __future__ import annotations

from dataclasses import dataclass

from azaudit.demo.arm import (
    Doc,
    Estate,
    arg_row,
    arm_list,
    diagnostic_setting,
    log_category,
    log_group,
    resource_id,
)
from azaudit.demo.network import Network
from azaudit.demo.org import (
    CLINICAL,
    DEV,
    PLATFORM,
    PORTAL,
    Subscription,
    days_ago,
    guid,
)
from azaudit.sources import DIAGNOSTIC_SETTINGS, STORAGE_SERVICES

STORAGE = "Microsoft.Storage/storageAccounts"

PAIRED_REGION = {
    "eastus": "westus",
    "eastus2": "centralus",
    "westeurope": "northeurope",
}


@dataclass(frozen=True, slots=True)
class StorageSpec:
    """One storage account; defaults are the hardened production baseline."""

    sub: Subscription
    rg: str
    name: str
    location: str
    purpose: str
    sku: str = "Standard_GZRS"
    https_only: bool = True
    tls: str = "TLS1_2"
    public_blob: bool = False
    shared_key: bool = False
    default_action: str = "Deny"
    public_network: str = "Disabled"
    cmk_vault: str | None = None
    infrastructure_encryption: bool = True
    soft_delete_days: int | None = 14
    versioning: bool = True
    private_endpoint: bool = True
    diagnostics: bool = True
    created_days_ago: int = 700
    keys_rotated_days_ago: int | None = None
    share_soft_delete_days: int | None = 14


ACCOUNTS: tuple[StorageSpec, ...] = (
    StorageSpec(
        PLATFORM,
        "rg-nw-management-eus",
        "stnwactlogarchive",
        "eastus",
        "activity-log-archive",
        sku="Standard_RAGRS",
        private_endpoint=False,
        default_action="Deny",
        public_network="Enabled",
    ),
    StorageSpec(
        PLATFORM,
        "rg-nw-management-eus",
        "stnwplatformdiag",
        "eastus",
        "boot-diagnostics",
        sku="Standard_LRS",
        shared_key=True,
        public_network="Enabled",
        private_endpoint=False,
        infrastructure_encryption=False,
        soft_delete_days=7,
        versioning=False,
        keys_rotated_days_ago=34,
        share_soft_delete_days=7,
    ),
    StorageSpec(
        CLINICAL,
        "rg-clinical-data-eus",
        "stnwclinicalphi01",
        "eastus",
        "clinical-documents",
        cmk_vault="kv-nw-clinical-eus",
    ),
    StorageSpec(
        CLINICAL,
        "rg-clinical-imaging-eus",
        "stnwimagingarchive",
        "eastus",
        "dicom-archive",
        sku="Standard_RAGRS",
        infrastructure_encryption=False,
        soft_delete_days=30,
        # A hierarchical-namespace (ADLS Gen2) account: blob versioning is not available.
        versioning=False,
    ),
    StorageSpec(
        CLINICAL,
        "rg-clinical-data-eus",
        "stnwehrexports",
        "eastus",
        "vendor-ehr-extracts",
        sku="Standard_LRS",
        public_blob=True,
        shared_key=True,
        default_action="Allow",
        public_network="Enabled",
        infrastructure_encryption=False,
        soft_delete_days=None,
        versioning=False,
        private_endpoint=False,
        diagnostics=False,
        created_days_ago=210,
        share_soft_delete_days=None,
    ),
    StorageSpec(
        CLINICAL,
        "rg-clinical-ehr-eus",
        "stnwclinicaldiag",
        "eastus",
        "boot-diagnostics",
        sku="Standard_LRS",
        shared_key=True,
        public_network="Enabled",
        private_endpoint=False,
        infrastructure_encryption=False,
        soft_delete_days=7,
        versioning=False,
    ),
    StorageSpec(
        PORTAL,
        "rg-portal-data-eus2",
        "stnwportaldocs",
        "eastus2",
        "patient-uploads",
        cmk_vault="kv-nw-portal-eus2",
    ),
    StorageSpec(
        PORTAL,
        "rg-portal-app-eus2",
        "stnwportalfunc",
        "eastus2",
        "functions-runtime",
        sku="Standard_ZRS",
        shared_key=True,
        default_action="Allow",
        public_network="Enabled",
        private_endpoint=False,
        infrastructure_encryption=False,
        soft_delete_days=7,
        versioning=False,
    ),
    StorageSpec(
        DEV,
        "rg-dev-analytics-eus",
        "stnwdevscratch",
        "eastus",
        "scratch",
        sku="Standard_LRS",
        https_only=False,
        tls="TLS1_0",
        public_blob=True,
        shared_key=True,
        default_action="Allow",
        public_network="Enabled",
        infrastructure_encryption=False,
        soft_delete_days=None,
        versioning=False,
        private_endpoint=False,
        diagnostics=False,
        created_days_ago=1300,
        share_soft_delete_days=None,
    ),
    StorageSpec(
        DEV,
        "rg-dev-research-weu",
        "stnwresearchweu",
        "westeurope",
        "eu-research-collaboration",
        sku="Standard_GRS",
        shared_key=True,
        default_action="Allow",
        public_network="Enabled",
        infrastructure_encryption=False,
        soft_delete_days=7,
        versioning=False,
        private_endpoint=False,
        diagnostics=False,
    ),
    StorageSpec(
        DEV,
        "rg-dev-analytics-eus",
        "stnwdevmlws",
        "eastus",
        "ml-workspace",
        sku="Standard_LRS",
        shared_key=True,
        public_network="Enabled",
        infrastructure_encryption=False,
        soft_delete_days=7,
        versioning=False,
        private_endpoint=False,
        diagnostics=False,
    ),
)


def _sku(spec: StorageSpec) -> Doc:
    """The `sku` block: the account row and its blob service report the same one."""
    return {"name": spec.sku, "tier": "Premium" if spec.sku.startswith("Premium") else "Standard"}


def _endpoints(name: str) -> Doc:
    return {
        service: f"https://{name}.{service}.core.windows.net/"
        for service in ("blob", "dfs", "file", "queue", "table", "web")
    }


def _encryption(spec: StorageSpec, rid: str) -> tuple[Doc, Doc | None]:
    services = {
        service: {
            "enabled": True,
            "keyType": "Account",
            "lastEnabledTime": days_ago(700, fraction=True),
        }
        for service in ("blob", "file")
    }
    encryption: Doc = {
        "keySource": "Microsoft.Storage",
        "requireInfrastructureEncryption": spec.infrastructure_encryption,
        "services": services,
    }
    identity: Doc | None = None
    if spec.cmk_vault is not None:
        uami = (
            f"{spec.sub.scope}/resourceGroups/{spec.rg}/providers/"
            f"Microsoft.ManagedIdentity/userAssignedIdentities/id-{spec.name}-cmk"
        )
        encryption["keySource"] = "Microsoft.Keyvault"
        encryption["keyvaultproperties"] = {
            "keyvaulturi": f"https://{spec.cmk_vault}.vault.azure.net/",
            "keyname": f"cmk-{spec.name}",
            "keyversion": "",
            "currentVersionedKeyIdentifier": (
                f"https://{spec.cmk_vault}.vault.azure.net/keys/cmk-{spec.name}/"
                f"{guid('key:' + rid).replace('-', '')}"
            ),
            "lastKeyRotationTimestamp": days_ago(41, fraction=True),
        }
        encryption["identity"] = {"userAssignedIdentity": uami}
        identity = {
            "type": "UserAssigned",
            "userAssignedIdentities": {
                uami: {"principalId": guid(f"uami:{uami}"), "clientId": guid(f"client:{uami}")}
            },
        }
    return encryption, identity


def storage_row(spec: StorageSpec) -> Doc:
    """The Resource Graph row of a storage account."""
    rid = resource_id(spec.sub, spec.rg, STORAGE, spec.name)
    encryption, identity = _encryption(spec, rid)
    geo = spec.sku.split("_")[1] in ("GRS", "RAGRS", "GZRS", "RAGZRS")
    key_age = spec.keys_rotated_days_ago or spec.created_days_ago
    props: Doc = {
        "accessTier": "Hot",
        "allowBlobPublicAccess": spec.public_blob,
        "allowCrossTenantReplication": False,
        "allowSharedKeyAccess": spec.shared_key,
        "creationTime": days_ago(spec.created_days_ago, fraction=True),
        "defaultToOAuthAuthentication": not spec.shared_key,
        "dnsEndpointType": "Standard",
        "encryption": encryption,
        "isHnsEnabled": spec.purpose in ("dicom-archive", "eu-research-collaboration"),
        "keyCreationTime": {
            "key1": days_ago(key_age, fraction=True),
            "key2": days_ago(key_age, fraction=True),
        },
        "minimumTlsVersion": spec.tls,
        "networkAcls": {
            "bypass": "AzureServices",
            "defaultAction": spec.default_action,
            "ipRules": [],
            "ipv6Rules": [],
            "virtualNetworkRules": [],
            "resourceAccessRules": [],
        },
        "primaryEndpoints": _endpoints(spec.name),
        "primaryLocation": spec.location,
        "privateEndpointConnections": [],
        "provisioningState": "Succeeded",
        "publicNetworkAccess": spec.public_network,
        "statusOfPrimary": "available",
        "supportsHttpsTrafficOnly": spec.https_only,
    }
    if geo:
        props["secondaryLocation"] = PAIRED_REGION[spec.location]
        props["statusOfSecondary"] = "available"
        props["secondaryEndpoints"] = {
            service: f"https://{spec.name}-secondary.{service}.core.windows.net/"
            for service in ("blob", "dfs", "queue", "table", "web")
        }
    return arg_row(
        spec.sub,
        spec.rg,
        STORAGE,
        spec.name,
        spec.location,
        props,
        kind="StorageV2",
        sku=_sku(spec),
        tags=spec.sub.tags(purpose=spec.purpose),
        identity=identity,
    )


def blob_service(spec: StorageSpec, account_id: str) -> Doc:
    """`blobServices/default` as ARM returns it (2023-05-01)."""
    days = spec.soft_delete_days
    retention: Doc = (
        {"allowPermanentDelete": False, "enabled": True, "days": days}
        if days is not None
        else {"allowPermanentDelete": False, "enabled": False}
    )
    container_retention: Doc = (
        {"enabled": True, "days": days} if days is not None else {"enabled": False}
    )
    props: Doc = {
        "cors": {"corsRules": []},
        "deleteRetentionPolicy": retention,
        "containerDeleteRetentionPolicy": container_retention,
        "isVersioningEnabled": spec.versioning,
        "changeFeed": {"enabled": spec.versioning},
    }
    if spec.versioning and days is not None:
        props["restorePolicy"] = {"enabled": True, "days": days - 1}
    return {
        "id": f"{account_id}/blobServices/default",
        "name": "default",
        "type": "Microsoft.Storage/storageAccounts/blobServices",
        "sku": _sku(spec),
        "properties": props,
    }


def file_service(spec: StorageSpec, account_id: str) -> Doc:
    """`fileServices/default` as ARM returns it (2023-05-01, `FileServicesGet` example)."""
    days = spec.share_soft_delete_days
    retention: Doc = {"enabled": True, "days": days} if days is not None else {"enabled": False}
    return {
        "id": f"{account_id}/fileServices/default",
        "name": "default",
        "type": "Microsoft.Storage/storageAccounts/fileServices",
        "sku": _sku(spec),
        "properties": {
            "cors": {"corsRules": []},
            "shareDeleteRetentionPolicy": retention,
            "protocolSettings": {"smb": {}},
        },
    }


def _service_logs(service: str) -> list[Doc]:
    """Request logs of a storage service: allLogs for blobs, the three categories elsewhere."""
    if service == "blob":
        return [log_group("allLogs")]
    return [log_category(c) for c in ("StorageRead", "StorageWrite", "StorageDelete")]


def build(estate: Estate, network: Network) -> None:
    """Add every demo storage account with its documents."""
    for spec in ACCOUNTS:
        row = storage_row(spec)
        rid = str(row["id"])
        diagnostics = []
        if spec.diagnostics:
            # Account-level diagnostic settings carry only metrics; the logs live on the services.
            diagnostics.append(diagnostic_setting(rid, [], name="metrics-to-law-nw-security"))
        if spec.private_endpoint:
            network.private_endpoint(row, "blob", STORAGE)
        estate.add(row, diagnostics)
        estate.doc(rid, "blobServices/default", blob_service(spec, rid))
        estate.doc(rid, "fileServices/default", file_service(spec, rid))
        for service in STORAGE_SERVICES:
            service_id = f"{rid}/{service}Services/default"
            settings = (
                [diagnostic_setting(service_id, _service_logs(service))] if spec.diagnostics else []
            )
            estate.doc(rid, f"{service}Services/default/{DIAGNOSTIC_SETTINGS}", arm_list(settings))
