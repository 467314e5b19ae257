"""Versioned reference data: the HIPAA BAA service list and the US region list.

The shipped BAA list is a presumption compiled from Microsoft's public compliance-scope pages
(see `data/README.md` and the `source`/`retrieved_from` fields); an organisation's legal team owns
the real answer and can replace it with `--baa-list FILE`. Every report prints which list was used.

Coverage differs by cloud: Microsoft's audit-scope tables have one column for Azure and one for
Azure Government, and a service offered in both may be in scope in only one. A `BaaList` is
therefore a view for one cloud (`for_cloud`); scanning Azure Government judges the Government
column, and a cloud the list says nothing about (Azure China, a private cloud) leaves every
service unverified (MANUAL), never presumed covered.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from functools import cache
from pathlib import Path
from types import MappingProxyType
from typing import Any

from azaudit.errors import InputError
from azaudit.models import BaaListInfo
from azaudit.paths import data_dir

AZURE_CLOUD = "AzureCloud"
AZURE_US_GOVERNMENT = "AzureUSGovernment"
AZURE_CHINA = "AzureChinaCloud"
KNOWN_CLOUDS = (AZURE_CLOUD, AZURE_US_GOVERNMENT, AZURE_CHINA)

# The column of the shipped list that states each cloud's coverage. Microsoft's HIPAA offering
# applies to Azure and Azure Government; Azure China (operated by 21Vianet) has no column.
_SHIPPED_COLUMNS = {AZURE_CLOUD: "azure_public", AZURE_US_GOVERNMENT: "azure_government"}
_COLUMN_TITLES = {AZURE_CLOUD: "Azure column", AZURE_US_GOVERNMENT: "Azure Government column"}


def _empty() -> Mapping[str, Any]:
    return MappingProxyType({})


@dataclass(frozen=True, slots=True)
class ServiceCoverage:
    """Whether one Azure service is covered by the BAA.

    `in_scope` is True (covered), False (not covered) or None (not verified).
    """

    id: str
    name: str
    in_scope: bool | None
    confidence: str
    basis: str


@dataclass(frozen=True, slots=True)
class TypeMapping:
    """An ARM resource type and the Azure service it belongs to."""

    type: str
    service_id: str
    note: str


@dataclass(frozen=True, slots=True)
class CloudColumn:
    """What a BAA list states for one cloud: its coverage and provenance there."""

    info: BaaListInfo
    services: Mapping[str, ServiceCoverage]
    unverified: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class BaaList:
    """The BAA service list in force for a scan: one cloud's view of it.

    Attributes:
        info: provenance shown in every report.
        services: coverage per service id, for `cloud`.
        types: ARM type (lower case) -> service.
        cloud: the cloud whose coverage `services` states.
        unverified: ids of the services the list names without stating coverage (null).
        service_names: names of services the type map knows but the list does not name; such a
            service is unverified, not an unknown type.
        presumed: the list's in-scope entries are presumptions (the shipped list), not
            statements of the organisation's legal team.
        columns: what the list states for every cloud it knows (`for_cloud`).
    """

    info: BaaListInfo
    services: Mapping[str, ServiceCoverage]
    types: Mapping[str, TypeMapping]
    cloud: str = AZURE_CLOUD
    unverified: tuple[str, ...] = ()
    service_names: Mapping[str, str] = field(default_factory=_empty)
    presumed: bool = False
    columns: Mapping[str, CloudColumn] = field(default_factory=_empty, repr=False)

    def service_for_type(
        self, resource_type: str
    ) -> tuple[TypeMapping | None, ServiceCoverage | None]:
        """The mapping and coverage of a resource type; child types fall back to their parent.

        ARM returns types in mixed case, so they compare case-insensitively. A known type whose
        service the list does not name gets an unverified coverage (the list is silent on it),
        so that the finding names the service instead of calling the type unknown.
        """
        candidate = resource_type.lower()
        while "/" in candidate:
            mapping = self.types.get(candidate)
            if mapping is not None:
                return mapping, self.services.get(mapping.service_id) or self._unlisted(mapping)
            candidate = candidate.rsplit("/", 1)[0]
            if candidate.count("/") < 1:
                break
        return None, None

    def _unlisted(self, mapping: TypeMapping) -> ServiceCoverage:
        sid = mapping.service_id
        return ServiceCoverage(
            id=sid,
            name=self.service_names.get(sid, sid),
            in_scope=None,
            confidence="unknown",
            basis=f"not named in the BAA list in force ({self.info.source})",
        )

    def for_cloud(self, cloud: str) -> BaaList:
        """The view of this list that judges resources of `cloud` (a snapshot's `cloud.name`).

        Cloud names compare case-insensitively. A cloud the list states nothing for gets a view
        in which every service is unverified: fail closed, never presume coverage.
        """
        canonical = next((c for c in KNOWN_CLOUDS if c.lower() == cloud.strip().lower()), cloud)
        if canonical == self.cloud:
            return self
        column = self.columns.get(canonical) or _silent_column(self, canonical)
        return replace(
            self,
            info=column.info,
            services=column.services,
            cloud=canonical,
            unverified=column.unverified,
        )

    def verification_note(self) -> str:
        """One sentence saying what of this list is not verified ("" when all of it is)."""
        return self.info.note


def _note(presumed: bool, unverified: tuple[str, ...], total: int, cloud: str) -> str:
    """What of a list is not verified, in one sentence ("" when all of it is)."""
    parts = []
    if presumed:
        parts.append(
            "its in-scope entries are presumptions, not verified against Microsoft's HIPAA "
            "BAA column"
        )
    if unverified:
        shown = ", ".join(unverified[:10])
        more = f" and {len(unverified) - 10} more" if len(unverified) > 10 else ""
        parts.append(
            f"{len(unverified)} of {total} service(s) have no stated coverage for {cloud} "
            f"(null): {shown}{more}"
        )
    return "; ".join(parts)


def _silent_column(base: BaaList, cloud: str) -> CloudColumn:
    """What `base` says about a cloud it states nothing for: every service unverified."""
    reason = f"the BAA list in force states no coverage for cloud {cloud!r}"
    services = {
        sid: ServiceCoverage(sid, s.name, None, "unknown", reason)
        for sid, s in base.services.items()
    }
    # Provenance of the list as it names itself, not of another cloud's view of it.
    home = base.columns.get(AZURE_CLOUD) or next(iter(base.columns.values()), None)
    own = home.info if home is not None else base.info
    info = replace(
        own,
        source=f"{own.source} [no column for {cloud}]",
        verified=False,
        note=f"the list states no coverage for {cloud}: every service is unverified there",
    )
    return CloudColumn(info, MappingProxyType(services), tuple(services))


def _is_coverage(value: Any) -> bool:
    """`true`, `false` or `null` exactly (JSON 1 and 0 are not booleans)."""
    return value is None or isinstance(value, bool)


def _coverage(value: Any) -> bool | None:
    if value is True or value is False:
        return value
    return None


@cache
def default_baa_list(cloud: str = AZURE_CLOUD) -> BaaList:
    """The BAA list shipped with azaudit (with its provenance), viewed for `cloud`.

    The shipped list has an Azure and an Azure Government column; `status` and `confidence`
    describe the Azure column, so a Government entry without a stated value is low confidence.
    """
    path = data_dir() / "baa_services.json"
    document = json.loads(path.read_text(encoding="utf-8"))
    columns: dict[str, CloudColumn] = {}
    for column_cloud, column in _SHIPPED_COLUMNS.items():
        services: dict[str, ServiceCoverage] = {}
        for s in document["services"]:
            in_scope = _coverage(s.get(column))
            confidence = str(s.get("confidence") or "unknown")
            if column_cloud != AZURE_CLOUD and in_scope is None:
                confidence = "low"
            services[s["id"]] = ServiceCoverage(
                id=s["id"],
                name=s["name"],
                in_scope=in_scope,
                confidence=confidence,
                basis=str(s.get("basis") or s.get("status") or ""),
            )
        source = document["source"]
        if column_cloud != AZURE_CLOUD:
            source = f"{source} [{_COLUMN_TITLES[column_cloud]}]"
        verified = bool(document.get("verified_against_hipaa_baa_column"))
        unverified = tuple(sid for sid, cov in services.items() if cov.in_scope is None)
        info = BaaListInfo(
            source=source,
            version=document["version_date"],
            verified=verified,
            path=f"azaudit/data/{path.name}",
            note="" if verified else _note(True, unverified, len(services), column_cloud),
        )
        columns[column_cloud] = CloudColumn(info, MappingProxyType(services), unverified)
    public = columns[AZURE_CLOUD]
    shipped = BaaList(
        info=public.info,
        services=public.services,
        types=_shipped_types(),
        cloud=AZURE_CLOUD,
        unverified=public.unverified,
        service_names=_shipped_service_names(),
        presumed=True,
        columns=MappingProxyType(columns),
    )
    return shipped.for_cloud(cloud)


@cache
def _shipped_service_names() -> Mapping[str, str]:
    document = json.loads((data_dir() / "baa_services.json").read_text(encoding="utf-8"))
    return MappingProxyType({str(s["id"]): str(s["name"]) for s in document["services"]})


@cache
def _shipped_types() -> Mapping[str, TypeMapping]:
    return MappingProxyType(_shipped_type_map())


def _shipped_type_map() -> dict[str, TypeMapping]:
    rows = json.loads((data_dir() / "resource_type_services.json").read_text(encoding="utf-8"))
    return {
        row["type"].lower(): TypeMapping(row["type"], row["service_id"], str(row.get("note") or ""))
        for row in rows
    }


def load_baa_list(path: Path, cloud: str = AZURE_CLOUD) -> BaaList:
    """Load an organisation's own BAA list, viewed for `cloud`.

    Format (JSON)::

        {"source": "Contoso legal, BAA review 2026-10", "version": "2026-10-01",
         "cloud": "AzureCloud",
         "services": [{"id": "storage", "name": "Storage", "in_scope": true}, ...],
         "resource_types": [{"type": "Microsoft.Foo/bars", "service_id": "foo"}]}

    `in_scope` is `true`, `false` or `null` (not verified) and states coverage for the list's
    `cloud` (optional; `AzureCloud`, `AzureUSGovernment` or `AzureChinaCloud`, default
    `AzureCloud`). An entry may also carry `in_scope_azure_government` for Azure Government;
    for any other cloud the list states nothing and every service is unverified there.
    `resource_types` is optional and extends the shipped type -> service map. A service the
    type map knows but the list does not name is unverified (MANUAL), never presumed.

    The list is `verified` for a cloud only when every entry states coverage there; otherwise
    `BaaList.unverified` names the entries that do not.

    Raises:
        InputError: naming the file and field on any problem.
    """
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(f"--baa-list {path}: no such file") from None
    except IsADirectoryError:
        raise InputError(f"--baa-list {path}: is a directory, expected a JSON file") from None
    except OSError as exc:
        raise InputError(f"--baa-list {path}: cannot read: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise InputError(f"--baa-list {path}: not UTF-8 text, expected a JSON file") from None
    except json.JSONDecodeError as exc:
        raise InputError(
            f"--baa-list {path}: invalid JSON at line {exc.lineno} column {exc.colno} ({exc.msg})"
        ) from None

    def fail(where: str, what: str) -> InputError:
        return InputError(f"--baa-list {path}: {where}: {what}")

    if not isinstance(document, dict):
        raise fail("top level", "expected a JSON object with 'source', 'version' and 'services'")
    for key in ("source", "version"):
        if not isinstance(document.get(key), str) or not document[key].strip():
            raise fail(key, "expected a non-empty string")
    list_cloud = document.get("cloud", AZURE_CLOUD)
    if list_cloud not in KNOWN_CLOUDS:
        raise fail("cloud", f"expected one of {', '.join(KNOWN_CLOUDS)}")
    raw_services = document.get("services")
    if not isinstance(raw_services, list) or not raw_services:
        raise fail("services", "expected a non-empty array of {id, name, in_scope}")
    stated: dict[str, dict[str, bool | None]] = {c: {} for c in KNOWN_CLOUDS}
    entries: dict[str, dict[str, Any]] = {}
    for i, entry in enumerate(raw_services):
        where = f"services[{i}]"
        if not isinstance(entry, dict):
            raise fail(where, "expected an object")
        sid = entry.get("id")
        if not isinstance(sid, str) or not sid:
            raise fail(f"{where}.id", "expected a non-empty string")
        if sid in entries:
            raise fail(f"{where}.id", f"service {sid!r} is listed twice")
        if "in_scope" not in entry or not _is_coverage(entry["in_scope"]):
            raise fail(f"{where}.in_scope", "expected true, false or null")
        entries[sid] = entry
        stated[list_cloud][sid] = entry["in_scope"]
        if "in_scope_azure_government" in entry:
            government = entry["in_scope_azure_government"]
            if list_cloud == AZURE_US_GOVERNMENT:
                raise fail(
                    f"{where}.in_scope_azure_government",
                    "the list's cloud is AzureUSGovernment: state coverage in 'in_scope'",
                )
            if not _is_coverage(government):
                raise fail(f"{where}.in_scope_azure_government", "expected true, false or null")
            stated[AZURE_US_GOVERNMENT][sid] = government
    types = dict(_shipped_types())
    raw_types = document.get("resource_types", [])
    if not isinstance(raw_types, list):
        raise fail("resource_types", "expected an array of {type, service_id}")
    for i, entry in enumerate(raw_types):
        where = f"resource_types[{i}]"
        if (
            not isinstance(entry, dict)
            or not isinstance(entry.get("type"), str)
            or not isinstance(entry.get("service_id"), str)
        ):
            raise fail(where, "expected an object with string 'type' and 'service_id'")
        types[entry["type"].lower()] = TypeMapping(
            entry["type"], entry["service_id"], str(entry.get("note") or "")
        )
    # A service id that no resource type maps to can never decide a finding: it is a typo, and
    # silently ignoring it would turn the FAIL an out-of-scope service deserves into MANUAL.
    known = set(_shipped_service_names()) | {t.service_id for t in types.values()}
    for i, entry in enumerate(raw_services):
        sid = entry["id"]
        if sid not in known:
            raise fail(
                f"services[{i}].id",
                f"unknown service {sid!r}; expected an id of the shipped list "
                "(azaudit/data/baa_services.json) or a service_id of resource_types",
            )
    source = document["source"]
    columns: dict[str, CloudColumn] = {}
    for column_cloud, values in stated.items():
        if not values:
            continue
        services: dict[str, ServiceCoverage] = {}
        for sid, entry in entries.items():
            in_scope = values.get(sid)
            basis = source if sid in values else f"{source} (states nothing for {column_cloud})"
            services[sid] = ServiceCoverage(
                id=sid,
                name=str(entry.get("name") or _shipped_service_names().get(sid, sid)),
                in_scope=in_scope,
                confidence=str(entry.get("confidence") or "organisation"),
                basis=str(entry.get("basis") or basis),
            )
        unverified = tuple(sid for sid, cov in services.items() if cov.in_scope is None)
        shown_source = source if column_cloud == list_cloud else f"{source} [{column_cloud}]"
        info = BaaListInfo(
            source=shown_source,
            version=document["version"],
            verified=not unverified,
            path=str(path),
            note=_note(False, unverified, len(services), column_cloud),
        )
        columns[column_cloud] = CloudColumn(info, MappingProxyType(services), unverified)
    own = columns[list_cloud]
    organisation = BaaList(
        info=own.info,
        services=own.services,
        types=MappingProxyType(types),
        cloud=list_cloud,
        unverified=own.unverified,
        service_names=_shipped_service_names(),
        columns=MappingProxyType(columns),
    )
    return organisation.for_cloud(cloud)


def normalise_region(name: str) -> str:
    """`East US 2` and `eastus2` are the same region; ARM mixes both forms."""
    return name.replace(" ", "").lower()


def default_us_regions() -> tuple[str, ...]:
    """ARM location names that are in the United States (shipped data)."""
    document = json.loads((data_dir() / "us_regions.json").read_text(encoding="utf-8"))
    return tuple(r["name"] for r in document["regions"] if r.get("is_us") is True)
