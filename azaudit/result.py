"""Builds the `ScanResult` (findings + every number a report shows) and the exit code.

Renderers only format; all counting and ordering happens here, once, so the HTML, JSON and
console outputs can never disagree.
"""

from __future__ import annotations

import enum
import re
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


def citation_sort_key(citation_id: str) -> tuple[tuple[int, int, str], ...]:
    """Order `164.308(a)(1)(ii)(A)` paragraphs as the regulation does (numbers numerically)."""
    return tuple(
        (0, int(token), "") if token.isdigit() else (1, 0, token)
        for token in re.findall(r"[0-9]+|[A-Za-z]+", citation_id)
    )


def findings_by_check(result: ScanResult) -> dict[str, dict[Status, tuple[int, ...]]]:
    """Positions in `result.findings` of each check's findings, split by status, in order.

    Renderers use this to look findings up (and to link to them by position); it selects, it
    does not count or reorder.
    """
    grouped: dict[str, dict[Status, list[int]]] = defaultdict(lambda: defaultdict(list))
    for index, finding in enumerate(result.findings):
        grouped[finding.check_id][finding.status].append(index)
    return {
        check_id: {status: tuple(found) for status, found in by_status.items()}
        for check_id, by_status in grouped.items()
    }


TENANT_WIDE = ""
"""Key of `open_findings_by_subscription` for findings outside every scanned subscription."""


def open_findings_by_subscription(result: ScanResult) -> dict[str, tuple[int, ...]]:
    """Positions of FAIL and ERROR findings per subscription id (lower case), in result order.

    Findings of no scanned subscription (tenant settings, Entra ID) are under `TENANT_WIDE`.
    """
    known = {s.subscription_id.lower() for s in result.subscriptions}
    grouped: dict[str, list[int]] = defaultdict(list)
    for index, finding in enumerate(result.findings):
        if finding.status not in (Status.FAIL, Status.ERROR):
            continue
        owner = (finding.subscription_id or "").lower()
        grouped[owner if owner in known else TENANT_WIDE].append(index)
    return {key: tuple(found) for key, found in grouped.items()}


def summarise(result: ScanResult, safeguard_titles: Mapping[str, str]) -> dict[str, JSON]:
    """Every number and ordering the reports show, computed once.

    The shape is part of results.json and documented field by field in docs/results-schema.md
    (machine-readable: reports/results.schema.json).
    """
    metas = {c.id: c for c in result.checks}
    by_check: dict[str, list[Finding]] = defaultdict(list)
    for finding in result.findings:
        by_check[finding.check_id].append(finding)

    per_check = [_check_entry(meta, _count(by_check.get(meta.id, []))) for meta in result.checks]
    check_entries = {c["check_id"]: c for c in per_check}

    failing = [f for f in result.findings if f.status is Status.FAIL]
    failing_by_severity = Counter(metas[f.check_id].severity.value for f in failing)
    overall = _count(result.findings)
    checks_by_status = Counter(str(c["status"]) for c in per_check)

    top = sorted(
        (c for c in per_check if c["counts"]["FAIL"]),
        key=lambda c: (-Severity(c["severity"]).rank, -c["counts"]["FAIL"], c["check_id"]),
    )[:TOP_RISKS]

    error_scopes = {f.resource_id.lower() for f in result.findings if f.status is Status.ERROR}
    return {
        "counts": overall,
        "findings_total": len(result.findings),
        "posture": posture(overall),
        "failing_by_severity": {s.value: failing_by_severity.get(s.value, 0) for s in Severity},
        "checks_total": len(per_check),
        "checks_by_status": {s.value: checks_by_status.get(s.value, 0) for s in Status},
        "resources_evaluated": len({f.resource_id.lower() for f in result.findings}),
        "safeguards": _safeguards(result, safeguard_titles, by_check, check_entries),
        "checks": per_check,
        "subscriptions": _subscriptions(result, check_entries),
        "tenant_wide": _tenant_wide(result, check_entries),
        "top_risks": top,
        "manual": [
            {
                "check_id": c["check_id"],
                "title": c["title"],
                "citation": c["citation"],
                "count": c["counts"]["MANUAL"],
            }
            for c in per_check
            if c["counts"]["MANUAL"]
        ],
        "coverage": {
            "complete": not result.gaps and overall["ERROR"] == 0,
            "gaps": len(result.gaps),
            "error_findings": overall["ERROR"],
            "scopes_not_evaluated": len(error_scopes),
            "checks_with_errors": sorted(c["check_id"] for c in per_check if c["counts"]["ERROR"]),
        },
    }


def _check_entry(meta: CheckMeta, counts: dict[str, int]) -> dict[str, Any]:
    citation = meta.primary_citation
    return {
        "check_id": meta.id,
        "title": meta.title,
        "severity": meta.severity.value,
        "family": meta.family,
        "family_title": FAMILY_TITLES.get(meta.family, meta.family),
        "safeguard": citation.safeguard,
        "citation": citation.label,
        "citation_title": citation.title,
        "implementation": citation.implementation,
        "counts": counts,
        "status": _check_status(counts),
    }


def _attention_order(entry: Mapping[str, Any]) -> tuple[Any, ...]:
    """Worst status first, then most severe, then id: the order a reader should act in."""
    return (
        _STATUS_ORDER[Status(entry["status"])],
        -Severity(entry["severity"]).rank,
        entry["check_id"],
    )


def _safeguards(
    result: ScanResult,
    safeguard_titles: Mapping[str, str],
    by_check: Mapping[str, list[Finding]],
    check_entries: Mapping[str, dict[str, Any]],
) -> list[dict[str, Any]]:
    """Every safeguard of the citation table (even without checks), each with its citations."""
    out: list[dict[str, Any]] = []
    for key, title in safeguard_titles.items():
        metas = [m for m in result.checks if m.primary_citation.safeguard == key]
        citations: dict[str, list[CheckMeta]] = defaultdict(list)
        for meta in metas:
            citations[meta.primary_citation.id].append(meta)
        counts = _count(f for m in metas for f in by_check.get(m.id, []))
        out.append(
            {
                "safeguard": key,
                "title": title,
                "checks": len(metas),
                "counts": counts,
                "posture": posture(counts),
                "citations": [
                    _citation_entry(citations[cid], by_check, check_entries)
                    for cid in sorted(citations, key=citation_sort_key)
                ],
            }
        )
    return out


def _citation_entry(
    metas: list[CheckMeta],
    by_check: Mapping[str, list[Finding]],
    check_entries: Mapping[str, dict[str, Any]],
) -> dict[str, Any]:
    citation = metas[0].primary_citation
    entries = sorted((check_entries[m.id] for m in metas), key=_attention_order)
    counts = _count(f for m in metas for f in by_check.get(m.id, []))
    return {
        "citation": citation.id,
        "label": citation.label,
        "title": citation.title,
        "implementation": citation.implementation,
        "counts": counts,
        "posture": posture(counts),
        "checks": [e["check_id"] for e in entries],
    }


def _scope_entry(
    findings: list[Finding], check_entries: Mapping[str, dict[str, Any]]
) -> dict[str, Any]:
    counts = _count(findings)
    per_check: dict[str, list[Finding]] = defaultdict(list)
    for finding in findings:
        per_check[finding.check_id].append(finding)
    failing = []
    for check_id, found in per_check.items():
        check_counts = _count(found)
        if check_counts["FAIL"] or check_counts["ERROR"]:
            entry = check_entries[check_id]
            failing.append(
                {
                    "check_id": check_id,
                    "title": entry["title"],
                    "severity": entry["severity"],
                    "citation": entry["citation"],
                    "status": _check_status(check_counts),
                    "counts": check_counts,
                }
            )
    failing.sort(key=_attention_order)
    return {"counts": counts, "posture": posture(counts), "failing_checks": failing}


def _subscriptions(
    result: ScanResult, check_entries: Mapping[str, dict[str, Any]]
) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for sub in result.subscriptions:
        found = [
            f
            for f in result.findings
            if (f.subscription_id or "").lower() == sub.subscription_id.lower()
        ]
        out.append(
            {
                "subscription_id": sub.subscription_id,
                "display_name": sub.display_name,
                "state": sub.state,
                **_scope_entry(found, check_entries),
            }
        )
    return out


def _tenant_wide(result: ScanResult, check_entries: Mapping[str, dict[str, Any]]) -> dict[str, Any]:
    """Findings that belong to no listed subscription (Entra ID, tenant-level settings)."""
    known = {s.subscription_id.lower() for s in result.subscriptions}
    found = [f for f in result.findings if (f.subscription_id or "").lower() not in known]
    return _scope_entry(found, check_entries)


def _check_status(counts: Mapping[str, int]) -> str:
    """A check's overall status: its worst finding (FAIL > ERROR > MANUAL > PASS > WAIVED > N/A)."""
    for status in (Status.FAIL, Status.ERROR, Status.MANUAL, Status.PASS, Status.WAIVED):
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
