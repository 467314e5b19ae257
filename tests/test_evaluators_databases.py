"""Open-source and NoSQL database checks: backup geography, firewalls, parameters, Redis TLS.

The inline cases of each check cover the documented shapes; these tests pin the semantic edges
(which backup mode keeps a copy outside the region, which firewall rule is in effect) and the
collection of the new documents from the emulator with real Azure SDK clients.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from azaudit.casebook import CASE_SUBSCRIPTION
from azaudit.collect.plan import arm_url, build_plan
from azaudit.demo import build_demo_snapshot
from azaudit.models import Status, TargetKind
from azaudit.snapshot import Snapshot, subscription_scope
from azaudit.sources import find_source, resource_type_of
from tests.catalogue_support import builtin_catalogue
from tests.collect_support import collect, running
from tests.evaluator_support import builtin_check, run_check

SUB = subscription_scope(CASE_SUBSCRIPTION)
PG_ID = f"{SUB}/resourceGroups/rg-db/providers/Microsoft.DBforPostgreSQL/flexibleServers/pg1"
MYSQL_ID = f"{SUB}/resourceGroups/rg-db/providers/Microsoft.DBforMySQL/flexibleServers/my1"
SQL_ID = f"{SUB}/resourceGroups/rg-db/providers/Microsoft.Sql/servers/sql1"
AMR_ID = f"{SUB}/resourceGroups/rg-db/providers/Microsoft.Cache/redisEnterprise/amr1"

GEO = builtin_check("bkp_db_flexible_geo_backup")
OPEN = builtin_check("net_db_flexible_firewall_open")
AZURE = builtin_check("net_db_flexible_azure_services")
COSMOS_NET = builtin_check("net_cosmos_firewall")
MYSQL_TLS = builtin_check("eit_mysql_tls")
AMR_TLS = builtin_check("eit_redis_enterprise_tls")


def _cosmos(backup: dict[str, Any], regions: tuple[str, ...] = ("East US",)) -> dict[str, Any]:
    return {
        "resource": {
            "type": "Microsoft.DocumentDB/databaseAccounts",
            "properties": {
                "backupPolicy": backup,
                "locations": [
                    {"id": f"acct-{i}", "locationName": r, "failoverPriority": i}
                    for i, r in enumerate(regions)
                ],
            },
        }
    }


def _periodic(redundancy: str) -> dict[str, Any]:
    return {
        "type": "Periodic",
        "periodicModeProperties": {
            "backupIntervalInMinutes": 240,
            "backupRetentionIntervalInHours": 720,
            "backupStorageRedundancy": redundancy,
        },
    }


# -- Cosmos DB backup geography ------------------------------------------------------------------


def test_periodic_backup_to_geo_redundant_storage_is_a_backup_outside_the_region() -> None:
    (finding,) = run_check(GEO, _cosmos(_periodic("Geo")))
    assert finding.status is Status.PASS
    assert "geo-redundant" in finding.message


@pytest.mark.parametrize("redundancy", ["Zone", "Local"])
def test_periodic_backup_kept_in_the_region_fails(redundancy: str) -> None:
    (finding,) = run_check(GEO, _cosmos(_periodic(redundancy), ("East US", "West US")))
    assert finding.status is Status.FAIL
    assert redundancy.lower() in finding.message
    assert finding.observed == redundancy


def test_continuous_backup_of_a_single_region_account_fails() -> None:
    continuous = {"type": "Continuous", "continuousModeProperties": {"tier": "Continuous30Days"}}
    (single,) = run_check(GEO, _cosmos(continuous))
    (multi,) = run_check(GEO, _cosmos(continuous, ("East US", "West US")))
    assert single.status is Status.FAIL
    assert "single-region" in single.message
    assert multi.status is Status.PASS
    assert multi.observed == ["East US", "West US"]


def test_unknown_backup_mode_is_an_error() -> None:
    (finding,) = run_check(GEO, _cosmos({"type": "Snapshot"}))
    assert finding.status is Status.ERROR
    assert finding.property_path == "properties.backupPolicy.type"


# -- flexible server firewalls -------------------------------------------------------------------


def _server(
    public: str, rules: list[tuple[str, str, str]], rtype: str = "Microsoft.DBforMySQL"
) -> dict[str, Any]:
    server_id = MYSQL_ID if rtype == "Microsoft.DBforMySQL" else PG_ID
    return {
        "resource": {
            "id": server_id,
            "type": f"{rtype}/flexibleServers",
            "properties": {"network": {"publicNetworkAccess": public}},
        },
        "details": {
            "firewallRules": {
                "value": [
                    {
                        "id": f"{server_id}/firewallRules/{name}",
                        "name": name,
                        "properties": {"startIpAddress": start, "endIpAddress": end},
                    }
                    for name, start, end in rules
                ]
            }
        },
    }


ANY = "0.0.0.0"  # noqa: S104 - a firewall rule bound
AZURE_RULE = ("AllowAllAzureServicesAndResourcesWithinAzureIps_2025-1-1", ANY, ANY)
INTERNET_RULE = ("AllowAll", ANY, "255.255.255.255")


def test_each_open_rule_is_its_own_finding_on_the_rule() -> None:
    body = _server("Enabled", [INTERNET_RULE, ("second", "1.0.0.0", "255.0.0.0"), AZURE_RULE])
    findings = run_check(OPEN, body)
    assert [f.status for f in findings] == [Status.FAIL, Status.FAIL]
    assert {f.resource_id.rsplit("/", 1)[-1] for f in findings} == {"AllowAll", "second"}
    rule_type = "Microsoft.DBforMySQL/flexibleServers/firewallRules"
    assert {f.resource_type for f in findings} == {rule_type}
    assert "entire internet" in findings[0].message


def test_allow_azure_services_rule_says_what_it_is() -> None:
    (finding,) = run_check(AZURE, _server("Enabled", [AZURE_RULE], "Microsoft.DBforPostgreSQL"))
    assert finding.status is Status.FAIL
    assert "Allow public access from any Azure service" in finding.message
    assert "other customers" in finding.message
    assert finding.resource_type == "Microsoft.DBforPostgreSQL/flexibleServers/firewallRules"
    assert AZURE.meta.severity.value == "medium"
    assert OPEN.meta.severity.value == "high"


def test_rules_of_a_server_without_public_access_are_dormant() -> None:
    (finding,) = run_check(OPEN, _server("Disabled", [INTERNET_RULE]))
    assert finding.status is Status.PASS
    assert "AllowAll" in finding.message
    assert finding.property_path == "properties.network.publicNetworkAccess"


def test_an_unreadable_rule_is_an_error_even_next_to_a_failing_one() -> None:
    body = _server("Enabled", [INTERNET_RULE, ("odd", "10.0.0.9", "10.0.0.1")])
    (finding,) = run_check(OPEN, body)
    assert finding.status is Status.ERROR


# -- Cosmos DB network restriction ---------------------------------------------------------------


def _account(**props: Any) -> dict[str, Any]:
    return {"resource": {"type": "Microsoft.DocumentDB/databaseAccounts", "properties": props}}


def test_azure_datacenter_rule_next_to_a_real_rule_still_fails() -> None:
    body = _account(
        publicNetworkAccess="Enabled",
        ipRules=[{"ipAddressOrRange": "203.0.113.7"}, {"ipAddressOrRange": ANY}],
    )
    (finding,) = run_check(COSMOS_NET, body)
    assert finding.status is Status.FAIL
    assert "Azure datacenter" in finding.message


def test_secured_by_perimeter_without_rules_is_not_taken_as_closed() -> None:
    (finding,) = run_check(COSMOS_NET, _account(publicNetworkAccess="SecuredByPerimeter"))
    assert finding.status is Status.FAIL


def test_virtual_network_filter_of_the_wrong_type_is_an_error() -> None:
    body = _account(publicNetworkAccess="Enabled", isVirtualNetworkFilterEnabled="true")
    (finding,) = run_check(COSMOS_NET, body)
    assert finding.status is Status.ERROR


# -- MySQL server parameters ---------------------------------------------------------------------


def _parameters(**values: Any) -> dict[str, Any]:
    items = [{"name": k, "properties": {"value": v}} for k, v in values.items()]
    return {"resource": {"id": MYSQL_ID}, "details": {"configurations": {"value": items}}}


def test_tls_version_list_is_judged_item_by_item() -> None:
    (ok,) = run_check(
        MYSQL_TLS, _parameters(require_secure_transport="ON", tls_version="TLSv1.2, TLSv1.3")
    )
    (old,) = run_check(
        MYSQL_TLS, _parameters(require_secure_transport="ON", tls_version="TLSv1,TLSv1.2")
    )
    (empty,) = run_check(MYSQL_TLS, _parameters(require_secure_transport="ON", tls_version=""))
    assert ok.status is Status.PASS
    assert old.status is Status.FAIL
    assert "it allows TLSv1" in old.message
    assert "TLSv1.1" not in old.message
    assert empty.status is Status.FAIL


# -- Azure Managed Redis -------------------------------------------------------------------------


def test_one_plaintext_database_among_encrypted_ones_fails_naming_it() -> None:
    databases = [
        {"name": "amr1/default", "properties": {"clientProtocol": "Encrypted"}},
        {"name": "amr1/legacy", "properties": {"clientProtocol": "Plaintext"}},
    ]
    body = {
        "resource": {"id": AMR_ID, "properties": {"minimumTlsVersion": "1.2"}},
        "details": {"databases": {"value": databases}},
    }
    (finding,) = run_check(AMR_TLS, body)
    assert finding.status is Status.FAIL
    assert "amr1/legacy" in finding.message
    assert "amr1/default" not in finding.message


# -- sources: one path, several providers --------------------------------------------------------


def test_resource_type_of_an_id() -> None:
    assert resource_type_of(MYSQL_ID) == "Microsoft.DBforMySQL/flexibleServers"
    assert resource_type_of(f"{SQL_ID}/databases/db1") == "Microsoft.Sql/servers/databases"
    assert resource_type_of(SUB) == ""


@pytest.mark.parametrize(
    ("source", "scope", "version"),
    [
        ("configurations", PG_ID, "2024-08-01"),
        ("configurations", MYSQL_ID, "2023-12-30"),
        ("firewallRules", SQL_ID, "2021-11-01"),
        ("firewallRules", PG_ID, "2024-08-01"),
        ("firewallRules", MYSQL_ID.replace("DBforMySQL", "dbformysql"), "2023-12-30"),
        ("administrators", MYSQL_ID, "2023-12-30"),
        ("databases", AMR_ID, "2025-07-01"),
    ],
)
def test_each_provider_is_read_with_its_own_api_version(
    source: str, scope: str, version: str
) -> None:
    found = find_source(TargetKind.RESOURCE, source)
    assert found is not None
    assert arm_url("https://arm.test", scope, found).endswith(f"?api-version={version}")


def test_plan_reads_new_documents_for_mysql_and_managed_redis() -> None:
    plan = build_plan(builtin_catalogue().checks)
    mysql = {s.name for s in plan.sources_for({"type": "Microsoft.DBforMySQL/flexibleServers"})}
    amr = {s.name for s in plan.sources_for({"type": "Microsoft.Cache/redisEnterprise"})}
    assert {"configurations", "firewallRules", "administrators"} <= mysql
    assert "databases" in amr


def _database_tenant() -> Snapshot:
    """The demo's MySQL, PostgreSQL and Managed Redis servers with their documents."""
    demo = build_demo_snapshot()
    wanted = {
        "microsoft.dbformysql/flexibleservers",
        "microsoft.dbforpostgresql/flexibleservers",
        "microsoft.cache/redisenterprise",
    }
    rows = tuple(r for r in demo.resources if str(r["type"]) in wanted)
    subs = {str(r["subscriptionId"]) for r in rows}
    # The tenant-level documents ("/") are read on every scan, whatever the catalogue.
    scopes = {str(r["id"]) for r in rows} | {subscription_scope(s) for s in subs} | {"/"}
    details = {scope: docs for scope, docs in demo.details.items() if scope in scopes}
    return dataclasses.replace(
        demo,
        resources=rows,
        subscriptions=tuple(s for s in demo.subscriptions if s["subscriptionId"] in subs),
        details=details,
        gaps=(),
    )


def test_collector_reads_each_provider_with_its_api_version_from_the_emulator() -> None:
    catalogue = builtin_catalogue()
    wanted = {"configurations", "firewallRules", "administrators", "databases"}
    tenant = _database_tenant()
    catalogue = dataclasses.replace(
        catalogue, checks=tuple(c for c in catalogue.checks if set(c.requires) & wanted)
    )
    with running(tenant) as emulator:
        snapshot = collect(emulator, catalogue)
        requests = emulator.requests
    assert snapshot.gaps == ()
    for row in tenant.resources:
        rid = str(row["id"])
        for source in wanted:
            expected = tenant.details[rid].get(source)
            if expected is not None:
                assert snapshot.details[rid][source] == expected, (rid, source)
    versions: dict[tuple[str, str], set[str]] = {}
    for request in requests:
        if request.family != "arm" or "/providers/Microsoft.Resources" in request.path:
            continue
        tail = request.path.rstrip("/").rsplit("/", 1)[-1]
        if tail in wanted:
            rtype = resource_type_of(request.path.rsplit("/", 1)[0]).lower()
            query = dict(p.split("=", 1) for p in request.query.split("&") if "=" in p)
            versions.setdefault((rtype, tail), set()).add(query["api-version"])
    assert versions == {
        ("microsoft.dbforpostgresql/flexibleservers", "configurations"): {"2024-08-01"},
        ("microsoft.dbforpostgresql/flexibleservers", "firewallRules"): {"2024-08-01"},
        ("microsoft.dbformysql/flexibleservers", "configurations"): {"2023-12-30"},
        ("microsoft.dbformysql/flexibleservers", "firewallRules"): {"2023-12-30"},
        ("microsoft.dbformysql/flexibleservers", "administrators"): {"2023-12-30"},
        ("microsoft.cache/redisenterprise", "databases"): {"2025-07-01"},
    }
