"""Scan history: every run recorded (SQLite or PostgreSQL), and the diff between two runs.

The scan pipeline calls `open_store(location)`, then `store.compare(result)` for the report's
history section and `store.record(result)`; `azaudit history list` and `azaudit diff` read the
same store (docs/history.md).
"""

from __future__ import annotations

from azaudit.history.diff import RunDiff, diff_runs, history_info
from azaudit.history.model import FindingEntry, RunFindings, RunRef, run_findings_of, run_id_for
from azaudit.history.results_file import load_results
from azaudit.history.store import HistoryStore, open_store, redact

DEFAULT_LOCATION = "azaudit-history.db"
"""Where history is kept when no location is given: a SQLite file in the working directory."""

__all__ = [
    "DEFAULT_LOCATION",
    "FindingEntry",
    "HistoryStore",
    "RunDiff",
    "RunFindings",
    "RunRef",
    "diff_runs",
    "history_info",
    "load_results",
    "open_store",
    "redact",
    "run_findings_of",
    "run_id_for",
]
