"""The concise plain-text summary the CLI prints after a scan (at most about 20 lines).

Plain text only: the CLI decides how to print it, and CI logs stay readable without colour.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from azaudit.models import ScanResult, Severity, Status

TOP_RISKS_SHOWN = 5


def _clean(text: object) -> str:
    """Tenant-controlled text with control characters (escape sequences, newlines) replaced.

    Display names come from Azure and are set by whoever administers the tenant; printed raw
    they could clear the terminal or forge lines in a CI log.
    """
    return "".join(ch if ch.isprintable() else "?" for ch in str(text))


def _percent(value: float | None) -> str:
    return "n/a (nothing evaluated)" if value is None else f"{value:.1f}%"


def _coverage_line(coverage: Mapping[str, Any]) -> str:
    if coverage["complete"]:
        return "Coverage: complete (every check evaluated for every scope)"
    if not coverage["error_findings"]:
        return (
            f"Coverage: INCOMPLETE - {coverage['gaps']} collection gap(s), no ERROR finding "
            "(no check run needed the missing data); see report section 2"
        )
    return (
        f"Coverage: INCOMPLETE - {coverage['scopes_not_evaluated']} scope(s) could not be "
        f"evaluated ({coverage['error_findings']} ERROR finding(s), "
        f"{coverage['gaps']} collection gap(s)); see report section 2"
    )


def summary_text(result: ScanResult) -> str:
    """Posture, counts by status and severity, top risks, coverage and the BAA list in force."""
    summary = result.summary
    counts: Mapping[str, int] = summary["counts"]
    failing: Mapping[str, int] = summary["failing_by_severity"]
    baa = result.baa_list
    phi = summary["phi"]
    lines = [
        f"azaudit {result.tool_version}: tenant {_clean(result.tenant_name)} "
        f"({len(result.subscriptions)} subscription(s)), "
        f"data collected {_clean(result.collected_at)}",
        f"Posture: {_percent(summary['posture'])} weighted; raw {_percent(summary['posture_raw'])} "
        f"({counts[Status.PASS]} pass of "
        f"{counts[Status.PASS] + counts[Status.FAIL] + counts[Status.ERROR]} evaluated)",
        (
            f"PHI scope: {_percent(phi['in_scope']['posture'])}, "
            f"outside: {_percent(phi['out_of_scope']['posture'])}"
            if phi["configured"]
            else "PHI scope: NOT CONFIGURED - every finding is treated as PHI (fail closed); "
            "name it with --phi-subscription, --phi-resource-group or --phi-tag"
        ),
        "Findings: " + ", ".join(f"{counts[s.value]} {s.value}" for s in Status),
        "Failing by severity: " + ", ".join(f"{failing[s.value]} {s.value}" for s in Severity),
    ]
    top = list(summary["top_risks"])[:TOP_RISKS_SHOWN]
    if top:
        lines.append("Top risks (score = severity x PHI x exposure):")
        for risk in top:
            where = _clean(risk["subscription_name"] or "tenant-wide")
            worst = risk["findings"][0]
            lines.append(
                f"  {risk['rank']}. [{risk['score']}] {_clean(risk['resource_name'])} ({where}): "
                f"{worst['check_id']}"
                + (f" +{risk['failing'] - 1} more" if risk["failing"] > 1 else "")
            )
    else:
        lines.append("Top risks: none (no failing findings)")
    lines.append(_coverage_line(summary["coverage"]))
    if counts[Status.MANUAL]:
        lines.append(f"Needs attestation: {counts[Status.MANUAL]} MANUAL finding(s)")
    lines.append(
        f"BAA list: version {_clean(baa.version)}, "
        + ("verified" if baa.verified else "NOT verified against Microsoft's HIPAA BAA column")
        + f" ({_clean(baa.path)})"
    )
    return "\n".join(lines)
