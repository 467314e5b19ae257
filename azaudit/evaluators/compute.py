"""Virtual machine and scale set evaluators: host and disk encryption, agents, management access.

A virtual machine keeps its model under `properties`; a scale set keeps the same model for its
instances under `properties.virtualMachineProfile`, with its extensions inline in
`extensionProfile` rather than as separate inventory rows. `_machine` hides that difference, so
each check judges both kinds the same way.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, NamedTuple

from azaudit.evaluators.access import (
    ShapeError,
    objects,
    optional_bool,
    optional_list,
    optional_obj,
    optional_str,
    require_list,
    require_obj,
    require_str,
)
from azaudit.evaluators.base import EvalContext, EvaluatorSpec, Outcome, list_values
from azaudit.evaluators.common import RESOURCE_ONLY, show_value
from azaudit.models import JSON, Status

VM_TYPE = "microsoft.compute/virtualmachines"
VMSS_TYPE = "microsoft.compute/virtualmachinescalesets"
VM_EXTENSION_TYPE = "Microsoft.Compute/virtualMachines/extensions"
ADE_PUBLISHER = "microsoft.azure.security"
ADE_EXTENSION_TYPES = frozenset({"azurediskencryption", "azurediskencryptionforlinux"})
ADE_ENABLING = frozenset(
    {"enableencryption", "enableencryptionformat", "enableencryptionformatall"}
)
ADE_VOLUMES = frozenset({"all", "os", "data"})
SUCCEEDED = "succeeded"


@dataclass(frozen=True, slots=True)
class Extension:
    """One VM extension, wherever it was read from (inventory row or scale set model)."""

    name: str
    properties: Mapping[str, Any]
    at: str

    def publisher_type(self) -> tuple[str, str]:
        """`(publisher, type)` lower-cased; both are always sent by ARM."""
        publisher = require_str(self.properties, "publisher", at=self.at).lower()
        kind = require_str(self.properties, "type", at=self.at).lower()
        return publisher, kind


@dataclass(frozen=True, slots=True)
class Machine:
    """The parts of a VM or scale set model the compute checks read.

    Attributes:
        model: the VM model (`properties`, or a scale set's `virtualMachineProfile`).
        at: where `model` is, for evidence paths.
        extensions: the machine's extensions.
        kind: "virtual machine" or "scale set", for messages.
    """

    model: Mapping[str, Any]
    at: str
    extensions: tuple[Extension, ...]
    kind: str


def _machine(ctx: EvalContext, *, extensions: bool = True) -> Machine | None:
    """The target as a `Machine`, or None for a flexible scale set without an instance model.

    A flexible scale set may carry no `virtualMachineProfile`: its instances are ordinary VMs in
    the inventory and are judged one by one
    (https://learn.microsoft.com/azure/virtual-machine-scale-sets/virtual-machine-scale-sets-orchestration-modes).
    """
    rtype = require_str(ctx.resource, "type", at="resource").lower()
    props = require_obj(ctx.resource, "properties", at="resource")
    if rtype == VMSS_TYPE:
        profile = optional_obj(props, "virtualMachineProfile", at="properties")
        if profile is None:
            mode = optional_str(props, "orchestrationMode", at="properties")
            if str(mode).lower() == "flexible":
                return None
            raise ShapeError("properties.virtualMachineProfile", "an object", "absent")
        at = "properties.virtualMachineProfile"
        listed = optional_list(profile, "extensionProfile.extensions", at=at) if extensions else []
        inline: list[Extension] = []
        for index, item in enumerate(objects(listed, at=f"{at}.extensionProfile.extensions")):
            item_at = f"{at}.extensionProfile.extensions[{index}]"
            name = require_str(item, "name", at=item_at)
            props_at = f"{item_at}.properties"
            inline.append(Extension(name, require_obj(item, "properties", at=item_at), props_at))
        return Machine(profile, at, tuple(inline), "scale set")
    if rtype != VM_TYPE:
        raise ShapeError("resource.type", "a virtual machine or scale set", rtype)
    rows = ctx.child_resources(ctx.scope_id, VM_EXTENSION_TYPE) if extensions else []
    found: list[Extension] = []
    for row in rows:
        name = require_str(row, "name", at="extensions[]")
        at = f"extensions[name={name}]"
        found.append(Extension(name, require_obj(row, "properties", at=at), f"{at}.properties"))
    return Machine(props, "properties", tuple(found), "virtual machine")


def _data_disks(machine: Machine) -> list[Mapping[str, Any]]:
    """The machine's data disks.

    A VM's model always lists them, `[]` when there are none (VirtualMachines_ListByLocation
    example), so an absent list is a shape error: reading it as "none" would let an OS-only
    encryption pass. A scale set's model omits the list when its instances have no data disks.
    """
    storage = require_obj(machine.model, "storageProfile", at=machine.at)
    at = f"{machine.at}.storageProfile"
    if machine.kind == "scale set":
        listed = optional_list(storage, "dataDisks", at=at)
    else:
        listed = require_list(storage, "dataDisks", at=at)
    return objects(listed, at=f"{at}.dataDisks")


def _data_disk_count(machine: Machine) -> int:
    return len(_data_disks(machine))


def _setting(settings: Mapping[str, Any], key: str, at: str) -> str:
    """A public setting of the extension; the handler reads names case-insensitively."""
    for name, value in settings.items():
        if name.lower() == key.lower():
            if not isinstance(value, str):
                raise ShapeError(f"{at}.{name}", "a string", type(value).__name__)
            return value
    raise ShapeError(f"{at}.{key}", "a string", "absent")


def _ade_problems(ext: Extension, data_disks: int) -> list[str]:
    """Why an Azure Disk Encryption extension does not encrypt the machine's volumes.

    Only the public `settings` are read (never protected settings, which ARM does not return):
    `EncryptionOperation` must enable encryption and `VolumeType` must cover the OS volume and,
    when data disks exist, the data volumes (`All`)
    (https://learn.microsoft.com/azure/virtual-machines/extensions/azure-disk-enc-windows,
    https://learn.microsoft.com/azure/virtual-machines/extensions/azure-disk-enc-linux).
    A provisioning state other than Succeeded means the encryption did not complete.
    """
    problems = []
    state = require_str(ext.properties, "provisioningState", at=ext.at)
    if state.lower() != SUCCEEDED:
        problems.append(f"provisioningState is {state}")
    settings = require_obj(ext.properties, "settings", at=ext.at)
    at = f"{ext.at}.settings"
    operation = _setting(settings, "EncryptionOperation", at)
    if operation.lower() not in ADE_ENABLING:
        problems.append(f"EncryptionOperation is {operation}")
    volume = _setting(settings, "VolumeType", at)
    if volume.lower() not in ADE_VOLUMES:
        raise ShapeError(f"{at}.VolumeType", "All, OS or Data", repr(volume))
    if volume.lower() == "data":
        problems.append("VolumeType is Data: the OS volume is not encrypted")
    elif volume.lower() == "os" and data_disks:
        problems.append(f"VolumeType is OS: the {data_disks} data disk(s) are not encrypted")
    return problems


def _ade_outcome(machine: Machine, path: str, at_host: JSON, expected: str) -> Outcome | None:
    """PASS for a working Azure Disk Encryption extension, FAIL for a broken one, else None."""
    found = [
        ext
        for ext in machine.extensions
        if (pair := ext.publisher_type())[0] == ADE_PUBLISHER and pair[1] in ADE_EXTENSION_TYPES
    ]
    if not found:
        return None
    data_disks = _data_disk_count(machine)
    failures = []
    for ext in found:
        problems = _ade_problems(ext, data_disks)
        if not problems:
            return Outcome(
                Status.PASS,
                f"{ext.at}.settings",
                {"extension": ext.name, "provisioningState": "Succeeded"},
                expected,
                f"Azure Disk Encryption is in use (extension {ext.name!r}); Microsoft has "
                "announced its retirement, so plan the move to encryption at host",
            )
        failures.append(f"extension {ext.name!r}: {'; '.join(problems)}")
    return Outcome(
        Status.FAIL,
        path,
        {"encryptionAtHost": at_host, "ade": failures},
        expected,
        f"{path} is {show_value(at_host)} and Azure Disk Encryption does not encrypt the "
        f"machine: {' / '.join(failures)}",
    )


def _vm_host_encryption(ctx: EvalContext, params: Mapping[str, Any]) -> Iterator[Outcome]:
    """PASS when the machine's temp disk and disk caches are encrypted, not only its managed disks.

    Server-side encryption already encrypts every managed disk at rest in storage; what it does not
    cover is the temporary disk and the OS/data disk caches on the host. Those are encrypted only by
    encryption at host, by Azure Disk Encryption inside the guest (installed, Succeeded, and
    covering every volume), or by confidential disk encryption. A customer-managed key on the
    disks does not change that, so it is not credited.
    """
    machine = _machine(ctx)
    expected = (
        "encryption at host enabled (or Azure Disk Encryption of every volume / confidential "
        "disk encryption)"
    )
    if machine is None:
        yield Outcome(
            Status.NOT_APPLICABLE,
            "properties.virtualMachineProfile",
            None,
            expected,
            "flexible scale set without an instance model: its VMs are judged one by one",
        )
        return
    # `securityProfile` and `encryptionAtHost` are omitted unless set (VirtualMachines_List).
    security = optional_obj(machine.model, "securityProfile", at=machine.at) or {}
    path = f"{machine.at}.securityProfile.encryptionAtHost"
    at_host = optional_bool(security, "encryptionAtHost", at=f"{machine.at}.securityProfile")
    if at_host is True:
        yield Outcome(
            Status.PASS,
            path,
            at_host,
            expected,
            "encryption at host is enabled (temp disk and disk caches are encrypted on the host)",
        )
        return
    storage = require_obj(machine.model, "storageProfile", at=machine.at)
    os_disk = require_obj(storage, "osDisk", at=f"{machine.at}.storageProfile")
    os_at = f"{machine.at}.storageProfile.osDisk"
    cvm_type = optional_str(os_disk, "managedDisk.securityProfile.securityEncryptionType", at=os_at)
    security_type = optional_str(security, "securityType", "", at=f"{machine.at}.securityProfile")
    if (
        security_type.lower() == "confidentialvm"
        and str(cvm_type).lower() == "diskwithvmgueststate"
    ):
        yield Outcome(
            Status.PASS,
            f"{os_at}.managedDisk.securityProfile.securityEncryptionType",
            cvm_type,
            expected,
            "confidential VM with confidential OS disk encryption (DiskWithVMGuestState)",
        )
        return
    ade = _ade_outcome(machine, path, at_host, expected)
    if ade is not None:
        yield ade
        return
    # Encryption settings on the OS disk are the older ADE record; they speak for the OS disk only.
    if optional_bool(os_disk, "encryptionSettings.enabled", at=os_at) is True:
        data_disks = _data_disk_count(machine)
        if not data_disks:
            yield Outcome(
                Status.PASS,
                f"{os_at}.encryptionSettings.enabled",
                True,
                expected,
                "Azure Disk Encryption is in use (osDisk.encryptionSettings); Microsoft has "
                "announced its retirement, so plan the move to encryption at host",
            )
            return
        yield Outcome(
            Status.FAIL,
            f"{os_at}.encryptionSettings.enabled",
            {"encryptionAtHost": at_host, "osDisk.encryptionSettings.enabled": True},
            expected,
            f"only the OS disk records Azure Disk Encryption (osDisk.encryptionSettings) and no "
            f"encryption extension shows the {data_disks} data disk(s) encrypted; {path} is "
            f"{show_value(at_host)}",
        )
        return
    yield Outcome(
        Status.FAIL,
        path,
        at_host,
        expected,
        f"{path} is {show_value(at_host)} and no Azure Disk Encryption extension is installed: the "
        "temp disk and OS/data disk caches on the host are not encrypted at rest",
    )


# -- managed disks --------------------------------------------------------------------------------


def _disk_is_managed(disk: Mapping[str, Any], where: str) -> bool:
    """Whether a disk of the model is a managed disk.

    A VM disk carries `vhd` (unmanaged) or `managedDisk`, not both
    (https://learn.microsoft.com/rest/api/compute/virtual-machines/get); an unmanaged scale set
    keeps its OS disks in the storage containers of `vhdContainers` or boots from `image.uri`
    (https://learn.microsoft.com/rest/api/compute/virtual-machine-scale-sets/get).
    """
    vhd = optional_obj(disk, "vhd", at=where)
    if vhd is not None and vhd.get("uri"):
        return False
    if optional_list(disk, "vhdContainers", at=where):
        return False
    if optional_str(disk, "image.uri", at=where):
        return False
    return optional_obj(disk, "managedDisk", at=where) is not None


def _note_unmanaged(found: dict[str, JSON], where: str, disk: Mapping[str, Any], path: str) -> None:
    """Record `disk` in `found` (with its VHD location, if any) when it is not managed."""
    if _disk_is_managed(disk, f"{path}.{where}"):
        return
    vhd = optional_obj(disk, "vhd", at=f"{path}.{where}") or {}
    containers = optional_list(disk, "vhdContainers", at=f"{path}.{where}")
    located: JSON = vhd.get("uri") or (list(containers) if containers else None)
    found[f"{where} ({disk.get('name', '?')})"] = located


def _vm_managed_disks(ctx: EvalContext, params: Mapping[str, Any]) -> Iterator[Outcome]:
    """PASS when the OS disk and every data disk are managed disks (no VHD blob in an account).

    An unmanaged disk is a page blob in a customer storage account: its encryption, network access
    and keys follow that account, and it escapes disk-level controls (disk encryption sets, disk
    network access policies, disk backups). Scale sets are judged on their instance model.
    """
    machine = _machine(ctx, extensions=False)
    expected = "OS and data disks are managed disks (managedDisk set, no vhd.uri / vhdContainers)"
    if machine is None:
        yield Outcome(
            Status.NOT_APPLICABLE,
            "properties.virtualMachineProfile",
            None,
            expected,
            "flexible scale set without an instance model: its VMs are judged one by one",
        )
        return
    path = f"{machine.at}.storageProfile"
    storage = require_obj(machine.model, "storageProfile", at=machine.at)
    os_disk = require_obj(storage, "osDisk", at=path)
    unmanaged: dict[str, JSON] = {}
    _note_unmanaged(unmanaged, "osDisk", os_disk, path)
    try:
        data_disks = _data_disks(machine)
    except ShapeError:
        if not unmanaged:
            raise
        data_disks = []  # the unmanaged OS disk already proves the FAIL
    disks = [("osDisk", os_disk)] + [(f"dataDisks[{i}]", d) for i, d in enumerate(data_disks)]
    for where, disk in disks[1:]:
        _note_unmanaged(unmanaged, where, disk, path)
    if unmanaged:
        listed = ", ".join(
            f"{k} {'at ' + str(v) if v else 'has no managedDisk reference'}"
            for k, v in unmanaged.items()
        )
        yield Outcome(Status.FAIL, path, unmanaged, expected, f"unmanaged disk(s): {listed}")
        return
    yield Outcome(
        Status.PASS,
        path,
        {where: "managed" for where, _ in disks},
        expected,
        f"all {len(disks)} disk(s) are managed disks",
    )


# -- Azure Monitor Agent -------------------------------------------------------------------------

DCR_ASSOCIATIONS = "providers/Microsoft.Insights/dataCollectionRuleAssociations"
AMA_PUBLISHER = "microsoft.azure.monitor"
AMA_TYPES = frozenset({"azuremonitorwindowsagent", "azuremonitorlinuxagent"})
LEGACY_PUBLISHER = "microsoft.enterprisecloud.monitoring"
LEGACY_TYPES = frozenset({"microsoftmonitoringagent", "omsagentforlinux"})
AKS_TYPE = "Microsoft.ContainerService/managedClusters"


def _aks_cluster(ctx: EvalContext) -> str | None:
    """The AKS cluster whose node resource group holds this scale set, if any.

    AKS creates its node pools as scale sets in the cluster's `nodeResourceGroup`; the cluster's
    own property, not a tag the customer could copy, is the evidence.
    """
    if require_str(ctx.resource, "type", at="resource").lower() != VMSS_TYPE:
        return None
    rg = ctx.scope_id.lower().split("/providers/", 1)[0].rsplit("/", 1)[-1]
    for cluster in ctx.resources_of_type(AKS_TYPE, subscription_id=str(ctx.subscription_id)):
        at = f"managedClusters[{cluster.get('id')}].properties"
        node_rg = optional_str(cluster, "properties.nodeResourceGroup", at=at)
        if node_rg and node_rg.lower() == rg:
            return str(cluster.get("name") or cluster.get("id"))
    return None


def _monitoring_agent(ctx: EvalContext, params: Mapping[str, Any]) -> Iterator[Outcome]:
    """PASS when the Azure Monitor Agent runs on the machine and a data collection rule feeds it.

    The agent collects nothing without a data collection rule association
    (https://learn.microsoft.com/azure/azure-monitor/agents/azure-monitor-agent-data-collection);
    an association that names only a data collection endpoint carries no rule. The legacy Log
    Analytics agent (MMA/OMS) was retired on 31 August 2024 and is not accepted in its place.
    """
    machine = _machine(ctx)
    expected = (
        "AzureMonitorWindowsAgent/AzureMonitorLinuxAgent provisioned (Succeeded) and a data "
        "collection rule associated"
    )
    if machine is None:
        yield Outcome(
            Status.NOT_APPLICABLE,
            "properties.virtualMachineProfile",
            None,
            expected,
            "flexible scale set without an instance model: its VMs are judged one by one",
        )
        return
    cluster = _aks_cluster(ctx)
    if cluster is not None:
        yield Outcome(
            Status.NOT_APPLICABLE,
            "resourceGroup",
            cluster,
            expected,
            f"node pool of AKS cluster {cluster!r}: its node and container logs are collected by "
            "the cluster's monitoring add-on, judged on the cluster",
        )
        return
    agents: dict[str, str] = {}
    legacy: list[str] = []
    for ext in machine.extensions:
        publisher, kind = ext.publisher_type()
        if publisher == AMA_PUBLISHER and kind in AMA_TYPES:
            agents[ext.name] = require_str(ext.properties, "provisioningState", at=ext.at)
        elif publisher == LEGACY_PUBLISHER and kind in LEGACY_TYPES:
            legacy.append(ext.name)
    associations = objects(
        list_values(ctx.own(DCR_ASSOCIATIONS), DCR_ASSOCIATIONS),
        at="dataCollectionRuleAssociations",
    )
    rules = []
    for index, item in enumerate(associations):
        at = f"dataCollectionRuleAssociations[{index}]"
        rule = optional_str(item, "properties.dataCollectionRuleId", at=at)
        if rule:
            rules.append(rule)
    observed: dict[str, JSON] = {
        "azureMonitorAgent": dict(agents),
        "legacyAgent": list(legacy),
        "dataCollectionRules": list(rules),
    }
    problems = []
    running = [name for name, state in agents.items() if state.lower() == SUCCEEDED]
    if not agents:
        problems.append("the Azure Monitor Agent is not installed")
    elif not running:
        states = ", ".join(f"{n} is {s}" for n, s in agents.items())
        problems.append(f"the Azure Monitor Agent did not provision ({states})")
    if legacy and not running:
        problems.append(
            f"only the retired Log Analytics agent ({', '.join(legacy)}) is installed; it is "
            "unsupported since 31 August 2024"
        )
    if not rules:
        problems.append("no data collection rule is associated, so the agent collects nothing")
    path = f"{machine.at}.extensions, {DCR_ASSOCIATIONS}"
    if problems:
        yield Outcome(Status.FAIL, path, observed, expected, "; ".join(problems))
        return
    yield Outcome(
        Status.PASS,
        path,
        observed,
        expected,
        f"{running[0]} runs with {len(rules)} data collection rule(s)"
        + (f"; remove the retired {', '.join(legacy)}" if legacy else ""),
    )


# -- management access (JIT or Bastion) ------------------------------------------------------------

JIT_POLICIES = "providers/Microsoft.Security/jitNetworkAccessPolicies"
NIC_TYPE = "Microsoft.Network/networkInterfaces"
VNET_TYPE = "Microsoft.Network/virtualNetworks"
BASTION_TYPE = "Microsoft.Network/bastionHosts"


def _vnet_of(subnet_id: str) -> str:
    return subnet_id.lower().split("/subnets/", 1)[0]


def _network(ctx: EvalContext) -> tuple[list[str], set[str]]:
    """`(public IP ids, virtual network ids)` of the VM's network interfaces.

    A VM's `networkProfile.networkInterfaces` names its NICs; each NIC is an inventory row in
    the same resource group namespace, found by id in an index of that namespace's NICs built
    once per scan (`_nics_by_id`), not by a search of them for every VM.
    """
    props = require_obj(ctx.resource, "properties", at="resource")
    refs = objects(
        require_list(props, "networkProfile.networkInterfaces", at="properties"),
        at="properties.networkProfile.networkInterfaces",
    )
    public: list[str] = []
    vnets: set[str] = set()
    for index, ref in enumerate(refs):
        nic_id = require_str(ref, "id", at=f"properties.networkProfile.networkInterfaces[{index}]")
        rows = _nics_by_id(ctx, nic_id.rstrip("/").rsplit("/", 2)[0]).get(nic_id.lower())
        if not rows:
            raise ShapeError(f"networkInterfaces[{nic_id}]", "the NIC in the inventory", "absent")
        at = f"networkInterfaces[{nic_id}].properties"
        configs = objects(
            require_list(rows[0], "properties.ipConfigurations", at=f"networkInterfaces[{nic_id}]"),
            at=f"{at}.ipConfigurations",
        )
        for position, config in enumerate(configs):
            config_at = f"{at}.ipConfigurations[{position}].properties"
            vnets.add(_vnet_of(require_str(config, "properties.subnet.id", at=config_at)))
            pip = optional_str(config, "properties.publicIPAddress.id", at=config_at)
            if pip:
                public.append(pip)
    return public, vnets


def _nics_by_id(ctx: EvalContext, parent: str) -> dict[str, list[Mapping[str, JSON]]]:
    """The NIC rows below `parent` in the VM's subscription (`EvalContext.child_resources`), by
    id in lower case, in inventory order."""

    def index() -> dict[str, list[Mapping[str, JSON]]]:
        rows: dict[str, list[Mapping[str, JSON]]] = {}
        for row in ctx.child_resources(parent, NIC_TYPE):
            rows.setdefault(str(row.get("id", "")).lower(), []).append(row)
        return rows

    key = ("nics-by-id", parent.rstrip("/").lower(), str(ctx.subscription_id).lower())
    return ctx.snapshot.derived(key, index)


def _jit_policy(ctx: EvalContext) -> str | None:
    """The name of a provisioned JIT policy that lists this VM, if any.

    Policies are listed per subscription (JitNetworkAccessPolicies_List); each names its VMs and
    the ports it locks down. The list is read once per subscription and scan (`_JitPolicy`), and
    searched in its order: a policy that cannot be read stops the search there, as it always
    did.
    """
    body = ctx.subscription_doc(JIT_POLICIES)
    scope = str(ctx.subscription_id).lower()
    policies = ctx.snapshot.derived((JIT_POLICIES, scope), lambda: _jit_policies(body))
    vm_id = ctx.scope_id.lower()
    for policy in policies:
        if isinstance(policy, Exception):
            raise policy.with_traceback(None)
        if vm_id in policy.listed and policy.state.lower() == SUCCEEDED:
            return policy.name
    return None


class _JitPolicy(NamedTuple):
    name: str
    listed: frozenset[str]
    """Ids (lower case) of the virtual machines the policy names."""
    state: str


def _jit_policies(body: JSON) -> list[_JitPolicy | Exception]:
    """A subscription's JIT policies in list order, up to and including the first that cannot
    be read (kept as its error: no search ever reads past it)."""
    out: list[_JitPolicy | Exception] = []
    for index, policy in enumerate(objects(list_values(body, JIT_POLICIES), at="jitPolicies")):
        at = f"jitNetworkAccessPolicies[{index}]"
        try:
            props = require_obj(policy, "properties", at=at)
            vms = objects(require_list(props, "virtualMachines", at=f"{at}.properties"), at=at)
            listed = frozenset(
                require_str(v, "id", at=f"{at}.virtualMachines[]").lower() for v in vms
            )
            state = require_str(props, "provisioningState", at=f"{at}.properties")
        except ShapeError as error:
            out.append(error)
            break
        out.append(_JitPolicy(str(policy.get("name") or at), listed, state))
    return out


class _PeeredNetworks(NamedTuple):
    """The tenant's virtual networks with their Connected peers, read once per scan."""

    by_id: dict[str, list[tuple[int, set[str] | Exception]]]
    """Network id (lower case) -> (inventory position, Connected peers or why its peerings
    cannot be read) of each row with that id."""
    unreadable_id: tuple[int, Exception] | None
    """The first row whose id cannot be read: every search of the networks meets it."""


def _peered_networks(ctx: EvalContext) -> _PeeredNetworks:
    by_id: dict[str, list[tuple[int, set[str] | Exception]]] = {}
    unreadable_id: tuple[int, Exception] | None = None
    for position, vnet in enumerate(ctx.resources_of_type(VNET_TYPE)):
        try:
            vnet_id = require_str(vnet, "id", at="virtualNetworks[]").lower()
        except ShapeError as error:
            unreadable_id = unreadable_id or (position, error)
            continue
        at = f"virtualNetworks[{vnet_id}].properties"
        connected: set[str] = set()
        peers: set[str] | Exception = connected
        try:
            peerings = objects(
                optional_list(vnet, "properties.virtualNetworkPeerings", at=at), at=at
            )
            for peering in peerings:
                state = require_str(peering, "properties.peeringState", at=f"{at}.peerings[]")
                remote = require_str(
                    peering, "properties.remoteVirtualNetwork.id", at=f"{at}.peerings[]"
                )
                if state.lower() == "connected":
                    connected.add(remote.lower())
        except ShapeError as error:
            peers = error
        by_id.setdefault(vnet_id, []).append((position, peers))
    return _PeeredNetworks(by_id, unreadable_id)


def _reachable_vnets(ctx: EvalContext, vnets: set[str]) -> set[str]:
    """The VM's virtual networks and those peered with them (Connected).

    The networks are indexed once per scan (`_PeeredNetworks`) instead of walked for every VM;
    as a walk in inventory order would, the first unreadable row among the VM's networks (or
    the first row without a readable id) makes the answer an error.
    """
    networks = ctx.snapshot.derived(("peered-networks",), lambda: _peered_networks(ctx))
    reachable = set(vnets)
    first_error = networks.unreadable_id
    for vnet_id in vnets:
        for position, peers in networks.by_id.get(vnet_id, ()):
            if isinstance(peers, Exception):
                if first_error is None or position < first_error[0]:
                    first_error = (position, peers)
            else:
                reachable |= peers
    if first_error is not None:
        raise first_error[1].with_traceback(None)
    return reachable


def _bastion(ctx: EvalContext, vnets: set[str]) -> str | None:
    """A Bastion host deployed in (or peered with) one of the VM's virtual networks.

    A Basic-and-above Bastion sits in the network's AzureBastionSubnet; the Developer SKU names
    its network in `virtualNetwork.id`
    (https://learn.microsoft.com/azure/bastion/configuration-settings).
    """
    reachable = _reachable_vnets(ctx, vnets)
    for host in ctx.snapshot.derived(("bastion-homes",), lambda: _bastion_homes(ctx)):
        if isinstance(host, Exception):
            raise host.with_traceback(None)
        name, homes = host
        if homes & reachable:
            return name
    return None


def _bastion_homes(ctx: EvalContext) -> list[tuple[str, set[str]] | Exception]:
    """Every Bastion host's name and virtual networks, in inventory order, up to and including
    the first that cannot be read (kept as its error: no search ever reads past it)."""
    out: list[tuple[str, set[str]] | Exception] = []
    for host in ctx.resources_of_type(BASTION_TYPE):
        try:
            host_id = require_str(host, "id", at="bastionHosts[]")
            at = f"bastionHosts[{host_id}].properties"
            own = optional_str(host, "properties.virtualNetwork.id", at=at)
            homes = {own.lower()} if own else set()
            configs = objects(optional_list(host, "properties.ipConfigurations", at=at), at=at)
            for config in configs:
                homes.add(_vnet_of(require_str(config, "properties.subnet.id", at=f"{at}.ip[]")))
        except ShapeError as error:
            out.append(error)
            break
        out.append((host_id.rsplit("/", 1)[-1], homes))
    return out


def _management_access(ctx: EvalContext, params: Mapping[str, Any]) -> Iterator[Outcome]:
    """PASS when a VM with a public IP is managed through JIT access or Azure Bastion.

    A VM without a public IP on its network interfaces is NOT_APPLICABLE: its management ports
    are not reachable from the internet directly. Otherwise a provisioned just-in-time policy
    listing the VM (ports closed until a time-limited, audited request), or a Bastion host in its
    virtual network or one peered with it, is required.
    """
    expected = "a just-in-time access policy covering the VM, or Azure Bastion in its network"
    public, vnets = _network(ctx)
    if not public:
        yield Outcome(
            Status.NOT_APPLICABLE,
            "properties.networkProfile.networkInterfaces",
            [],
            expected,
            "no public IP address on the VM's network interfaces",
        )
        return
    policy = _jit_policy(ctx)
    if policy is not None:
        yield Outcome(
            Status.PASS,
            JIT_POLICIES,
            policy,
            expected,
            f"just-in-time access policy {policy!r} covers the VM",
        )
        return
    bastion = _bastion(ctx, vnets)
    if bastion is not None:
        yield Outcome(
            Status.PASS,
            "bastionHosts",
            bastion,
            expected,
            f"Azure Bastion {bastion!r} serves the VM's virtual network",
        )
        return
    yield Outcome(
        Status.FAIL,
        JIT_POLICIES,
        {"publicIPs": public, "virtualNetworks": sorted(vnets)},
        expected,
        "the VM has a public IP and neither a just-in-time access policy nor an Azure Bastion "
        "in its network: its management ports are reached directly",
    )


SPECS: tuple[EvaluatorSpec, ...] = (
    EvaluatorSpec(
        "vm_host_encryption",
        _vm_host_encryption,
        {},
        RESOURCE_ONLY,
        "PASS when a VM or scale set has encryption at host, a succeeded Azure Disk Encryption of "
        "every volume, or confidential disk encryption (temp disk and caches encrypted); a CMK on "
        "the disks alone does not count.",
    ),
    EvaluatorSpec(
        "vm_managed_disks",
        _vm_managed_disks,
        {},
        RESOURCE_ONLY,
        "PASS when a VM's or scale set's OS and data disks are all managed disks (no vhd.uri, "
        "no vhdContainers).",
    ),
    EvaluatorSpec(
        "vm_monitoring_agent",
        _monitoring_agent,
        {},
        RESOURCE_ONLY,
        "PASS when a VM or scale set runs the Azure Monitor Agent (Succeeded) with a data "
        "collection rule associated; the legacy Log Analytics agent does not count.",
    ),
    EvaluatorSpec(
        "vm_management_access",
        _management_access,
        {},
        RESOURCE_ONLY,
        "NOT_APPLICABLE without a public IP; otherwise PASS when a JIT policy covers the VM or a "
        "Bastion host serves its (or a peered) virtual network.",
    ),
)
