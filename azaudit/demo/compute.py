"""Demo virtual machines, managed disks, disk encryption set and Recovery Services vaults.

VM rows follow Microsoft's `VirtualMachines_ListByLocation` example (plus the `securityProfile`
and Resource Graph's `extended.instanceView`); disks follow `Disks_List` and the
`Disks_CreateOrUpdate_WithDiskEncryptionSet` / `_WithDiskAccess` bodies; protected items follow
the Recovery Services `backupProtectedItems` list; replicated items follow Site Recovery's
`ReplicationProtectedItems_List`.

The story: the EHR application servers run with encryption at host, customer-managed disk keys and
daily backup into an immutable vault. The PACS gateway was built by the imaging vendor: no
encryption at host, Azure Disk Encryption of its OS volume only (its image cache data disk is
not encrypted), a public IP, disks reachable from any network and no backup. In dev, the data
science VM still uses an unmanaged VHD, the jump box (no data disks) relies on Azure Disk
Encryption and is not backed up, an orphaned OS disk was never deleted, and the dev vault has
soft delete switched off. Every VM runs the Azure Monitor Agent with the security data
collection rule, except the PACS gateway (still the retired Log Analytics agent), the data
science VM (no agent) and the jump box (agent but no rule). The FHIR export workers are a scale
set with encryption at host and the agent. Both the first EHR application server and the PACS
gateway are tagged `criticality: critical`; only the EHR server is replicated to West US 2 by
Azure Site Recovery.
"""

from __future__ import annotations

from dataclasses import dataclass

from azaudit.demo.arm import (
    Doc,
    Estate,
    arg_row,
    arm_list,
    log_category,
    resource_id,
    system_identity,
)
from azaudit.demo.backup_config import backup_policies, storage_config, vault_config
from azaudit.demo.network import Network
from azaudit.demo.org import CLINICAL, DEV, PLATFORM, Subscription, days_ago, guid, hexid

VM = "Microsoft.Compute/virtualMachines"
VM_EXTENSION = "Microsoft.Compute/virtualMachines/extensions"
VMSS = "Microsoft.Compute/virtualMachineScaleSets"
DCR_ASSOCIATIONS = "providers/Microsoft.Insights/dataCollectionRuleAssociations"
DISK = "Microsoft.Compute/disks"
VAULT = "Microsoft.RecoveryServices/vaults"
DES = "Microsoft.Compute/diskEncryptionSets"

IMAGES: dict[str, tuple[str, Doc]] = {
    "win2022": (
        "Windows",
        {
            "publisher": "MicrosoftWindowsServer",
            "offer": "WindowsServer",
            "sku": "2022-datacenter-azure-edition",
            "version": "latest",
        },
    ),
    "win2019": (
        "Windows",
        {
            "publisher": "MicrosoftWindowsServer",
            "offer": "WindowsServer",
            "sku": "2019-Datacenter",
            "version": "latest",
        },
    ),
    "rhel9": (
        "Linux",
        {"publisher": "RedHat", "offer": "RHEL", "sku": "9-lvm-gen2", "version": "latest"},
    ),
    "ubuntu2204": (
        "Linux",
        {
            "publisher": "Canonical",
            "offer": "0001-com-ubuntu-server-jammy",
            "sku": "22_04-lts-gen2",
            "version": "latest",
        },
    ),
    "dsvm": (
        "Windows",
        {
            "publisher": "microsoft-dsvm",
            "offer": "dsvm-win-2019",
            "sku": "winserver-2019",
            "version": "latest",
        },
    ),
}


@dataclass(frozen=True, slots=True)
class VMSpec:
    """One virtual machine; defaults are the hardened production baseline."""

    sub: Subscription
    rg: str
    name: str
    location: str
    size: str
    image: str
    subnet: tuple[str, str, str]
    role: str
    zone: str | None = "1"
    encryption_at_host: bool = True
    cmk: bool = False
    vault: str | None = None
    public_ip: str | None = None
    nic_nsg: tuple[str, str] | None = None
    data_disks: int = 1
    managed: bool = True
    disks_private: bool = True
    ade_volumes: str | None = None
    """`VolumeType` of an Azure Disk Encryption extension, when the VM has one."""
    agent: str | None = "AMA"
    """Monitoring agent: AMA (Azure Monitor Agent), MMA (the retired Log Analytics agent), None."""
    dcr: bool = True
    """Whether the security data collection rule is associated with the VM."""
    critical: bool = False
    """Tagged `criticality: critical`, the VMs the disaster recovery plan must bring back."""
    dr_vault: str | None = None
    """Vault that replicates the VM to West US 2 with Azure Site Recovery (A2A)."""


_CLINICAL_APP = ("rg-clinical-network-eus", "vnet-nw-clinical-eus", "snet-ehr-app")

VMS: tuple[VMSpec, ...] = (
    VMSpec(
        PLATFORM,
        "rg-nw-identity-eus",
        "vm-nw-dc-01",
        "eastus",
        "Standard_D2s_v5",
        "win2022",
        ("rg-nw-hub-network-eus", "vnet-nw-hub-eus", "snet-identity"),
        "domain-controller",
        zone="1",
        vault="rsv-nw-platform-eus",
    ),
    VMSpec(
        PLATFORM,
        "rg-nw-identity-eus",
        "vm-nw-dc-02",
        "eastus",
        "Standard_D2s_v5",
        "win2022",
        ("rg-nw-hub-network-eus", "vnet-nw-hub-eus", "snet-identity"),
        "domain-controller",
        zone="2",
        vault="rsv-nw-platform-eus",
    ),
    VMSpec(
        CLINICAL,
        "rg-clinical-ehr-eus",
        "vm-ehr-app-01",
        "eastus",
        "Standard_D8s_v5",
        "win2022",
        _CLINICAL_APP,
        "ehr-application",
        zone="1",
        cmk=True,
        vault="rsv-nw-clinical-eus",
        critical=True,
        dr_vault="rsv-nw-clinical-eus",
        data_disks=2,
    ),
    VMSpec(
        CLINICAL,
        "rg-clinical-ehr-eus",
        "vm-ehr-app-02",
        "eastus",
        "Standard_D8s_v5",
        "win2022",
        _CLINICAL_APP,
        "ehr-application",
        zone="2",
        cmk=True,
        vault="rsv-nw-clinical-eus",
        data_disks=2,
    ),
    VMSpec(
        CLINICAL,
        "rg-clinical-ehr-eus",
        "vm-ehr-iface-01",
        "eastus",
        "Standard_D4s_v5",
        "rhel9",
        _CLINICAL_APP,
        "hl7-interface-engine",
        zone="3",
        vault="rsv-nw-clinical-eus",
    ),
    VMSpec(
        CLINICAL,
        "rg-clinical-imaging-eus",
        "vm-pacs-gw-01",
        "eastus",
        "Standard_D4s_v5",
        "win2019",
        ("rg-clinical-network-eus", "vnet-nw-clinical-eus", "snet-pacs-dmz"),
        "pacs-gateway",
        zone=None,
        encryption_at_host=False,
        public_ip="203.0.113.25",
        critical=True,
        disks_private=False,
        ade_volumes="OS",
        agent="MMA",
        dcr=False,
    ),
    VMSpec(
        DEV,
        "rg-dev-analytics-eus",
        "vm-dev-jumpbox-01",
        "eastus",
        "Standard_B2s",
        "ubuntu2204",
        ("rg-dev-network-eus", "vnet-nw-dev-eus", "snet-dev-vms"),
        "jump-box",
        zone=None,
        encryption_at_host=False,
        public_ip="203.0.113.77",
        data_disks=0,
        disks_private=False,
        ade_volumes="OS",
        dcr=False,
    ),
    VMSpec(
        DEV,
        "rg-dev-analytics-eus",
        "vm-dev-ds-01",
        "eastus",
        "Standard_D8s_v3",
        "dsvm",
        ("rg-dev-network-eus", "vnet-nw-dev-eus", "snet-dev-data"),
        "data-science",
        zone=None,
        encryption_at_host=False,
        nic_nsg=("rg-dev-network-eus", "nsg-dev-data-legacy-eus"),
        data_disks=0,
        managed=False,
        agent=None,
        dcr=False,
    ),
    VMSpec(
        DEV,
        "rg-dev-analytics-eus",
        "vm-dev-etl-01",
        "eastus",
        "Standard_D4s_v5",
        "ubuntu2204",
        ("rg-dev-network-eus", "vnet-nw-dev-eus", "snet-dev-data"),
        "etl-worker",
        zone=None,
        vault="rsv-nw-dev-eus",
    ),
)


@dataclass(frozen=True, slots=True)
class VaultSpec:
    """A Recovery Services vault and its security settings."""

    sub: Subscription
    rg: str
    name: str
    soft_delete: str
    immutability: str
    redundancy: str = "GeoRedundant"


VAULTS: tuple[VaultSpec, ...] = (
    VaultSpec(PLATFORM, "rg-nw-management-eus", "rsv-nw-platform-eus", "Enabled", "Unlocked"),
    VaultSpec(CLINICAL, "rg-clinical-backup-eus", "rsv-nw-clinical-eus", "AlwaysON", "Locked"),
    VaultSpec(
        DEV,
        "rg-dev-analytics-eus",
        "rsv-nw-dev-eus",
        "Disabled",
        "Disabled",
        redundancy="LocallyRedundant",
    ),
)

_DES_ID = resource_id(CLINICAL, "rg-clinical-security-eus", DES, "des-nw-clinical-eus")


def _disk_encryption(cmk: bool) -> Doc:
    if cmk:
        return {"type": "EncryptionAtRestWithCustomerKey", "diskEncryptionSetId": _DES_ID}
    return {"type": "EncryptionAtRestWithPlatformKey"}


def _disk_row(
    spec: VMSpec,
    name: str,
    size_gb: int,
    *,
    os_disk: bool,
    managed_by: str,
    state: str = "Attached",
    cmk: bool | None = None,
) -> Doc:
    os_type, image = IMAGES[spec.image]
    rid = resource_id(spec.sub, spec.rg, DISK, name)
    props: Doc = {
        "hyperVGeneration": "V2",
        "supportedCapabilities": {"acceleratedNetwork": True, "architecture": "x64"},
        "creationData": (
            {
                "createOption": "FromImage",
                "imageReference": {
                    "id": (
                        f"/Subscriptions/{spec.sub.subscription_id}/Providers/Microsoft.Compute/"
                        f"Locations/{spec.location}/Publishers/{image['publisher']}/ArtifactTypes/"
                        f"VMImage/Offers/{image['offer']}/Skus/{image['sku']}/Versions/latest"
                    )
                },
            }
            if os_disk
            else {"createOption": "Empty"}
        ),
        "diskSizeGB": size_gb,
        "diskIOPSReadWrite": 500 if size_gb <= 128 else 2300,
        "diskMBpsReadWrite": 100 if size_gb <= 128 else 150,
        "encryption": _disk_encryption(spec.cmk if cmk is None else cmk),
        "networkAccessPolicy": "DenyAll" if spec.disks_private else "AllowAll",
        "publicNetworkAccess": "Disabled" if spec.disks_private else "Enabled",
        "timeCreated": days_ago(400, fraction=True),
        "provisioningState": "Succeeded",
        "diskState": state,
        "diskSizeBytes": size_gb * 1024**3,
        "uniqueId": guid(f"disk:{rid}"),
        "tier": "P10" if size_gb <= 128 else "P20",
    }
    if os_disk:
        props["osType"] = os_type
    return arg_row(
        spec.sub,
        spec.rg,
        DISK,
        name,
        spec.location,
        props,
        sku={"name": "Premium_LRS", "tier": "Premium"},
        tags=spec.sub.tags(role=spec.role),
        zones=[spec.zone] if spec.zone else None,
        managed_by=managed_by,
    )


def _managed_disk_ref(spec: VMSpec, disk_id: str) -> Doc:
    ref: Doc = {"id": disk_id, "storageAccountType": "Premium_LRS"}
    if spec.cmk:
        ref["diskEncryptionSet"] = {"id": _DES_ID}
    return ref


def _add_vm(estate: Estate, network: Network, spec: VMSpec) -> None:
    os_type, image = IMAGES[spec.image]
    vm_id = resource_id(spec.sub, spec.rg, VM, spec.name)
    rg_net, vnet, subnet = spec.subnet
    pip = None
    if spec.public_ip is not None:
        pip = network.public_ip(
            spec.sub, spec.rg, f"pip-{spec.name}", spec.location, spec.public_ip
        )
    nsg = network.nsg_id(spec.sub, *spec.nic_nsg) if spec.nic_nsg else None
    nic = network.nic(
        spec.sub,
        spec.rg,
        f"{spec.name}-nic-01",
        spec.location,
        network.subnet_id(spec.sub, rg_net, vnet, subnet),
        vm_id=vm_id,
        public_ip=pip,
        nsg_id=nsg,
    )
    os_disk: Doc = {
        "osType": os_type,
        "name": f"{spec.name}_OsDisk_1_{hexid(vm_id)}",
        "createOption": "FromImage",
        "caching": "ReadWrite",
        "deleteOption": "Detach",
        "diskSizeGB": 127 if os_type == "Windows" else 64,
    }
    data_disks: list[Doc] = []
    if spec.managed:
        os_row = _disk_row(
            spec, os_disk["name"], os_disk["diskSizeGB"], os_disk=True, managed_by=vm_id
        )
        estate.add(os_row)
        os_disk["managedDisk"] = _managed_disk_ref(spec, str(os_row["id"]))
        for lun in range(spec.data_disks):
            name = f"{spec.name}-data-{lun + 1:02d}"
            data_row = _disk_row(spec, name, 512, os_disk=False, managed_by=vm_id)
            estate.add(data_row)
            data_disks.append(
                {
                    "lun": lun,
                    "name": name,
                    "createOption": "Attach",
                    "caching": "ReadOnly",
                    "managedDisk": _managed_disk_ref(spec, str(data_row["id"])),
                    "deleteOption": "Detach",
                    "diskSizeGB": 512,
                    "toBeDetached": False,
                }
            )
    else:
        # Classic-style VHD in a storage account, as in Microsoft's ListByLocation example.
        os_disk["vhd"] = {
            "uri": f"https://stnwdevscratch.blob.core.windows.net/vhds/{spec.name}-osdisk.vhd"
        }
    if os_type == "Windows":
        os_profile: Doc = {
            "computerName": spec.name.replace("vm-", "")[:15],
            "adminUsername": "nwlocaladmin",
            "windowsConfiguration": {
                "provisionVMAgent": True,
                "enableAutomaticUpdates": True,
                "patchSettings": {
                    "patchMode": "AutomaticByPlatform",
                    "assessmentMode": "AutomaticByPlatform",
                },
            },
            "secrets": [],
            "allowExtensionOperations": True,
            "requireGuestProvisionSignal": True,
        }
    else:
        os_profile = {
            "computerName": spec.name,
            "adminUsername": "nwlocaladmin",
            "linuxConfiguration": {
                "disablePasswordAuthentication": True,
                "provisionVMAgent": True,
                "patchSettings": {"patchMode": "ImageDefault", "assessmentMode": "ImageDefault"},
            },
            "secrets": [],
            "allowExtensionOperations": True,
            "requireGuestProvisionSignal": True,
        }
    security: Doc = {
        "securityType": "TrustedLaunch",
        "uefiSettings": {"secureBootEnabled": True, "vTpmEnabled": True},
    }
    if spec.encryption_at_host:
        security["encryptionAtHost"] = True
    props: Doc = {
        "vmId": guid(f"vmid:{vm_id}"),
        "hardwareProfile": {"vmSize": spec.size},
        "storageProfile": {
            "imageReference": dict(image, exactVersion="20260915.1.0"),
            "osDisk": os_disk,
            "dataDisks": data_disks,
        },
        "osProfile": os_profile,
        "networkProfile": {
            "networkInterfaces": [{"id": nic, "properties": {"deleteOption": "Detach"}}]
        },
        "diagnosticsProfile": {"bootDiagnostics": {"enabled": True}},
        "provisioningState": "Succeeded",
        "timeCreated": days_ago(400, fraction=True),
        "extended": {
            "instanceView": {
                "computerName": os_profile["computerName"],
                "osName": "Windows Server 2022 Datacenter Azure Edition"
                if os_type == "Windows"
                else "ubuntu",
                "powerState": {
                    "code": "PowerState/running",
                    "level": "Info",
                    "displayStatus": "VM running",
                },
            }
        },
    }
    if spec.managed:
        props["securityProfile"] = security
    estate.add(
        arg_row(
            spec.sub,
            spec.rg,
            VM,
            spec.name,
            spec.location,
            props,
            tags=spec.sub.tags(
                role=spec.role,
                backup="daily" if spec.vault else "none",
                **({"criticality": "critical"} if spec.critical else {}),
            ),
            identity=system_identity(spec.name),
            zones=[spec.zone] if spec.zone else None,
        )
    )
    if spec.ade_volumes is not None:
        estate.resources.append(_ade_extension(spec, spec.ade_volumes))
    if spec.agent is not None:
        estate.resources.append(_agent_extension(spec, spec.agent))
    estate.doc(vm_id, DCR_ASSOCIATIONS, arm_list([_dcr_association(vm_id)] if spec.dcr else []))


def _extension_row(spec: VMSpec, name: str, props: Doc) -> Doc:
    """A VM extension as Resource Graph lists it: its own row below the VM."""
    row = arg_row(spec.sub, spec.rg, VM_EXTENSION, (spec.name, name), spec.location, props)
    row["tags"] = {}
    return row


def _ade_extension(spec: VMSpec, volumes: str) -> Doc:
    """Azure Disk Encryption with its public settings (the extension reference's v2.2/v1.1
    schema); protected settings are never returned by ARM."""
    os_type, _ = IMAGES[spec.image]
    kind = "AzureDiskEncryption" if os_type == "Windows" else "AzureDiskEncryptionForLinux"
    vault = "kv-nw-clinical-eus" if spec.sub is CLINICAL else "kv-nw-dev-eus"
    vault_rg = "rg-clinical-security-eus" if spec.sub is CLINICAL else "rg-dev-analytics-eus"
    return _extension_row(
        spec,
        kind,
        {
            "publisher": "Microsoft.Azure.Security",
            "type": kind,
            "typeHandlerVersion": "2.2" if os_type == "Windows" else "1.1",
            "autoUpgradeMinorVersion": True,
            "provisioningState": "Succeeded",
            "settings": {
                "EncryptionOperation": "EnableEncryption",
                "KeyVaultURL": f"https://{vault}.vault.azure.net/",
                "KeyVaultResourceId": resource_id(
                    spec.sub, vault_rg, "Microsoft.KeyVault/vaults", vault
                ),
                "KeyEncryptionAlgorithm": "RSA-OAEP",
                "VolumeType": volumes,
            },
        },
    )


_AGENTS: dict[tuple[str, str], tuple[str, str, str]] = {
    ("AMA", "Windows"): ("Microsoft.Azure.Monitor", "AzureMonitorWindowsAgent", "1.30"),
    ("AMA", "Linux"): ("Microsoft.Azure.Monitor", "AzureMonitorLinuxAgent", "1.33"),
    ("MMA", "Windows"): ("Microsoft.EnterpriseCloud.Monitoring", "MicrosoftMonitoringAgent", "1.0"),
    ("MMA", "Linux"): ("Microsoft.EnterpriseCloud.Monitoring", "OmsAgentForLinux", "1.19"),
}
_SECURITY_DCR = resource_id(
    PLATFORM, "rg-nw-management-eus", "Microsoft.Insights/dataCollectionRules", "dcr-nw-vm-security"
)


def _agent_extension(spec: VMSpec, agent: str) -> Doc:
    os_type, _ = IMAGES[spec.image]
    publisher, kind, version = _AGENTS[(agent, os_type)]
    props: Doc = {
        "publisher": publisher,
        "type": kind,
        "typeHandlerVersion": version,
        "autoUpgradeMinorVersion": True,
        "provisioningState": "Succeeded",
    }
    if agent == "AMA":
        props["enableAutomaticUpgrade"] = True
    else:
        props["settings"] = {"workspaceId": guid("law-nw-security-eus")}
    return _extension_row(spec, kind, props)


def _dcr_association(target_id: str) -> Doc:
    """A data collection rule association (DataCollectionRuleAssociations_ListByResource)."""
    return {
        "id": f"{target_id}/{DCR_ASSOCIATIONS}/dcra-nw-vm-security",
        "name": "dcra-nw-vm-security",
        "type": "Microsoft.Insights/dataCollectionRuleAssociations",
        "etag": f'"{hexid(target_id, 8)}-0000-0100-0000-{hexid(target_id + "e", 12)}"',
        "properties": {
            "description": "Security events and syslog to the security workspace",
            "dataCollectionRuleId": _SECURITY_DCR,
            "provisioningState": "Succeeded",
        },
    }


def _add_scale_set(estate: Estate) -> None:
    """The FHIR export workers: a uniform scale set with encryption at host and the agent."""
    rg = "rg-clinical-ehr-eus"
    name = "vmss-nw-fhir-export"
    vmss_id = resource_id(CLINICAL, rg, VMSS, name)
    _, image = IMAGES["ubuntu2204"]
    subnet = (
        f"{CLINICAL.scope}/resourceGroups/rg-clinical-network-eus/providers/"
        "Microsoft.Network/virtualNetworks/vnet-nw-clinical-eus/subnets/snet-ehr-app"
    )
    profile: Doc = {
        "osProfile": {
            "computerNamePrefix": "fhirexp",
            "adminUsername": "nwlocaladmin",
            "linuxConfiguration": {"disablePasswordAuthentication": True},
            "secrets": [],
        },
        "storageProfile": {
            "imageReference": image,
            "osDisk": {
                "createOption": "FromImage",
                "caching": "ReadWrite",
                "managedDisk": {
                    "storageAccountType": "Premium_LRS",
                    "diskEncryptionSet": {"id": _DES_ID},
                },
                "diskSizeGB": 64,
            },
            "dataDisks": [],
        },
        "networkProfile": {
            "networkInterfaceConfigurations": [
                {
                    "name": f"{name}-nic",
                    "properties": {
                        "primary": True,
                        "ipConfigurations": [
                            {"name": "ipconfig1", "properties": {"subnet": {"id": subnet}}}
                        ],
                    },
                }
            ]
        },
        "securityProfile": {
            "encryptionAtHost": True,
            "securityType": "TrustedLaunch",
            "uefiSettings": {"secureBootEnabled": True, "vTpmEnabled": True},
        },
        "extensionProfile": {
            "extensions": [
                {
                    "name": "AzureMonitorLinuxAgent",
                    "properties": {
                        "publisher": "Microsoft.Azure.Monitor",
                        "type": "AzureMonitorLinuxAgent",
                        "typeHandlerVersion": "1.33",
                        "autoUpgradeMinorVersion": True,
                        "enableAutomaticUpgrade": True,
                        "provisioningState": "Succeeded",
                    },
                }
            ]
        },
    }
    estate.add(
        arg_row(
            CLINICAL,
            rg,
            VMSS,
            name,
            "eastus",
            {
                "singlePlacementGroup": False,
                "orchestrationMode": "Uniform",
                "upgradePolicy": {"mode": "Rolling"},
                "virtualMachineProfile": profile,
                "provisioningState": "Succeeded",
                "overprovision": False,
                "uniqueId": guid(f"vmss:{vmss_id}"),
                "platformFaultDomainCount": 1,
                "timeCreated": days_ago(200, fraction=True),
            },
            sku={"name": "Standard_D4s_v5", "tier": "Standard", "capacity": 3},
            tags=CLINICAL.tags(role="fhir-export"),
            zones=["1", "2", "3"],
            identity=system_identity(name),
        )
    )
    estate.doc(vmss_id, DCR_ASSOCIATIONS, arm_list([_dcr_association(vmss_id)]))


def associate_node_pools(estate: Estate) -> None:
    """Give every scale set without one an (empty) data collection rule association list.

    AKS node pools are added by the services area after this module runs; a collector stores
    the empty association list it reads for them.
    """
    for row in estate.resources:
        if str(row["type"]).lower() == VMSS.lower():
            scope = estate.details.setdefault(str(row["id"]), {})
            scope.setdefault(DCR_ASSOCIATIONS, arm_list([]))


def _add_orphaned_disks(estate: Estate) -> None:
    legal_hold = VMSpec(
        CLINICAL,
        "rg-clinical-imaging-eus",
        "disk-pacs-cache-legal-hold",
        "eastus",
        "",
        "win2019",
        _CLINICAL_APP,
        "legal-hold",
        zone=None,
        cmk=True,
    )
    row = _disk_row(
        legal_hold, legal_hold.name, 1024, os_disk=False, managed_by="", state="Unattached"
    )
    row["tags"]["legal-hold"] = "LH-2026-014"
    estate.add(row)
    old = VMSpec(
        DEV,
        "rg-dev-analytics-eus",
        "vm-dev-old-analytics",
        "eastus",
        "",
        "ubuntu2204",
        ("rg-dev-network-eus", "vnet-nw-dev-eus", "snet-dev-data"),
        "retired",
        zone=None,
        disks_private=False,
    )
    name = f"vm-dev-old-analytics_OsDisk_1_{hexid('old-analytics')}"
    estate.add(_disk_row(old, name, 128, os_disk=True, managed_by="", state="Unattached"))


def _add_disk_encryption_set(estate: Estate) -> None:
    vault = resource_id(
        CLINICAL, "rg-clinical-security-eus", "Microsoft.KeyVault/vaults", "kv-nw-clinical-eus"
    )
    estate.add(
        arg_row(
            CLINICAL,
            "rg-clinical-security-eus",
            DES,
            "des-nw-clinical-eus",
            "eastus",
            {
                "activeKey": {
                    "sourceVault": {"id": vault},
                    "keyUrl": (
                        "https://kv-nw-clinical-eus.vault.azure.net/keys/cmk-disks/"
                        f"{hexid('cmk-disks')}"
                    ),
                },
                "encryptionType": "EncryptionAtRestWithCustomerKey",
                "rotationToLatestKeyVersionEnabled": True,
                "lastKeyRotationTimestamp": days_ago(41, fraction=True),
                "provisioningState": "Succeeded",
            },
            identity=system_identity("des-nw-clinical-eus"),
        )
    )


def _protected_item(vault_id: str, spec: VMSpec) -> Doc:
    vm_id = resource_id(spec.sub, spec.rg, VM, spec.name)
    container = f"iaasvmcontainerv2;{spec.rg};{spec.name}"
    return {
        "id": (
            f"{vault_id}/backupFabrics/Azure/protectionContainers/IaasVMContainer;{container}"
            f"/protectedItems/VM;{container}"
        ),
        "name": f"VM;{container}",
        "type": f"{VAULT}/backupFabrics/protectionContainers/protectedItems",
        "properties": {
            "friendlyName": spec.name,
            "virtualMachineId": vm_id,
            "protectionStatus": "Healthy",
            "protectionState": "Protected",
            "healthStatus": "Passed",
            "lastBackupStatus": "Completed",
            "lastBackupTime": days_ago(0.2, fraction=True),
            "protectedItemDataId": str(hash_int(vm_id)),
            "protectedItemType": "Microsoft.Compute/virtualMachines",
            "backupManagementType": "AzureIaasVM",
            "workloadType": "VM",
            "containerName": f"iaasvmcontainer;{container}",
            "sourceResourceId": vm_id,
            "policyId": f"{vault_id}/backupPolicies/nw-daily-35d",
            "policyName": "nw-daily-35d",
            "lastRecoveryPoint": days_ago(0.2, fraction=True),
            "isArchiveEnabled": False,
        },
    }


def _replicated_item(vault_id: str, spec: VMSpec) -> Doc:
    """An Azure-to-Azure replicated item, after Site Recovery's `ReplicationProtectedItems_List`."""
    vm_id = resource_id(spec.sub, spec.rg, VM, spec.name)
    fabric = f"asr-a2a-default-{spec.location}"
    name = guid(f"asr:{vm_id}")
    return {
        "id": (
            f"{vault_id}/replicationFabrics/{fabric}/replicationProtectionContainers/"
            f"{fabric}-container/replicationProtectedItems/{name}"
        ),
        "name": name,
        "type": f"{VAULT}/replicationFabrics/replicationProtectionContainers/"
        "replicationProtectedItems",
        "properties": {
            "friendlyName": spec.name,
            "protectedItemType": "A2A",
            "primaryFabricFriendlyName": "Azure",
            "recoveryFabricFriendlyName": "Azure",
            "primaryProtectionContainerFriendlyName": f"{fabric}-container",
            "recoveryProtectionContainerFriendlyName": "asr-a2a-default-westus2-container",
            "protectionState": "Protected",
            "protectionStateDescription": "Protected",
            "activeLocation": "Primary",
            "testFailoverState": "None",
            "testFailoverStateDescription": "None",
            "allowedOperations": ["PlannedFailover", "UnplannedFailover", "TestFailover"],
            "replicationHealth": "Normal",
            "policyId": f"{vault_id}/replicationPolicies/24-hour-retention-policy",
            "policyFriendlyName": "24-hour-retention-policy",
            "providerSpecificDetails": {
                "instanceType": "A2A",
                "fabricObjectId": vm_id,
                "primaryFabricLocation": spec.location,
                "recoveryFabricLocation": "westus2",
                "osType": IMAGES[spec.image][0],
                "vmProtectionState": "Protected",
                "lastRpoCalculatedTime": days_ago(0.01, fraction=True),
                "rpoInSeconds": 45,
            },
        },
    }


def hash_int(text: str) -> int:
    """A stable 15-digit number derived from `text` (Python's `hash` is salted per process)."""
    return int(hexid(text, 12), 16) % 10**15


def _add_vault(estate: Estate, spec: VaultSpec) -> None:
    row = arg_row(
        spec.sub,
        spec.rg,
        VAULT,
        spec.name,
        "eastus",
        {
            "provisioningState": "Succeeded",
            "privateEndpointStateForBackup": "None",
            "privateEndpointStateForSiteRecovery": "None",
            "publicNetworkAccess": "Enabled",
            "securitySettings": {
                "softDeleteSettings": {
                    "softDeleteState": spec.soft_delete,
                    "softDeleteRetentionPeriodInDays": 14,
                    "enhancedSecurityState": "AlwaysON"
                    if spec.soft_delete == "AlwaysON"
                    else "Enabled",
                },
                "immutabilitySettings": {"state": spec.immutability},
                "multiUserAuthorization": "Disabled",
            },
            "redundancySettings": {
                "standardTierStorageRedundancy": spec.redundancy,
                "crossRegionRestore": "Enabled"
                if spec.redundancy == "GeoRedundant"
                else "Disabled",
            },
            "monitoringSettings": {
                "azureMonitorAlertSettings": {"alertsForAllJobFailures": "Enabled"},
                "classicAlertSettings": {"alertsForCriticalOperations": "Disabled"},
            },
            "restoreSettings": {
                "crossSubscriptionRestoreSettings": {"crossSubscriptionRestoreState": "Enabled"}
            },
            "secureScore": "Maximum" if spec.immutability == "Locked" else "Minimum",
            "bcdrSecurityLevel": "Excellent" if spec.immutability == "Locked" else "Poor",
        },
        sku={"name": "RS0", "tier": "Standard"},
        identity=system_identity(spec.name),
    )
    logs = [
        log_category(c)
        for c in (
            "CoreAzureBackup",
            "AddonAzureBackupJobs",
            "AddonAzureBackupAlerts",
            "AddonAzureBackupPolicy",
            "AddonAzureBackupStorage",
            "AddonAzureBackupProtectedInstance",
        )
    ]
    vault_id = estate.add_logged(row, logs, enabled=spec.immutability == "Locked")
    items = [_protected_item(vault_id, vm) for vm in VMS if vm.vault == spec.name]
    estate.doc(vault_id, "backupProtectedItems", arm_list(items))
    replicated = [_replicated_item(vault_id, vm) for vm in VMS if vm.dr_vault == spec.name]
    estate.doc(vault_id, "replicationProtectedItems", arm_list(replicated))
    shares = 2 if spec.sub is PLATFORM else 0
    estate.doc(vault_id, "backupconfig/vaultconfig", vault_config(vault_id, spec.soft_delete))
    storage = storage_config(vault_id, spec.redundancy)
    estate.doc(vault_id, "backupstorageconfig/vaultstorageconfig", storage)
    estate.doc(
        vault_id, "backupPolicies", backup_policies(vault_id, len(items), file_share_items=shares)
    )


def build(estate: Estate, network: Network) -> None:
    """Add VMs, disks, the disk encryption set and the vaults with their protected items."""
    _add_disk_encryption_set(estate)
    for vm in VMS:
        _add_vm(estate, network, vm)
    _add_scale_set(estate)
    _add_orphaned_disks(estate)
    for vault in VAULTS:
        _add_vault(estate, vault)
