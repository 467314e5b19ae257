"""Scan history: every run recorded (SQLite or PostgreSQL), and the diff between two runs.

The scan pipeline calls `store.open_store(location)`, then `store.compare(result)` for the
report's history section and `store.record(result)`; `azaudit history list` and `azaudit diff`
read the same store (docs/history.md). The store (and SQLAlchemy with it) is imported from
`azaudit.history.store` by what uses it: this package is light for every other run.
"""

from __future__ import annotations

from azaudit.history.diff import RunDiff, diff_runs, history_info
from azaudit.history.model import FindingEntry, RunFindings, RunRef, run_findings_of, run_id_for
from azaudit.history.results_file import load_results

DEFAULT_LOCATION = "azaudit-history.db"
"""Where history is kept when no location is given: a SQLite file in the working directory."""

__all__ = [
    "DEFAULT_LOCATION",
    "FindingEntry",
    "RunDiff",
    "RunFindings",
    "RunRef",
    "diff_runs",
    "history_info",
    "load_results",
    "run_findings_of",
    "run_id_for",
]
