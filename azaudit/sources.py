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
    """

    name: str
    scope: TargetKind
    api_version: str | None
    paged: bool
    description: str
    query: str = ""
    resource_types: tuple[str, ...] = ()
    per_item: ItemRelation | None = None

    @property
    def is_graph(self) -> bool:
        """Whether the document comes from Microsoft Graph rather than ARM."""
        return self.name.startswith("graph:")

    @property
    def graph_path(self) -> str:
        """The Graph v1.0 path (without `graph:`)."""
        return self.name.removeprefix("graph:")


DIAGNOSTIC_SETTINGS = "providers/Microsoft.Insights/diagnosticSettings"

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
        "Azure SQL server firewall rules.",
        resource_types=("Microsoft.Sql/servers",),
    ),
    DataSource(
        "transparentDataEncryption/current",
        TargetKind.RESOURCE,
        "2021-11-01",
        False,
        "Transparent data encryption state of an Azure SQL database.",
        resource_types=("Microsoft.Sql/servers/databases",),
    ),
    DataSource(
        "config/web",
        TargetKind.RESOURCE,
        "2023-12-01",
        False,
        "App Service site configuration (TLS, FTPS, remote debugging, CORS). "
        "Never the app settings or connection strings.",
        resource_types=("Microsoft.Web/sites",),
    ),
    DataSource(
        "configurations",
        TargetKind.RESOURCE,
        "2024-08-01",
        True,
        "Server parameters of a PostgreSQL flexible server.",
        resource_types=("Microsoft.DBforPostgreSQL/flexibleServers",),
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
        "backupProtectedItems",
        TargetKind.RESOURCE,
        "2023-04-01",
        True,
        "Items a Recovery Services vault protects (sourceResourceId of each backed-up VM).",
        resource_types=("Microsoft.RecoveryServices/vaults",),
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
