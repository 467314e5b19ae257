"""New, resolved and still-open findings between two runs (definitions in docs/history.md).

Pure: both sides are `RunFindings`, whether they came from the store, a results.json file or the
scan in progress.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from azaudit.history.model import FindingEntry, RunFindings, RunRef
from azaudit.models import FindingChange, HistoryInfo, TrendPoint


@dataclass(frozen=True, slots=True)
class RunDiff:
    """What changed from `old` to `new`.

    Attributes:
        new: open in `new`, not open in `old`.
        resolved: open in `old`; its check ran in `new` and the finding is not open there.
        still_open: open in both (shown with the newer run's status and severity).
        not_rechecked: open in `old` but its check did not run in `new` (a narrower `--check`
            selection, a check removed from the catalogue): no evidence either way, so never
            reported as resolved.
    """

    old: RunRef
    new: RunRef
    new_findings: tuple[FindingEntry, ...]
    resolved: tuple[FindingEntry, ...]
    still_open: tuple[FindingEntry, ...]
    not_rechecked: tuple[FindingEntry, ...]


def _order(entries: Iterable[FindingEntry]) -> tuple[FindingEntry, ...]:
    """Most severe first, then by check and resource: the order a reader acts in."""
    return tuple(sorted(entries, key=lambda e: (-e.severity.rank, e.check_id, e.identity.lower())))


def diff_runs(old: RunFindings, new: RunFindings) -> RunDiff:
    """Compare the open findings of two runs by identity."""
    resolved: list[FindingEntry] = []
    not_rechecked: list[FindingEntry] = []
    for identity, entry in old.open.items():
        if identity in new.open:
            continue
        (resolved if entry.check_id in new.checks else not_rechecked).append(entry)
    return RunDiff(
        old=old.ref,
        new=new.ref,
        new_findings=_order(e for k, e in new.open.items() if k not in old.open),
        resolved=_order(resolved),
        still_open=_order(e for k, e in new.open.items() if k in old.open),
        not_rechecked=_order(not_rechecked),
    )


def _change(entry: FindingEntry) -> FindingChange:
    return FindingChange(
        identity=entry.identity,
        check_id=entry.check_id,
        resource_id=entry.resource_id,
        resource_name=entry.resource_name,
        severity=entry.severity,
    )


def trend_point(ref: RunRef) -> TrendPoint:
    """One run as a point of the posture trend."""
    return TrendPoint(
        run_id=ref.run_id, generated_at=ref.generated_at, posture=ref.posture, failing=ref.failing
    )


def history_info(diff: RunDiff | None, current: RunRef, earlier: Sequence[RunRef]) -> HistoryInfo:
    """The report's history section: the diff against the previous run and the trend.

    Args:
        diff: the diff against the previous run, None when this is the tenant's first run.
        current: this run.
        earlier: earlier runs of the trend, oldest first.
    """
    trend = (*(trend_point(r) for r in earlier), trend_point(current))
    if diff is None:
        return HistoryInfo(
            previous_run_id=None,
            previous_generated_at=None,
            new=(),
            resolved=(),
            still_open=0,
            trend=trend,
        )
    return HistoryInfo(
        previous_run_id=diff.old.run_id,
        previous_generated_at=diff.old.generated_at,
        new=tuple(_change(e) for e in diff.new_findings),
        resolved=tuple(_change(e) for e in diff.resolved),
        still_open=len(diff.still_open),
        trend=trend,
    )
