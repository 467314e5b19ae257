"""summary.md: a short GitHub-flavoured Markdown summary for `$GITHUB_STEP_SUMMARY` and PR comments.

Posture, counts by status and severity, the top risks, coverage and its gaps, PHI scope,
waivers and the change since the previous run, then the open findings. Tables are capped
(`FINDING_ROWS`, `GAP_ROWS`) so the summary stays far below GitHub's limits (1 MiB for a step
summary, 65,536 characters for a comment) on any tenant; the full list is in findings.csv and
results.json. Tenant-controlled text is escaped so it renders as text, never as Markdown or HTML.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, TextIO

from azaudit.models import ScanResult, Severity, Status
from azaudit.render.finding_fields import checks_by_id, effective_severity, one_line
from azaudit.render.json_format import RESULTS_SCHEMA_VERSION

FINDING_ROWS = 25
GAP_ROWS = 10
WAIVER_ROWS = 10

_ESCAPED = frozenset("\\`*_[]<>#|~&")


def md(text: object) -> str:
    """Tenant-controlled text as literal Markdown: one line, every markup character escaped."""
    return "".join("\\" + ch if ch in _ESCAPED else ch for ch in one_line(text))


def _code(text: object) -> str:
    """Text as an inline code span (ids); backticks cannot occur in ARM ids but are dropped."""
    return "`" + one_line(text).replace("`", "") + "`"


def _table(header: Sequence[str], rows: Iterable[Sequence[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return [*lines, ""]


def _percent(value: object) -> str:
    return "n/a" if value is None else f"{value:.1f} %"


def _headline(result: ScanResult) -> list[str]:
    summary = result.summary
    counts: Mapping[str, int] = summary["counts"]
    evaluated = counts["PASS"] + counts["FAIL"] + counts["ERROR"]
    return [
        f"## azaudit HIPAA posture: {md(result.tenant_name)}",
        "",
        f"**Posture {_percent(summary['posture'])}** severity-weighted (raw "
        f"{_percent(summary['posture_raw'])}: {counts['PASS']} pass of {evaluated} "
        f"evaluated; ERROR counts as not compliant) · **{counts['FAIL']} FAIL** · "
        f"**{counts['ERROR']} ERROR** · {counts['MANUAL']} MANUAL · {counts['WAIVED']} WAIVED",
        "",
    ]


def _phi_scope(result: ScanResult) -> list[str]:
    scope = result.phi_scope
    if not scope.configured:
        return [
            "> [!WARNING]",
            "> No PHI scope configured: every resource is treated as holding PHI.",
            "",
        ]
    parts = [
        *(f"subscription {_code(s)}" for s in scope.subscriptions),
        *(f"resource group {_code(g)}" for g in scope.resource_groups),
        *(f"tag {_code(t)}" for t in scope.tags),
    ]
    return ["PHI scope: " + ", ".join(parts), ""]


def _counts(result: ScanResult) -> list[str]:
    counts: Mapping[str, int] = result.summary["counts"]
    failing: Mapping[str, int] = result.summary["failing_by_severity"]
    lines = ["### Findings", ""]
    lines += _table([s.value for s in Status], [[str(counts[s.value]) for s in Status]])
    lines += ["Failing by severity:", ""]
    lines += _table([s.value for s in Severity], [[str(failing[s.value]) for s in Severity]])
    return lines


def _top_risks(result: ScanResult) -> list[str]:
    """The resources to fix first, as ranked in the result (risk score, docs/report.md)."""
    top: Sequence[Mapping[str, Any]] = result.summary["top_risks"]
    if not top:
        return ["### Top risks", "", "None: no resource has a failing finding.", ""]
    rows = []
    for entry in top:
        worst = entry["findings"][0] if entry["findings"] else None
        check = f"{_code(worst['check_id'])} {md(worst['title'])}" if worst else ""
        more = entry["failing"] - 1
        rows.append(
            [
                str(entry["rank"]),
                str(entry["score"]),
                entry["severity"],
                f"{md(entry['resource_name'])} ({md(entry['subscription_name'] or 'tenant')})",
                check + (f" +{more} more" if more > 0 else ""),
            ]
        )
    return [
        "### Top risks",
        "",
        "Score = severity x PHI scope x exposure (docs/report.md).",
        "",
        *_table(["#", "Score", "Severity", "Resource", "Worst failing check"], rows),
    ]


def _coverage(result: ScanResult) -> list[str]:
    coverage: Mapping[str, Any] = result.summary["coverage"]
    if coverage["complete"]:
        return ["### Coverage", "", "Complete: every check was evaluated for every scope.", ""]
    lines = [
        "### Coverage",
        "",
        f"**Incomplete:** {coverage['scopes_not_evaluated']} scope(s) could not be evaluated "
        f"({coverage['error_findings']} ERROR finding(s)); {coverage['gaps']} collection gap(s).",
        "",
    ]
    if result.gaps:
        rows = [
            [_code(gap.scope), md(gap.source), md(gap.reason)] for gap in result.gaps[:GAP_ROWS]
        ]
        lines += _table(["Scope", "Data", "Reason"], rows)
        lines += _more(len(result.gaps), GAP_ROWS, "collection gaps", "results.json")
    return lines


def _more(total: int, shown: int, what: str, where: str) -> list[str]:
    if total <= shown:
        return []
    return [f"… and {total - shown} more {what} in {where}.", ""]


def _waivers(result: ScanResult) -> list[str]:
    if not result.waivers:
        return []
    rows = [
        [md(w.id), _code(w.check_id), md(w.state), str(w.matched), md(w.expires), md(w.approver)]
        for w in result.waivers[:WAIVER_ROWS]
    ]
    return [
        "### Waivers",
        "",
        *_table(["Waiver", "Check", "State", "Matched", "Expires", "Approver"], rows),
        *_more(len(result.waivers), WAIVER_ROWS, "waivers", "results.json"),
    ]


def _history(result: ScanResult) -> list[str]:
    history = result.history
    if history is None:
        return []
    if history.previous_run_id is None:
        return ["### Since the previous run", "", "First recorded run: nothing to compare.", ""]
    return [
        "### Since the previous run",
        "",
        f"Against run {_code(history.previous_run_id)} "
        f"({md(history.previous_generated_at or 'unknown time')}): "
        f"**{len(history.new)} new**, {len(history.resolved)} resolved, "
        f"{history.still_open} still open.",
        "",
    ]


def _open_findings(result: ScanResult) -> list[str]:
    checks = checks_by_id(result)
    names = {s.subscription_id.lower(): s.display_name for s in result.subscriptions}
    total = result.summary["counts"]["FAIL"] + result.summary["counts"]["ERROR"]
    if total == 0:
        return []
    rows: list[list[str]] = []
    for finding in result.findings:
        if len(rows) == FINDING_ROWS:
            break
        if finding.status not in (Status.FAIL, Status.ERROR):
            continue
        subscription = names.get((finding.subscription_id or "").lower(), "")
        where = md(finding.resource_name) + (f" ({md(subscription)})" if subscription else "")
        rows.append(
            [
                finding.status.value,
                effective_severity(finding, checks).value,
                _code(finding.check_id),
                where,
                md(finding.message),
            ]
        )
    shown = f"first {len(rows)} of {total}" if total > len(rows) else str(total)
    return [
        f"### Open findings ({shown})",
        "",
        *_table(["Status", "Severity", "Check", "Resource", "Finding"], rows),
        *_more(total, len(rows), "open findings", "findings.csv and results.json"),
    ]


def _footer(result: ScanResult) -> list[str]:
    baa = result.baa_list
    verified = "verified" if baa.verified else "NOT verified"
    return [
        "---",
        f"<sub>azaudit {md(result.tool_version)} · results schema {RESULTS_SCHEMA_VERSION} · "
        f"generated {md(result.generated_at)} · data collected {md(result.collected_at)} · "
        f"BAA list {md(baa.version)} ({verified})</sub>",
    ]


def write_markdown(result: ScanResult, stream: TextIO) -> None:
    """Write summary.md into `stream`."""
    sections = (
        _headline,
        _phi_scope,
        _counts,
        _top_risks,
        _coverage,
        _history,
        _waivers,
        _open_findings,
        _footer,
    )
    for section in sections:
        for line in section(result):
            stream.write(line + "\n")


def render_markdown(result: ScanResult) -> str:
    """summary.md as a string."""
    buffer = io.StringIO()
    write_markdown(result, buffer)
    return buffer.getvalue()
