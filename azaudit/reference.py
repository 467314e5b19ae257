"""Versioned reference data: the HIPAA BAA service list and the US region list.

The shipped BAA list is a presumption compiled from Microsoft's public compliance-scope pages
(see `data/README.md` and the `source`/`retrieved_from` fields); an organisation's legal team owns
the real answer and can replace it with `--baa-list FILE`. Every report prints which list was used.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from azaudit.errors import InputError
from azaudit.models import BaaListInfo
from azaudit.paths import data_dir


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
class BaaList:
    """The BAA service list in force for a scan."""

    info: BaaListInfo
    services: Mapping[str, ServiceCoverage]
    types: Mapping[str, TypeMapping]

    def service_for_type(
        self, resource_type: str
    ) -> tuple[TypeMapping | None, ServiceCoverage | None]:
        """The mapping and coverage of a resource type; child types fall back to their parent.

        ARM returns types in mixed case, so they compare case-insensitively.
        """
        candidate = resource_type.lower()
        while "/" in candidate:
            mapping = self.types.get(candidate)
            if mapping is not None:
                return mapping, self.services.get(mapping.service_id)
            candidate = candidate.rsplit("/", 1)[0]
            if candidate.count("/") < 1:
                break
        return None, None


def _coverage(value: Any) -> bool | None:
    if value is True or value is False:
        return value
    return None


def default_baa_list() -> BaaList:
    """The BAA list shipped with azaudit (with its provenance)."""
    path = data_dir() / "baa_services.json"
    document = json.loads(path.read_text(encoding="utf-8"))
    services = {
        s["id"]: ServiceCoverage(
            id=s["id"],
            name=s["name"],
            in_scope=_coverage(s.get("azure_public")),
            confidence=str(s.get("confidence") or "unknown"),
            basis=str(s.get("basis") or s.get("status") or ""),
        )
        for s in document["services"]
    }
    info = BaaListInfo(
        source=document["source"],
        version=document["version_date"],
        verified=bool(document.get("verified_against_hipaa_baa_column")),
        path=f"azaudit/data/{path.name}",
    )
    return BaaList(info=info, services=services, types=_shipped_type_map())


def _shipped_service_ids() -> set[str]:
    document = json.loads((data_dir() / "baa_services.json").read_text(encoding="utf-8"))
    return {str(s["id"]) for s in document["services"]}


def _shipped_type_map() -> dict[str, TypeMapping]:
    rows = json.loads((data_dir() / "resource_type_services.json").read_text(encoding="utf-8"))
    return {
        row["type"].lower(): TypeMapping(row["type"], row["service_id"], str(row.get("note") or ""))
        for row in rows
    }


def load_baa_list(path: Path) -> BaaList:
    """Load an organisation's own BAA list.

    Format (JSON)::

        {"source": "Contoso legal, BAA review 2026-10", "version": "2026-10-01",
         "services": [{"id": "storage", "name": "Storage", "in_scope": true}, ...],
         "resource_types": [{"type": "Microsoft.Foo/bars", "service_id": "foo"}]}

    `resource_types` is optional and extends the shipped type -> service map. `in_scope` is
    `true`, `false` or `null` (not verified).

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
    raw_services = document.get("services")
    if not isinstance(raw_services, list) or not raw_services:
        raise fail("services", "expected a non-empty array of {id, name, in_scope}")
    services: dict[str, ServiceCoverage] = {}
    for i, entry in enumerate(raw_services):
        where = f"services[{i}]"
        if not isinstance(entry, dict):
            raise fail(where, "expected an object")
        sid = entry.get("id")
        if not isinstance(sid, str) or not sid:
            raise fail(f"{where}.id", "expected a non-empty string")
        if sid in services:
            raise fail(f"{where}.id", f"service {sid!r} is listed twice")
        if "in_scope" not in entry or entry["in_scope"] not in (True, False, None):
            raise fail(f"{where}.in_scope", "expected true, false or null")
        services[sid] = ServiceCoverage(
            id=sid,
            name=str(entry.get("name") or sid),
            in_scope=entry["in_scope"],
            confidence=str(entry.get("confidence") or "organisation"),
            basis=str(entry.get("basis") or document["source"]),
        )
    types = _shipped_type_map()
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
    known = _shipped_service_ids() | {t.service_id for t in types.values()}
    for i, entry in enumerate(raw_services):
        sid = entry["id"]
        if sid not in known:
            raise fail(
                f"services[{i}].id",
                f"unknown service {sid!r}; expected an id of the shipped list "
                "(azaudit/data/baa_services.json) or a service_id of resource_types",
            )
    info = BaaListInfo(
        source=document["source"],
        version=document["version"],
        verified=True,
        path=str(path),
    )
    return BaaList(info=info, services=services, types=types)


def normalise_region(name: str) -> str:
    """`East US 2` and `eastus2` are the same region; ARM mixes both forms."""
    return name.replace(" ", "").lower()


def default_us_regions() -> tuple[str, ...]:
    """ARM location names that are in the United States (shipped data)."""
    document = json.loads((data_dir() / "us_regions.json").read_text(encoding="utf-8"))
    return tuple(r["name"] for r in document["regions"] if r.get("is_us") is True)
