"""Evaluators for open-source and NoSQL databases: PostgreSQL/MySQL flexible servers, Cosmos DB
and Azure Managed Redis.

They judge what only these services have (geo backup by backup mode, server parameter lists,
flexible-server firewalls, Cosmos IP rules, Redis database protocols), reading every field a
verdict depends on through `access.py` so that an unknown shape is ERROR, never PASS.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator, Mapping
from typing import Any

from azaudit.evaluators.access import (
    ShapeError,
    objects,
    optional_bool,
    optional_list,
    optional_obj,
    optional_str,
    require,
    require_list,
    require_obj,
    require_str,
)
from azaudit.evaluators.base import EvalContext, EvaluatorSpec, Outcome, Param, list_values
from azaudit.evaluators.common import RESOURCE_ONLY, show_value, tls_number
from azaudit.models import Status

PG = "microsoft.dbforpostgresql/flexibleservers"
MYSQL = "microsoft.dbformysql/flexibleservers"
COSMOS = "microsoft.documentdb/databaseaccounts"
FLEXIBLE = frozenset({PG, MYSQL})
ALL_IPV4 = 2**32
FIREWALL_RULES = "firewallRules"


def _rtype(ctx: EvalContext) -> str:
    return require_str(ctx.resource, "type").lower()


def _choice(obj: object, path: str, allowed: tuple[str, ...], *, at: str = "") -> str:
    """A string from a closed vocabulary (case-insensitive), returned as Azure documents it."""
    value = require_str(obj, path, at=at)
    for option in allowed:
        if value.lower() == option.lower():
            return option
    label = f"{at}.{path}" if at else path
    raise ShapeError(label, f"one of {', '.join(allowed)}", repr(value))


# -- geo-redundant backup ------------------------------------------------------------------------


def _database_geo_backup(ctx: EvalContext, params: Mapping[str, Any]) -> Iterator[Outcome]:
    """PASS when a copy of the backups survives the loss of the database's region.

    - Flexible servers: `backup.geoRedundantBackup` Enabled (backups copied to the paired region).
    - Cosmos DB periodic mode: `backupStorageRedundancy` Geo (geo-redundant blob storage); Zone
      and Local keep every copy in the primary region.
    - Cosmos DB continuous mode: backups are taken in every region of the account and stored
      there locally or zone-redundantly, so only an account in two or more regions has one that
      outlives a region (https://learn.microsoft.com/azure/cosmos-db/continuous-backup-restore-introduction).
    """
    rtype = _rtype(ctx)
    props = require_obj(ctx.resource, "properties")
    if rtype in FLEXIBLE:
        geo = _choice(props, "backup.geoRedundantBackup", ("Enabled", "Disabled"), at="properties")
        path = "properties.backup.geoRedundantBackup"
        if geo == "Enabled":
            yield Outcome(Status.PASS, path, geo, "Enabled", "geo-redundant backup is Enabled")
        else:
            yield Outcome(
                Status.FAIL,
                path,
                geo,
                "Enabled",
                "geo-redundant backup is Disabled: backups stay in the server's region and are "
                "lost with it",
            )
        return
    if rtype != COSMOS:
        raise ValueError(f"database_geo_backup does not judge {rtype}")
    mode = _choice(props, "backupPolicy.type", ("Periodic", "Continuous"), at="properties")
    expected = (
        "periodic backup to geo-redundant storage (Geo), or continuous backup in two or more "
        "regions"
    )
    if mode == "Periodic":
        path = "properties.backupPolicy.periodicModeProperties.backupStorageRedundancy"
        redundancy = _choice(
            props,
            "backupPolicy.periodicModeProperties.backupStorageRedundancy",
            ("Geo", "Zone", "Local"),
            at="properties",
        )
        if redundancy == "Geo":
            yield Outcome(
                Status.PASS,
                path,
                redundancy,
                expected,
                "periodic backups are kept in geo-redundant storage (replicated to the paired "
                "region)",
            )
        else:
            yield Outcome(
                Status.FAIL,
                path,
                redundancy,
                expected,
                f"periodic backups are kept in {redundancy.lower()}-redundant storage inside the "
                "account's primary region and are lost with it",
            )
        return
    listed = require_list(props, "locations", at="properties")
    locations = objects(listed, at="properties.locations")
    regions = sorted(
        {
            require_str(loc, "locationName", at=f"properties.locations[{i}]")
            for i, loc in enumerate(locations)
        }
    )
    path = "properties.locations"
    if len(regions) >= 2:
        yield Outcome(
            Status.PASS,
            path,
            regions,
            expected,
            f"continuous backup is taken in each of the account's {len(regions)} regions "
            f"({', '.join(regions)})",
        )
    else:
        yield Outcome(
            Status.FAIL,
            path,
            regions,
            expected,
            "continuous backup of a single-region account is stored only in that region "
            f"({', '.join(regions) or 'none listed'}): add a second region, or use periodic "
            "backup with geo-redundant storage",
        )


# -- customer-managed keys -----------------------------------------------------------------------


def _database_cmk(ctx: EvalContext, params: Mapping[str, Any]) -> Iterator[Outcome]:
    """PASS when the data is encrypted with a customer-managed key in Key Vault.

    Flexible servers omit `dataEncryption` (or report `SystemManaged`) when the service key is
    used; a Cosmos DB account has `keyVaultKeyUri` only with a customer-managed key.
    """
    rtype = _rtype(ctx)
    props = require_obj(ctx.resource, "properties")
    if rtype in FLEXIBLE:
        path = "properties.dataEncryption.type"
        encryption = optional_obj(props, "dataEncryption", at="properties")
        kind = (
            "SystemManaged"
            if encryption is None
            else _choice(
                encryption,
                "type",
                ("SystemManaged", "AzureKeyVault"),
                at="properties.dataEncryption",
            )
        )
        if kind == "AzureKeyVault":
            key = optional_str(encryption, "primaryKeyURI", at="properties.dataEncryption")
            where = f" ({key})" if key else ""
            yield Outcome(
                Status.PASS,
                path,
                kind,
                "AzureKeyVault",
                f"data is encrypted with a customer-managed key in Key Vault{where}",
            )
        else:
            shown = "not set (service-managed key)" if encryption is None else "SystemManaged"
            yield Outcome(
                Status.FAIL,
                path,
                None if encryption is None else kind,
                "AzureKeyVault",
                f"data encryption is {shown}: the key is Microsoft's, not under the "
                "organisation's control",
            )
        return
    if rtype != COSMOS:
        raise ValueError(f"database_cmk does not judge {rtype}")
    path = "properties.keyVaultKeyUri"
    uri = optional_str(props, "keyVaultKeyUri", at="properties")
    if uri:
        yield Outcome(
            Status.PASS,
            path,
            uri,
            "a Key Vault key URI",
            f"data is encrypted with the customer-managed key {uri}",
        )
    else:
        yield Outcome(
            Status.FAIL,
            path,
            uri,
            "a Key Vault key URI",
            "keyVaultKeyUri is not set: the account is encrypted with a service-managed key",
        )


# -- MySQL Entra administrator -------------------------------------------------------------------


def _mysql_entra_admin(ctx: EvalContext, params: Mapping[str, Any]) -> Iterator[Outcome]:
    """PASS when a MySQL flexible server has a Microsoft Entra administrator."""
    source = "administrators"
    admins = objects(list_values(ctx.own(source), source), at=source)
    logins = []
    for index, admin in enumerate(admins):
        at = f"{source}[{index}].properties"
        props = require_obj(admin, "properties", at=f"{source}[{index}]")
        _choice(props, "administratorType", ("ActiveDirectory",), at=at)
        logins.append(require_str(props, "login", at=at))
    expected = "a Microsoft Entra administrator"
    if logins:
        yield Outcome(
            Status.PASS,
            source,
            logins,
            expected,
            f"Microsoft Entra administrator: {', '.join(logins)}",
        )
    else:
        yield Outcome(
            Status.FAIL,
            source,
            [],
            expected,
            "no Microsoft Entra administrator: only MySQL logins with passwords can sign in",
        )


# -- server parameter lists ----------------------------------------------------------------------


def _parameters(ctx: EvalContext, source: str) -> dict[str, str]:
    """Server parameter name (lower case) -> value, from a `configurations` list."""
    values: dict[str, str] = {}
    for index, item in enumerate(objects(list_values(ctx.own(source), source), at=source)):
        name = require_str(item, "name", at=f"{source}[{index}]")
        value = require(item, "properties.value", at=f"{source}[name={name}]")
        if not isinstance(value, str):
            raise ShapeError(f"{source}[name={name}].properties.value", "a string", repr(value))
        values[name.lower()] = value
    return values


def _items(value: str) -> set[str]:
    return {part.strip().upper() for part in value.split(",") if part.strip()}


def _named_lists(params: Mapping[str, Any], key: str) -> dict[str, list[str]]:
    table = params.get(key) or {}
    out: dict[str, list[str]] = {}
    for name, wanted in table.items():
        if not isinstance(wanted, list) or not wanted:
            raise ValueError(f"{key}[{name!r}]: expected a non-empty list")
        out[str(name)] = [str(w) for w in wanted]
    return out


def _server_parameter_lists(ctx: EvalContext, params: Mapping[str, Any]) -> Iterator[Outcome]:
    """PASS when server parameters hold allowed values and their comma lists include/exclude items.

    A parameter missing from the server's list FAILs (no evidence that it is enforced); list
    values compare item by item, case-insensitively (`TLSv1.2,TLSv1.3`).
    """
    source = str(params["source"])
    equals = _named_lists(params, "equals")
    includes = _named_lists(params, "includes")
    excludes = _named_lists(params, "excludes")
    if not (equals or includes or excludes):
        raise ValueError("expected at least one parameter in equals, includes or excludes")
    values = _parameters(ctx, source)
    names = list(dict.fromkeys([*equals, *includes, *excludes]))
    observed = {name: values.get(name.lower()) for name in names}
    expectations: list[str] = []
    problems: list[str] = []
    for name, allowed in equals.items():
        expectations.append(f"{name} = {' or '.join(allowed)}")
        value = observed[name]
        if value is None:
            problems.append(f"{name} is missing from the server's parameter list")
        elif value.strip().upper() not in {a.upper() for a in allowed}:
            problems.append(f"{name} is {show_value(value)}; expected {' or '.join(allowed)}")
    for name, wanted in includes.items():
        expectations.append(f"{name} includes {', '.join(wanted)}")
        value = observed[name]
        if value is None:
            problems.append(f"{name} is missing from the server's parameter list")
            continue
        lacking = [w for w in wanted if w.upper() not in _items(value)]
        if lacking:
            problems.append(f"{name} is {show_value(value)}; it lacks {', '.join(lacking)}")
    for name, banned in excludes.items():
        expectations.append(f"{name} excludes {', '.join(banned)}")
        value = observed[name]
        if value is None:
            problems.append(f"{name} is missing from the server's parameter list")
            continue
        if not _items(value):
            problems.append(f"{name} is empty")
            continue
        present = [b for b in banned if b.upper() in _items(value)]
        if present:
            problems.append(f"{name} is {show_value(value)}; it allows {', '.join(present)}")
    path = ", ".join(f"{source}[name={n}].properties.value" for n in names)
    expected = "; ".join(expectations)
    if problems:
        yield Outcome(Status.FAIL, path, dict(observed), expected, "; ".join(problems))
    else:
        shown = ", ".join(f"{k} is {show_value(v)}" for k, v in observed.items())
        yield Outcome(Status.PASS, path, dict(observed), expected, shown)


# -- flexible server firewall rules --------------------------------------------------------------


def _flexible_firewall(ctx: EvalContext, params: Mapping[str, Any]) -> Iterator[Outcome]:
    """FAIL once per firewall rule of a PostgreSQL/MySQL flexible server that is too open.

    With `azure_services` false the rules judged are those wider than `max_addresses` (the whole
    internet by default); with it true, the `0.0.0.0 - 0.0.0.0` rule, which is "Allow public
    access from any Azure service within Azure to this server": it admits every Azure
    subscription, other customers' included. On a server whose public network access is Disabled
    no firewall rule is in effect, so the check PASSes and names the dormant rules.
    """
    azure_services = params.get("azure_services", False) is True
    max_addresses = int(params.get("max_addresses", ALL_IPV4 - 1))
    props = require_obj(ctx.resource, "properties")
    public = _choice(props, "network.publicNetworkAccess", ("Enabled", "Disabled"), at="properties")
    rules = objects(list_values(ctx.own(FIREWALL_RULES), FIREWALL_RULES), at=FIREWALL_RULES)
    rule_type = f"{require_str(ctx.resource, 'type')}/firewallRules"
    expected = (
        "no rule allowing all Azure services (0.0.0.0 - 0.0.0.0)"
        if azure_services
        else "no firewall rule open to the internet"
    )
    offending: list[tuple[Mapping[str, Any], str, dict[str, str], str]] = []
    for index, rule in enumerate(rules):
        name = require_str(rule, "name", at=f"{FIREWALL_RULES}[{index}]")
        at = f"{FIREWALL_RULES}[name={name}].properties"
        rule_props = require_obj(rule, "properties", at=f"{FIREWALL_RULES}[name={name}]")
        try:
            start = ipaddress.IPv4Address(require_str(rule_props, "startIpAddress", at=at))
            end = ipaddress.IPv4Address(require_str(rule_props, "endIpAddress", at=at))
        except ipaddress.AddressValueError as exc:
            raise ShapeError(at, "IPv4 start and end addresses", str(exc)) from None
        if end < start:
            raise ShapeError(at, "endIpAddress not before startIpAddress", f"{start} - {end}")
        observed = {"startIpAddress": str(start), "endIpAddress": str(end)}
        size = int(end) - int(start) + 1
        if int(start) == 0 and int(end) == 0:
            if not azure_services:
                continue
            message = (
                f'rule {name!r} (0.0.0.0 - 0.0.0.0) is "Allow public access from any Azure '
                'service within Azure to this server": every Azure subscription, other '
                "customers' included, can reach the login"
            )
        elif azure_services:
            continue
        elif size >= ALL_IPV4:
            message = f"rule {name!r} ({start} - {end}) opens the server to the entire internet"
        elif size > max_addresses:
            message = (
                f"rule {name!r} ({start} - {end}) admits {size:,} addresses, more than the "
                f"{max_addresses:,} allowed for one rule"
            )
        else:
            continue
        offending.append((rule, name, observed, message))
    if public == "Disabled":
        dormant = ", ".join(name for _, name, _, _ in offending)
        note = f"; rule(s) {dormant} would apply if it were enabled" if dormant else ""
        yield Outcome(
            Status.PASS,
            "properties.network.publicNetworkAccess",
            public,
            expected,
            f"public network access is Disabled, so no firewall rule is in effect{note}",
        )
        return
    for rule, name, observed, message in offending:
        yield Outcome(
            Status.FAIL,
            f"{FIREWALL_RULES}[name={name}].properties",
            observed,
            expected,
            message,
            resource_id=str(rule.get("id") or f"{ctx.scope_id}/firewallRules/{name}"),
            resource_type=rule_type,
            resource_name=name,
        )
    if not offending:
        yield Outcome(
            Status.PASS,
            FIREWALL_RULES,
            len(rules),
            expected,
            f"none of the {len(rules)} firewall rule(s) is "
            + ("the allow-all-Azure-services rule" if azure_services else "open to the internet"),
        )


# -- Cosmos DB network restriction ---------------------------------------------------------------

AZURE_DATACENTERS = "0.0.0.0"  # noqa: S104 - Cosmos DB's "accept connections from Azure" entry


def _cosmos_firewall(ctx: EvalContext, params: Mapping[str, Any]) -> Iterator[Outcome]:
    """PASS when a Cosmos DB account is closed to the public or filtered by IP / network rules.

    `publicNetworkAccess` absent means Enabled, `isVirtualNetworkFilterEnabled` absent means false
    and `ipRules` absent means none (the documented defaults; each fails). An IP rule `0.0.0.0`
    accepts every public Azure datacenter, and a range wider than `max_addresses` is no real
    restriction: both FAIL (https://learn.microsoft.com/azure/cosmos-db/how-to-configure-firewall).
    """
    max_addresses = int(params.get("max_addresses", 65536))
    props = require_obj(ctx.resource, "properties")
    public = optional_str(props, "publicNetworkAccess", "Enabled", at="properties")
    if public.lower() == "disabled":
        yield Outcome(
            Status.PASS,
            "properties.publicNetworkAccess",
            public,
            "public network access Disabled, or IP / virtual network rules",
            "public network access is Disabled",
        )
        return
    vnet_filter = optional_bool(props, "isVirtualNetworkFilterEnabled", False, at="properties")
    rules = objects(optional_list(props, "ipRules", at="properties"), at="properties.ipRules")
    ranges = [
        require_str(rule, "ipAddressOrRange", at=f"properties.ipRules[{i}]")
        for i, rule in enumerate(rules)
    ]
    problems = []
    for entry in ranges:
        if entry.strip() == AZURE_DATACENTERS:
            problems.append(
                "IP rule 0.0.0.0 accepts connections from every public Azure datacenter (other "
                "customers' resources included)"
            )
            continue
        try:
            network = ipaddress.ip_network(entry.strip(), strict=False)
        except ValueError:
            expected = "IP addresses or CIDR ranges"
            raise ShapeError("properties.ipRules", expected, repr(entry)) from None
        if network.num_addresses > max_addresses:
            problems.append(f"IP rule {entry} admits {network.num_addresses:,} addresses")
    observed = {
        "publicNetworkAccess": public,
        "isVirtualNetworkFilterEnabled": vnet_filter,
        "ipRules": ranges,
    }
    path = (
        "properties.publicNetworkAccess, properties.isVirtualNetworkFilterEnabled, "
        "properties.ipRules"
    )
    expected = "public network access Disabled, or IP / virtual network rules"
    if not vnet_filter and not ranges:
        problems.append(
            f"public network access is {public} with no IP rule and no virtual network filter: "
            "the account accepts connections from any network"
        )
    if problems:
        yield Outcome(Status.FAIL, path, observed, expected, "; ".join(problems))
        return
    parts = []
    if vnet_filter:
        parts.append("the virtual network filter is enabled")
    if ranges:
        parts.append(f"{len(ranges)} IP rule(s) restrict public access")
    yield Outcome(Status.PASS, path, observed, expected, " and ".join(parts))


# -- Azure Managed Redis TLS ---------------------------------------------------------------------


def _redis_enterprise_tls(ctx: EvalContext, params: Mapping[str, Any]) -> Iterator[Outcome]:
    """PASS when an Azure Managed Redis cluster requires TLS 1.2+ and every database is Encrypted.

    A database with `clientProtocol` Plaintext accepts unencrypted connections whatever the
    cluster's minimum TLS version; a cluster without a minimum TLS version gives no evidence.
    """
    source = "databases"
    props = require_obj(ctx.resource, "properties")
    minimum = optional_str(props, "minimumTlsVersion", at="properties")
    databases = objects(list_values(ctx.own(source), source), at=source)
    protocols: dict[str, str] = {}
    for index, database in enumerate(databases):
        name = require_str(database, "name", at=f"{source}[{index}]")
        protocols[name] = _choice(
            database,
            "properties.clientProtocol",
            ("Encrypted", "Plaintext"),
            at=f"{source}[name={name}]",
        )
    problems = []
    number = tls_number(minimum)
    if minimum is None:
        problems.append("properties.minimumTlsVersion is not set")
    elif number is None:
        raise ShapeError("properties.minimumTlsVersion", "a TLS version", repr(minimum))
    elif number < 1.2:
        problems.append(f"the cluster accepts TLS {minimum}")
    plaintext = [name for name, protocol in protocols.items() if protocol == "Plaintext"]
    if plaintext:
        problems.append(
            f"database(s) {', '.join(plaintext)} accept plaintext connections (clientProtocol "
            "Plaintext)"
        )
    observed = {"minimumTlsVersion": minimum, "clientProtocol": protocols}
    path = f"properties.minimumTlsVersion, {source}[].properties.clientProtocol"
    expected = "minimumTlsVersion 1.2 or later; clientProtocol Encrypted on every database"
    if problems:
        yield Outcome(Status.FAIL, path, observed, expected, "; ".join(problems))
    else:
        yield Outcome(
            Status.PASS,
            path,
            observed,
            expected,
            f"minimum TLS {minimum}; {len(protocols)} database(s), all Encrypted",
        )


SPECS: tuple[EvaluatorSpec, ...] = (
    EvaluatorSpec(
        "database_geo_backup",
        _database_geo_backup,
        {},
        RESOURCE_ONLY,
        "PASS when flexible servers have geo-redundant backup, and Cosmos DB keeps periodic "
        "backups in Geo storage or continuous backups in two or more regions.",
    ),
    EvaluatorSpec(
        "database_cmk",
        _database_cmk,
        {},
        RESOURCE_ONLY,
        "PASS when a flexible server uses dataEncryption AzureKeyVault or a Cosmos DB account "
        "has a keyVaultKeyUri.",
    ),
    EvaluatorSpec(
        "mysql_entra_admin",
        _mysql_entra_admin,
        {},
        RESOURCE_ONLY,
        "PASS when a MySQL flexible server's administrators list has a Microsoft Entra admin.",
    ),
    EvaluatorSpec(
        "server_parameter_lists",
        _server_parameter_lists,
        {
            "source": Param((str,), doc="the parameter list, e.g. configurations"),
            "equals": Param(
                (dict,), required=False, doc="parameter -> list of allowed values (any case)"
            ),
            "includes": Param(
                (dict,), required=False, doc="parameter -> items its comma list must contain"
            ),
            "excludes": Param(
                (dict,), required=False, doc="parameter -> items its comma list must not contain"
            ),
        },
        RESOURCE_ONLY,
        "PASS when server parameters have allowed values and their comma lists include / "
        "exclude the named items; a parameter missing from the list fails.",
    ),
    EvaluatorSpec(
        "flexible_firewall",
        _flexible_firewall,
        {
            "azure_services": Param(
                (bool,),
                required=False,
                doc="judge the 0.0.0.0 allow-Azure-services rule instead of wide ranges",
            ),
            "max_addresses": Param(
                (int,), required=False, doc="widest range one rule may admit (default: all)"
            ),
        },
        RESOURCE_ONLY,
        "FAIL per PostgreSQL/MySQL flexible server firewall rule open to the internet (or, with "
        "azure_services, to all Azure services); PASS when public network access is Disabled.",
    ),
    EvaluatorSpec(
        "cosmos_firewall",
        _cosmos_firewall,
        {
            "max_addresses": Param(
                (int,), required=False, doc="widest IP range one rule may admit (default 65536)"
            )
        },
        RESOURCE_ONLY,
        "PASS when a Cosmos DB account has public access Disabled, or a virtual network filter "
        "or IP rules (none of them 0.0.0.0 or too wide).",
    ),
    EvaluatorSpec(
        "redis_enterprise_tls",
        _redis_enterprise_tls,
        {},
        RESOURCE_ONLY,
        "PASS when an Azure Managed Redis cluster's minimum TLS is 1.2+ and every database's "
        "clientProtocol is Encrypted.",
    ),
)
