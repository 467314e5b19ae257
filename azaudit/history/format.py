"""Text and JSON forms of a diff and of the list of runs (what `azaudit diff` and
`azaudit history list` print). Pure: the same input always gives the same text.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from azaudit.history.diff import RunDiff
from azaudit.history.model import FindingEntry, RunRef
from azaudit.models import JSON

DIFF_SCHEMA = "https://azaudit.dev/schemas/diff/1"
RUNS_SCHEMA = "https://azaudit.dev/schemas/runs/1"


def _posture(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1f} %"


def _line(entry: FindingEntry) -> str:
    item = f" [{entry.sub_item}]" if entry.sub_item else ""
    return (
        f"  {entry.severity.value:<8} {entry.status.value:<5} {entry.check_id}  "
        f"{entry.resource_name}{item}  {entry.resource_id}"
    )


def _run_line(label: str, ref: RunRef) -> str:
    return (
        f"{label}: {ref.run_id}  {ref.generated_at}  posture {_posture(ref.posture)}  "
        f"{ref.failing} failing"
    )


def diff_text(diff: RunDiff) -> str:
    """The diff for a terminal or a CI log: the two runs, counts, then each section."""
    lines = [
        f"Tenant {diff.new.tenant_name} ({diff.new.tenant_id})",
        _run_line("old", diff.old),
        _run_line("new", diff.new),
        f"{len(diff.new_findings)} new, {len(diff.resolved)} resolved, "
        f"{len(diff.still_open)} still open",
    ]
    sections = [
        ("New", diff.new_findings),
        ("Resolved", diff.resolved),
        ("Still open", diff.still_open),
    ]
    if diff.not_rechecked:
        sections.append(
            ("Not re-checked (their check did not run in the new scan)", diff.not_rechecked)
        )
    for title, entries in sections:
        lines.append("")
        lines.append(f"{title} ({len(entries)})")
        lines.extend(_line(e) for e in entries)
    return "\n".join(lines)


def _entry_json(entry: FindingEntry) -> dict[str, JSON]:
    return {
        "identity": entry.identity,
        "check_id": entry.check_id,
        "resource_id": entry.resource_id,
        "resource_name": entry.resource_name,
        "subscription_id": entry.subscription_id,
        "sub_item": entry.sub_item,
        "status": entry.status.value,
        "severity": entry.severity.value,
    }


def _run_json(ref: RunRef) -> dict[str, JSON]:
    return {
        "run_id": ref.run_id,
        "tenant_id": ref.tenant_id,
        "tenant_name": ref.tenant_name,
        "generated_at": ref.generated_at,
        "collected_at": ref.collected_at,
        "tool_version": ref.tool_version,
        "catalogue_version": ref.catalogue_version,
        "posture": ref.posture,
        "failing": ref.failing,
        "open": ref.open,
        "counts": dict(ref.counts),
    }


def diff_json(diff: RunDiff) -> str:
    """The diff as a JSON document for pipelines (fields in docs/history.md)."""
    document = {
        "schema": DIFF_SCHEMA,
        "old": _run_json(diff.old),
        "new": _run_json(diff.new),
        "counts": {
            "new": len(diff.new_findings),
            "resolved": len(diff.resolved),
            "still_open": len(diff.still_open),
            "not_rechecked": len(diff.not_rechecked),
        },
        "new_findings": [_entry_json(e) for e in diff.new_findings],
        "resolved": [_entry_json(e) for e in diff.resolved],
        "still_open": [_entry_json(e) for e in diff.still_open],
        "not_rechecked": [_entry_json(e) for e in diff.not_rechecked],
    }
    return json.dumps(document, indent=2, ensure_ascii=False)


def runs_text(runs: Sequence[RunRef], location: str) -> str:
    """Recorded runs as a table, newest first."""
    if not runs:
        return f"No runs recorded in {location}"
    lines = [f"{'RUN ID':<26} {'GENERATED':<21} {'POSTURE':>8} {'FAILING':>8}  TENANT"]
    lines.extend(
        f"{r.run_id:<26} {r.generated_at:<21} {_posture(r.posture):>8} {r.failing:>8}  "
        f"{r.tenant_name} ({r.tenant_id})"
        for r in runs
    )
    return "\n".join(lines)


def runs_json(runs: Sequence[RunRef]) -> str:
    """Recorded runs as a JSON document, newest first."""
    return json.dumps(
        {"schema": RUNS_SCHEMA, "runs": [_run_json(r) for r in runs]},
        indent=2,
        ensure_ascii=False,
    )
