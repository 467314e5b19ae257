"""What history keeps of a run: its summary row and its open findings, keyed by stable identity.

A scan result, a stored run and a results.json file all reduce to the same `RunFindings`, so
the diff is one pure function whatever the two sides came from (docs/history.md).
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from azaudit.models import ScanResult, Severity, Status
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


def entries_of(
    result: ScanResult, identities: Sequence[str], open_only: bool = False
) -> dict[str, FindingEntry]:
    """Findings of `result` by identity (duplicates collapsed to the worse status).

    Args:
        result: the scan.
        identities: `identities_of(result)`, computed once by the caller.
        open_only: keep only open findings (all a diff needs).
    """
    severities = {c.id: c.severity for c in result.checks}
    out: dict[str, FindingEntry] = {}
    for identity, finding in zip(identities, result.findings, strict=True):
        if open_only and finding.status not in OPEN_STATUSES:
            continue
        entry = FindingEntry(
            identity=identity,
            check_id=finding.check_id,
            resource_id=finding.resource_id,
            resource_name=finding.resource_name,
            subscription_id=finding.subscription_id,
            sub_item=finding.sub_item,
            status=finding.status,
            # The effective severity when the result was scored, else the check's.
            severity=finding.severity or severities.get(finding.check_id, Severity.INFO),
            phi=finding.phi,
            waiver_id=finding.waiver_id,
        )
        seen = out.get(identity)
        out[identity] = entry if seen is None else worse(seen, entry)
    return out


StoredRow = tuple[str, str, str, str, str | None, str, str, str, bool | None, str | None]
"""identity, check id, resource id and name, subscription, sub-item, status, severity, PHI,
waiver id: one finding as the store writes it."""


def stored_rows(result: ScanResult, identities: Sequence[str]) -> list[StoredRow]:
    """Every finding of `result` as a row to store, one per identity (the worse status kept,
    as `worse` does). Plain tuples: recording a large tenant builds tens of thousands."""
    severities = {c.id: c.severity.value for c in result.checks}
    weights: dict[str, int] = {}
    rows: dict[str, StoredRow] = {}
    for identity, finding in zip(identities, result.findings, strict=True):
        weight = _STATUS_WEIGHT[finding.status]
        if weights.get(identity, -1) >= weight:
            continue
        weights[identity] = weight
        severity = finding.severity
        rows[identity] = (
            identity,
            finding.check_id,
            finding.resource_id,
            finding.resource_name,
            finding.subscription_id,
            finding.sub_item,
            finding.status.value,
            severity.value if severity else severities.get(finding.check_id, "info"),
            finding.phi,
            finding.waiver_id,
        )
    return list(rows.values())


def identities_of(result: ScanResult) -> list[str]:
    """`Finding.identity` of every finding, in result order."""
    return [finding.identity for finding in result.findings]


def status_counts(statuses: Iterable[Status]) -> dict[str, int]:
    """Counts keyed by every status value (zeros included)."""
    found = Counter(statuses)
    return {s.value: found.get(s, 0) for s in Status}


def run_ref_of(result: ScanResult, identities: Sequence[str]) -> RunRef:
    """The summary row of `result` under the run id history gives it (counts as reported)."""
    counts = status_counts(f.status for f in result.findings)
    reported = result.summary.get("posture")
    value = float(reported) if isinstance(reported, int | float) else posture(counts)
    return RunRef(
        run_id=_run_id(result, identities),
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
    identities = identities_of(result)
    return RunFindings(
        ref=run_ref_of(result, identities),
        open=entries_of(result, identities, open_only=True),
        checks=frozenset(c.id for c in result.checks),
    )


def run_id_for(result: ScanResult) -> str:
    """The run id of `result`: its generation time and a digest of what it found.

    Deterministic, so a report can name its own run before it is recorded and recording the
    same result twice keeps one run. Ids sort by time: `20261204T020000Z-3fa9c21b`.
    """
    return _run_id(result, identities_of(result))


def _run_id(result: ScanResult, identities: Sequence[str]) -> str:
    digest = hashlib.sha256()
    for part in (result.tenant_id, result.generated_at, result.collected_at, result.tool_version):
        digest.update(part.encode() + b"\0")
    digest.update(
        "\0".join(
            f"{identity}\0{finding.status.value}"
            for identity, finding in zip(identities, result.findings, strict=True)
        ).encode()
    )
    return f"{_compact_time(result.generated_at)}-{digest.hexdigest()[:8]}"


def _compact_time(stamp: str) -> str:
    try:
        moment = datetime.fromisoformat(stamp)
    except ValueError:
        return "00000000T000000Z"
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC)
    return moment.strftime("%Y%m%dT%H%M%SZ")
