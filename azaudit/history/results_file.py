"""Reads a results.json file (docs/results-schema.md) as one side of a diff.

Only what a diff needs is read: the scan's tenant and times, the checks in force, and each
finding's identity (`check_id|resource_id.lower()|sub_item`, sub-item "" when the file has none),
status and severity (the finding's own when present, else its check's).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from azaudit.errors import InputError
from azaudit.history.model import FindingEntry, RunFindings, RunRef, status_counts, worse
from azaudit.models import Severity, Status
from azaudit.result import posture

_SCHEMA_PREFIX = "https://azaudit.dev/schemas/results/"


def load_results(path: Path) -> RunFindings:
    """The run recorded in a results.json file.

    Raises:
        InputError: one line naming the file (and field) when it cannot be read or is not an
            azaudit results document.
    """
    try:
        document = json.loads(path.read_bytes())
    except OSError as exc:
        raise InputError(f"{path}: cannot read it: {exc.strerror or exc}") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(f"{path}: not a JSON document ({exc})") from None
    reader = _Reader(path)
    doc = reader.mapping(document, "")
    schema = doc.get("schema")
    if not isinstance(schema, str) or not schema.startswith(_SCHEMA_PREFIX):
        raise InputError(f"{path}: not an azaudit results.json file (schema is {schema!r})")
    scan = reader.mapping(doc.get("scan"), "scan")
    tenant = reader.mapping(scan.get("tenant"), "scan.tenant")
    severities: dict[str, Severity] = {}
    for index, check in enumerate(reader.sequence(doc.get("checks"), "checks")):
        where = f"checks[{index}]"
        check = reader.mapping(check, where)
        severities[reader.string(check, "id", where)] = reader.severity(check, where)

    entries: dict[str, FindingEntry] = {}
    statuses: list[Status] = []
    for index, item in enumerate(reader.sequence(doc.get("findings"), "findings")):
        where = f"findings[{index}]"
        finding = reader.mapping(item, where)
        check_id = reader.string(finding, "check_id", where)
        resource_id = reader.string(finding, "resource_id", where)
        sub_item = finding.get("sub_item") or ""
        if not isinstance(sub_item, str):
            raise InputError(f"{path}: {where}.sub_item: expected a string")
        try:
            status = Status(reader.string(finding, "status", where))
        except ValueError:
            raise InputError(f"{path}: {where}.status: expected one of {_statuses()}") from None
        severity = (
            reader.severity(finding, where)
            if finding.get("severity") is not None
            else severities.get(check_id, Severity.INFO)
        )
        subscription = finding.get("subscription_id")
        entry = FindingEntry(
            identity=f"{check_id}|{resource_id.lower()}|{sub_item}",
            check_id=check_id,
            resource_id=resource_id,
            resource_name=str(finding.get("resource_name") or resource_id),
            subscription_id=subscription if isinstance(subscription, str) else None,
            sub_item=sub_item,
            status=status,
            severity=severity,
        )
        statuses.append(status)
        seen = entries.get(entry.identity)
        entries[entry.identity] = entry if seen is None else worse(seen, entry)

    counts = status_counts(statuses)
    summary = doc.get("summary")
    reported = summary.get("posture") if isinstance(summary, dict) else None
    tool = doc.get("tool")
    ref = RunRef(
        run_id=str(path),
        tenant_id=reader.string(tenant, "id", "scan.tenant"),
        tenant_name=str(tenant.get("name") or tenant.get("id")),
        generated_at=reader.string(scan, "generated_at", "scan"),
        collected_at=str(scan.get("collected_at") or ""),
        tool_version=str(tool.get("version") if isinstance(tool, dict) else ""),
        catalogue_version=None,
        posture=float(reported) if isinstance(reported, int | float) else posture(counts),
        counts=counts,
    )
    return RunFindings(
        ref=ref,
        open={k: e for k, e in entries.items() if e.is_open},
        checks=frozenset(severities),
    )


def _statuses() -> str:
    return ", ".join(s.value for s in Status)


class _Reader:
    """Type checks that name the file and the field on failure."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def fail(self, where: str, expected: str) -> InputError:
        return InputError(f"{self.path}: {where or 'document'}: expected {expected}")

    def mapping(self, value: Any, where: str) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise self.fail(where, "an object")
        return value

    def sequence(self, value: Any, where: str) -> list[Any]:
        if not isinstance(value, list):
            raise self.fail(where, "an array")
        return value

    def string(self, obj: dict[str, Any], key: str, where: str) -> str:
        value = obj.get(key)
        if not isinstance(value, str) or not value:
            raise self.fail(f"{where}.{key}", "a non-empty string")
        return value

    def severity(self, obj: dict[str, Any], where: str) -> Severity:
        try:
            return Severity(str(obj.get("severity")))
        except ValueError:
            raise self.fail(
                f"{where}.severity", "one of " + ", ".join(s.value for s in Severity)
            ) from None
