"""Storage, Key Vault and Recovery Services vault checks through the engine.

Each test builds a tiny case world shaped after Microsoft's example payloads and asserts the
findings, including the semantic edges the inline cases cannot express (several findings per
resource, partial evidence, evidence found in another subscription).
"""

from __future__ import annotations

from typing import Any

import pytest

from azaudit.casebook import CASE_SUBSCRIPTION
from azaudit.demo import build_demo_snapshot
from azaudit.demo.org import DEMO_NOW
from azaudit.engine import evaluate_check
from azaudit.evaluators.base import ScanConfig
from azaudit.models import CollectionGap, Status, TargetKind
from azaudit.reference import default_baa_list, default_us_regions
from azaudit.snapshot import Snapshot, subscription_scope
from azaudit.sources import DIAGNOSTIC_SETTINGS, find_source
from tests.evaluator_support import (
    builtin_check,
    estate_snapshot,
    evaluate_on,
    run_check,
    statuses,
)

SUB = subscription_scope(CASE_SUBSCRIPTION)
OTHER_SUB = "00000000-0000-0000-0000-0000000000c2"
RG = f"{SUB}/resourceGroups/rg-case/providers"
ACCOUNT = f"{RG}/Microsoft.Storage/storageAccounts/case-resource"
KEY_VAULT = f"{RG}/Microsoft.KeyVault/vaults/case-resource"
WORKSPACE = f"{RG}/Microsoft.OperationalInsights/workspaces/law"


def _blob(**props: Any) -> dict[str, Any]:
    return {"blobServices/default": {"properties": props}}


SOFT_DELETE = {"enabled": True, "days": 14}


# -- ADLS Gen2 and blob versioning ----------------------------------------------------------------


def test_hierarchical_namespace_account_passes_without_versioning() -> None:
    check = builtin_check("bkp_storage_recoverability")
    body = {
        "resource": {"kind": "StorageV2", "properties": {"isHnsEnabled": True}},
        "details": _blob(
            deleteRetentionPolicy=SOFT_DELETE, containerDeleteRetentionPolicy=SOFT_DELETE
        ),
    }
    (finding,) = run_check(check, body)
    assert finding.status is Status.PASS
    assert "hierarchical-namespace" in finding.message
    assert "versioning" not in finding.expected


def test_flat_namespace_account_without_versioning_still_fails() -> None:
    check = builtin_check("bkp_storage_recoverability")
    body = {
        "resource": {"kind": "StorageV2", "properties": {"isHnsEnabled": False}},
        "details": _blob(
            deleteRetentionPolicy=SOFT_DELETE, containerDeleteRetentionPolicy=SOFT_DELETE
        ),
    }
    (finding,) = run_check(check, body)
    assert finding.status is Status.FAIL
    assert "isVersioningEnabled" in finding.message


def test_hns_flag_of_the_wrong_type_is_an_error_not_a_pass() -> None:
    check = builtin_check("bkp_storage_recoverability")
    body = {
        "resource": {"kind": "StorageV2", "properties": {"isHnsEnabled": "true"}},
        "details": _blob(
            deleteRetentionPolicy=SOFT_DELETE, containerDeleteRetentionPolicy=SOFT_DELETE
        ),
    }
    assert statuses(run_check(check, body)) == [Status.ERROR]


# -- Recovery Services vault: soft delete and immutability are separate checks ----------------


def test_immutability_is_its_own_lower_severity_check() -> None:
    soft_delete = builtin_check("bkp_vault_soft_delete")
    immutability = builtin_check("bkp_vault_immutability")
    assert soft_delete.meta.severity.value == "high"
    assert immutability.meta.severity.value == "medium"
    assert "bkp_vault_soft_delete_immutable" in soft_delete.aliases
    vault = {
        "properties": {
            "securitySettings": {
                "softDeleteSettings": {"softDeleteState": "AlwaysON"},
                "immutabilitySettings": {"state": "Disabled"},
            }
        }
    }
    assert statuses(run_check(soft_delete, {"resource": vault})) == [Status.PASS]
    assert statuses(run_check(immutability, {"resource": vault})) == [Status.FAIL]


def test_missing_security_settings_is_never_a_guess() -> None:
    check = builtin_check("bkp_vault_soft_delete")
    bare = {"properties": {"provisioningState": "Succeeded"}}
    # Not collected: ERROR, neither the old FAIL nor a presumed default.
    (finding,) = run_check(
        check,
        {
            "resource": bare,
            "gaps": [{"scope": SUB, "source": "backupconfig/vaultconfig", "reason": "403"}],
        },
    )
    assert finding.status is Status.ERROR
    # Collected: the backup configuration is the evidence, and the finding says where it came from.
    config = {"backupconfig/vaultconfig": {"properties": {"softDeleteFeatureState": "AlwaysON"}}}
    (finding,) = run_check(check, {"resource": bare, "details": config})
    assert finding.status is Status.PASS
    assert finding.property_path.startswith("backupconfig/vaultconfig")


def test_immutability_absent_is_an_error() -> None:
    check = builtin_check("bkp_vault_immutability")
    vault: dict[str, Any] = {"properties": {"securitySettings": {"softDeleteSettings": {}}}}
    body = {"resource": vault}
    assert statuses(run_check(check, body)) == [Status.ERROR]


# -- Recovery Services vault: redundancy and retention, each its own finding ------------------


def _policy(name: str, items: int, days: int, unit: str = "Days") -> dict[str, Any]:
    return {
        "name": name,
        "properties": {
            "backupManagementType": "AzureIaasVM",
            "protectedItemsCount": items,
            "retentionPolicy": {
                "retentionPolicyType": "LongTermRetentionPolicy",
                "dailySchedule": {
                    "retentionTimes": ["2026-01-01T02:00:00Z"],
                    "retentionDuration": {"count": days, "durationType": unit},
                },
            },
        },
    }


def _vault_body(storage_type: str, policies: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "details": {
            "backupstorageconfig/vaultstorageconfig": {
                "properties": {"storageModelType": storage_type, "storageType": storage_type}
            },
            "backupPolicies": {"value": policies},
        }
    }


def test_redundancy_and_each_policy_in_use_get_their_own_findings() -> None:
    check = builtin_check("bkp_vault_redundancy_retention")
    body = _vault_body(
        "GeoRedundant",
        [_policy("DefaultPolicy", 0, 1), _policy("daily", 3, 35), _policy("short", 1, 2, "Weeks")],
    )
    findings = {f.sub_item: f for f in run_check(check, body)}
    assert set(findings) == {"redundancy", "policy:daily", "policy:short"}
    assert findings["redundancy"].status is Status.PASS
    assert findings["policy:daily"].status is Status.PASS
    assert findings["policy:short"].status is Status.FAIL
    assert findings["policy:short"].observed == 14


def test_unreadable_storage_config_does_not_hide_a_short_policy() -> None:
    check = builtin_check("bkp_vault_redundancy_retention")
    body = _vault_body("GeoRedundant", [_policy("short", 2, 7)])
    body["details"].pop("backupstorageconfig/vaultstorageconfig")
    body["gaps"] = [
        {"scope": SUB, "source": "backupstorageconfig/vaultstorageconfig", "reason": "403"}
    ]
    findings = {f.sub_item: f.status for f in run_check(check, body)}
    assert findings == {"redundancy": Status.ERROR, "policy:short": Status.FAIL}


def test_locally_redundant_vault_fails() -> None:
    check = builtin_check("bkp_vault_redundancy_retention")
    findings = run_check(check, _vault_body("LocallyRedundant", []))
    assert statuses(findings) == [Status.FAIL]


# -- storage service diagnostics: one finding per service -------------------------------------


def _setting(name: str, logs: list[dict[str, Any]]) -> dict[str, Any]:
    return {"name": name, "properties": {"workspaceId": WORKSPACE, "logs": logs}}


ALL_LOGS = [{"categoryGroup": "allLogs", "enabled": True}]


def test_every_service_of_a_general_purpose_account_is_judged() -> None:
    check = builtin_check("log_storage_diag")
    details = {
        f"{s}Services/default/{DIAGNOSTIC_SETTINGS}": {"value": [_setting("all", ALL_LOGS)]}
        for s in ("blob", "file", "queue")
    }
    details[f"tableServices/default/{DIAGNOSTIC_SETTINGS}"] = {"value": []}
    findings = {
        f.sub_item: f.status
        for f in run_check(check, {"resource": {"kind": "StorageV2"}, "details": details})
    }
    assert findings == {
        "blob": Status.PASS,
        "file": Status.PASS,
        "queue": Status.PASS,
        "table": Status.FAIL,
    }


def test_one_unreadable_service_is_an_error_for_that_service_only() -> None:
    check = builtin_check("log_storage_diag")
    details = {
        f"{s}Services/default/{DIAGNOSTIC_SETTINGS}": {"value": [_setting("all", ALL_LOGS)]}
        for s in ("blob", "file", "table")
    }
    gap = {"scope": SUB, "source": f"queueServices/default/{DIAGNOSTIC_SETTINGS}", "reason": "429"}
    body = {"resource": {"kind": "StorageV2"}, "details": details, "gaps": [gap]}
    findings = {f.sub_item: f.status for f in run_check(check, body)}
    assert findings["queue"] is Status.ERROR
    assert [findings[s] for s in ("blob", "file", "table")] == [Status.PASS] * 3


def test_setting_without_destination_does_not_count() -> None:
    check = builtin_check("log_storage_diag")
    setting = {"name": "nowhere", "properties": {"logs": ALL_LOGS}}
    details = {f"blobServices/default/{DIAGNOSTIC_SETTINGS}": {"value": [setting]}}
    (finding,) = run_check(check, {"resource": {"kind": "BlockBlobStorage"}, "details": details})
    assert finding.status is Status.FAIL
    assert "no destination" in finding.message


def test_unknown_account_kind_is_an_error() -> None:
    check = builtin_check("log_storage_diag")
    assert statuses(run_check(check, {"resource": {"kind": "QuantumStorage"}})) == [Status.ERROR]


# -- activity-log storage -----------------------------------------------------------------------


def _activity_export(storage: str | None) -> dict[str, Any]:
    setting = {"name": "activity", "properties": {"storageAccountId": storage, "logs": ALL_LOGS}}
    return {DIAGNOSTIC_SETTINGS: {"value": [setting]}}


OPEN_ACCOUNT = {
    "properties": {
        "allowBlobPublicAccess": False,
        "publicNetworkAccess": "Enabled",
        "networkAcls": {"defaultAction": "Allow"},
    }
}


def test_sink_proven_by_one_subscription_is_judged_despite_a_gap_in_another() -> None:
    check = builtin_check("log_log_store_protected")
    other_scope = subscription_scope(OTHER_SUB)
    body = {
        "resource": OPEN_ACCOUNT,
        "scopes": {SUB: _activity_export(ACCOUNT)},
        "resources": [
            {
                "id": f"{other_scope}/resourceGroups/rg/providers/Microsoft.Web/sites/x",
                "type": "Microsoft.Web/sites",
                "name": "x",
                "subscriptionId": OTHER_SUB,
            }
        ],
        "gaps": [{"scope": other_scope, "source": DIAGNOSTIC_SETTINGS, "reason": "403"}],
    }
    (finding,) = run_check(check, body)
    assert finding.status is Status.FAIL
    assert "any network" in finding.message


def test_account_ids_compare_case_insensitively() -> None:
    check = builtin_check("log_log_store_protected")
    body = {"resource": OPEN_ACCOUNT, "scopes": {SUB: _activity_export(ACCOUNT.lower())}}
    assert statuses(run_check(check, body)) == [Status.FAIL]


def _sink_tenant(gap_in_second: bool) -> Snapshot:
    """Two subscriptions, three accounts: the first exports to `a`, the second to `a` and `b`
    (or its export settings were not collected); `c` receives no activity log."""
    first, second = CASE_SUBSCRIPTION, OTHER_SUB

    def account(sub: str, name: str) -> dict[str, Any]:
        return {
            **OPEN_ACCOUNT,
            "id": f"/subscriptions/{sub}/resourceGroups/rg/providers/"
            f"Microsoft.Storage/storageAccounts/{name}",
            "name": name,
            "type": "Microsoft.Storage/storageAccounts",
            "location": "eastus",
            "subscriptionId": sub,
        }

    accounts = [account(first, "a"), account(second, "b"), account(second, "c")]

    def export(name: str, target: dict[str, Any]) -> dict[str, Any]:
        return {"name": name, "properties": {"storageAccountId": target["id"].upper()}}

    details = {
        subscription_scope(first): {DIAGNOSTIC_SETTINGS: {"value": [export("to-a", accounts[0])]}}
    }
    gaps = []
    if gap_in_second:
        gaps.append(CollectionGap(subscription_scope(second), DIAGNOSTIC_SETTINGS, "403 Forbidden"))
    else:
        settings = [export("to-b", accounts[1]), export("also-a", accounts[0])]
        details[subscription_scope(second)] = {DIAGNOSTIC_SETTINGS: {"value": settings}}
    return estate_snapshot((first, second), accounts, details, gaps)


@pytest.mark.parametrize("gap_in_second", [False, True])
def test_every_account_is_judged_by_the_exports_of_every_subscription(
    gap_in_second: bool,
) -> None:
    """One scan reads each subscription's export settings for all accounts alike: each account
    is named by exactly the exports to it, in subscription order, and an account no readable
    export names is ERROR while any subscription's settings are unknown."""
    check = builtin_check("log_log_store_protected")
    found = {f.resource_name: f for f in evaluate_on(_sink_tenant(gap_in_second), check)}
    assert found["a"].status is Status.FAIL
    if gap_in_second:
        assert f"receives the activity log of {CASE_SUBSCRIPTION} (to-a), but" in found["a"].message
        assert found["b"].status is Status.ERROR and found["c"].status is Status.ERROR
        assert "403 Forbidden" in found["c"].message
    else:
        assert (
            f"receives the activity log of {CASE_SUBSCRIPTION} (to-a), {OTHER_SUB} (also-a), but"
            in found["a"].message
        )
        assert f"receives the activity log of {OTHER_SUB} (to-b), but" in found["b"].message
        assert found["c"].status is Status.NOT_APPLICABLE


# -- storage key age ----------------------------------------------------------------------------


def test_key_age_counts_only_while_shared_key_is_allowed() -> None:
    check = builtin_check("idn_storage_key_age")
    old = {"key1": "2024-01-01T00:00:00Z", "key2": "2024-01-01T00:00:00Z"}
    allowed = {"properties": {"keyCreationTime": old}}  # absent allowSharedKeyAccess = allowed
    (finding,) = run_check(check, {"resource": allowed})
    assert finding.status is Status.FAIL
    assert "key1" in finding.message and "key2" in finding.message
    off = {"properties": {"allowSharedKeyAccess": False, "keyCreationTime": old}}
    assert statuses(run_check(check, {"resource": off})) == [Status.NOT_APPLICABLE]


def test_key_creation_time_without_time_zone_is_an_error() -> None:
    check = builtin_check("idn_storage_key_age")
    naive = {"key1": "2025-12-01T00:00:00", "key2": "2025-12-01T00:00:00Z"}
    body = {"resource": {"properties": {"keyCreationTime": naive}}}
    assert statuses(run_check(check, body)) == [Status.ERROR]


# -- Key Vault keys and secrets: one finding per object -------------------------------------


def _key(name: str, **attributes: Any) -> dict[str, Any]:
    return {
        "id": f"{KEY_VAULT}/keys/{name}",
        "name": name,
        "type": "Microsoft.KeyVault/vaults/keys",
        "properties": {"attributes": {"enabled": True, "created": 1596493796, **attributes}},
    }


def test_each_key_is_its_own_finding_and_a_bad_one_does_not_hide_the_others() -> None:
    check = builtin_check("kv_key_expiry")
    keys = [_key("good", exp=1785000000), _key("never"), _key("odd", exp="soon")]
    findings = {
        f.resource_name: f for f in run_check(check, {"details": {"keys": {"value": keys}}})
    }
    assert {n: f.status for n, f in findings.items()} == {
        "good": Status.PASS,
        "never": Status.FAIL,
        "odd": Status.ERROR,
    }
    assert findings["never"].resource_id == f"{KEY_VAULT}/keys/never"
    assert findings["never"].resource_type == "Microsoft.KeyVault/vaults/keys"


def test_disabled_keys_are_not_judged() -> None:
    check = builtin_check("kv_key_rotation_policy")
    keys = [_key("retired", enabled=False), _key("live")]
    findings = run_check(check, {"details": {"keys": {"value": keys}}})
    assert [f.resource_name for f in findings] == ["live"]


def test_secret_sources_never_ask_for_values() -> None:
    source = find_source(TargetKind.RESOURCE, "secrets")
    assert source is not None
    assert "never read" in source.description
    check = builtin_check("kv_secret_expiry")
    secret = {
        "id": f"{KEY_VAULT}/secrets/s",
        "name": "s",
        "properties": {"attributes": {"enabled": True, "exp": 1785000000}},
    }
    assert statuses(run_check(check, {"details": {"secrets": {"value": [secret]}}})) == [
        Status.PASS
    ]


# -- the demo tenant tells these stories ------------------------------------------------------


def _demo_statuses(check_id: str) -> dict[str, Status]:
    snapshot = build_demo_snapshot()
    config = ScanConfig(default_baa_list(), frozenset(default_us_regions()), DEMO_NOW)
    findings = evaluate_check(snapshot, builtin_check(check_id), config)
    return {f"{f.resource_name}|{f.sub_item}": f.status for f in findings}


def test_demo_adls_archive_passes_recoverability_and_the_vendor_export_fails() -> None:
    found = _demo_statuses("bkp_storage_recoverability")
    assert found["stnwimagingarchive|"] is Status.PASS
    assert found["stnwehrexports|"] is Status.FAIL


def test_demo_activity_log_stores() -> None:
    found = _demo_statuses("log_log_store_protected")
    assert found["stnwactlogarchive|"] is Status.PASS
    assert found["stnwportalfunc|"] is Status.FAIL
    assert found["stnwclinicalphi01|"] is Status.NOT_APPLICABLE
