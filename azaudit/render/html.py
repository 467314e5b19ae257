"""report.html (placeholder until the Jinja report lands)."""

from __future__ import annotations

from azaudit.models import ScanResult


def render_html(result: ScanResult) -> str:
    """Render the HTML report."""
    return f"<!doctype html><title>azaudit</title><p>{len(result.findings)} findings</p>"
