"""Disaster recovery of critical VMs: Azure Site Recovery replication.

A backup restores data; a disaster recovery plan (HIPAA 164.308(a)(7)(ii)(B)) also needs the
critical systems running again after a regional outage. For Azure VMs that is Azure-to-Azure
replication by Azure Site Recovery: a replicated item of a Recovery Services vault whose
`providerSpecificDetails` (`instanceType: A2A`) names the VM in `fabricObjectId`. Only VMs a tag
marks as critical are judged; the rest are not applicable.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from azaudit.evaluators.access import ShapeError, objects, optional_obj, require_str
from azaudit.evaluators.backup import VAULTS
from azaudit.evaluators.base import (
    EvalContext,
    EvaluatorSpec,
    MissingData,
    Outcome,
    Param,
    list_values,
)
from azaudit.evaluators.common import RESOURCE_ONLY
from azaudit.models import Status

REPLICATED_ITEMS = "replicationProtectedItems"
_DEFAULT_STATES = ("Protected",)
_FAILED_HEALTH = "critical"
"""`replicationHealth` is Normal, Warning or Critical; Critical means replication has stopped
keeping the recovery point objective (https://learn.microsoft.com/azure/site-recovery/
azure-to-azure-troubleshoot-errors)."""


def _tag_value(resource: Mapping[str, Any], tag: str) -> str | None:
    """The value of tag `tag` (tag names are case-insensitive in Azure), or None if untagged."""
    tags = resource.get("tags")
    if tags is None:
        return None
    if not isinstance(tags, Mapping):
        raise ShapeError("tags", "an object", type(tags).__name__)
    for name, value in tags.items():
        if str(name).lower() == tag.lower():
            return str(value)
    return None


def _replicated_vm_id(item: Mapping[str, Any], at: str) -> str | None:
    """The Azure VM id an A2A replicated item protects; None for Hyper-V, VMware and others."""
    details = optional_obj(item, "properties.providerSpecificDetails", at=at)
    if details is None:
        raise ShapeError(f"{at}.properties.providerSpecificDetails", "an object", "absent")
    kind = require_str(details, "instanceType", at=f"{at}.properties.providerSpecificDetails")
    if kind != "A2A":
        return None
    return require_str(details, "fabricObjectId", at=f"{at}.properties.providerSpecificDetails")


def _vm_disaster_recovery(ctx: EvalContext, params: Mapping[str, Any]) -> Iterator[Outcome]:
    tag = str(params.get("tag", "criticality"))
    values = [str(v) for v in params.get("values", ["critical", "high"])]
    tagged = _tag_value(ctx.resource, tag)
    if tagged is None or tagged.lower() not in {v.lower() for v in values}:
        shown = "untagged" if tagged is None else f"tagged {tag}={tagged}"
        yield Outcome(
            Status.NOT_APPLICABLE,
            f"tags.{tag}",
            tagged,
            " or ".join(values),
            f"not a critical VM ({shown}; only VMs tagged {tag}={'/'.join(values)} are judged)",
        )
        return
    accepted = {s.lower() for s in params.get("accepted_states", _DEFAULT_STATES)}
    expected = (
        "an Azure Site Recovery (A2A) replicated item in protection state "
        f"{' or '.join(sorted(accepted))} with replicationHealth not Critical"
    )
    vm_id = str(ctx.resource["id"]).lower()
    vaults = ctx.resources_of_type(VAULTS, subscription_id=ctx.subscription_id)
    unknown: list[MissingData] = []
    failed: Outcome | None = None
    for vault in vaults:
        vault_name = str(vault.get("name"))
        try:
            items = list_values(ctx.detail(str(vault["id"]), REPLICATED_ITEMS), REPLICATED_ITEMS)
        except MissingData as missing:
            unknown.append(missing)
            continue
        for index, item in enumerate(objects(items, at=f"{vault_name}: {REPLICATED_ITEMS}")):
            at = f"{REPLICATED_ITEMS}[{item.get('name') or index}]"
            source = _replicated_vm_id(item, at)
            if source is None or source.lower() != vm_id:
                continue
            state = require_str(item, "properties.protectionState", at=at)
            health = item["properties"].get("replicationHealth")
            observed = {"vault": vault_name, "protectionState": state, "replicationHealth": health}
            if state.lower() in accepted and str(health).lower() != _FAILED_HEALTH:
                message = (
                    f"replicated by Azure Site Recovery in vault {vault_name!r} "
                    f"(protection state {state}, replication health {health})"
                )
                yield Outcome(
                    Status.PASS, "properties.protectionState", observed, expected, message
                )
                return
            problem = (
                f"protection state is {state}"
                if state.lower() not in accepted
                else f"replication health is {health}"
            )
            failed = Outcome(
                Status.FAIL,
                "properties.protectionState",
                observed,
                expected,
                f"vault {vault_name!r} replicates the VM but its {problem}: "
                "failover to the recovery region is not assured",
            )
    if unknown:
        raise unknown[0]
    if failed is not None:
        yield failed
        return
    searched = ", ".join(str(v.get("name")) for v in vaults)
    message = (
        "no Recovery Services vault exists in the subscription: the VM is not replicated"
        if not vaults
        else f"not replicated by Azure Site Recovery in any vault ({searched})"
    )
    yield Outcome(
        Status.FAIL,
        "replicationProtectedItems[providerSpecificDetails.fabricObjectId]",
        None,
        expected,
        message,
    )


SPECS: tuple[EvaluatorSpec, ...] = (
    EvaluatorSpec(
        "vm_disaster_recovery",
        _vm_disaster_recovery,
        {
            "tag": Param((str,), required=False, doc="tag that marks critical VMs"),
            "values": Param((list,), required=False, doc="tag values that mean critical"),
            "accepted_states": Param(
                (list,), required=False, doc="replication protection states that count"
            ),
        },
        RESOURCE_ONLY,
        "PASS when a Recovery Services vault of the subscription replicates the critical VM "
        "with Azure Site Recovery; VMs not tagged critical are not applicable.",
    ),
)
