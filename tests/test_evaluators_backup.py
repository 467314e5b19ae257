"""Backup evaluators through the engine: VM protection across vaults, and property conditions."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from azaudit.casebook import CASE_SUBSCRIPTION, case_config, case_snapshot
from azaudit.catalogue import Case, Rule
from azaudit.engine import evaluate_check
from azaudit.models import Status
from azaudit.snapshot import subscription_scope
from tests.evaluator_support import builtin_check, run_check, with_params

SUB = subscription_scope(CASE_SUBSCRIPTION)
OTHER = "00000000-0000-0000-0000-0000000000c2"
VM_ID = f"{SUB}/resourceGroups/rg-ehr/providers/Microsoft.Compute/virtualMachines/vm1"
ITEMS = "backupProtectedItems"


def _vault(name: str, subscription: str = CASE_SUBSCRIPTION) -> dict[str, Any]:
    return {
        "id": f"/subscriptions/{subscription}/resourceGroups/rg-bk/providers/"
        f"Microsoft.RecoveryServices/vaults/{name}",
        "type": "Microsoft.RecoveryServices/vaults",
        "name": name,
        "subscriptionId": subscription,
    }


def _item(
    source: str, state: str | None = "Protected", key: str = "sourceResourceId"
) -> dict[str, Any]:
    props: dict[str, Any] = {key: source, "protectedItemType": "Microsoft.Compute/virtualMachines"}
    if state is not None:
        props["protectionState"] = state
    return {"properties": props}


def _vm_body(
    vaults: list[dict[str, Any]],
    items: dict[str, list[dict[str, Any]]],
    gaps: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    return {
        "resource": {"id": VM_ID, "name": "vm1"},
        "resources": vaults,
        "scopes": {_vault(name)["id"]: {ITEMS: {"value": value}} for name, value in items.items()},
        "gaps": gaps or [],
    }


VM_CHECK = builtin_check("bkp_vm_protected")


def test_found_in_a_readable_vault_passes_even_if_another_vault_is_unreadable() -> None:
    gap = {"scope": _vault("locked")["id"], "source": ITEMS, "reason": "403"}
    body = _vm_body([_vault("locked"), _vault("good")], {"good": [_item(VM_ID)]}, [gap])
    (finding,) = run_check(VM_CHECK, body)
    assert finding.status is Status.PASS
    assert "good" in finding.message


def test_not_found_while_a_vault_is_unreadable_is_an_error_not_a_fail() -> None:
    gap = {"scope": _vault("locked")["id"], "source": ITEMS, "reason": "403"}
    body = _vm_body([_vault("locked"), _vault("good")], {"good": []}, [gap])
    (finding,) = run_check(VM_CHECK, body)
    assert finding.status is Status.ERROR
    assert "locked" in finding.message


def test_vault_whose_items_were_never_collected_is_an_error() -> None:
    (finding,) = run_check(VM_CHECK, _vm_body([_vault("silent")], {}))
    assert finding.status is Status.ERROR
    assert "not collected" in finding.message


def test_vaults_of_other_subscriptions_are_not_searched() -> None:
    foreign = _vault("foreign", OTHER)
    body = _vm_body([foreign], {})
    body["scopes"] = {foreign["id"]: {ITEMS: {"value": [_item(VM_ID)]}}}
    (finding,) = run_check(VM_CHECK, body)
    assert finding.status is Status.FAIL
    assert "no Recovery Services vault" in finding.message


def test_legacy_virtual_machine_id_field_is_accepted() -> None:
    body = _vm_body([_vault("v")], {"v": [_item(VM_ID.upper(), key="virtualMachineId")]})
    (finding,) = run_check(VM_CHECK, body)
    assert finding.status is Status.PASS


@pytest.mark.parametrize(
    ("state", "status"),
    [
        ("IRPending", Status.PASS),
        ("ProtectionError", Status.FAIL),
        ("ProtectionPaused", Status.FAIL),
        (None, Status.ERROR),
    ],
)
def test_protection_states(state: str | None, status: Status) -> None:
    (finding,) = run_check(VM_CHECK, _vm_body([_vault("v")], {"v": [_item(VM_ID, state)]}))
    assert finding.status is status


def test_accepted_states_are_a_parameter() -> None:
    body = _vm_body([_vault("v")], {"v": [_item(VM_ID, "ProtectionError")]})
    (finding,) = run_check(VM_CHECK, body, accepted_states=["Protected", "ProtectionError"])
    assert finding.status is Status.PASS


def test_malformed_protected_item_is_an_error() -> None:
    (finding,) = run_check(VM_CHECK, _vm_body([_vault("v")], {"v": [{"id": "x"}]}))
    assert finding.status is Status.ERROR


def test_a_vault_shared_by_many_machines_reads_each_as_a_search_from_the_top_would() -> None:
    """The vault's items are indexed once per scan: a malformed item still hides exactly the
    machines a search from the top would not have reached, and the first item per machine wins."""
    vms = [VM_ID.replace("vm1", f"vm{n}") for n in (1, 2, 3, 4)]
    rows = [{"id": vm, "type": "Microsoft.Compute/virtualMachines", "name": vm[-3:]} for vm in vms]
    items: list[Any] = [
        _item(vms[0]),
        _item(vms[3], "ProtectionStopped"),
        "not an object",
        _item(vms[1]),
        _item(vms[3]),
    ]
    body = _vm_body([_vault("v"), *rows[1:]], {})
    body["scopes"] = {_vault("v")["id"]: {ITEMS: {"value": items}}}
    snapshot = case_snapshot(VM_CHECK, Case("shared", Status.PASS, body))
    findings = list(evaluate_check(snapshot, VM_CHECK, case_config()))
    by_vm = {f.resource_id: f for f in findings}
    assert [by_vm[vm].status for vm in vms] == [
        Status.PASS,
        Status.ERROR,
        Status.ERROR,
        Status.FAIL,
    ]
    assert "AttributeError" in by_vm[vms[1]].message
    assert "AttributeError" in by_vm[vms[2]].message
    assert "ProtectionStopped" in by_vm[vms[3]].message


def test_inventory_gap_gives_error_for_the_subscription() -> None:
    body = {
        "resource": {"id": VM_ID},
        "gaps": [{"scope": SUB, "source": "resources", "reason": "x"}],
    }
    findings = run_check(VM_CHECK, body)
    assert findings and all(f.status is Status.ERROR for f in findings)


# -- vm_disaster_recovery -------------------------------------------------------------------------

DR_CHECK = builtin_check("bkp_vm_disaster_recovery")
REPLICATED = "replicationProtectedItems"


def _replica(
    vm_id: str, state: str = "Protected", health: str = "Normal", kind: str = "A2A"
) -> dict[str, Any]:
    """A replicated item shaped after Site Recovery's `ReplicationProtectedItems_List`."""
    details: dict[str, Any] = {"instanceType": kind}
    if kind == "A2A":
        details["fabricObjectId"] = vm_id
    return {
        "name": "f8491e4f-817a-40dd-a90c-af773978c75b",
        "properties": {
            "protectionState": state,
            "replicationHealth": health,
            "providerSpecificDetails": details,
        },
    }


def _dr_body(
    items: dict[str, list[dict[str, Any]]],
    tags: Any = None,
    gaps: list[dict[str, Any]] | None = None,
    vaults: list[str] | None = None,
) -> dict[str, Any]:
    resource: dict[str, Any] = {"id": VM_ID, "name": "vm1"}
    resource["tags"] = {"criticality": "critical"} if tags is None else tags
    names = vaults if vaults is not None else list(items)
    return {
        "resource": resource,
        "resources": [_vault(name) for name in names],
        "scopes": {_vault(n)["id"]: {REPLICATED: {"value": v}} for n, v in items.items()},
        "gaps": gaps or [],
    }


def test_replicated_critical_vm_passes_and_names_the_vault() -> None:
    (finding,) = run_check(DR_CHECK, _dr_body({"rsv-dr": [_replica(VM_ID.upper())]}))
    assert finding.status is Status.PASS
    assert "rsv-dr" in finding.message


def test_backup_alone_is_not_replication() -> None:
    body = _dr_body({"rsv-dr": []})
    body["scopes"][_vault("rsv-dr")["id"]][ITEMS] = {"value": [_item(VM_ID)]}
    (finding,) = run_check(DR_CHECK, body)
    assert finding.status is Status.FAIL
    assert "rsv-dr" in finding.message


def test_other_replication_scenarios_do_not_protect_an_azure_vm() -> None:
    body = _dr_body({"v": [_replica(VM_ID, kind="HyperVReplicaAzure")]})
    (finding,) = run_check(DR_CHECK, body)
    assert finding.status is Status.FAIL


@pytest.mark.parametrize(
    ("state", "health", "named"),
    [
        ("UnprotectedStatesBegin", "Normal", "UnprotectedStatesBegin"),
        ("Protected", "Critical", "Critical"),
    ],
)
def test_failed_replication_fails_naming_the_state(state: str, health: str, named: str) -> None:
    (finding,) = run_check(DR_CHECK, _dr_body({"v": [_replica(VM_ID, state, health)]}))
    assert finding.status is Status.FAIL
    assert named in finding.message


def test_warning_health_still_passes() -> None:
    (finding,) = run_check(DR_CHECK, _dr_body({"v": [_replica(VM_ID, health="Warning")]}))
    assert finding.status is Status.PASS


@pytest.mark.parametrize("tags", [{}, {"environment": "prod"}, {"criticality": "low"}])
def test_vms_not_tagged_critical_are_not_applicable(tags: dict[str, str]) -> None:
    (finding,) = run_check(DR_CHECK, _dr_body({"v": []}, tags=tags))
    assert finding.status is Status.NOT_APPLICABLE
    assert "criticality" in finding.message


def test_tag_name_and_value_compare_case_insensitively() -> None:
    (finding,) = run_check(DR_CHECK, _dr_body({"v": []}, tags={"Criticality": "HIGH"}))
    assert finding.status is Status.FAIL


def test_tag_and_values_are_parameters() -> None:
    body = _dr_body({"v": []}, tags={"tier": "tier0"})
    (finding,) = run_check(DR_CHECK, body, tag="tier", values=["tier0"])
    assert finding.status is Status.FAIL
    (default,) = run_check(DR_CHECK, body)
    assert default.status is Status.NOT_APPLICABLE


def test_unreadable_vault_without_replication_elsewhere_is_an_error() -> None:
    gap = {"scope": _vault("locked")["id"], "source": REPLICATED, "reason": "403"}
    body = _dr_body({"good": [_replica(VM_ID, "UnprotectedStatesBegin")]}, gaps=[gap])
    body["resources"].append(_vault("locked"))
    (finding,) = run_check(DR_CHECK, body)
    assert finding.status is Status.ERROR
    assert "locked" in finding.message


def test_unreadable_vault_does_not_undo_a_replication_found_elsewhere() -> None:
    gap = {"scope": _vault("locked")["id"], "source": REPLICATED, "reason": "403"}
    body = _dr_body({"good": [_replica(VM_ID)]}, gaps=[gap], vaults=["locked", "good"])
    (finding,) = run_check(DR_CHECK, body)
    assert finding.status is Status.PASS


def test_vault_whose_replicated_items_were_never_collected_is_an_error() -> None:
    (finding,) = run_check(DR_CHECK, _dr_body({}, vaults=["silent"]))
    assert finding.status is Status.ERROR


@pytest.mark.parametrize(
    "item",
    [
        {"properties": {"protectionState": "Protected"}},
        {
            "properties": {
                "protectionState": "Protected",
                "providerSpecificDetails": {"instanceType": "A2A"},
            }
        },
        {
            "properties": {
                "providerSpecificDetails": {"instanceType": "A2A", "fabricObjectId": VM_ID}
            }
        },
        "not an object",
    ],
)
def test_malformed_replicated_item_is_an_error(item: Any) -> None:
    (finding,) = run_check(DR_CHECK, _dr_body({"v": [item]}))
    assert finding.status is Status.ERROR


def test_tags_of_the_wrong_type_are_an_error() -> None:
    (finding,) = run_check(DR_CHECK, _dr_body({"v": []}, tags=["criticality"]))
    assert finding.status is Status.ERROR


# -- property_conditions --------------------------------------------------------------------------

DB_CHECK = replace(
    builtin_check("bkp_db_flexible_geo_backup"),
    rule=Rule(
        "property_conditions",
        {
            "conditions": [
                {
                    "path": "properties.backup.geoRedundantBackup",
                    "allowed": ["Enabled"],
                    "types": [
                        "Microsoft.DBforPostgreSQL/flexibleServers",
                        "Microsoft.DBforMySQL/flexibleServers",
                    ],
                }
            ]
        },
    ),
)
"""A flexible-server geo-backup check written as property conditions (the generic evaluator)."""
VAULT_CHECK = with_params(
    DB_CHECK,
    {
        "conditions": [
            {
                "path": "properties.securitySettings.softDeleteSettings.softDeleteState",
                "allowed": ["Enabled", "AlwaysON"],
            },
            {
                "path": "properties.securitySettings.immutabilitySettings.state",
                "allowed": ["Unlocked", "Locked"],
            },
        ]
    },
)
"""Generic property conditions over a vault-shaped document (the evaluator, not a vault check)."""


def _settings(soft: Any, immutable: Any) -> dict[str, Any]:
    return {
        "resource": {
            "properties": {
                "securitySettings": {
                    "softDeleteSettings": {"softDeleteState": soft},
                    "immutabilitySettings": {"state": immutable},
                }
            }
        }
    }


def test_allowed_values_compare_case_insensitively() -> None:
    (finding,) = run_check(VAULT_CHECK, _settings("alwayson", "LOCKED"))
    assert finding.status is Status.PASS


def test_every_failed_condition_is_named() -> None:
    (finding,) = run_check(VAULT_CHECK, _settings("Disabled", "Disabled"))
    assert finding.status is Status.FAIL
    assert "softDeleteState" in finding.message and "immutabilitySettings" in finding.message
    assert finding.observed == {
        "properties.securitySettings.softDeleteSettings.softDeleteState": "Disabled",
        "properties.securitySettings.immutabilitySettings.state": "Disabled",
    }


def test_boolean_written_as_text_matches() -> None:
    check = with_params(
        DB_CHECK,
        {
            "source": "blobServices/default",
            "conditions": [{"path": "properties.deleteRetentionPolicy.enabled", "allowed": [True]}],
        },
    )
    body = {
        "details": {
            "blobServices/default": {
                "properties": {"deleteRetentionPolicy": {"enabled": "True", "days": 7}}
            }
        },
    }
    (finding,) = run_check(check, body)
    assert finding.status is Status.PASS


def test_number_written_as_text_does_not_meet_a_minimum() -> None:
    body = {"resource": {"properties": {"retentionInDays": "400"}}}
    conditions = [{"path": "properties.retentionInDays", "minimum": 365}]
    (finding,) = run_check(DB_CHECK, body, conditions=conditions)
    assert finding.status is Status.FAIL


def test_minimum_is_a_parameter() -> None:
    body = {"resource": {"properties": {"retentionInDays": 400}}}
    conditions = [{"path": "properties.retentionInDays", "minimum": 2190}]
    (finding,) = run_check(DB_CHECK, body, conditions=conditions)
    assert finding.status is Status.FAIL
    assert ">= 2190" in finding.expected


def test_conditions_for_other_types_make_the_check_not_applicable() -> None:
    only_cosmos = [
        {"path": "properties.backupPolicy.type", "allowed": ["Continuous"], "types": ["X/y"]}
    ]
    body = {"resource": {"type": "Microsoft.DBforMySQL/flexibleServers", "properties": {}}}
    (finding,) = run_check(DB_CHECK, body, conditions=only_cosmos)
    assert finding.status is Status.NOT_APPLICABLE


def test_type_filter_is_case_insensitive() -> None:
    body = {"resource": {"type": "microsoft.dbforpostgresql/flexibleservers", "properties": {}}}
    (finding,) = run_check(DB_CHECK, body)
    assert finding.status is Status.FAIL
    assert "geoRedundantBackup" in finding.message


@pytest.mark.parametrize(
    "conditions",
    [
        [{"path": "properties.x"}],
        [{"path": "properties.x", "minimum": True}],
        [{"path": "properties.x", "allowed": []}],
        [{"allowed": ["a"]}],
        ["properties.x"],
        [{"path": "properties.x", "allowed": ["a"], "types": "X/y"}],
    ],
)
def test_malformed_conditions_are_errors(conditions: list[Any]) -> None:
    (finding,) = run_check(VAULT_CHECK, _settings("Enabled", "Locked"), conditions=conditions)
    assert finding.status is Status.ERROR
