"""The data sources a check may require, and how each one is read from Azure.

This table is the contract between the check catalogue (a check's `requires:` names entries
here), the snapshot (documents are stored under these names) and the collectors (which read
`path`/`api_version` to know what to GET). Adding a source here is the only way to make new data
available to checks.
"""

from __future__ import annotations

from dataclasses import dataclass

from azaudit.models import TargetKind

INVENTORY = "resources"
"""Gap source name for a subscription's resource inventory."""


@dataclass(frozen=True, slots=True)
class ItemRelation:
    """A relationship read separately for every item of a Graph collection, all pages followed.

    Microsoft Graph's `$expand` on a relationship of directory objects returns at most 20 objects
    and no `@odata.nextLink` (https://developer.microsoft.com/graph/known-issues/?search=13635),
    so a large role would silently lose members. The collector therefore lists the collection
    without `$expand`, then reads `GET /<path>/{item id}/<name>?<query>` for each item and stores
    the complete list in the item under `name` — the shape `$expand=<name>` would have had.

    Attributes:
        name: the relationship's path segment and the item property the list is stored under.
        query: query string of each item's request (`$select`), without `?`.
    """

    name: str
    query: str = ""


@dataclass(frozen=True, slots=True)
class DataSource:
    """One kind of document stored in the snapshot.

    Attributes:
        name: key in the snapshot; for ARM, the path appended to the scope id
            (`config/web`); for Microsoft Graph, `graph:` and the v1.0 path.
        scope: the kind of scope the document belongs to.
        api_version: ARM api-version the collector sends (None for Graph).
        paged: whether the response is a `value` list to follow by `nextLink`.
        query: extra query string for Graph (`$select`), without `?`. Never `$expand` of a
            directory-object relationship: Graph truncates it (use `per_item`).
        resource_types: for resource-scoped sources, the ARM types the document exists on (the
            collector reads it for every resource of these types); empty means "any type": the
            collector reads it for the types targeted by checks that `require` it.
        description: what the document is, for docs and `checks show`.
        per_item: for a Graph collection, a relationship to read for every item and embed in it;
            if it cannot be read completely for any item, the whole document is a gap.
        api_versions: (resource type, api-version) pairs for a path that several resource
            providers serve under the same name (`firewallRules` of SQL, PostgreSQL and MySQL
            servers): ARM rejects an api-version its provider does not know, so each type is read
            with its own; types not listed use `api_version`.
    """

    name: str
    scope: TargetKind
    api_version: str | None
    paged: bool
    description: str
    query: str = ""
    resource_types: tuple[str, ...] = ()
    per_item: ItemRelation | None = None
    api_versions: tuple[tuple[str, str], ...] = ()

    def api_version_at(self, scope: str) -> str | None:
        """The api-version to read this source under `scope` (an ARM id) with."""
        if self.api_versions:
            rtype = resource_type_of(scope).lower()
            for type_name, version in self.api_versions:
                if type_name.lower() == rtype:
                    return version
        return self.api_version

    @property
    def is_graph(self) -> bool:
        """Whether the document comes from Microsoft Graph rather than ARM."""
        return self.name.startswith("graph:")

    @property
    def graph_path(self) -> str:
        """The Graph v1.0 path (without `graph:`)."""
        return self.name.removeprefix("graph:")


def resource_type_of(resource_id: str) -> str:
    """The ARM type of a resource id (`Microsoft.Sql/servers/databases`), or "" if it has none.

    The type is the namespace after the last `providers` segment followed by every other segment
    (the type names between the resource names).
    """
    parts = [p for p in resource_id.split("/") if p]
    lowered = [p.lower() for p in parts]
    if "providers" not in lowered:
        return ""
    start = len(lowered) - 1 - lowered[::-1].index("providers")
    rest = parts[start + 1 :]
    if len(rest) < 2:
        return ""
    return "/".join([rest[0], *rest[1::2]])


DIAGNOSTIC_SETTINGS = "providers/Microsoft.Insights/diagnosticSettings"

STORAGE_SERVICES = ("blob", "file", "queue", "table")
"""The services of a storage account that keep their own diagnostic settings."""

_SOURCES: tuple[DataSource, ...] = (
    # -- resource-scoped ARM documents ---------------------------------------------------------
    DataSource(
        DIAGNOSTIC_SETTINGS,
        TargetKind.RESOURCE,
        "2021-05-01-preview",
        True,
        "Diagnostic settings of a resource (log categories and destinations).",
    ),
    DataSource(
        "auditingSettings/default",
        TargetKind.RESOURCE,
        "2021-11-01",
        False,
        "Azure SQL server blob auditing policy.",
        resource_types=("Microsoft.Sql/servers",),
    ),
    DataSource(
        "firewallRules",
        TargetKind.RESOURCE,
        "2021-11-01",
        True,
        "Firewall rules of an Azure SQL server or a PostgreSQL/MySQL flexible server.",
        resource_types=(
            "Microsoft.Sql/servers",
            "Microsoft.DBforPostgreSQL/flexibleServers",
            "Microsoft.DBforMySQL/flexibleServers",
        ),
        api_versions=(
            ("Microsoft.DBforPostgreSQL/flexibleServers", "2024-08-01"),
            ("Microsoft.DBforMySQL/flexibleServers", "2023-12-30"),
        ),
    ),
    DataSource(
        "transparentDataEncryption/current",
        TargetKind.RESOURCE,
        "2021-11-01",
        False,
        "Transparent data encryption state of an Azure SQL database.",
        resource_types=(
            "Microsoft.Sql/servers/databases",
            "Microsoft.Sql/managedInstances/databases",
        ),
    ),
    DataSource(
        "databases/master/" + DIAGNOSTIC_SETTINGS,
        TargetKind.RESOURCE,
        "2021-05-01-preview",
        True,
        "Diagnostic settings of an Azure SQL server's master database: where server-level audit "
        "events go when auditing targets Azure Monitor (Log Analytics or Event Hubs).",
        resource_types=("Microsoft.Sql/servers",),
    ),
    DataSource(
        "encryptionProtector/current",
        TargetKind.RESOURCE,
        "2021-11-01",
        False,
        "TDE protector of an Azure SQL server or managed instance (service- or customer-managed "
        "key; the key's URI, never key material).",
        resource_types=("Microsoft.Sql/servers", "Microsoft.Sql/managedInstances"),
    ),
    DataSource(
        "administrators",
        TargetKind.RESOURCE,
        "2021-11-01",
        True,
        "Microsoft Entra administrator of an Azure SQL server or managed instance.",
        resource_types=("Microsoft.Sql/servers", "Microsoft.Sql/managedInstances"),
    ),
    DataSource(
        "azureADOnlyAuthentications/Default",
        TargetKind.RESOURCE,
        "2021-11-01",
        False,
        "Whether an Azure SQL server or managed instance accepts Microsoft Entra logins only.",
        resource_types=("Microsoft.Sql/servers", "Microsoft.Sql/managedInstances"),
    ),
    DataSource(
        "sqlVulnerabilityAssessments/default",
        TargetKind.RESOURCE,
        "2023-08-01",
        False,
        "Express-configuration vulnerability assessment state of an Azure SQL server.",
        resource_types=("Microsoft.Sql/servers",),
    ),
    DataSource(
        "vulnerabilityAssessments/default",
        TargetKind.RESOURCE,
        "2021-11-01",
        False,
        "Classic-configuration vulnerability assessment of an Azure SQL server or managed "
        "instance (recurring scans; the storage container path, never its SAS key, which ARM "
        "does not return).",
        resource_types=("Microsoft.Sql/servers", "Microsoft.Sql/managedInstances"),
    ),
    DataSource(
        "backupLongTermRetentionPolicies/default",
        TargetKind.RESOURCE,
        "2021-11-01",
        False,
        "Long-term backup retention policy of an Azure SQL database.",
        resource_types=("Microsoft.Sql/servers/databases",),
    ),
    DataSource(
        "config/web",
        TargetKind.RESOURCE,
        "2023-12-01",
        False,
        "App Service site configuration (TLS, FTPS, remote debugging, CORS). "
        "Never the app settings or connection strings.",
        resource_types=("Microsoft.Web/sites", "Microsoft.Web/sites/slots"),
    ),
    DataSource(
        "configurations",
        TargetKind.RESOURCE,
        "2024-08-01",
        True,
        "Server parameters of a PostgreSQL or MySQL flexible server.",
        resource_types=(
            "Microsoft.DBforPostgreSQL/flexibleServers",
            "Microsoft.DBforMySQL/flexibleServers",
        ),
        api_versions=(("Microsoft.DBforMySQL/flexibleServers", "2023-12-30"),),
    ),
    DataSource(
        "administrators",
        TargetKind.RESOURCE,
        "2023-12-30",
        True,
        "Microsoft Entra administrators of a MySQL flexible server (login, object id).",
        resource_types=("Microsoft.DBforMySQL/flexibleServers",),
    ),
    DataSource(
        "databases",
        TargetKind.RESOURCE,
        "2025-07-01",
        True,
        "Databases of an Azure Managed Redis (Redis Enterprise) cluster: client protocol, port. "
        "Never the access keys.",
        resource_types=("Microsoft.Cache/redisEnterprise",),
    ),
    DataSource(
        "blobServices/default",
        TargetKind.RESOURCE,
        "2023-05-01",
        False,
        "Blob service properties of a storage account (soft delete, versioning).",
        resource_types=("Microsoft.Storage/storageAccounts",),
    ),
    DataSource(
        "fileServices/default",
        TargetKind.RESOURCE,
        "2023-05-01",
        False,
        "File service properties of a storage account (share soft delete: "
        "shareDeleteRetentionPolicy).",
        resource_types=("Microsoft.Storage/storageAccounts",),
    ),
    *(
        DataSource(
            f"{service}Services/default/{DIAGNOSTIC_SETTINGS}",
            TargetKind.RESOURCE,
            "2021-05-01-preview",
            True,
            f"Diagnostic settings of a storage account's {service} service (StorageRead, "
            "StorageWrite, StorageDelete logs and their destinations).",
            resource_types=("Microsoft.Storage/storageAccounts",),
        )
        for service in STORAGE_SERVICES
    ),
    DataSource(
        "keys",
        TargetKind.RESOURCE,
        "2023-07-01",
        True,
        "Key Vault keys through Azure Resource Manager: names and attributes (enabled, exp, "
        "created) and rotation policy only; ARM never returns key material.",
        resource_types=("Microsoft.KeyVault/vaults",),
    ),
    DataSource(
        "secrets",
        TargetKind.RESOURCE,
        "2023-07-01",
        True,
        "Key Vault secrets through Azure Resource Manager: names and attributes (enabled, exp, "
        "created) only. Secret values are never read: the ARM list never returns `value` (it is "
        "documented as never returned by the service), and azaudit makes no data-plane call.",
        resource_types=("Microsoft.KeyVault/vaults",),
    ),
    DataSource(
        "backupProtectedItems",
        TargetKind.RESOURCE,
        "2023-04-01",
        True,
        "Items a Recovery Services vault protects (sourceResourceId of each backed-up VM).",
        resource_types=("Microsoft.RecoveryServices/vaults",),
    ),
    DataSource(
        "backupconfig/vaultconfig",
        TargetKind.RESOURCE,
        "2023-04-01",
        False,
        "Backup configuration of a Recovery Services vault (softDeleteFeatureState), the "
        "soft-delete record when the vault resource reports no securitySettings.",
        resource_types=("Microsoft.RecoveryServices/vaults",),
    ),
    DataSource(
        "backupstorageconfig/vaultstorageconfig",
        TargetKind.RESOURCE,
        "2023-04-01",
        False,
        "Backup storage configuration of a Recovery Services vault (storageType redundancy).",
        resource_types=("Microsoft.RecoveryServices/vaults",),
    ),
    DataSource(
        "backupPolicies",
        TargetKind.RESOURCE,
        "2023-04-01",
        True,
        "Backup policies of a Recovery Services vault (schedules and retention).",
        resource_types=("Microsoft.RecoveryServices/vaults",),
    ),
    DataSource(
        "replicationProtectedItems",
        TargetKind.RESOURCE,
        "2025-01-01",
        True,
        "Azure Site Recovery replicated items of a Recovery Services vault across its fabrics "
        "(A2A fabricObjectId of each replicated VM, protectionState, replicationHealth).",
        resource_types=("Microsoft.RecoveryServices/vaults",),
    ),
    DataSource(
        "tables",
        TargetKind.RESOURCE,
        "2023-09-01",
        True,
        "Tables of a Log Analytics workspace with their interactive and total (long-term) "
        "retention.",
        resource_types=("Microsoft.OperationalInsights/workspaces",),
    ),
    DataSource(
        "flowLogs",
        TargetKind.RESOURCE,
        "2024-05-01",
        True,
        "Flow logs of a Network Watcher (VNet and legacy NSG flow logs: target, state, retention).",
        resource_types=("Microsoft.Network/networkWatchers",),
    ),
    DataSource(
        "customDomains",
        TargetKind.RESOURCE,
        "2024-02-01",
        True,
        "Custom domains of an Azure Front Door Standard/Premium profile (host name, TLS settings).",
        resource_types=("Microsoft.Cdn/profiles",),
    ),
    DataSource(
        "providers/Microsoft.Insights/dataCollectionRuleAssociations",
        TargetKind.RESOURCE,
        "2022-06-01",
        True,
        "Data collection rule associations of a virtual machine or scale set (which rules the "
        "Azure Monitor Agent runs).",
        resource_types=(
            "Microsoft.Compute/virtualMachines",
            "Microsoft.Compute/virtualMachineScaleSets",
        ),
    ),
    # -- subscription-scoped ARM documents -----------------------------------------------------
    DataSource(
        DIAGNOSTIC_SETTINGS,
        TargetKind.SUBSCRIPTION,
        "2021-05-01-preview",
        True,
        "Subscription activity-log diagnostic settings (export of the activity log).",
    ),
    DataSource(
        "providers/Microsoft.Security/pricings",
        TargetKind.SUBSCRIPTION,
        "2024-01-01",
        True,
        "Microsoft Defender for Cloud plans of a subscription.",
    ),
    DataSource(
        "providers/Microsoft.Security/settings",
        TargetKind.SUBSCRIPTION,
        "2022-05-01",
        True,
        "Defender for Cloud settings (Defender for Endpoint integration WDATP, Linux inclusion).",
    ),
    DataSource(
        "providers/Microsoft.Security/assessments",
        TargetKind.SUBSCRIPTION,
        "2021-06-01",
        True,
        "Defender for Cloud assessments (recommendation status per resource) of a subscription.",
    ),
    DataSource(
        "providers/Microsoft.Security/assessmentMetadata",
        TargetKind.SUBSCRIPTION,
        "2021-06-01",
        True,
        "Defender for Cloud assessment types visible to a subscription (display name, severity).",
    ),
    DataSource(
        "providers/Microsoft.Security/jitNetworkAccessPolicies",
        TargetKind.SUBSCRIPTION,
        "2020-01-01",
        True,
        "Just-in-time VM access policies of a subscription (the VMs and ports each covers).",
    ),
    DataSource(
        "providers/Microsoft.Security/securityContacts",
        TargetKind.SUBSCRIPTION,
        "2023-12-01-preview",
        True,
        "Defender for Cloud security contacts and alert notifications.",
    ),
    DataSource(
        "providers/Microsoft.Authorization/roleAssignments",
        TargetKind.SUBSCRIPTION,
        "2022-04-01",
        True,
        "Azure RBAC role assignments at or above the subscription.",
    ),
    DataSource(
        "providers/Microsoft.Authorization/roleEligibilityScheduleInstances",
        TargetKind.SUBSCRIPTION,
        "2020-10-01",
        True,
        "Eligible Azure role assignments (Privileged Identity Management) at, above or below the "
        "subscription: principal, role, scope and end time of each eligibility.",
    ),
    DataSource(
        "providers/Microsoft.Authorization/roleAssignmentScheduleInstances",
        TargetKind.SUBSCRIPTION,
        "2020-10-01",
        True,
        "Active Azure role assignment instances (Privileged Identity Management): whether each "
        "active assignment is permanently assigned or activated from an eligibility.",
    ),
    DataSource(
        "providers/Microsoft.Authorization/roleDefinitions",
        TargetKind.SUBSCRIPTION,
        "2022-04-01",
        True,
        "Azure RBAC role definitions (built-in and custom) visible at the subscription.",
    ),
    DataSource(
        "providers/Microsoft.Authorization/policyAssignments",
        TargetKind.SUBSCRIPTION,
        "2023-04-01",
        True,
        "Azure Policy assignments that apply to the subscription.",
    ),
    DataSource(
        "providers/Microsoft.Authorization/policySetDefinitions",
        TargetKind.SUBSCRIPTION,
        "2023-04-01",
        True,
        "Policy set definitions (initiatives) visible at the subscription: built-in, and custom "
        "ones of the subscription and the management groups above it.",
    ),
    # -- tenant-scoped ARM documents (stored under scope "/") ---------------------------------
    DataSource(
        "providers/microsoft.aadiam/diagnosticSettings",
        TargetKind.TENANT,
        "2017-04-01",
        True,
        "Microsoft Entra ID diagnostic settings (export of sign-in and audit logs).",
    ),
    # -- tenant-scoped Microsoft Graph documents -----------------------------------------------
    DataSource(
        "graph:identity/conditionalAccess/policies",
        TargetKind.TENANT,
        None,
        True,
        "Entra ID Conditional Access policies.",
    ),
    DataSource(
        "graph:policies/identitySecurityDefaultsEnforcementPolicy",
        TargetKind.TENANT,
        None,
        False,
        "Entra ID security defaults.",
    ),
    DataSource(
        "graph:reports/authenticationMethods/userRegistrationDetails",
        TargetKind.TENANT,
        None,
        True,
        "MFA registration state of every user.",
    ),
    DataSource(
        "graph:directoryRoles",
        TargetKind.TENANT,
        None,
        True,
        "Activated Entra directory roles, each with its complete member list (members read "
        "per role, every page: id, displayName, userPrincipalName, userType, accountEnabled).",
        per_item=ItemRelation(
            "members", "$select=id,displayName,userPrincipalName,userType,accountEnabled"
        ),
    ),
    # `principal` is single-valued, so expanding it is not subject to Graph's 20-object cap.
    DataSource(
        "graph:roleManagement/directory/roleEligibilityScheduleInstances",
        TargetKind.TENANT,
        None,
        True,
        "Eligible Entra directory role assignments (Privileged Identity Management): principal, "
        "role, directory scope and end time of each eligibility, with the principal's kind.",
        query="$expand=principal($select=id,displayName)",
    ),
    DataSource(
        "graph:policies/authorizationPolicy",
        TargetKind.TENANT,
        None,
        False,
        "Entra authorization policy: who may invite guests and which permission grant (user "
        "consent) policies apply to users.",
    ),
    DataSource(
        "graph:users",
        TargetKind.TENANT,
        None,
        True,
        "Users with type, enabled state and last sign-in (no other attributes).",
        query="$select=id,displayName,userPrincipalName,userType,accountEnabled,signInActivity",
    ),
)

SOURCES: dict[tuple[TargetKind, str], DataSource] = {(s.scope, s.name.lower()): s for s in _SOURCES}


def all_sources() -> tuple[DataSource, ...]:
    """Every known data source, in declaration order."""
    return _SOURCES


def find_source(scope: TargetKind, name: str) -> DataSource | None:
    """The source named `name` at `scope`, or None (names compare case-insensitively)."""
    return SOURCES.get((scope, name.lower()))
