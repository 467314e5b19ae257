"""What history keeps of a run: its summary row and its open findings, keyed by stable identity.

A scan result, a stored run and a results.json file all reduce to the same `RunFindings`, so
the diff is one pure function whatever the two sides came from (docs/history.md).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from azaudit.models import Finding, ScanResult, Severity, Status
from azaudit.result import posture

OPEN_STATUSES = frozenset({Status.FAIL, Status.ERROR})
"""Statuses that count as open: a failing control, or one that could not be evaluated."""

_STATUS_WEIGHT = {
    Status.FAIL: 5,
    Status.ERROR: 4,
    Status.MANUAL: 3,
    Status.WAIVED: 2,
    Status.PASS: 1,
    Status.NOT_APPLICABLE: 0,
}


@dataclass(frozen=True, slots=True)
class FindingEntry:
    """One finding as history keeps it (identity and what a diff line shows)."""

    identity: str
    check_id: str
    resource_id: str
    resource_name: str
    subscription_id: str | None
    sub_item: str
    status: Status
    severity: Severity
    phi: bool | None = None
    waiver_id: str | None = None

    @property
    def is_open(self) -> bool:
        """Whether the finding is open (FAIL or ERROR)."""
        return self.status in OPEN_STATUSES


@dataclass(frozen=True, slots=True)
class RunRef:
    """The summary row of one run: what `history list` shows and the trend plots."""

    run_id: str
    tenant_id: str
    tenant_name: str
    generated_at: str
    collected_at: str
    tool_version: str
    catalogue_version: str | None
    posture: float | None
    counts: Mapping[str, int]

    @property
    def failing(self) -> int:
        """Number of FAIL findings."""
        return int(self.counts.get(Status.FAIL.value, 0))

    @property
    def open(self) -> int:
        """Number of open (FAIL or ERROR) findings."""
        return self.failing + int(self.counts.get(Status.ERROR.value, 0))


@dataclass(frozen=True, slots=True)
class RunFindings:
    """One side of a diff: the run, its open findings by identity and the checks it ran."""

    ref: RunRef
    open: Mapping[str, FindingEntry]
    checks: frozenset[str]


def worse(a: FindingEntry, b: FindingEntry) -> FindingEntry:
    """The entry to keep when one run has two findings with one identity: the worse status.

    That happens only when a check reports several findings on one scope without naming a
    sub-item; keeping the worst means an open finding is never hidden by a passing twin.
    """
    return a if _STATUS_WEIGHT[a.status] >= _STATUS_WEIGHT[b.status] else b


def entries_of(result: ScanResult) -> dict[str, FindingEntry]:
    """Every finding of `result` by identity (duplicates collapsed to the worse status)."""
    severities = {c.id: c.severity for c in result.checks}
    out: dict[str, FindingEntry] = {}
    for finding in result.findings:
        entry = entry_of(finding, severities)
        seen = out.get(entry.identity)
        out[entry.identity] = entry if seen is None else worse(seen, entry)
    return out


def entry_of(finding: Finding, severities: Mapping[str, Severity]) -> FindingEntry:
    """The history entry of one finding; its severity is the effective one when scored."""
    severity = finding.severity or severities.get(finding.check_id, Severity.INFO)
    return FindingEntry(
        identity=finding.identity,
        check_id=finding.check_id,
        resource_id=finding.resource_id,
        resource_name=finding.resource_name,
        subscription_id=finding.subscription_id,
        sub_item=finding.sub_item,
        status=finding.status,
        severity=severity,
        phi=finding.phi,
        waiver_id=finding.waiver_id,
    )


def status_counts(statuses: Iterable[Status]) -> dict[str, int]:
    """Counts keyed by every status value (zeros included)."""
    counts = {s.value: 0 for s in Status}
    for status in statuses:
        counts[status.value] += 1
    return counts


def run_ref_of(result: ScanResult) -> RunRef:
    """The summary row of `result` under the run id history gives it (counts as reported)."""
    counts = status_counts(f.status for f in result.findings)
    reported = result.summary.get("posture")
    value = float(reported) if isinstance(reported, int | float) else posture(counts)
    return RunRef(
        run_id=run_id_for(result),
        tenant_id=result.tenant_id,
        tenant_name=result.tenant_name,
        generated_at=result.generated_at,
        collected_at=result.collected_at,
        tool_version=result.tool_version,
        catalogue_version=result.evidence.catalogue_version if result.evidence else None,
        posture=value,
        counts=counts,
    )


def run_findings_of(result: ScanResult) -> RunFindings:
    """`result` as one side of a diff."""
    entries = entries_of(result)
    return RunFindings(
        ref=run_ref_of(result),
        open={k: e for k, e in entries.items() if e.is_open},
        checks=frozenset(c.id for c in result.checks),
    )


def run_id_for(result: ScanResult) -> str:
    """The run id of `result`: its generation time and a digest of what it found.

    Deterministic, so a report can name its own run before it is recorded and recording the
    same result twice keeps one run. Ids sort by time: `20261204T020000Z-3fa9c21b`.
    """
    digest = hashlib.sha256()
    for part in (result.tenant_id, result.generated_at, result.collected_at, result.tool_version):
        digest.update(part.encode() + b"\0")
    for finding in result.findings:
        digest.update(f"{finding.identity}\0{finding.status.value}\0".encode())
    return f"{_compact_time(result.generated_at)}-{digest.hexdigest()[:8]}"


def _compact_time(stamp: str) -> str:
    try:
        moment = datetime.fromisoformat(stamp)
    except ValueError:
        return "00000000T000000Z"
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC)
    return moment.strftime("%Y%m%dT%H%M%SZ")
