"""Demo databases: Azure SQL servers and managed instances, PostgreSQL and MySQL flexible servers,
Cosmos DB, Azure Cache for Redis and Azure Managed Redis.

Shapes follow Microsoft's `Servers_List`, `FirewallRules_ListByServer`,
`ServerBlobAuditingPolicies_Get`, `TransparentDataEncryptions_Get`, `EncryptionProtectors_Get`,
`ServerAzureADAdministrators_ListByServer`, `ServerAzureADOnlyAuthentications_Get`,
`SqlVulnerabilityAssessmentsSettings_Get`, `ServerVulnerabilityAssessments_Get`,
`LongTermRetentionPolicies_Get`, `ManagedInstances_Get`, `FlexibleServers_List`,
`Configurations_Get`, `DatabaseAccounts_List`, `AzureADAdministrators_Get`, `RedisEnterprise_List`
and `Databases_ListByCluster` examples.

The story: the clinical data warehouse server is private, audited to storage and Log Analytics,
TLS 1.2-only, Entra-only, protected by a customer-managed TDE key and scanned for
vulnerabilities. A legacy imaging-index server migrated from on premises still has an "allow all"
firewall rule, no auditing, no Entra administrator, no long-term backups and one database without
TDE. The portal's billing server audits to Log Analytics only and kept an "Allow Azure services"
rule from its launch, dormant since public access was disabled. The PACS archive runs on a private
managed instance; a dev managed instance copied from the legacy EHR has its public data endpoint
open and a database without TDE. The portal's PostgreSQL server is private with geo-redundant
backup; the clinical reporting server relies on zone redundancy only. Dev has a TLS 1.0 SQL server
auditing only to a 30-day workspace, a public PostgreSQL server without secure transport, a Cosmos
account replicated to northeurope and a Redis cache with the non-TLS port open. The portal's MySQL
scheduling server is private, CMK-encrypted, TLS 1.2+ only, audited and has an Entra
administrator; dev's MySQL intake server is open to the internet with none of that, and dev's
Managed Redis database accepts plaintext.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from azaudit.demo.arm import (
    Doc,
    Estate,
    arg_row,
    arm_list,
    diagnostic_setting,
    log_category,
    log_group,
    resource_id,
    system_identity,
)
from azaudit.demo.network import Network
from azaudit.demo.org import (
    ACTIVITY_ARCHIVE_ID,
    CLINICAL,
    DEV,
    DEV_WORKSPACE_ID,
    PORTAL,
    SECURITY_WORKSPACE_ID,
    TENANT_ID,
    Subscription,
    days_ago,
    guid,
    hexid,
)
from azaudit.sources import DIAGNOSTIC_SETTINGS

SQL = "Microsoft.Sql/servers"
SQL_DB = "Microsoft.Sql/servers/databases"
SQL_MI = "Microsoft.Sql/managedInstances"
SQL_MI_DB = "Microsoft.Sql/managedInstances/databases"
PG = "Microsoft.DBforPostgreSQL/flexibleServers"
MYSQL = "Microsoft.DBforMySQL/flexibleServers"
COSMOS = "Microsoft.DocumentDB/databaseAccounts"
REDIS = "Microsoft.Cache/Redis"
MANAGED_REDIS = "Microsoft.Cache/redisEnterprise"

ANY_IPV4 = "0.0.0.0"  # noqa: S104 - a SQL firewall rule bound, not a listening address


# -- Azure SQL -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SqlSpec:
    """An Azure SQL logical server, its databases (name -> TDE on) and firewall rules.

    `audit_storage` and `audit_workspace` are the auditing destinations (storage with
    `audit_retention_days`; Log Analytics through a diagnostic setting of the master database).
    """

    sub: Subscription
    rg: str
    name: str
    location: str
    databases: dict[str, bool]
    tls: str = "1.2"
    public_network: str = "Disabled"
    firewall: tuple[tuple[str, str, str], ...] = ()
    auditing: bool = True
    audit_storage: bool = True
    audit_workspace: str | None = SECURITY_WORKSPACE_ID
    audit_retention_days: int = 0
    private_endpoint: bool = True
    entra_admin: bool = True
    entra_only: bool = True
    diagnostics: bool = True
    customer_key: bool = False
    vulnerability_assessment: str = "express"  # or "classic", "none"
    long_term_retention: bool = True


SQL_SERVERS: tuple[SqlSpec, ...] = (
    SqlSpec(
        CLINICAL,
        "rg-clinical-data-eus",
        "sql-nw-clinical-eus",
        "eastus",
        {"ClinicalDW": True, "EHRStaging": True, "QualityReporting": True},
        customer_key=True,
    ),
    SqlSpec(
        CLINICAL,
        "rg-clinical-imaging-eus",
        "sql-nw-imaging-legacy",
        "eastus",
        {"ImagingIndex": False, "ModalityWorklist": True},
        public_network="Enabled",
        firewall=(
            ("AllowAllWindowsAzureIps", ANY_IPV4, ANY_IPV4),
            ("AllowAll-Temp-Migration", ANY_IPV4, "255.255.255.255"),
        ),
        auditing=False,
        private_endpoint=False,
        entra_admin=False,
        entra_only=False,
        diagnostics=False,
        vulnerability_assessment="none",
        long_term_retention=False,
    ),
    SqlSpec(
        PORTAL,
        "rg-portal-data-eus2",
        "sql-nw-portal-billing",
        "eastus2",
        {"PatientBilling": True},
        # Public access was disabled after go-live; the rule from the launch weekend stayed.
        firewall=(("AllowAllWindowsAzureIps", ANY_IPV4, ANY_IPV4),),
        audit_storage=False,
        vulnerability_assessment="classic",
    ),
    SqlSpec(
        DEV,
        "rg-dev-analytics-eus",
        "sql-nw-dev-eus",
        "eastus",
        {"CohortSandbox": True, "DeidentifiedExtract": True},
        tls="1.0",
        public_network="Enabled",
        firewall=(("research-office", "198.51.100.0", "198.51.100.255"),),
        # Log Analytics only: retentionDays 0 reads "forever", the 30-day workspace decides.
        audit_storage=False,
        audit_workspace=DEV_WORKSPACE_ID,
        private_endpoint=False,
        entra_only=False,
        diagnostics=False,
        vulnerability_assessment="none",
    ),
)


def _sql_server_row(spec: SqlSpec) -> Doc:
    properties: Doc = {
        "administratorLogin": "nwsqladmin",
        "version": "12.0",
        "state": "Ready",
        "fullyQualifiedDomainName": f"{spec.name}.database.windows.net",
        "privateEndpointConnections": [],
        "minimalTlsVersion": spec.tls,
        "publicNetworkAccess": spec.public_network,
        "restrictOutboundNetworkAccess": "Disabled",
    }
    if spec.entra_admin:
        properties["administrators"] = {
            "administratorType": "ActiveDirectory",
            "principalType": "Group",
            "login": "sg-nw-sql-admins",
            "sid": guid("group:sg-nw-sql-admins"),
            "tenantId": TENANT_ID,
            "azureADOnlyAuthentication": spec.entra_only,
        }
    return arg_row(
        spec.sub,
        spec.rg,
        SQL,
        spec.name,
        spec.location,
        properties,
        kind="v12.0",
        identity=system_identity(spec.name),
    )


def _sql_database_row(spec: SqlSpec, db: str) -> Doc:
    rid = resource_id(spec.sub, spec.rg, SQL_DB, spec.name, db)
    return arg_row(
        spec.sub,
        spec.rg,
        SQL_DB,
        (spec.name, db),
        spec.location,
        {
            "collation": "SQL_Latin1_General_CP1_CI_AS",
            "maxSizeBytes": 274877906944,
            "status": "Online",
            "databaseId": guid(f"db:{rid}"),
            "creationDate": days_ago(900, fraction=True),
            "currentServiceObjectiveName": "GP_Gen5_4",
            "requestedServiceObjectiveName": "GP_Gen5_4",
            "defaultSecondaryLocation": "westus" if spec.location == "eastus" else "centralus",
            "catalogCollation": "SQL_Latin1_General_CP1_CI_AS",
            "zoneRedundant": spec.sub.phi,
            "readScale": "Disabled",
            "currentSku": {
                "name": "GP_Gen5",
                "tier": "GeneralPurpose",
                "family": "Gen5",
                "capacity": 4,
            },
            "currentBackupStorageRedundancy": "Geo" if spec.sub.phi else "Local",
            "requestedBackupStorageRedundancy": "Geo" if spec.sub.phi else "Local",
            "isLedgerOn": False,
            "earliestRestoreDate": days_ago(7, fraction=True),
        },
        kind="v12.0,user",
        sku={"name": "GP_Gen5", "tier": "GeneralPurpose", "family": "Gen5", "capacity": 4},
    )


def _auditing(spec: SqlSpec, server_id: str) -> Doc:
    """Shaped like `ServerBlobAuditingPolicies_Get`; Log Analytics-only servers have no
    storage endpoint (the portal leaves `retentionDays` at 0)."""
    enabled = spec.auditing
    storage = enabled and spec.audit_storage
    return {
        "id": f"{server_id}/auditingSettings/Default",
        "name": "Default",
        "type": "Microsoft.Sql/servers/auditingSettings",
        "properties": {
            "state": "Enabled" if enabled else "Disabled",
            "storageEndpoint": "https://stnwactlogarchive.blob.core.windows.net/"
            if storage
            else "",
            "retentionDays": spec.audit_retention_days if storage else 0,
            "auditActionsAndGroups": (
                [
                    "SUCCESSFUL_DATABASE_AUTHENTICATION_GROUP",
                    "FAILED_DATABASE_AUTHENTICATION_GROUP",
                    "BATCH_COMPLETED_GROUP",
                ]
                if enabled
                else []
            ),
            "storageAccountSubscriptionId": (
                ACTIVITY_ARCHIVE_ID.split("/")[2]
                if storage
                else "00000000-0000-0000-0000-000000000000"
            ),
            "isStorageSecondaryKeyInUse": False,
            "isAzureMonitorTargetEnabled": enabled and spec.audit_workspace is not None,
            "isManagedIdentityInUse": storage,
            "isDevopsAuditEnabled": False,
        },
    }


def _master_diagnostics(spec: SqlSpec, server_id: str) -> Doc:
    """The master database's diagnostic settings: the one the portal creates for auditing to
    Log Analytics (`SQLSecurityAuditEvents_<guid>`), when the server audits there."""
    if not spec.auditing or spec.audit_workspace is None:
        return arm_list([])
    return arm_list(
        [
            diagnostic_setting(
                f"{server_id}/databases/master",
                [log_category("SQLSecurityAuditEvents")],
                name=f"SQLSecurityAuditEvents_{guid(f'audit:{server_id}')}",
                workspace=spec.audit_workspace,
                metrics=False,
            )
        ]
    )


def _encryption_protector(owner_id: str, owner_type: str, customer_key: bool) -> Doc:
    """Shaped like `EncryptionProtectors_Get` (a key URI and name, never key material)."""
    if customer_key:
        key = "kv-nw-clinical-eus_tde-protector_6f0c4f8a3b2d4e1c9a7b5d3e1f0a2c4b"
        return {
            "id": f"{owner_id}/encryptionProtector/current",
            "name": "current",
            "type": f"{owner_type}/encryptionProtector",
            "kind": "azurekeyvault",
            "properties": {
                "serverKeyName": key,
                "serverKeyType": "AzureKeyVault",
                "uri": "https://kv-nw-clinical-eus.vault.azure.net/keys/tde-protector/"
                "6f0c4f8a3b2d4e1c9a7b5d3e1f0a2c4b",
                "autoRotationEnabled": True,
            },
        }
    return {
        "id": f"{owner_id}/encryptionProtector/current",
        "name": "current",
        "type": f"{owner_type}/encryptionProtector",
        "kind": "servicemanaged",
        "properties": {
            "serverKeyName": "ServiceManaged",
            "serverKeyType": "ServiceManaged",
            "autoRotationEnabled": False,
        },
    }


def _entra_docs(estate: Estate, owner_id: str, owner_type: str, *, admin: bool, only: bool) -> None:
    """`administrators` (as `ServerAzureADAdministrators_ListByServer`) and
    `azureADOnlyAuthentications/Default` (as `ServerAzureADOnlyAuthentications_Get`)."""
    admins = (
        [
            {
                "id": f"{owner_id}/administrators/ActiveDirectory",
                "name": "ActiveDirectory",
                "type": f"{owner_type}/administrators",
                "properties": {
                    "administratorType": "ActiveDirectory",
                    "login": "sg-nw-sql-admins",
                    "sid": guid("group:sg-nw-sql-admins"),
                    "tenantId": TENANT_ID,
                    "azureADOnlyAuthentication": only,
                },
            }
        ]
        if admin
        else []
    )
    estate.doc(owner_id, "administrators", arm_list(admins))
    estate.doc(
        owner_id,
        "azureADOnlyAuthentications/Default",
        {
            "id": f"{owner_id}/azureADOnlyAuthentications/Default",
            "name": "Default",
            "type": f"{owner_type}/azureADOnlyAuthentications",
            "properties": {"azureADOnlyAuthentication": only},
        },
    )


def _vulnerability_assessment(estate: Estate, spec: SqlSpec, server_id: str) -> None:
    """Express (`SqlVulnerabilityAssessmentsSettings_Get`) and classic
    (`ServerVulnerabilityAssessments_Get`) settings; only one of them is on at a time."""
    mode = spec.vulnerability_assessment
    estate.doc(
        server_id,
        "sqlVulnerabilityAssessments/default",
        {
            "id": f"{server_id}/sqlVulnerabilityAssessments/default",
            "name": "default",
            "type": "Microsoft.Sql/servers/sqlVulnerabilityAssessments",
            "properties": {"state": "Enabled" if mode == "express" else "Disabled"},
        },
    )
    classic: Doc = {"recurringScans": {"isEnabled": False, "emailSubscriptionAdmins": True}}
    if mode == "classic":
        classic = {
            "storageContainerPath": "https://stnwvascans.blob.core.windows.net/vulnerability-assessment/",
            "recurringScans": {
                "isEnabled": True,
                "emailSubscriptionAdmins": True,
                "emails": ["secops@northwind-health.example"],
            },
        }
    estate.doc(
        server_id,
        "vulnerabilityAssessments/default",
        {
            "id": f"{server_id}/vulnerabilityAssessments/default",
            "name": "default",
            "type": "Microsoft.Sql/servers/vulnerabilityAssessments",
            "properties": classic,
        },
    )


def _long_term_retention(db_id: str, enabled: bool) -> Doc:
    """Shaped like `LongTermRetentionPolicies_Get` (`PT0S` where no LTR is kept)."""
    return {
        "id": f"{db_id}/backupLongTermRetentionPolicies/default",
        "name": "default",
        "type": "Microsoft.Sql/servers/databases/backupLongTermRetentionPolicies",
        "properties": {
            "weeklyRetention": "P12W" if enabled else "PT0S",
            "monthlyRetention": "P12M" if enabled else "PT0S",
            "yearlyRetention": "P7Y" if enabled else "PT0S",
            "weekOfYear": 1 if enabled else 0,
        },
    }


def _add_sql(estate: Estate, network: Network, spec: SqlSpec) -> None:
    row = _sql_server_row(spec)
    if spec.private_endpoint:
        network.private_endpoint(row, "sqlServer", SQL)
    server_id = estate.add(row)
    estate.doc(server_id, "auditingSettings/default", _auditing(spec, server_id))
    estate.doc(
        server_id, "databases/master/" + DIAGNOSTIC_SETTINGS, _master_diagnostics(spec, server_id)
    )
    estate.doc(
        server_id,
        "encryptionProtector/current",
        _encryption_protector(server_id, SQL, spec.customer_key),
    )
    _entra_docs(estate, server_id, SQL, admin=spec.entra_admin, only=spec.entra_only)
    _vulnerability_assessment(estate, spec, server_id)
    estate.doc(
        server_id,
        "firewallRules",
        arm_list(
            [
                {
                    "id": f"{server_id}/firewallRules/{name}",
                    "name": name,
                    "type": "Microsoft.Sql/servers/firewallRules",
                    "properties": {"startIpAddress": start, "endIpAddress": end},
                }
                for name, start, end in spec.firewall
            ]
        ),
    )
    for db, tde in spec.databases.items():
        db_id = estate.add_logged(
            _sql_database_row(spec, db),
            [log_category("SQLSecurityAuditEvents"), log_group("allLogs")],
            enabled=spec.diagnostics,
        )
        estate.doc(
            db_id,
            "transparentDataEncryption/current",
            {
                "id": f"{db_id}/transparentDataEncryption/Current",
                "name": "current",
                "type": "Microsoft.Sql/servers/databases/transparentDataEncryption",
                "properties": {"state": "Enabled" if tde else "Disabled"},
            },
        )
        estate.doc(
            db_id,
            "backupLongTermRetentionPolicies/default",
            _long_term_retention(db_id, spec.long_term_retention),
        )


# -- Azure SQL Managed Instance --------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SqlMiSpec:
    """An Azure SQL managed instance in a virtual network subnet, and its databases (TDE on)."""

    sub: Subscription
    rg: str
    name: str
    location: str
    subnet: tuple[str, str, str]
    databases: dict[str, bool]
    public_data_endpoint: bool = False
    tls: str = "1.2"
    customer_key: bool = False
    entra_only: bool = True


SQL_MANAGED_INSTANCES: tuple[SqlMiSpec, ...] = (
    SqlMiSpec(
        CLINICAL,
        "rg-clinical-data-eus",
        "sqlmi-nw-pacs-eus",
        "eastus",
        ("rg-clinical-network-eus", "vnet-nw-clinical-eus", "snet-sqlmi"),
        {"PacsArchive": True},
        customer_key=True,
    ),
    SqlMiSpec(
        DEV,
        "rg-dev-analytics-eus",
        "sqlmi-nw-dev-migration",
        "eastus",
        ("rg-dev-network-eus", "vnet-nw-dev-eus", "snet-sqlmi"),
        {"LegacyEhrCopy": False},
        public_data_endpoint=True,
        entra_only=False,
    ),
)


def _add_sql_mi(estate: Estate, network: Network, spec: SqlMiSpec) -> None:
    """A managed instance shaped like `ManagedInstances_Get`, with its TDE protector, Entra
    documents and databases (`ManagedDatabaseTransparentDataEncryption_Get`)."""
    subnet = network.subnet_id(spec.sub, *spec.subnet)
    row = arg_row(
        spec.sub,
        spec.rg,
        SQL_MI,
        spec.name,
        spec.location,
        {
            "provisioningState": "Succeeded",
            "fullyQualifiedDomainName": f"{spec.name}.{hexid(f'dns:{spec.name}')[:12]}"
            ".database.windows.net",
            "administratorLogin": "nwmiadmin",
            "subnetId": subnet,
            "state": "Ready",
            "licenseType": "LicenseIncluded",
            "vCores": 8,
            "storageSizeInGB": 1024,
            "collation": "SQL_Latin1_General_CP1_CI_AS",
            "dnsZone": hexid(f"dns:{spec.name}")[:12],
            "publicDataEndpointEnabled": spec.public_data_endpoint,
            "proxyOverride": "Proxy" if spec.public_data_endpoint else "Redirect",
            "timezoneId": "UTC",
            "minimalTlsVersion": spec.tls,
            "requestedBackupStorageRedundancy": "Geo" if spec.sub.phi else "Local",
            "currentBackupStorageRedundancy": "Geo" if spec.sub.phi else "Local",
            "zoneRedundant": False,
            "administrators": {
                "administratorType": "ActiveDirectory",
                "principalType": "Group",
                "login": "sg-nw-sql-admins",
                "sid": guid("group:sg-nw-sql-admins"),
                "tenantId": TENANT_ID,
                "azureADOnlyAuthentication": spec.entra_only,
            },
        },
        sku={"name": "GP_Gen5", "tier": "GeneralPurpose", "family": "Gen5", "capacity": 8},
        identity=system_identity(spec.name),
    )
    mi_id = estate.add_logged(
        row,
        [log_category("SQLSecurityAuditEvents"), log_category("ResourceUsageStats")],
        enabled=spec.sub.phi,
    )
    estate.doc(
        mi_id,
        "encryptionProtector/current",
        _encryption_protector(mi_id, SQL_MI, spec.customer_key),
    )
    _entra_docs(estate, mi_id, SQL_MI, admin=True, only=spec.entra_only)
    estate.doc(
        mi_id,
        "vulnerabilityAssessments/default",
        {
            "id": f"{mi_id}/vulnerabilityAssessments/default",
            "name": "default",
            "type": f"{SQL_MI}/vulnerabilityAssessments",
            "properties": (
                {
                    "storageContainerPath": "https://stnwvascans.blob.core.windows.net/"
                    "vulnerability-assessment/",
                    "recurringScans": {"isEnabled": True, "emailSubscriptionAdmins": True},
                }
                if spec.sub.phi
                else {"recurringScans": {"isEnabled": False, "emailSubscriptionAdmins": True}}
            ),
        },
    )
    for db, tde in spec.databases.items():
        db_id = estate.add(
            arg_row(
                spec.sub,
                spec.rg,
                SQL_MI_DB,
                (spec.name, db),
                spec.location,
                {
                    "collation": "SQL_Latin1_General_CP1_CI_AS",
                    "status": "Online",
                    "creationDate": days_ago(400, fraction=True),
                    "earliestRestorePoint": days_ago(7, fraction=True),
                    "defaultSecondaryLocation": "westus",
                },
            )
        )
        estate.doc(
            db_id,
            "transparentDataEncryption/current",
            {
                "id": f"{db_id}/transparentDataEncryption/current",
                "name": "current",
                "type": f"{SQL_MI_DB}/transparentDataEncryption",
                "properties": {"state": "Enabled" if tde else "Disabled"},
            },
        )


# -- PostgreSQL flexible server --------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PostgresSpec:
    """A PostgreSQL flexible server and the server parameters the checks read."""

    sub: Subscription
    rg: str
    name: str
    location: str
    public_network: str = "Disabled"
    delegated_subnet: tuple[str, str, str] | None = None
    geo_backup: bool = True
    high_availability: bool = True
    parameters: dict[str, str] = field(default_factory=dict)
    diagnostics: bool = True
    firewall: tuple[tuple[str, str, str], ...] = ()


_HARDENED_PG = {
    "require_secure_transport": "on",
    "ssl_min_protocol_version": "TLSv1.2",
    "log_connections": "on",
    "log_disconnections": "on",
    "log_checkpoints": "on",
    "logfiles.retention_days": "7",
    "connection_throttle.enable": "on",
}

_RULE_STAMP = "2025-3-14_9-12-4"
"""The suffix the portal appends to the rule it creates for "Allow public access from any Azure
service"."""

POSTGRES: tuple[PostgresSpec, ...] = (
    PostgresSpec(
        PORTAL,
        "rg-portal-data-eus2",
        "psql-nw-portal-eus2",
        "eastus2",
        delegated_subnet=("rg-portal-network-eus2", "vnet-nw-portal-eus2", "snet-psql"),
        parameters=_HARDENED_PG,
    ),
    PostgresSpec(
        CLINICAL,
        "rg-clinical-data-eus",
        "psql-nw-ehr-reporting",
        "eastus",
        geo_backup=False,
        parameters=_HARDENED_PG,
        # Left from the migration; dormant because public network access is Disabled.
        firewall=(("AllowAll-Temp-Migration", ANY_IPV4, "255.255.255.255"),),
    ),
    PostgresSpec(
        DEV,
        "rg-dev-analytics-eus",
        "psql-nw-analytics-dev",
        "eastus",
        public_network="Enabled",
        geo_backup=False,
        high_availability=False,
        parameters={
            "require_secure_transport": "off",
            "ssl_min_protocol_version": "TLSv1.2",
            "log_connections": "off",
            "log_disconnections": "off",
            "log_checkpoints": "on",
            "logfiles.retention_days": "3",
            "connection_throttle.enable": "off",
        },
        diagnostics=False,
        firewall=(
            (f"AllowAllAzureServicesAndResourcesWithinAzureIps_{_RULE_STAMP}", ANY_IPV4, ANY_IPV4),
            ("research-office", "198.51.100.0", "198.51.100.255"),
        ),
    ),
)

_PG_PARAMETER_INFO: dict[str, tuple[str, str, str, str]] = {
    # name: (description, default, data type, allowed values)
    "require_secure_transport": (
        "Whether client connections to the server are required to use some form of secure "
        "transport.",
        "on",
        "Boolean",
        "on,off",
    ),
    "ssl_min_protocol_version": (
        "Sets the minimum SSL/TLS protocol version to use.",
        "TLSv1.2",
        "Enumeration",
        "TLSv1,TLSv1.1,TLSv1.2,TLSv1.3",
    ),
    "log_connections": ("Logs each successful connection.", "on", "Boolean", "on,off"),
    "log_disconnections": (
        "Logs end of a session, including duration.",
        "off",
        "Boolean",
        "on,off",
    ),
    "log_checkpoints": ("Logs each checkpoint.", "on", "Boolean", "on,off"),
    "logfiles.retention_days": (
        "Sets the retention period window in days for server logs - after this time data will be "
        "deleted.",
        "3",
        "Integer",
        "1-7",
    ),
    "connection_throttle.enable": (
        "Enables temporary connection throttling per IP for too many login failures.",
        "off",
        "Boolean",
        "on,off",
    ),
}


def _pg_configuration(server_id: str, name: str, value: str) -> Doc:
    description, default, data_type, allowed = _PG_PARAMETER_INFO[name]
    return {
        "properties": {
            "value": value,
            "description": description,
            "defaultValue": default,
            "dataType": data_type,
            "allowedValues": allowed,
            "source": "system-default" if value == default else "user-override",
            "isDynamicConfig": True,
            "isReadOnly": False,
            "isConfigPendingRestart": False,
            "documentationLink": "https://go.microsoft.com/fwlink/?linkid=2274150",
        },
        "id": f"{server_id}/configurations/{name}",
        "name": name,
        "type": "Microsoft.DBforPostgreSQL/flexibleServers/configurations",
    }


def _add_postgres(estate: Estate, network: Network, spec: PostgresSpec) -> None:
    server_id = resource_id(spec.sub, spec.rg, PG, spec.name)
    net: Doc = {"publicNetworkAccess": spec.public_network}
    if spec.delegated_subnet is not None:
        net["delegatedSubnetResourceId"] = network.subnet_id(spec.sub, *spec.delegated_subnet)
        net["privateDnsZoneArmResourceId"] = (
            f"/subscriptions/{spec.sub.subscription_id}/resourceGroups/rg-portal-network-eus2/"
            "providers/Microsoft.Network/privateDnsZones/"
            "psql-nw-portal-eus2.private.postgres.database.azure.com"
        )
    row = arg_row(
        spec.sub,
        spec.rg,
        PG,
        spec.name,
        spec.location,
        {
            "fullyQualifiedDomainName": f"{spec.name}.postgres.database.azure.com",
            "version": "16",
            "minorVersion": "4",
            "administratorLogin": "nwpgadmin",
            "state": "Ready",
            "availabilityZone": "1",
            "storage": {"storageSizeGB": 512, "autoGrow": "Enabled", "tier": "P20", "iops": 2300},
            "authConfig": {
                "activeDirectoryAuth": "Enabled" if spec.sub.phi else "Disabled",
                "passwordAuth": "Disabled" if spec.sub.phi else "Enabled",
                "tenantId": TENANT_ID,
            },
            "dataEncryption": {"type": "SystemManaged"},
            "backup": {
                "backupRetentionDays": 35 if spec.sub.phi else 7,
                "geoRedundantBackup": "Enabled" if spec.geo_backup else "Disabled",
                "earliestRestoreDate": days_ago(35 if spec.sub.phi else 7, fraction=True),
            },
            "network": net,
            "highAvailability": (
                {"mode": "ZoneRedundant", "state": "Healthy", "standbyAvailabilityZone": "2"}
                if spec.high_availability
                else {"mode": "Disabled", "state": "NotEnabled"}
            ),
            "maintenanceWindow": {
                "customWindow": "Enabled",
                "startHour": 3,
                "startMinute": 0,
                "dayOfWeek": 0,
            },
            "replicationRole": "Primary",
            "replicaCapacity": 5,
            "privateEndpointConnections": [],
        },
        sku={"name": "Standard_D4ds_v5", "tier": "GeneralPurpose"},
    )
    if spec.sub is CLINICAL:
        network.private_endpoint(row, "postgresqlServer", PG)
    estate.add_logged(row, [log_group("allLogs")], enabled=spec.diagnostics)
    estate.doc(
        server_id,
        "configurations",
        arm_list([_pg_configuration(server_id, k, v) for k, v in sorted(spec.parameters.items())]),
    )
    estate.doc(server_id, "firewallRules", _flexible_firewall_rules(server_id, spec.firewall))


def _flexible_firewall_rules(server_id: str, rules: tuple[tuple[str, str, str], ...]) -> Doc:
    """A flexible server's `firewallRules` list, shaped after `FirewallRules_ListByServer`."""
    rtype = f"{server_id.split('/providers/')[1].rsplit('/', 1)[0]}/firewallRules"
    return arm_list(
        [
            {
                "id": f"{server_id}/firewallRules/{name}",
                "name": name,
                "type": rtype,
                "properties": {"startIpAddress": start, "endIpAddress": end},
            }
            for name, start, end in rules
        ]
    )


# -- MySQL flexible server -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class MysqlSpec:
    """A MySQL flexible server: hardened (private, CMK, TLS, audit, Entra admin) or not."""

    sub: Subscription
    rg: str
    name: str
    location: str
    hardened: bool
    firewall: tuple[tuple[str, str, str], ...] = ()


MYSQL_SERVERS: tuple[MysqlSpec, ...] = (
    MysqlSpec(PORTAL, "rg-portal-data-eus2", "mysql-nw-portal-scheduling", "eastus2", True),
    MysqlSpec(
        DEV,
        "rg-dev-analytics-eus",
        "mysql-nw-dev-intake",
        "eastus",
        False,
        firewall=(("AllowAll_2025-3-14_9-40-11", ANY_IPV4, "255.255.255.255"),),
    ),
)

_MYSQL_PARAMETER_INFO: dict[str, tuple[str, str, str, str]] = {
    # name: (description, default, data type, allowed values)
    "require_secure_transport": (
        "Whether client connections to the server are required to use some form of secure "
        "transport.",
        "ON",
        "Enumeration",
        "ON,OFF",
    ),
    "tls_version": (
        "Which protocols the server permits for encrypted connections.",
        "TLSv1.2",
        "Set",
        "TLSv1,TLSv1.1,TLSv1.2,TLSv1.3",
    ),
    "audit_log_enabled": (
        "Allow to audit the log.",
        "OFF",
        "Enumeration",
        "ON,OFF",
    ),
    "audit_log_events": (
        "Selects the events to audit.",
        "CONNECTION",
        "Set",
        "DDL,DML_SELECT,DML_NONSELECT,DCL,ADMIN,DML,GENERAL,CONNECTION,TABLE_ACCESS",
    ),
}


def _mysql_configuration(server_id: str, name: str, value: str) -> Doc:
    """One server parameter, shaped after MySQL's `Configurations_Get` example."""
    description, default, data_type, allowed = _MYSQL_PARAMETER_INFO[name]
    return {
        "properties": {
            "value": value,
            "description": description,
            "defaultValue": default,
            "dataType": data_type,
            "allowedValues": allowed,
            "source": "system-default" if value == default else "user-override",
            "isConfigPendingRestart": "False",
            "isDynamicConfig": "False" if name == "tls_version" else "True",
            "isReadOnly": "False",
        },
        "id": f"{server_id}/configurations/{name}",
        "name": name,
        "type": "Microsoft.DBforMySQL/flexibleServers/configurations",
    }


def _add_mysql(estate: Estate, network: Network, spec: MysqlSpec) -> None:
    server_id = resource_id(spec.sub, spec.rg, MYSQL, spec.name)
    identity_id = (
        f"/subscriptions/{spec.sub.subscription_id}/resourceGroups/{spec.rg}/providers/"
        f"Microsoft.ManagedIdentity/userAssignedIdentities/id-{spec.name}"
    )
    properties: Doc = {
        "administratorLogin": "nwmysqladmin",
        "version": "8.0.21",
        "state": "Ready",
        "fullyQualifiedDomainName": f"{spec.name}.mysql.database.azure.com",
        "availabilityZone": "1",
        "storage": {"storageSizeGB": 128, "iops": 684, "autoGrow": "Enabled"},
        "maintenanceWindow": {"customWindow": "Disabled", "dayOfWeek": 0, "startHour": 0},
        "replicationRole": "None",
        "replicaCapacity": 10,
        "network": {"publicNetworkAccess": "Disabled" if spec.hardened else "Enabled"},
        "backup": {
            "backupRetentionDays": 35 if spec.hardened else 7,
            "backupIntervalHours": 24,
            "geoRedundantBackup": "Enabled" if spec.hardened else "Disabled",
            "earliestRestoreDate": days_ago(35 if spec.hardened else 7, fraction=True),
        },
        "highAvailability": (
            {"mode": "ZoneRedundant", "state": "Healthy", "standbyAvailabilityZone": "3"}
            if spec.hardened
            else {"mode": "Disabled", "state": "NotEnabled"}
        ),
        "privateEndpointConnections": [],
    }
    if spec.hardened:
        properties["dataEncryption"] = {
            "type": "AzureKeyVault",
            "primaryUserAssignedIdentityId": identity_id,
            "primaryKeyURI": f"https://kv-nw-portal-cmk.vault.azure.net/keys/{spec.name}",
        }
    row = arg_row(
        spec.sub,
        spec.rg,
        MYSQL,
        spec.name,
        spec.location,
        properties,
        sku={"name": "Standard_D2ds_v4", "tier": "GeneralPurpose"},
        identity=(
            {"type": "UserAssigned", "userAssignedIdentities": {identity_id: {}}}
            if spec.hardened
            else None
        ),
    )
    if spec.hardened:
        network.private_endpoint(row, "mysqlServer", MYSQL)
    estate.add_logged(row, [log_group("audit")], enabled=spec.hardened)
    parameters = (
        {
            "require_secure_transport": "ON",
            "tls_version": "TLSv1.2,TLSv1.3",
            "audit_log_enabled": "ON",
            "audit_log_events": "CONNECTION,ADMIN,DDL,DCL",
        }
        if spec.hardened
        else {
            "require_secure_transport": "OFF",
            "tls_version": "TLSv1.1,TLSv1.2",
            "audit_log_enabled": "OFF",
            "audit_log_events": "CONNECTION",
        }
    )
    estate.doc(
        server_id,
        "configurations",
        arm_list([_mysql_configuration(server_id, k, v) for k, v in sorted(parameters.items())]),
    )
    estate.doc(server_id, "firewallRules", _flexible_firewall_rules(server_id, spec.firewall))
    admins = (
        [
            {
                "id": f"{server_id}/administrators/ActiveDirectory",
                "name": "ActiveDirectory",
                "type": "Microsoft.DBforMySQL/flexibleServers/administrators",
                "properties": {
                    "administratorType": "ActiveDirectory",
                    "login": "sg-nw-mysql-admins",
                    "sid": guid("group:sg-nw-mysql-admins"),
                    "tenantId": TENANT_ID,
                    "identityResourceId": identity_id,
                },
            }
        ]
        if spec.hardened
        else []
    )
    estate.doc(server_id, "administrators", arm_list(admins))


# -- Cosmos DB -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CosmosSpec:
    """A Cosmos DB account and its regions (display names, as the API returns them)."""

    sub: Subscription
    rg: str
    name: str
    location: str
    regions: tuple[str, ...]
    tls: str = "Tls12"
    local_auth_disabled: bool = True
    public_network: str = "Disabled"
    continuous_backup: bool = True


COSMOS_ACCOUNTS: tuple[CosmosSpec, ...] = (
    CosmosSpec(
        PORTAL, "rg-portal-data-eus2", "cosmos-nw-portal", "eastus2", ("East US 2", "Central US")
    ),
    CosmosSpec(
        DEV,
        "rg-dev-analytics-eus",
        "cosmos-nw-research",
        "eastus",
        ("East US", "North Europe"),
        tls="Tls",
        local_auth_disabled=False,
        public_network="Enabled",
        continuous_backup=False,
    ),
)


def _add_cosmos(estate: Estate, network: Network, spec: CosmosSpec) -> None:
    regions = [
        {
            "id": f"{spec.name}-{region.lower().replace(' ', '')}",
            "locationName": region,
            "documentEndpoint": (
                f"https://{spec.name}-{region.lower().replace(' ', '')}.documents.azure.com:443/"
            ),
            "provisioningState": "Succeeded",
            "failoverPriority": priority,
            "isZoneRedundant": spec.sub.phi,
        }
        for priority, region in enumerate(spec.regions)
    ]
    backup: Doc = (
        {"type": "Continuous", "continuousModeProperties": {"tier": "Continuous30Days"}}
        if spec.continuous_backup
        else {
            "type": "Periodic",
            "periodicModeProperties": {
                "backupIntervalInMinutes": 240,
                "backupRetentionIntervalInHours": 8,
                "backupStorageRedundancy": "Geo",
            },
        }
    )
    row = arg_row(
        spec.sub,
        spec.rg,
        COSMOS,
        spec.name,
        spec.location,
        {
            "provisioningState": "Succeeded",
            "documentEndpoint": f"https://{spec.name}.documents.azure.com:443/",
            "publicNetworkAccess": spec.public_network,
            "enableAutomaticFailover": True,
            "enableMultipleWriteLocations": False,
            "isVirtualNetworkFilterEnabled": False,
            "virtualNetworkRules": [],
            "ipRules": [],
            "databaseAccountOfferType": "Standard",
            "disableKeyBasedMetadataWriteAccess": spec.local_auth_disabled,
            "disableLocalAuth": spec.local_auth_disabled,
            "consistencyPolicy": {
                "defaultConsistencyLevel": "Session",
                "maxIntervalInSeconds": 5,
                "maxStalenessPrefix": 100,
            },
            "capabilities": [],
            "writeLocations": regions[:1],
            "readLocations": regions,
            "locations": regions,
            "failoverPolicies": [
                {
                    "id": r["id"],
                    "locationName": r["locationName"],
                    "failoverPriority": r["failoverPriority"],
                }
                for r in regions
            ],
            "privateEndpointConnections": [],
            "cors": [],
            "defaultIdentity": "FirstPartyIdentity",
            "enableFreeTier": False,
            "apiProperties": {},
            "enableAnalyticalStorage": False,
            "instanceId": guid(f"cosmos:{spec.name}"),
            "createMode": "Default",
            "backupPolicy": backup,
            "networkAclBypass": "None",
            "networkAclBypassResourceIds": [],
            "enablePartitionMerge": False,
            "minimalTlsVersion": spec.tls,
            **(
                {"keyVaultKeyUri": f"https://kv-nw-portal-cmk.vault.azure.net/keys/{spec.name}"}
                if spec.sub.phi
                else {}
            ),
        },
        kind="GlobalDocumentDB",
        identity=system_identity(spec.name),
    )
    if spec.public_network == "Disabled":
        network.private_endpoint(row, "Sql", COSMOS)
    estate.add_logged(row, [log_group("audit")], enabled=spec.sub.phi)


# -- Azure Cache for Redis -------------------------------------------------------------------------


def _add_redis(
    estate: Estate,
    network: Network,
    sub: Subscription,
    rg: str,
    name: str,
    location: str,
    *,
    hardened: bool,
) -> None:
    sku = (
        {"name": "Premium", "family": "P", "capacity": 1}
        if hardened
        else {"name": "Basic", "family": "C", "capacity": 0}
    )
    row = arg_row(
        sub,
        rg,
        REDIS,
        name,
        location,
        {
            "provisioningState": "Succeeded",
            "redisVersion": "6.0",
            "sku": sku,
            "enableNonSslPort": not hardened,
            "minimumTlsVersion": "1.2" if hardened else "1.0",
            "publicNetworkAccess": "Disabled" if hardened else "Enabled",
            "disableAccessKeyAuthentication": hardened,
            "redisConfiguration": {
                "maxclients": "7500" if hardened else "256",
                "maxmemory-reserved": "125",
                "maxfragmentationmemory-reserved": "125",
                "maxmemory-delta": "125",
                "aad-enabled": "true" if hardened else "false",
            },
            "hostName": f"{name}.redis.cache.windows.net",
            "port": 6379,
            "sslPort": 6380,
            "instances": [
                {"sslPort": 15000, "nonSslPort": 13000, "isMaster": True, "isPrimary": True}
            ],
            "linkedServers": [],
            "privateEndpointConnections": [],
            "updateChannel": "Stable",
        },
        zones=["1", "2"] if hardened else None,
    )
    if hardened:
        network.private_endpoint(row, "redisCache", REDIS)
    estate.add_logged(row, [log_group("allLogs")], enabled=hardened)


def _add_managed_redis(
    estate: Estate, sub: Subscription, rg: str, name: str, location: str, *, hardened: bool
) -> None:
    """An Azure Managed Redis cluster and its one database, shaped after `RedisEnterprise_List`
    and `Databases_ListByCluster` (never the access keys)."""
    row = arg_row(
        sub,
        rg,
        MANAGED_REDIS,
        name,
        location,
        {
            "hostName": f"{name}.{location}.redis.azure.net",
            "provisioningState": "Succeeded",
            "resourceState": "Running",
            "redisVersion": "7.4",
            "minimumTlsVersion": "1.2",
            "publicNetworkAccess": "Disabled" if hardened else "Enabled",
            "highAvailability": "Enabled" if hardened else "Disabled",
            "privateEndpointConnections": [],
        },
        kind="v2",
        sku={"name": "Balanced_B5" if hardened else "Balanced_B0"},
    )
    cluster_id = estate.add_logged(row, [log_group("allLogs")], enabled=hardened)
    database: Doc = {
        "id": f"{cluster_id}/databases/default",
        "name": f"{name}/default",
        "type": "Microsoft.Cache/redisEnterprise/databases",
        "properties": {
            "provisioningState": "Succeeded",
            "resourceState": "Running",
            "clientProtocol": "Encrypted" if hardened else "Plaintext",
            "clusteringPolicy": "OSSCluster",
            "evictionPolicy": "VolatileLRU",
            "port": 10000,
            "deferUpgrade": "NotDeferred",
            "redisVersion": "7.4",
            "accessKeysAuthentication": "Disabled" if hardened else "Enabled",
        },
    }
    estate.doc(cluster_id, "databases", arm_list([database]))


def build(estate: Estate, network: Network) -> None:
    """Add the SQL, PostgreSQL, Cosmos DB and Redis resources with their documents."""
    for sql in SQL_SERVERS:
        _add_sql(estate, network, sql)
    for instance in SQL_MANAGED_INSTANCES:
        _add_sql_mi(estate, network, instance)
    for pg in POSTGRES:
        _add_postgres(estate, network, pg)
    for mysql in MYSQL_SERVERS:
        _add_mysql(estate, network, mysql)
    for cosmos in COSMOS_ACCOUNTS:
        _add_cosmos(estate, network, cosmos)
    _add_redis(
        estate,
        network,
        PORTAL,
        "rg-portal-data-eus2",
        "redis-nw-portal-sessions",
        "eastus2",
        hardened=True,
    )
    _add_redis(
        estate, network, DEV, "rg-dev-analytics-eus", "redis-nw-dev-cache", "eastus", hardened=False
    )
    _add_managed_redis(
        estate, PORTAL, "rg-portal-data-eus2", "amr-nw-portal-sessions", "eastus2", hardened=True
    )
    _add_managed_redis(
        estate, DEV, "rg-dev-analytics-eus", "amr-nw-dev-features", "eastus", hardened=False
    )
