"""Compute evaluators through the engine: host and disk encryption of VMs and scale sets."""

from __future__ import annotations

from typing import Any

import pytest

from azaudit.casebook import CASE_SUBSCRIPTION
from azaudit.catalogue import Check
from azaudit.models import Finding, Status
from azaudit.snapshot import Snapshot
from tests.evaluator_support import builtin_check, estate_snapshot, evaluate_on, run_check

RG = f"/subscriptions/{CASE_SUBSCRIPTION}/resourceGroups/rg-case/providers"
VM_ID = f"{RG}/Microsoft.Compute/virtualMachines/vm1"
VMSS = "Microsoft.Compute/virtualMachineScaleSets"
DATA_DISK = {"lun": 0, "name": "data", "createOption": "Attach", "managedDisk": {"id": "d"}}


def _one(check: Check, body: dict[str, Any]) -> Finding:
    (finding,) = run_check(check, body)
    return finding


# -- encryption at host -------------------------------------------------------------------------

HOST = builtin_check("ear_vm_encryption_at_host")


def _vm(**props: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "storageProfile": {"osDisk": {"name": "os", "managedDisk": {}}, "dataDisks": []}
    }
    base.update(props)
    return {"id": VM_ID, "name": "vm1", "properties": base}


def _ade_settings(volume: str = "All", operation: str = "EnableEncryption") -> dict[str, Any]:
    """Public settings of the ADE extension (v2.2 schema, Microsoft's extension reference)."""
    return {
        "EncryptionOperation": operation,
        "KeyVaultURL": "https://kv-case.vault.azure.net/",
        "KeyVaultResourceId": f"{RG}/Microsoft.KeyVault/vaults/kv-case",
        "KeyEncryptionAlgorithm": "RSA-OAEP",
        "VolumeType": volume,
    }


def _extension(
    vm_id: str,
    publisher: str,
    kind: str,
    *,
    state: str = "Succeeded",
    settings: dict[str, Any] | None = None,
) -> dict[str, Any]:
    return {
        "id": f"{vm_id}/extensions/{kind}",
        "name": kind,
        "type": "Microsoft.Compute/virtualMachines/extensions",
        "subscriptionId": CASE_SUBSCRIPTION,
        "properties": {
            "publisher": publisher,
            "type": kind,
            "typeHandlerVersion": "2.2",
            "provisioningState": state,
            "settings": _ade_settings() if settings is None else settings,
        },
    }


def _with_data_disk() -> dict[str, Any]:
    return _vm(
        storageProfile={"osDisk": {"name": "os", "managedDisk": {}}, "dataDisks": [DATA_DISK]}
    )


def test_ade_extension_matches_case_insensitively() -> None:
    ext = _extension(VM_ID.upper(), "microsoft.azure.security", "azurediskencryption")
    finding = _one(HOST, {"resource": _vm(), "resources": [ext]})
    assert finding.status is Status.PASS
    assert "Azure Disk Encryption" in finding.message


def test_extension_from_another_publisher_is_not_ade() -> None:
    ext = _extension(VM_ID, "Contoso.Security", "AzureDiskEncryption")
    assert _one(HOST, {"resource": _vm(), "resources": [ext]}).status is Status.FAIL


def test_extension_of_a_vm_with_a_longer_name_is_not_this_vms() -> None:
    ext = _extension(VM_ID + "0", "Microsoft.Azure.Security", "AzureDiskEncryption")
    assert _one(HOST, {"resource": _vm(), "resources": [ext]}).status is Status.FAIL


@pytest.mark.parametrize("state", ["Failed", "Creating", "Updating"])
def test_ade_extension_that_did_not_succeed_is_not_encryption(state: str) -> None:
    ext = _extension(VM_ID, "Microsoft.Azure.Security", "AzureDiskEncryption", state=state)
    finding = _one(HOST, {"resource": _vm(), "resources": [ext]})
    assert finding.status is Status.FAIL
    assert f"provisioningState is {state}" in finding.message


@pytest.mark.parametrize(
    ("volume", "data_disks", "status"),
    [
        ("All", True, Status.PASS),
        ("all", True, Status.PASS),
        ("OS", False, Status.PASS),
        ("OS", True, Status.FAIL),
        ("Data", True, Status.FAIL),
        ("Data", False, Status.FAIL),
    ],
)
def test_ade_must_cover_every_volume(volume: str, data_disks: bool, status: Status) -> None:
    ext = _extension(
        VM_ID, "Microsoft.Azure.Security", "AzureDiskEncryption", settings=_ade_settings(volume)
    )
    vm = _with_data_disk() if data_disks else _vm()
    assert _one(HOST, {"resource": vm, "resources": [ext]}).status is status


def test_ade_disabling_encryption_is_not_encryption() -> None:
    settings = _ade_settings(operation="DisableEncryption")
    ext = _extension(VM_ID, "Microsoft.Azure.Security", "AzureDiskEncryption", settings=settings)
    finding = _one(HOST, {"resource": _vm(), "resources": [ext]})
    assert finding.status is Status.FAIL
    assert "EncryptionOperation is DisableEncryption" in finding.message


def test_ade_setting_names_compare_case_insensitively() -> None:
    settings = {"encryptionOperation": "EnableEncryption", "volumeType": "ALL"}
    ext = _extension(VM_ID, "Microsoft.Azure.Security", "AzureDiskEncryption", settings=settings)
    assert _one(HOST, {"resource": _vm(), "resources": [ext]}).status is Status.PASS


@pytest.mark.parametrize(
    "settings",
    [
        {"EncryptionOperation": "EnableEncryption"},
        {"EncryptionOperation": "EnableEncryption", "VolumeType": "Everything"},
        {"EncryptionOperation": "EnableEncryption", "VolumeType": ["All"]},
    ],
)
def test_ade_settings_of_unknown_shape_are_an_error(settings: dict[str, Any]) -> None:
    ext = _extension(VM_ID, "Microsoft.Azure.Security", "AzureDiskEncryption", settings=settings)
    assert _one(HOST, {"resource": _vm(), "resources": [ext]}).status is Status.ERROR


def test_os_only_encryption_of_a_vm_whose_data_disks_are_not_listed_is_an_error() -> None:
    settings = _ade_settings("OS")
    ext = _extension(VM_ID, "Microsoft.Azure.Security", "AzureDiskEncryption", settings=settings)
    vm = _vm(storageProfile={"osDisk": {"name": "os", "managedDisk": {}}})
    assert _one(HOST, {"resource": vm, "resources": [ext]}).status is Status.ERROR


def test_encryption_at_host_wins_over_a_failed_ade_extension() -> None:
    ext = _extension(VM_ID, "Microsoft.Azure.Security", "AzureDiskEncryption", state="Failed")
    vm = _vm(securityProfile={"encryptionAtHost": True})
    assert _one(HOST, {"resource": vm, "resources": [ext]}).status is Status.PASS


def test_legacy_encryption_settings_on_the_os_disk_count_as_ade_without_data_disks() -> None:
    storage = {
        "osDisk": {"managedDisk": {}, "encryptionSettings": {"enabled": True}},
        "dataDisks": [],
    }
    assert _one(HOST, {"resource": _vm(storageProfile=storage)}).status is Status.PASS


def test_legacy_encryption_settings_on_the_os_disk_do_not_cover_data_disks() -> None:
    storage = {
        "osDisk": {"managedDisk": {}, "encryptionSettings": {"enabled": True}},
        "dataDisks": [DATA_DISK],
    }
    finding = _one(HOST, {"resource": _vm(storageProfile=storage)})
    assert finding.status is Status.FAIL
    assert "1 data disk(s)" in finding.message


def test_string_true_is_not_positive_evidence() -> None:
    finding = _one(HOST, {"resource": _vm(securityProfile={"encryptionAtHost": "true"})})
    assert finding.status is Status.ERROR


def test_confidential_vm_without_disk_encryption_is_not_enough() -> None:
    storage = {
        "osDisk": {
            "managedDisk": {"securityProfile": {"securityEncryptionType": "VMGuestStateOnly"}}
        }
    }
    body = {
        "resource": _vm(securityProfile={"securityType": "ConfidentialVM"}, storageProfile=storage)
    }
    assert _one(HOST, body).status is Status.FAIL


def test_security_profile_of_wrong_shape_is_an_error() -> None:
    finding = _one(HOST, {"resource": _vm(securityProfile=["encryptionAtHost"])})
    assert finding.status is Status.ERROR


def _vmss(profile: dict[str, Any] | None, **props: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"orchestrationMode": "Uniform", **props}
    if profile is not None:
        body["virtualMachineProfile"] = profile
    return {"type": VMSS, "name": "vmss1", "properties": body}


def test_scale_set_is_judged_on_its_instance_model() -> None:
    storage = {"osDisk": {"createOption": "FromImage", "managedDisk": {}}}
    on = _vmss({"securityProfile": {"encryptionAtHost": True}, "storageProfile": storage})
    off = _vmss({"storageProfile": storage})
    assert _one(HOST, {"resource": on}).status is Status.PASS
    finding = _one(HOST, {"resource": off})
    assert finding.status is Status.FAIL
    assert (
        finding.property_path == "properties.virtualMachineProfile.securityProfile.encryptionAtHost"
    )


def test_scale_set_ade_extension_is_read_from_its_extension_profile() -> None:
    ade: dict[str, Any] = {
        "name": "AzureDiskEncryption",
        "properties": {
            "publisher": "Microsoft.Azure.Security",
            "type": "AzureDiskEncryption",
            "provisioningState": "Succeeded",
            "settings": _ade_settings("All"),
        },
    }
    profile = {
        "storageProfile": {"osDisk": {"managedDisk": {}}, "dataDisks": [DATA_DISK]},
        "extensionProfile": {"extensions": [ade]},
    }
    assert _one(HOST, {"resource": _vmss(profile)}).status is Status.PASS
    ade["properties"]["settings"] = _ade_settings("OS")
    assert _one(HOST, {"resource": _vmss(profile)}).status is Status.FAIL


def test_uniform_scale_set_without_a_model_is_an_error() -> None:
    assert _one(HOST, {"resource": _vmss(None)}).status is Status.ERROR
    flexible = _vmss(None, orchestrationMode="Flexible")
    assert _one(HOST, {"resource": flexible}).status is Status.NOT_APPLICABLE


# -- Azure Monitor Agent ------------------------------------------------------------------------

AGENT = builtin_check("log_vm_monitoring_agent")
DCRA = "providers/Microsoft.Insights/dataCollectionRuleAssociations"
DCR = f"{RG}/Microsoft.Insights/dataCollectionRules/dcr-security"


def _agent(publisher: str, kind: str, state: str = "Succeeded") -> dict[str, Any]:
    return {
        "id": f"{VM_ID}/extensions/{kind}",
        "name": kind,
        "type": "Microsoft.Compute/virtualMachines/extensions",
        "subscriptionId": CASE_SUBSCRIPTION,
        "properties": {
            "publisher": publisher,
            "type": kind,
            "typeHandlerVersion": "1.0",
            "provisioningState": state,
        },
    }


AMA = _agent("Microsoft.Azure.Monitor", "AzureMonitorLinuxAgent")
MMA = _agent("Microsoft.EnterpriseCloud.Monitoring", "OmsAgentForLinux")


def _association(**props: Any) -> dict[str, Any]:
    return {
        "id": f"{VM_ID}/{DCRA}/assoc",
        "name": "assoc",
        "type": "Microsoft.Insights/dataCollectionRuleAssociations",
        "properties": {"provisioningState": "Succeeded", **props},
    }


def _monitored(extensions: list[dict[str, Any]], associations: list[dict[str, Any]]) -> Finding:
    body = {
        "resource": _vm(),
        "resources": extensions,
        "details": {DCRA: {"value": associations}},
    }
    return _one(AGENT, body)


def test_agent_with_a_rule_passes_and_a_leftover_legacy_agent_is_named() -> None:
    finding = _monitored([AMA, MMA], [_association(dataCollectionRuleId=DCR)])
    assert finding.status is Status.PASS
    assert "remove the retired OmsAgentForLinux" in finding.message


def test_legacy_agent_alone_fails() -> None:
    finding = _monitored([MMA], [_association(dataCollectionRuleId=DCR)])
    assert finding.status is Status.FAIL
    assert "retired Log Analytics agent" in finding.message


def test_endpoint_only_association_carries_no_rule() -> None:
    endpoint = _association(dataCollectionEndpointId=f"{RG}/Microsoft.Insights/dce/e")
    finding = _monitored([AMA], [endpoint])
    assert finding.status is Status.FAIL
    assert "no data collection rule" in finding.message


@pytest.mark.parametrize("state", ["Failed", "Transitioning"])
def test_agent_that_did_not_provision_fails(state: str) -> None:
    agent = _agent("Microsoft.Azure.Monitor", "AzureMonitorLinuxAgent", state)
    finding = _monitored([agent], [_association(dataCollectionRuleId=DCR)])
    assert finding.status is Status.FAIL
    assert f"is {state}" in finding.message


def test_extension_without_publisher_is_an_error() -> None:
    odd = _agent("Microsoft.Azure.Monitor", "AzureMonitorLinuxAgent")
    del odd["properties"]["publisher"]
    assert _monitored([odd], [_association(dataCollectionRuleId=DCR)]).status is Status.ERROR


def test_aks_node_pool_is_recognised_by_the_clusters_node_resource_group() -> None:
    node_rg = f"/subscriptions/{CASE_SUBSCRIPTION}/resourceGroups/MC_rg_aks_eastus/providers"
    vmss = {
        "id": f"{node_rg}/{VMSS}/aks-pool-vmss",
        "type": VMSS,
        "name": "aks-pool-vmss",
        "tags": {"aks-managed-poolName": "pool"},
        "properties": {"virtualMachineProfile": {"storageProfile": {"osDisk": {}}}},
    }
    cluster = {
        "id": f"{RG}/Microsoft.ContainerService/managedClusters/aks",
        "name": "aks",
        "type": "microsoft.containerservice/managedclusters",
        "properties": {"nodeResourceGroup": "mc_rg_aks_eastus"},
    }
    body = {"resource": vmss, "details": {DCRA: {"value": []}}}
    assert _one(AGENT, {**body, "resources": [cluster]}).status is Status.NOT_APPLICABLE
    # A copied AKS tag without a cluster owning the resource group proves nothing.
    assert _one(AGENT, body).status is Status.FAIL


# -- management access --------------------------------------------------------------------------

ACCESS = builtin_check("net_vm_mgmt_access")
JIT = "providers/Microsoft.Security/jitNetworkAccessPolicies"
SUB_SCOPE = f"/subscriptions/{CASE_SUBSCRIPTION}"
NIC_ID = f"{RG}/Microsoft.Network/networkInterfaces/vm1-nic"
SPOKE = f"{RG}/Microsoft.Network/virtualNetworks/spoke"
HUB = f"{RG}/Microsoft.Network/virtualNetworks/hub"


def _nic(public: bool = True) -> dict[str, Any]:
    config: dict[str, Any] = {"subnet": {"id": f"{SPOKE}/subnets/default"}}
    if public:
        config["publicIPAddress"] = {"id": f"{RG}/Microsoft.Network/publicIPAddresses/pip"}
    return {
        "id": NIC_ID,
        "name": "vm1-nic",
        "type": "microsoft.network/networkinterfaces",
        "properties": {"ipConfigurations": [{"name": "ipconfig1", "properties": config}]},
    }


def _policy(vm_id: str, state: str = "Succeeded") -> dict[str, Any]:
    return {
        "id": f"{RG}/Microsoft.Security/locations/eastus/jitNetworkAccessPolicies/default",
        "name": "default",
        "properties": {
            "virtualMachines": [{"id": vm_id, "ports": [{"number": 22, "protocol": "*"}]}],
            "provisioningState": state,
        },
    }


def _bastion(**props: Any) -> dict[str, Any]:
    return {
        "id": f"{RG}/Microsoft.Network/bastionHosts/bas",
        "name": "bas",
        "type": "microsoft.network/bastionhosts",
        "properties": props,
    }


def _vnet(vnet_id: str, *peers: tuple[str, str]) -> dict[str, Any]:
    peerings = [
        {"properties": {"peeringState": state, "remoteVirtualNetwork": {"id": remote}}}
        for remote, state in peers
    ]
    return {
        "id": vnet_id,
        "name": vnet_id.rsplit("/", 1)[-1],
        "type": "microsoft.network/virtualnetworks",
        "properties": {"virtualNetworkPeerings": peerings},
    }


def _access(rows: list[dict[str, Any]], policies: list[dict[str, Any]]) -> Finding:
    vm = _vm(networkProfile={"networkInterfaces": [{"id": NIC_ID}]})
    body = {"resource": vm, "resources": rows, "scopes": {SUB_SCOPE: {JIT: {"value": policies}}}}
    return _one(ACCESS, body)


def test_jit_policy_must_list_this_vm_and_be_provisioned() -> None:
    assert _access([_nic()], [_policy(VM_ID.upper())]).status is Status.PASS
    assert _access([_nic()], [_policy(VM_ID + "0")]).status is Status.FAIL
    assert _access([_nic()], [_policy(VM_ID, "Failed")]).status is Status.FAIL


def test_developer_bastion_names_its_network() -> None:
    developer = _bastion(virtualNetwork={"id": SPOKE.upper()})
    assert _access([_nic(), developer], []).status is Status.PASS


def test_bastion_in_a_peered_hub_serves_the_spoke_only_while_connected() -> None:
    hub_bastion = _bastion(
        ipConfigurations=[{"properties": {"subnet": {"id": f"{HUB}/subnets/AzureBastionSubnet"}}}]
    )
    connected = [_nic(), _vnet(SPOKE, (HUB, "Connected")), hub_bastion]
    assert _access(connected, []).status is Status.PASS
    initiated = [_nic(), _vnet(SPOKE, (HUB, "Initiated")), hub_bastion]
    assert _access(initiated, []).status is Status.FAIL


def test_a_nic_missing_from_the_inventory_is_an_error_naming_it() -> None:
    other = {**_nic(), "id": NIC_ID + "-2", "name": "vm1-nic-2"}
    finding = _access([other], [])
    assert finding.status is Status.ERROR
    assert f"networkInterfaces[{NIC_ID}]" in finding.message
    assert _access([other, _nic()], [_policy(VM_ID)]).status is Status.PASS


def test_vm_without_public_ip_is_not_judged() -> None:
    assert _access([_nic(public=False)], []).status is Status.NOT_APPLICABLE


def test_jit_policy_without_provisioning_state_is_an_error() -> None:
    policy = _policy(VM_ID)
    del policy["properties"]["provisioningState"]
    assert _access([_nic()], [policy]).status is Status.ERROR


def _estate(
    policies: list[dict[str, Any]], spoke_c_readable: bool = True, nameless_vnet: bool = False
) -> Snapshot:
    """Three VMs with public IPs, each in its own spoke: `a`'s spoke is peered with a hub that
    holds a Bastion, `b`'s is not peered, `c`'s peering is readable or not."""
    rows: list[dict[str, Any]] = []
    for name in ("a", "b", "c"):
        nic_id = f"{RG}/Microsoft.Network/networkInterfaces/nic-{name}"
        rows.append(
            {
                "id": f"{RG}/Microsoft.Compute/virtualMachines/vm-{name}",
                "name": f"vm-{name}",
                "type": "Microsoft.Compute/virtualMachines",
                "properties": {"networkProfile": {"networkInterfaces": [{"id": nic_id}]}},
            }
        )
        config = {
            "subnet": {"id": f"{RG}/Microsoft.Network/virtualNetworks/spoke-{name}/subnets/s"},
            "publicIPAddress": {"id": f"{RG}/Microsoft.Network/publicIPAddresses/pip-{name}"},
        }
        rows.append(
            {
                "id": nic_id,
                "name": f"nic-{name}",
                "type": "Microsoft.Network/networkInterfaces",
                "properties": {"ipConfigurations": [{"properties": config}]},
            }
        )
    spoke = f"{RG}/Microsoft.Network/virtualNetworks/spoke-"
    unreadable = _vnet(spoke + "c", (HUB, "Connected"))
    if not spoke_c_readable:
        del unreadable["properties"]["virtualNetworkPeerings"][0]["properties"]["peeringState"]
    rows += [_vnet(spoke + "a", (HUB, "Connected")), _vnet(spoke + "b"), unreadable, _vnet(HUB)]
    if nameless_vnet:
        rows.append({"type": "Microsoft.Network/virtualNetworks", "name": "nameless"})
    rows.append(
        _bastion(
            ipConfigurations=[
                {"properties": {"subnet": {"id": f"{HUB}/subnets/AzureBastionSubnet"}}}
            ]
        )
    )
    for row in rows:
        row["subscriptionId"] = CASE_SUBSCRIPTION
        row["location"] = "eastus"
    return estate_snapshot([CASE_SUBSCRIPTION], rows, {SUB_SCOPE: {JIT: {"value": policies}}})


def _access_by_vm(snapshot: Snapshot) -> dict[str, Status]:
    return {f.resource_name: f.status for f in evaluate_on(snapshot, ACCESS)}


def test_each_vm_is_judged_by_its_own_networks_and_the_policies_before_an_unreadable_one() -> None:
    """The policies, networks and Bastion hosts are read once per scan for every VM; an
    unreadable peering is ERROR for the VMs in that network only, and a policy search stops
    at the first policy that cannot be read, for every VM not found before it."""
    assert _access_by_vm(_estate([])) == {
        "vm-a": Status.PASS,
        "vm-b": Status.FAIL,
        "vm-c": Status.PASS,
    }
    assert _access_by_vm(_estate([], spoke_c_readable=False)) == {
        "vm-a": Status.PASS,
        "vm-b": Status.FAIL,
        "vm-c": Status.ERROR,
    }
    unreadable = _policy(VM_ID)
    del unreadable["properties"]["provisioningState"]
    vm_b = f"{RG}/Microsoft.Compute/virtualMachines/vm-b"
    policies = [_policy(f"{RG}/Microsoft.Compute/virtualMachines/vm-a"), unreadable, _policy(vm_b)]
    assert _access_by_vm(_estate(policies)) == {
        "vm-a": Status.PASS,
        "vm-b": Status.ERROR,
        "vm-c": Status.ERROR,
    }
    # A network row without an id is met by every search of the networks.
    assert _access_by_vm(_estate([], nameless_vnet=True)) == {
        "vm-a": Status.ERROR,
        "vm-b": Status.ERROR,
        "vm-c": Status.ERROR,
    }


# -- managed disks of scale sets ------------------------------------------------------------------

MANAGED = builtin_check("ear_vm_managed_disks")


@pytest.mark.parametrize(
    ("os_disk", "status"),
    [
        (
            {"createOption": "FromImage", "managedDisk": {"storageAccountType": "Premium_LRS"}},
            "PASS",
        ),
        ({"name": "os", "vhdContainers": ["https://st.blob.core.windows.net/vhds"]}, "FAIL"),
        ({"name": "os", "image": {"uri": "https://st.blob.core.windows.net/img/os.vhd"}}, "FAIL"),
        ({"name": "os", "createOption": "FromImage"}, "FAIL"),
        ({"name": "os", "vhdContainers": "https://st.blob.core.windows.net/vhds"}, "ERROR"),
    ],
)
def test_scale_set_disks_are_judged_on_the_instance_model(
    os_disk: dict[str, Any], status: str
) -> None:
    finding = _one(MANAGED, {"resource": _vmss({"storageProfile": {"osDisk": os_disk}})})
    assert finding.status is Status(status)
    if status == "FAIL":
        assert finding.property_path == "properties.virtualMachineProfile.storageProfile"


def test_flexible_scale_set_without_a_model_has_no_disks_of_its_own() -> None:
    flexible = _vmss(None, orchestrationMode="Flexible")
    assert _one(MANAGED, {"resource": flexible}).status is Status.NOT_APPLICABLE
