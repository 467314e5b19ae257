"""Demo Recovery Services vault backup configuration, storage configuration and backup policies.

Shaped after Microsoft's `BackupResourceVaultConfigs_Get`, `BackupStorageConfig_Get` and
`ProtectionPolicies_CreateOrUpdate` / `BackupPolicies_List` examples (api-version 2023-04-01).

The story: every vault backs its VMs up daily and keeps the points 35 days; the platform vault
also protects the operations file shares with a policy that keeps them only 7 days. The dev
vault's backup storage is locally redundant.
"""

from __future__ import annotations

from azaudit.demo.arm import Doc, arm_list

VAULT_TYPE = "Microsoft.RecoveryServices/vaults"


def vault_config(vault_id: str, soft_delete: str) -> Doc:
    """`backupconfig/vaultconfig`: the soft-delete record of the vault's backup configuration."""
    return {
        "id": f"{vault_id}/backupconfig/vaultconfig",
        "name": "vaultconfig",
        "type": f"{VAULT_TYPE}/backupconfig",
        "properties": {
            "enhancedSecurityState": "Enabled",
            "softDeleteFeatureState": soft_delete,
            "isSoftDeleteFeatureStateEditable": soft_delete != "AlwaysON",
        },
    }


def storage_config(vault_id: str, redundancy: str) -> Doc:
    """`backupstorageconfig/vaultstorageconfig`: the vault's backup storage redundancy."""
    return {
        "id": f"{vault_id}/backupstorageconfig/vaultstorageconfig",
        "name": "vaultstorageconfig",
        "type": f"{VAULT_TYPE}/backupstorageconfig",
        "properties": {
            "storageModelType": redundancy,
            "storageType": redundancy,
            "storageTypeState": "Locked",
            "crossRegionRestoreFlag": redundancy == "GeoRedundant",
        },
    }


def _daily_policy(vault_id: str, name: str, management_type: str, items: int, days: int) -> Doc:
    run_time = "2026-01-01T02:00:00Z"
    return {
        "id": f"{vault_id}/backupPolicies/{name}",
        "name": name,
        "type": f"{VAULT_TYPE}/backupPolicies",
        "properties": {
            "backupManagementType": management_type,
            "schedulePolicy": {
                "schedulePolicyType": "SimpleSchedulePolicy",
                "scheduleRunFrequency": "Daily",
                "scheduleRunTimes": [run_time],
                "scheduleWeeklyFrequency": 0,
            },
            "retentionPolicy": {
                "retentionPolicyType": "LongTermRetentionPolicy",
                "dailySchedule": {
                    "retentionTimes": [run_time],
                    "retentionDuration": {"count": days, "durationType": "Days"},
                },
            },
            "timeZone": "UTC",
            "protectedItemsCount": items,
        },
    }


def backup_policies(vault_id: str, vm_items: int, *, file_share_items: int = 0) -> Doc:
    """The vault's policies: the unused default, the VM policy and, if used, a file-share one."""
    policies = [
        _daily_policy(vault_id, "DefaultPolicy", "AzureIaasVM", 0, 30),
        _daily_policy(vault_id, "nw-daily-35d", "AzureIaasVM", vm_items, 35),
    ]
    if file_share_items:
        policies.append(_daily_policy(vault_id, "nw-files-7d", "AzureStorage", file_share_items, 7))
    return arm_list(policies)
