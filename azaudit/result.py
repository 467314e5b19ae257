"""Builds the `ScanResult` (findings + every number a report shows) and the exit code.

Renderers only format; all counting and ordering happens here, once, so the HTML, JSON and
console outputs can never disagree.
"""

from __future__ import annotations

import enum
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from typing import Any

from azaudit import __version__
from azaudit.catalogue import FAMILY_TITLES, Catalogue
from azaudit.evaluators.base import ScanConfig
from azaudit.models import (
    JSON,
    CheckMeta,
    Finding,
    ScanResult,
    Severity,
    Status,
    SubscriptionInfo,
)
from azaudit.snapshot import Snapshot

TOP_RISKS = 10


class ExitCode(enum.IntEnum):
    """The documented exit codes (README, docs/usage.md)."""

    OK = 0
    FINDINGS = 1
    USAGE = 2
    INCOMPLETE = 3


def build_result(
    snapshot: Snapshot,
    catalogue: Catalogue,
    findings: Iterable[Finding],
    config: ScanConfig,
    generated_at: str,
) -> ScanResult:
    """Bundle findings with the metadata and summaries every renderer needs."""
    checks = {c.id: c.meta for c in catalogue.checks}
    ordered = tuple(sorted(findings, key=lambda f: _finding_order(f, checks)))
    subscriptions = tuple(
        SubscriptionInfo(
            subscription_id=str(s["subscriptionId"]),
            display_name=str(s.get("displayName") or s["subscriptionId"]),
            state=str(s.get("state") or "Unknown"),
        )
        for s in snapshot.subscriptions
    )
    result = ScanResult(
        tool_version=__version__,
        generated_at=generated_at,
        collected_at=snapshot.collected_at,
        snapshot_schema_version=snapshot.schema_version,
        tenant_id=snapshot.tenant_id,
        tenant_name=str(snapshot.tenant.get("displayName") or snapshot.tenant_id),
        cloud=str(snapshot.cloud.get("name") or "AzureCloud"),
        subscriptions=subscriptions,
        baa_list=config.baa_list.info,
        allowed_regions=tuple(sorted(config.allowed_regions)),
        checks=tuple(c.meta for c in catalogue.checks),
        findings=ordered,
        gaps=snapshot.gaps,
        summary={},
    )
    summary = summarise(result, catalogue.safeguards)
    return ScanResult(**{**_fields(result), "summary": summary})


def _fields(result: ScanResult) -> dict[str, Any]:
    return {name: getattr(result, name) for name in result.__slots__}


def _finding_order(finding: Finding, checks: Mapping[str, CheckMeta]) -> tuple[Any, ...]:
    meta = checks.get(finding.check_id)
    rank = meta.severity.rank if meta else 0
    return (_STATUS_ORDER[finding.status], -rank, finding.check_id, finding.resource_id.lower())


_STATUS_ORDER = {
    Status.FAIL: 0,
    Status.ERROR: 1,
    Status.MANUAL: 2,
    Status.WAIVED: 3,
    Status.PASS: 4,
    Status.NOT_APPLICABLE: 5,
}


def posture(counts: Mapping[str, int]) -> float | None:
    """Share of evaluated findings that pass, in percent; None when nothing was evaluated.

    ERROR counts against posture: unknown is not compliant.
    """
    evaluated = counts.get("PASS", 0) + counts.get("FAIL", 0) + counts.get("ERROR", 0)
    if evaluated == 0:
        return None
    return round(100.0 * counts.get("PASS", 0) / evaluated, 1)


def _count(findings: Iterable[Finding]) -> dict[str, int]:
    counter = Counter(f.status.value for f in findings)
    return {s.value: counter.get(s.value, 0) for s in Status}


def summarise(result: ScanResult, safeguard_titles: Mapping[str, str]) -> dict[str, JSON]:
    """Every number the reports show, computed once."""
    metas = {c.id: c for c in result.checks}
    by_check: dict[str, list[Finding]] = defaultdict(list)
    for finding in result.findings:
        by_check[finding.check_id].append(finding)

    failing = [f for f in result.findings if f.status is Status.FAIL]
    failing_by_severity = Counter(metas[f.check_id].severity.value for f in failing)

    safeguards: dict[str, list[Finding]] = defaultdict(list)
    for finding in result.findings:
        safeguards[metas[finding.check_id].primary_citation.safeguard].append(finding)
    per_safeguard: list[dict[str, Any]] = []
    for key, title in safeguard_titles.items():
        found = safeguards.get(key, [])
        checks_in = sorted({m.id for m in result.checks if m.primary_citation.safeguard == key})
        if not checks_in:
            continue
        counts = _count(found)
        per_safeguard.append(
            {
                "safeguard": key,
                "title": title,
                "checks": len(checks_in),
                "counts": counts,
                "posture": posture(counts),
            }
        )

    per_check: list[dict[str, Any]] = []
    for meta in result.checks:
        counts = _count(by_check.get(meta.id, []))
        per_check.append(
            {
                "check_id": meta.id,
                "title": meta.title,
                "severity": meta.severity.value,
                "family": meta.family,
                "family_title": FAMILY_TITLES.get(meta.family, meta.family),
                "citation": meta.primary_citation.label,
                "counts": counts,
                "status": _check_status(counts),
            }
        )

    top = sorted(
        (c for c in per_check if c["counts"]["FAIL"]),
        key=lambda c: (-Severity(c["severity"]).rank, -c["counts"]["FAIL"], c["check_id"]),
    )[:TOP_RISKS]

    per_subscription: list[dict[str, Any]] = []
    for sub in result.subscriptions:
        found = [
            f
            for f in result.findings
            if (f.subscription_id or "").lower() == sub.subscription_id.lower()
        ]
        counts = _count(found)
        per_subscription.append(
            {
                "subscription_id": sub.subscription_id,
                "display_name": sub.display_name,
                "counts": counts,
                "posture": posture(counts),
            }
        )

    overall = _count(result.findings)
    return {
        "counts": overall,
        "posture": posture(overall),
        "failing_by_severity": {s.value: failing_by_severity.get(s.value, 0) for s in Severity},
        "safeguards": per_safeguard,
        "checks": per_check,
        "subscriptions": per_subscription,
        "top_risks": top,
        "coverage": {
            "complete": not result.gaps and overall["ERROR"] == 0,
            "gaps": len(result.gaps),
            "error_findings": overall["ERROR"],
            "checks_with_errors": sorted(c["check_id"] for c in per_check if c["counts"]["ERROR"]),
        },
        "resources_evaluated": len({f.resource_id.lower() for f in result.findings}),
    }


def _check_status(counts: Mapping[str, int]) -> str:
    for status in (Status.FAIL, Status.ERROR, Status.MANUAL, Status.PASS):
        if counts.get(status.value):
            return status.value
    return Status.NOT_APPLICABLE.value


class FailOn(enum.StrEnum):
    """`--fail-on` thresholds: fail the run on failing findings at or above this severity."""

    CRITICAL = "critical"
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"
    INFO = "info"
    NEVER = "never"


def exit_code(result: ScanResult, fail_on: FailOn, strict: bool) -> ExitCode:
    """0 clean, 1 failing findings at/above `fail_on`, 3 incomplete coverage under `--strict`.

    Incomplete coverage wins over failing findings under `--strict`: a gate must not treat a
    partial scan as a verdict.
    """
    coverage = result.summary.get("coverage", {})
    if strict and isinstance(coverage, dict) and not coverage.get("complete", False):
        return ExitCode.INCOMPLETE
    if fail_on is FailOn.NEVER:
        return ExitCode.OK
    threshold = Severity(fail_on.value).rank
    metas = {c.id: c for c in result.checks}
    for finding in result.findings:
        if finding.status is Status.FAIL and metas[finding.check_id].severity.rank >= threshold:
            return ExitCode.FINDINGS
    return ExitCode.OK
