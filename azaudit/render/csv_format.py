"""findings.csv: one row per finding (every status) for spreadsheets and ticket imports.

RFC 4180 (comma, double quotes, CRLF line ends) through the `csv` module, with a header row of
the documented, stable `COLUMNS` (docs/formats.md): columns are only ever added at the end.
Cells that a spreadsheet would run as a formula (starting with `=`, `+`, `-`, `@`, tab or
carriage return) are prefixed with `'`: resource names and tags are chosen by whoever
administers the tenant, and a report must not execute them. Rows are written one at a time.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping
from typing import TextIO

from azaudit.models import CheckMeta, Finding, ScanResult
from azaudit.render.finding_fields import checks_by_id, effective_severity, observed_text
from azaudit.render.json_format import RESULTS_SCHEMA_VERSION

COLUMNS = (
    "status",
    "severity",
    "check_id",
    "check_title",
    "hipaa",
    "resource_name",
    "resource_id",
    "resource_type",
    "subscription_id",
    "subscription_name",
    "location",
    "sub_item",
    "property_path",
    "observed",
    "expected",
    "message",
    "remediation",
    "phi",
    "waiver_id",
    "identity",
    "tool_version",
    "results_schema_version",
)

FORMULA_PREFIXES = frozenset("=+-@\t\r")


def safe_cell(value: str) -> str:
    """`value`, prefixed with `'` if a spreadsheet would evaluate it as a formula."""
    return "'" + value if value[:1] in FORMULA_PREFIXES else value


def _flag(value: bool | None) -> str:
    return "" if value is None else str(value).lower()


def _row(
    finding: Finding,
    checks: Mapping[str, CheckMeta],
    subscription_names: Mapping[str, str],
    result: ScanResult,
) -> list[str]:
    meta = checks[finding.check_id]
    cells = (
        finding.status.value,
        effective_severity(finding, checks).value,
        finding.check_id,
        meta.title,
        "; ".join(c.label for c in meta.citations),
        finding.resource_name,
        finding.resource_id,
        finding.resource_type,
        finding.subscription_id or "",
        subscription_names.get((finding.subscription_id or "").lower(), ""),
        finding.location or "",
        finding.sub_item,
        finding.property_path,
        observed_text(finding.observed),
        finding.expected,
        finding.message,
        meta.remediation.summary,
        _flag(finding.phi),
        finding.waiver_id or "",
        finding.identity,
        result.tool_version,
        str(RESULTS_SCHEMA_VERSION),
    )
    return [safe_cell(cell) for cell in cells]


def write_csv(result: ScanResult, stream: TextIO) -> None:
    """Write findings.csv into `stream` (open it with `newline=""`, as the csv module asks)."""
    checks = checks_by_id(result)
    names = {s.subscription_id.lower(): s.display_name for s in result.subscriptions}
    writer = csv.writer(stream, dialect="excel", lineterminator="\r\n")
    writer.writerow(COLUMNS)
    for finding in result.findings:
        writer.writerow(_row(finding, checks, names, result))


def render_csv(result: ScanResult) -> str:
    """findings.csv as a string."""
    buffer = io.StringIO(newline="")
    write_csv(result, buffer)
    return buffer.getvalue()
