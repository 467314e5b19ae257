"""The concise plain-text summary the CLI prints after a scan."""

from __future__ import annotations

from azaudit.models import ScanResult


def summary_text(result: ScanResult) -> str:
    """A few lines: posture, counts by status and severity, top risks, coverage."""
    counts = result.summary["counts"]
    return "Findings: " + ", ".join(f"{k} {v}" for k, v in counts.items())
