"""Renderers: pure functions from a `ScanResult` to bytes, chosen through an exhaustive enum."""

from __future__ import annotations

import enum

from azaudit.models import ScanResult
from azaudit.render.csv_format import render_csv
from azaudit.render.html import render_html
from azaudit.render.json_format import render_json
from azaudit.render.junit import render_junit
from azaudit.render.markdown import render_markdown
from azaudit.render.sarif import render_sarif


class OutputFormat(enum.StrEnum):
    """Report formats `--format` accepts."""

    HTML = "html"
    JSON = "json"
    SARIF = "sarif"
    JUNIT = "junit"
    CSV = "csv"
    MARKDOWN = "markdown"

    @property
    def filename(self) -> str:
        """The file name written into `--out`."""
        return {
            OutputFormat.HTML: "report.html",
            OutputFormat.JSON: "results.json",
            OutputFormat.SARIF: "results.sarif",
            OutputFormat.JUNIT: "results.junit.xml",
            OutputFormat.CSV: "findings.csv",
            OutputFormat.MARKDOWN: "summary.md",
        }[self]


def render(fmt: OutputFormat, result: ScanResult) -> bytes:
    """Render `result` in `fmt`; never touches the file system."""
    match fmt:
        case OutputFormat.HTML:
            return render_html(result).encode("utf-8")
        case OutputFormat.JSON:
            return render_json(result).encode("utf-8")
        case OutputFormat.SARIF:
            return render_sarif(result).encode("utf-8")
        case OutputFormat.JUNIT:
            return render_junit(result).encode("utf-8")
        case OutputFormat.CSV:
            return render_csv(result).encode("utf-8")
        case OutputFormat.MARKDOWN:
            return render_markdown(result).encode("utf-8")
